"""Which query parameters of a news URL only track the visit, and which select content.

Tracking parameters: the candidates are courlan's (https://github.com/adbar/courlan, of the trafilatura
family), a maintained pattern built from AdGuard's tracking-parameter filter, ClearURLs and Firefox's query
stripping list. We ask ``courlan.normalize_url`` about each parameter name in its lenient mode, never the
strict one: strict mode keeps an allow-list only, and would merge two articles whose content parameter
(``?story=1``) is not on it. ``_SUPPLEMENT`` and ``_PREFIXES`` add the few parameters that news publishers use
and the pattern misses.

A lost article costs far more than a missed duplicate: a false duplicate is answered ``200 duplicate`` and
never stored. So a name courlan flags is removed only when it is a tracker beyond doubt:

- Courlan names it outright: its anchored alternatives, the click ids (``fbclid``, ``gclid``, ``msclkid``,
  ``igshid``, ...) and the prefix families (``utm_*``, ``mc_*``, ``pk_*``, ``mtm_*``, ``itm_*``, ...).
- Or one of its word parts is a word that only ever tracks: ``campaign``, ``medium``, ``referrer``
  (``referer``), ``affiliate`` (``aff``, ``affi``) or ``xtor``; so ``*_medium``, ``*_campaign``,
  ``campaign_id``, ``guce_referrer`` go.
- Or courlan flags it only through one of its broad word-part matches (``ga*``, ``gl*``, ``ref*``,
  ``source*``, ``session*``, ``cid``, ``clid``, ``eid``, ``uid``, ``kwd``, ``keyword`` at the start of a
  word part) and it does not read as a content selector. It reads as one when it is a bare ambiguous name
  (``cid``, ``uid``, ``eid``, ``session``, ``reference``, ``source``), when a word part begins with a content
  noun (``game``, ``gallery``, ``episode``, ``article``, ``story``, ``photo``, ``video``, ``post``, ``item``,
  ... see ``_CONTENT_NOUNS``), or when its last word part ends in ``id``, ``code``, ``num``, ``number``,
  ``slug`` and the like (``_CONTENT_SUFFIXES``), unless that part is one of the tracker abbreviations
  ``cid``, ``clid``, ``eid``, ``uid`` (``s_cid``, ``clid``). Word parts are split at ``_``, ``-``,
  ``.``, digits and camelCase humps. So ``_ga``, ``_gl``, ``ref``, ``ref_src``, ``referringSource`` and
  ``gaa_at`` go, while ``game_id``, ``gamePk``, ``gamecode``, ``gameweek``, ``photo_gallery``, ``ref_id``,
  ``source_id``, ``article_source``, ``episode_cid``, ``cid`` and ``session`` stay.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import quote, urlencode, urlsplit

import courlan
from courlan.clean import TRACKERS_RE

# Tracking parameters (lower case) that courlan's pattern misses, each clearly tracking wherever it appears.
_SUPPLEMENT = frozenset(
    {
        "ito",  # Daily Mail: internal tracking origin of the click
        "icid",  # internal campaign id (Adobe Analytics)
        "cmpid",  # campaign id, in AdGuard's general tracking-parameter filter
        "cmp",  # The Guardian: share and campaign code (CMP=share_btn_tw)
        "intcmp",  # The Guardian and others: internal campaign (INTCMP=)
        "smid",  # The New York Times: share medium id (smid=tw-share)
        "smtyp",  # The New York Times: share medium type
        "itid",  # The Washington Post: internal tracking id
        "wpisrc",  # The Washington Post: newsletter source (wpisrc=nl_todayworld)
        "taid",  # True Anthem, social publishing (Reuters shares: taid=...&utm_medium=trueAnthem)
        "ocid",  # Microsoft (MSN, Microsoft Start): origin campaign id
        "ncid",  # Yahoo and its sites: campaign id (ncid=rss)
        "guccounter",  # Yahoo: consent-redirect counter (courlan has guce_referrer)
        "__twitter_impression",  # X/Twitter: link opened from a timeline impression
        "ttclid",  # TikTok: ad click id (courlan has fb/gc/dc/tw/yc/msclk but not tt)
        "_hsenc",  # HubSpot: newsletter e-mail tracking
        "_hsmi",  # HubSpot: newsletter message id
        "spm",  # Alibaba: page-position tracking
        "emc",  # The New York Times: newsletter e-mail campaign (emc=edit_nn_20240115)
        "campaign_id",  # The New York Times: newsletter campaign number (courlan's "campaign" matches it too)
        "regi_id",  # The New York Times: the registered reader a newsletter was sent to
        "segment_id",  # The New York Times: the newsletter's audience segment
        "wpmm",  # The Washington Post: newsletter mailing marker (wpmm=1)
        "pwapi_token",  # The Washington Post: the subscriber's token in newsletter links
        "rpc",  # Reuters: referral partner channel (rpc=401)
        "soc_src",  # Yahoo: social share source (soc_src=social-sh)
        "soc_trk",  # Yahoo: social share tracking (soc_trk=tw)
        "tsrc",  # Yahoo: traffic source (tsrc=twtr)
        "cvid",  # MSN: the Microsoft Start feed or Bing session that led to the click
        "dicbo",  # Outbrain: click id of a recommendation widget
        "sr_share",  # SimpleReach: social share tracking (sr_share=twitter)
    }
)
_PREFIXES = (
    "ns_",  # comScore (BBC, Daily Mail): ns_mchannel, ns_linkname, ns_campaign, ns_source, ns_fee
    "wt.",  # Webtrends: WT.mc_id, WT.z_sma, WT.tsrc
    "at_",  # AT Internet / Piano Analytics (BBC, Le Monde, France TV): at_medium, at_campaign, at_custom1
    "lmd_",  # Le Monde: app shares (lmd_medium, lmd_campaign, lmd_creation, lmd_source)
)


def _alternatives(pattern: str) -> list[str]:
    """Split a regular expression at its top-level "|"."""
    parts: list[str] = []
    depth, start, escaped, in_class = 0, 0, False, False
    for i, char in enumerate(pattern):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    return [*parts, pattern[start:]]


# Courlan's anchored alternatives name trackers outright (click ids, prefix families such as utm_ and mc_);
# its other alternative matches broad word parts (ga, ref, source, cid, ...) that also begin content names.
_COURLAN_NAMED = re.compile(
    "|".join(a for a in _alternatives(TRACKERS_RE.pattern) if a.startswith("^")) or r"(?!)"
)
# Word parts that only ever track, whatever follows them (campaign_id, utm-less *_medium, guce_referrer).
_TRACKING_WORD_PREFIXES = ("campaign", "medium", "referer", "referrer", "affiliate", "xtor")
_TRACKING_WORDS = frozenset({"aff", "affi"})
# Content selectors among the names courlan's broad word parts match.
_BARE_CONTENT = frozenset({"cid", "uid", "eid", "session", "reference", "source"})  # ambiguous alone: kept
_CONTENT_NOUNS = (  # a word part that begins with one of these names content: gameweek, photo_gallery
    "game",
    "galler",  # gallery, galleries
    "episode",
    "article",
    "stor",  # story, stories
    "photo",
    "video",
    "post",
    "item",
    "match",
    "event",
    "image",
    "slide",
    "clip",
    "podcast",
    "album",
    "season",
    "chapter",
    "edition",
    "series",
)
_CONTENT_SUFFIXES = ("id", "ids", "code", "codes", "num", "number", "slug", "uuid", "guid")  # ends the name
_CONTENT_LAST_WORDS = frozenset({"no", "nr", "pk", "key"})  # the whole last word part: ref_no, game_pk
_TRACKER_ABBREVIATIONS = frozenset({"cid", "clid", "eid", "uid"})  # as the last word part: s_cid, clid
_WORD_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

# AMP and mobile editions.


@functools.lru_cache(maxsize=4096)
def tracking(name: str) -> bool:
    """Tell whether a parameter name only tracks the visit (the rule is in the module's docstring)."""
    lower = name.lower()
    if lower in _SUPPLEMENT or lower.startswith(_PREFIXES):
        return True
    if not _courlan_tracks(lower):
        return False
    if _COURLAN_NAMED.match(lower):
        return True
    parts = _word_parts(name)
    if any(p in _TRACKING_WORDS or p.startswith(_TRACKING_WORD_PREFIXES) for p in parts):
        return True
    return not _reads_as_content(name)


def _word_parts(name: str) -> list[str]:
    """Split a parameter name in lower-case word parts: at "_", "-", ".", digits and camelCase humps."""
    return [part.lower() for part in _WORD_PART.findall(name)]


def _reads_as_content(name: str) -> bool:
    """Tell whether a parameter name reads as one that selects content: ids, codes, content nouns."""
    parts = _word_parts(name)
    if not parts:
        return False
    if len(parts) == 1 and parts[0] in _BARE_CONTENT:
        return True
    if any(p.startswith(_CONTENT_NOUNS) for p in parts):
        return True
    last = parts[-1]
    if last in _TRACKER_ABBREVIATIONS:  # s_cid, clid: bare cid, uid and eid were kept above
        return False
    return last in _CONTENT_LAST_WORDS or last.endswith(_CONTENT_SUFFIXES)


@functools.lru_cache(maxsize=4096)
def _courlan_tracks(name: str) -> bool:
    """Tell whether courlan's maintained tracker pattern (lenient mode) removes this parameter name."""
    probe = "https://example.invalid/?" + urlencode([(name, "1")], quote_via=quote)
    try:
        return urlsplit(courlan.normalize_url(probe)).query == ""
    except ValueError:
        return False
