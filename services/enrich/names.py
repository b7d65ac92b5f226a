"""Letter case of names: shouted forms, acronyms, and the properly cased spelling of an all-caps name."""

from __future__ import annotations

import re
import unicodedata


def word_set(text: str) -> frozenset[str]:
    """A set of words written as one whitespace-separated string."""
    return frozenset(text.split())


# Upper-case abbreviations common in news that must not be title-cased ("NATO", not "Nato").
ACRONYMS = word_set(
    """
    AP AFP UPI DPA ANSA EFE KYODO XINHUA TASS BBC CNN ABC NBC CBS NPR PBS ITV RTE ZDF ARD
    UN EU US UK USA UAE USSR NATO OPEC ASEAN OSCE OECD IMF ECB WTO IAEA UNESCO UNICEF UNHCR UNRWA
    FIFA UEFA IOC NBA NFL NHL MLB FBI CIA NSA DEA ATF NASA ESA FDA SEC EPA FTC FAA DOJ DHS
    NHS MI5 MI6 KGB FSB GRU IDF PLO PKK ISIS ANC SPD CDU CSU AFD FDP ICC ICJ ECHR
    G7 G8 G20 BRICS NGO CEO CFO GDP IPO LNG AI EV IBM BMW HSBC UBS KPMG
    """
)
# Short words without vowels that are not acronyms: titles and abbreviations written as words.
_NOT_ACRONYMS = frozenset({"MR", "MRS", "MS", "DR", "ST", "JR", "SR", "LTD", "PLC", "VS", "KM", "KG", "MPH"})
# Particles written in lower case inside a name ("Charles de Gaulle", "Bank of England").
PARTICLES = frozenset(
    {"of", "the", "and", "for", "on", "in", "de", "del", "della", "da", "do", "dos", "van", "von", "der"}
)
# Words that only occur inside personal names ("LE PEN", "DE GAULLE", "AL-ASSAD"): a shouted run
# holding one is a name even when its other words are English ("MARINE LE PEN"). Never a name alone.
NAME_PARTICLES = word_set("le la de da di du del della der den des dos das von van al el bin ibn abu")
# Verbs that follow the subject of a wire sentence: a run of capitalised words before one of them is
# its subject ("MICHEL BARNIER SAID", "McDonald's said").
REPORTING_VERBS = word_set(
    """
    said says told tells added adds denied denies warned warns urged urges announced announces insisted
    insists stressed stresses argued argues claimed claims vowed vows pledged pledges wrote writes
    replied replies confirmed confirms rejected rejects accused accuses met meets visited visits spoke
    speaks resigned resigns agreed agrees signed signs thanked thanks promised promises declared
    declares admitted admits acknowledged acknowledges noted notes explained explains asked asks
    responded responds suggested suggests proposed proposes ordered orders dismissed dismisses
    condemned condemns welcomed welcomes defended defends blamed blames criticised criticises
    criticized criticizes praised praises called calls appointed appoints nominated nominates
    arrived arrives left leaves returned returns flew flies travelled traveled landed lands
    will would could can may might should must shall is was has had does did
    """
)
# Verbs whose object is often a person ("FUMIO KISHIDA MET XI JINPING ON THURSDAY").
PERSON_OBJECT_VERBS = word_set(
    """
    met meets told tells urged urges thanked thanks welcomed welcomes praised praises criticised
    criticises criticized criticizes accused accuses invited invites hosted hosts phoned congratulated
    replaced replaces succeeded succeeds appointed appoints nominated nominates
    """
)
# Titles written before a person's name ("PRESIDENT XI JINPING", "SUPERINTENDENT KIRSTY McDONALD").
PERSON_TITLES = word_set(
    """
    president minister chancellor premier mayor governor senator congressman congresswoman king queen
    prince princess pope cardinal bishop archbishop rabbi imam general colonel captain admiral commander
    lieutenant sergeant major secretary spokesman spokeswoman spokesperson chairman chairwoman
    chairperson chief ceo executive judge justice leader ambassador envoy director coach manager
    striker midfielder defender goalkeeper lawyer attorney lawmaker sheriff commissioner professor
    doctor dr mr mrs ms sir lord lady dame rep sen gov superintendent inspector detective counterpart
    candidate rival challenger opponent nominee founder owner
    englishman englishwoman irishman irishwoman scotsman scotswoman welshman welshwoman frenchman
    frenchwoman dutchman dutchwoman countryman countrywoman compatriot
    """
)
_INITIALISM = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]?\.?")
_PARTS = re.compile(r"([-'’])")


def _letters(word: str) -> list[str]:
    return [c for c in word if c.isalpha()]


def lower(text: str) -> str:
    """Lower case of the same length: the Turkish capital "İ" becomes "i" (``str.lower`` adds a
    combining dot: "DİYARBAKIR" would read "di̇yarbakir")."""
    return text.replace("İ", "i").lower()


def upper_initial(text: str) -> str:
    """Upper-case the first letter only when that keeps the length ("ß" has no one-letter capital)."""
    first = text[:1].upper()
    return (first if len(first) == 1 else text[:1]) + text[1:]


def is_shouted(word: str) -> bool:
    """Whether a word is written in capitals ("MADRID", "McDONALD"), not merely capitalised."""
    letters = _letters(word)
    upper = sum(c.isupper() for c in letters)
    return len(letters) >= 2 and upper >= 2 and upper >= 0.6 * len(letters)


def _base_letter(c: str) -> str:
    return unicodedata.normalize("NFD", c)[0].upper()


def is_acronym(word: str) -> bool:
    """An upper-case abbreviation: a known one, an initialism ("U.S.") or a short run without vowels."""
    if word.upper() in ACRONYMS or _INITIALISM.fullmatch(word):
        return True
    letters = _letters(word)
    if word.upper() in _NOT_ACRONYMS:
        return False
    return 2 <= len(letters) <= 5 and not any(_base_letter(c) in "AEIOUY" for c in letters)


def title_word(word: str) -> str:
    """Title-case one shouted word: "O'NEILL" -> "O'Neill", "McDONALD" -> "McDonald"."""
    if _INITIALISM.fullmatch(word):
        return word.upper()
    if len(word) > 4 and word[:2].casefold() == "mc" and word[2].isalpha():
        return "Mc" + title_word(word[2:])
    if len(word) > 5 and word[:3] == "Mac" and word[3].isupper():
        return "Mac" + title_word(word[3:])
    out: list[str] = []
    pieces = _PARTS.split(word)
    for i, piece in enumerate(pieces):
        after_apostrophe = i > 0 and pieces[i - 1] in ("'", "’")
        if after_apostrophe and len(piece) <= 1:  # a possessive or contraction: "'S", "'T"
            out.append(lower(piece))
        else:
            out.append(upper_initial(piece[:1]) + lower(piece[1:]))
    return "".join(out)


def display_name(surface: str, short_upper: bool = True) -> str:
    """The properly cased spelling of a name as printed: shouted words are title-cased, acronyms kept.

    ``short_upper`` keeps a single shouted word of at most three letters as it is ("AP", "BBC"); pass
    False for people ("KIM" -> "Kim").
    """
    words = surface.split(" ")
    if len(words) == 1 and short_upper and is_shouted(surface) and len(_letters(surface)) <= 3:
        return surface
    out: list[str] = []
    for i, word in enumerate(words):
        if not is_shouted(word) or is_acronym(word):
            out.append(word)
        elif i > 0 and lower(word) in PARTICLES:
            out.append(lower(word))
        else:
            out.append(title_word(word))
    return " ".join(out)


def well_cased(surface: str, short_upper: bool = True) -> bool:
    """Whether a name is already written as it should be displayed (mixed case or a true acronym)."""
    return any(c.isupper() for c in surface) and display_name(surface, short_upper) == surface
