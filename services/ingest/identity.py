"""Give an article a deterministic id, so a re-posted article is recognised as the same one.

One story reaches us under many URLs: share buttons, newsletters and RSS add tracking parameters, and AMP
and mobile editions change the host or the path. ``canonical_url`` reduces all of them to one spelling.

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

AMP and mobile editions: Google AMP cache and viewer URLs are unwrapped to the publisher's URL; the host
prefixes ``amp.``, ``m.`` and ``mobile.`` (like ``www.``) are removed; so are ``amp`` path segments, an
``.amp`` before the file extension of the last segment and AMP query flags (``amp``, ``amp=1``,
``outputType=amp``, ``output=amp``, ``format=amp``, AMP cache's ``amp_*`` and ``usqp``, Blogger's ``m=1``).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit, urlunsplit

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
_EDITION_HOST_LABELS = frozenset({"amp", "m", "mobile"})
_AMP_SEGMENTS = frozenset({"amp", "amphtml"})  # amphtml: Yahoo
_AMP_CACHE = "cdn.ampproject.org"  # <dashed-host>.cdn.ampproject.org/c/s/<host>/<path>; "s/": https origin
_AMP_CACHE_PATH = re.compile(r"/(?:c|v|i|r|wp)/(s/)?(.+)", re.DOTALL)
_AMP_VIEWER_PATH = re.compile(r"/amp/(s/)?(.+)", re.DOTALL)  # www.google.<tld>/amp/s/<host>/<path>
# story.amp.html -> story.html, story.amp -> story
_AMP_SUFFIX = re.compile(r"(.+)\.amp(\.[A-Za-z0-9]+)?", re.IGNORECASE | re.DOTALL)
_AMP_QUERY = frozenset({"amp", "usqp", "ampshare", "__amp_source_origin"})  # any value
_AMP_VALUE_QUERY = frozenset({"outputtype", "output", "format"})  # when the value is "amp"

_WEB = frozenset({"http", "https"})


def canonical_url(url: str) -> str:
    """Reduce a web URL to one spelling per page; return anything else stripped but unchanged."""
    url = url.strip()
    try:
        return _canonical(url)
    except ValueError:  # e.g. an unbalanced "[" in the host, or text that cannot be encoded
        return url


def _canonical(url: str) -> str:
    parts = _web_parts(url if "://" in url or not url.startswith("//") else "https:" + url)
    if parts is None:
        return url
    while (origin := _amp_cache_origin(parts)) is not None:
        parts = origin
    host, port = _host_port(parts.netloc)
    # http and https serve the same article; default ports say nothing.
    netloc = host if port in ("", "80", "443") else f"{host}:{port}"
    # A cache URL that does not wrap a publisher's URL keeps its path: dropping an "amp" segment of it could
    # make it wrap one, and the next pass would give another answer.
    path = (parts.path.rstrip("/") or "/") if _amp_cache_path(host) else _path(parts.path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _noise(k, v)]
    return urlunsplit(("https", netloc, path, urlencode(sorted(query), quote_via=quote), ""))


def _web_parts(url: str) -> SplitResult | None:
    """Split an http(s) URL with a host; None for anything else."""
    parts = urlsplit(url)
    return parts if parts.scheme.lower() in _WEB and parts.netloc else None


def _amp_cache_path(host: str) -> re.Pattern[str] | None:
    """The path pattern of AMP pages served from this host on a publisher's behalf, if it is such a host."""
    if host == _AMP_CACHE or host.endswith("." + _AMP_CACHE):
        return _AMP_CACHE_PATH
    if host.split(".")[0] == "google" and "." in host:
        return _AMP_VIEWER_PATH
    return None


def _amp_cache_origin(parts: SplitResult) -> SplitResult | None:
    """The publisher's URL inside a Google AMP cache or viewer URL, else None."""
    pattern = _amp_cache_path(_host_port(parts.netloc)[0])
    match = pattern.fullmatch(parts.path) if pattern else None
    if match is None:
        return None
    inner = _web_parts(f"{'https' if match[1] else 'http'}://{match[2]}")
    if inner is None or "." not in inner.netloc:
        return None
    return inner._replace(query=parts.query)


def article_id(*, title: str, body: str, published_at: datetime | None, url: str | None) -> str:
    """Return 16 hex characters identifying the article by its canonical URL, else by its text."""
    if url and url.strip():
        key = "url\n" + canonical_url(url)
    else:
        when = ""
        if published_at is not None:
            # Naive times are UTC, as in the contract, so both spellings give one id.
            aware = published_at if published_at.tzinfo else published_at.replace(tzinfo=UTC)
            try:
                when = aware.astimezone(UTC).isoformat()
            except OverflowError:  # an instant just outside datetime's range in UTC keeps its own offset
                when = aware.isoformat()
        key = f"text\n{_normalize(title)}\n{when}\n{_normalize(body)}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _host_port(netloc: str) -> tuple[str, str]:
    """Split a netloc into lower-case host without "www." (nor AMP or mobile labels) and port.

    User info is dropped.
    """
    hostport = netloc.rpartition("@")[2].lower()
    if hostport.startswith("[") and "]" in hostport:  # IPv6 literal: its colons are not a port
        host, _, rest = hostport.partition("]")
        return host + "]", rest.removeprefix(":")
    host, _, port = hostport.partition(":")
    host = host.rstrip(".")
    # A loop, so the result is stable on a second pass. "www." goes even before a single label, as it always
    # has; amp., m. and mobile. only while a registrable-looking name (two labels) remains.
    while True:
        first, _, rest = host.partition(".")
        if not ((first == "www" and rest) or (first in _EDITION_HOST_LABELS and "." in rest)):
            return host, port
        host = rest


def _path(path: str) -> str:
    """Drop trailing slashes and AMP path forms: "amp" segments, ".amp" before the last extension."""
    while True:
        segments = path.rstrip("/").split("/")
        kept = [s for s in segments if s.lower() not in _AMP_SEGMENTS]
        if kept and (match := _AMP_SUFFIX.fullmatch(kept[-1])):
            kept[-1] = match[1] + (match[2] or "")
        new = "/".join(kept).rstrip("/") or "/"
        if new == path:
            return path
        path = new


def _noise(name: str, value: str) -> bool:
    """Tell whether a query parameter only tracks the visit or asks for the AMP or mobile edition."""
    lower = name.lower()
    if lower in _AMP_QUERY or lower.startswith("amp_") or (lower == "m" and value in ("0", "1")):
        return True
    if lower in _AMP_VALUE_QUERY:
        return value.lower() == "amp"
    return _tracking_name(name)


@functools.lru_cache(maxsize=4096)
def _tracking_name(name: str) -> bool:
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


def _normalize(text: str) -> str:
    """Fold compatibility forms, case and whitespace so cosmetic edits keep the id."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
