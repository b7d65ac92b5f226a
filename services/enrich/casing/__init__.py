"""Case restoration: headline-like lines, datelines and shouted text re-cased as prose, so NER reads names.

The copy has exactly the length of the text (offsets hold); letters change case, and the dash that
ends a dateline becomes a full stop. A shouted word
takes the spelling the article's own prose gives it ("PEDRO SÁNCHEZ" -> "Pedro Sánchez"), else the
gazetteer's ("PORTUGAL" -> "Portugal"), stays upper when it is an acronym ("NATO"), becomes lower case
when it is a common English word ("SAID" -> "said") and is title-cased when it is none of these (a
name seen only in capitals).

Names in capitals are also read from the shape of the sentence, because English words make names too
("MARINE LE PEN", "EMMANUEL MACRON"): a run of two to four capitalised words before a reporting verb
("... SAID") or after a person's title ("PRESIDENT ...") is a person, and capitals after "in", "at" or
"from" are a place. These readings come back as cues that type what the model reads there. Inside a
prose line, a few words in capitals are re-cased only on such evidence ("The mayor of SAO PAULO",
"LE PEN denied"); otherwise they stay as written (acronyms, tickers).
"""

from services.enrich.casing.cues import Cue
from services.enrich.casing.dateline import Dateline, datelines
from services.enrich.casing.lemmas import Lexicon, default_lexicon, lexicon
from services.enrich.casing.recaser import Recased, recase, restore_case

__all__ = [
    "Cue",
    "Dateline",
    "Lexicon",
    "Recased",
    "datelines",
    "default_lexicon",
    "lexicon",
    "recase",
    "restore_case",
]
