"""Reduce a news URL to one spelling per article: no tracking, no AMP or mobile edition, one spelling.

One story reaches us under many URLs: share buttons, newsletters and RSS add tracking parameters, and AMP
and mobile editions change the host or the path. ``canonical_url`` reduces all of them to one spelling.

AMP and mobile editions: Google AMP cache and viewer URLs are unwrapped to the publisher's URL; the host
prefixes ``amp.``, ``m.`` and ``mobile.`` (like ``www.``) are removed; so are ``amp`` path segments, an
``.amp`` before the file extension of the last segment and AMP query flags (``amp``, ``amp=1``,
``outputType=amp``, ``output=amp``, ``format=amp``, AMP cache's ``amp_*`` and ``usqp``, Blogger's ``m=1``).
An AMP host whose path begins with the site's own name drops it: ``amp.cnn.com/cnn/2024/...`` is
``cnn.com/2024/...`` (CNN).

Spelling (RFC 3986, section 6.2.2, and what browsers do): the scheme is https, also for a URL written
without one (``//host/...``; ``www.host/...`` or ``host.tld/...`` when courlan knows the public suffix, so
``story.html`` stays a path); the host is in lower case without user info, default port and final dot,
percent-encoding in it decoded and its internationalised labels in punycode, mapped as browsers map them
(``Bücher.de`` is ``xn--bcher-kva.de``; ``ß`` is kept, not read as ``ss``). In the path, percent-encoded
unreserved characters (``%2D``, ``%7E``, ``%41``) are decoded, other escapes get upper-case hex digits
(``%d8`` is ``%D8``), characters a URI cannot hold (non-ASCII ones, spaces, ``|``, ...) are percent-encoded
as UTF-8 (so a Unicode path and its encoding are one spelling, the encoded one), ``.`` and ``..`` segments
are resolved and empty segments (``//``, a trailing ``/``) dropped; ``%2F`` stays ``%2F``, and a ``%``
that begins no escape is written ``%25``. The query is cut at ``&`` and the first ``=`` before anything is
decoded; names and values keep their bytes (``%26``, ``%3D`` and bytes that are not UTF-8 keep their
meaning) and are written as form encoding writes them: ``+`` as ``%20``, every character but the
unreserved ones percent-encoded, hex in upper case; the parameters are sorted by name, then value. The
fragment goes.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from urllib.parse import SplitResult, quote, unquote, unquote_to_bytes, urlsplit, urlunsplit

import courlan

from services.ingest.tracking import tracking

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

# Spelling (RFC 3986, section 6.2.2). Unreserved characters mean the same percent-encoded or not.
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# A path keeps its unreserved and reserved characters as they are (pchar and "/"); the query keeps only its
# unreserved ones, as form encoding writes it. Anything else is percent-encoded as UTF-8.
_PATH_ESCAPES = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~!$&'()*+,;=:@/]")
_QUERY_ESCAPES = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~]")
# Full stops of other scripts that separate labels of an internationalised host name (UTS 46).
_HOST_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
# A host name decoded or mapped into one of these is not a host name: it is left as written.
_NOT_IN_HOST = re.compile(r"[/?#@:\[\]\\%\s]")
# A URL written without its scheme: a host name (two labels at least) and optional port, then the path.
_SCHEMELESS = re.compile(r"(?P<host>(?:[^\W_][\w-]*\.)+[^\W_][\w-]*)\.?(?::\d{1,5})?(?=[/?#]|\Z)")


def canonical_url(url: str) -> str:
    """Reduce a web URL to one spelling per page; return anything else stripped but unchanged."""
    url = url.strip()
    try:
        return _canonical(url)
    except ValueError:  # e.g. an unbalanced "[" in the host, or text that cannot be encoded
        return url


def _canonical(url: str) -> str:
    parts = _web_parts(_with_scheme(url))
    if parts is None:
        return url
    while True:
        # The path is normalised before it is read as a cache URL, so a second pass reads it the same way.
        parts = parts._replace(path=_path(parts.path))
        origin = _amp_cache_origin(parts)
        if origin is None:
            break
        parts = origin
    host, port, amp_host = _host_port(parts.netloc)
    # http and https serve the same article; default ports say nothing.
    netloc = host if port in ("", "80", "443") else f"{host}:{port}"
    # A cache URL that does not wrap a publisher's URL keeps its AMP forms: dropping an "amp" segment of it
    # could make it wrap one, and the next pass would give another answer.
    path = parts.path if _amp_cache_path(host) else _path(parts.path, editions=True)
    if amp_host:
        path = _without_site_prefix(path, host)
    return urlunsplit(("https", netloc, path, _query(parts.query), ""))


def _with_scheme(url: str) -> str:
    """Read a URL without a scheme ("//host/path", "www.host/path", "host.tld/path") as https."""
    if url.startswith("//"):
        return "https:" + url
    match = _SCHEMELESS.match(url)
    if match and _host_name(match["host"]):
        return "https://" + url
    return url


@functools.lru_cache(maxsize=1024)
def _host_name(text: str) -> bool:
    """Tell whether text written before a path is a host name: "www." or a public suffix courlan knows.

    So "www.bbc.co.uk/news" and "bbc.co.uk/news" are URLs, "story.html" and "index.php?id=1" are not.
    """
    return text.lower().startswith("www.") or courlan.extract_domain("https://" + text) is not None


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


def _host_port(netloc: str) -> tuple[str, str, bool]:
    """Split a netloc into host (normalised, without "www." nor AMP or mobile labels) and port.

    User info is dropped. The flag tells whether an "amp." label was dropped.
    """
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("[") and "]" in hostport:  # IPv6 literal: its colons are not a port
        host, _, rest = hostport.lower().partition("]")
        return host + "]", rest.removeprefix(":"), False
    host, _, port = hostport.partition(":")
    host = _hostname(host).rstrip(".")
    # A loop, so the result is stable on a second pass. "www." goes even before a single label, as it always
    # has; amp., m. and mobile. only while a registrable-looking name (two labels) remains.
    amp = False
    while True:
        first, _, rest = host.partition(".")
        if not ((first == "www" and rest) or (first in _EDITION_HOST_LABELS and "." in rest)):
            return host, port.lower(), amp
        amp = amp or first == "amp"
        host = rest


def _hostname(host: str) -> str:
    """A host name in lower case, percent-encoding decoded, internationalised labels in punycode (IDNA)."""
    if "%" in host:
        try:
            decoded = _ascii_host(unquote(host, errors="strict"))
        except UnicodeDecodeError:
            decoded = None
        if decoded is not None and not _NOT_IN_HOST.search(decoded):
            return decoded
    ascii_host = _ascii_host(host)
    return host.lower() if _NOT_IN_HOST.search(ascii_host.replace("%", "")) else ascii_host


def _ascii_host(host: str) -> str:
    """Write a host name in lower case, its non-ASCII labels in punycode: "Bücher.de" is "xn--bcher-kva.de".

    The labels are mapped as browsers map them (UTS 46, nontransitional): compatibility forms folded (NFKC),
    lower case, the full stops of other scripts read as dots; "ß" stays "ß" (xn--strae-oqa.de).
    """
    if host.isascii():
        return host.lower()
    mapped = unicodedata.normalize("NFKC", host).lower().translate(_HOST_DOTS)
    return ".".join(
        label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
        for label in mapped.split(".")
    )


def _path(path: str, *, editions: bool = False) -> str:
    """Normalise a path (RFC 3986, 6.2.2): percent-encoding, dot segments; drop empty segments.

    Trailing slashes go with the empty segments. With editions, AMP path forms go too: "amp" segments and
    ".amp" before the extension of the last segment.
    """
    segments = _segments(_requote(path, _PATH_ESCAPES))
    while editions:
        kept = [s for s in segments if s.lower() not in _AMP_SEGMENTS]
        if kept and (match := _AMP_SUFFIX.fullmatch(kept[-1])):
            kept[-1] = match[1] + (match[2] or "")
        kept = _segments("/".join(kept))  # "..amp" leaves a "." to resolve
        if kept == segments:
            break
        segments = kept
    return "/" + "/".join(segments)


def _segments(path: str) -> list[str]:
    """The segments of a path with "." and ".." resolved (RFC 3986, 5.2.4) and empty ones dropped."""
    resolved: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if resolved:
                resolved.pop()
        elif segment not in ("", "."):
            resolved.append(segment)
    return resolved


def _without_site_prefix(path: str, host: str) -> str:
    """Drop the site's own name before the path of its AMP host: amp.cnn.com/cnn/2024/... -> /2024/..."""
    site, _, rest = path.removeprefix("/").partition("/")
    return "/" + rest if rest and site == host.partition(".")[0] else path


def _query(query: str) -> str:
    """The query without tracking and AMP parameters, sorted, percent-encoding normalised.

    Names and values are cut at "&" and the first "=" before anything is decoded, and their bytes are kept:
    an encoded "&" or "=" (%26, %3D) inside a name or value, or a byte that is not UTF-8, keeps its meaning.
    As in form encoding, "+" is a space and every character but the unreserved ones is percent-encoded.
    """
    pairs = []
    for field in query.split("&"):
        if not field:
            continue
        raw_name, _, raw_value = field.partition("=")
        name, value = (_requote(part.replace("+", " "), _QUERY_ESCAPES) for part in (raw_name, raw_value))
        if not _noise(unquote(name), unquote(value)):
            pairs.append((name, value))
    pairs.sort(key=lambda pair: (unquote_to_bytes(pair[0]), unquote_to_bytes(pair[1])))
    return "&".join(f"{name}={value}" for name, value in pairs)


def _requote(text: str, escapes: re.Pattern[str]) -> str:
    """Normalise percent-encoding (RFC 3986, 6.2.2.1 and 6.2.2.2): hex digits in upper case, unreserved
    characters decoded, and every character that ``escapes`` matches (a stray "%" too) encoded as UTF-8.
    """
    return escapes.sub(_requote_one, text)


def _requote_one(match: re.Match[str]) -> str:
    token = match[0]
    if len(token) == 3:  # "%XX"; other matches are one character
        char = chr(int(token[1:], 16))
        return char if char in _UNRESERVED else token.upper()
    return quote(token, safe="", errors="surrogatepass")


def _noise(name: str, value: str) -> bool:
    """Tell whether a query parameter only tracks the visit or asks for the AMP or mobile edition."""
    lower = name.lower()
    if lower in _AMP_QUERY or lower.startswith("amp_") or (lower == "m" and value in ("0", "1")):
        return True
    if lower in _AMP_VALUE_QUERY:
        return value.lower() == "amp"
    return tracking(name)
