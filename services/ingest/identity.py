"""Give an article a deterministic id, so a re-posted article is recognised as the same one."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

# Query parameters that track the click, not the page: the same article is reached with any of them.
_TRACKING = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "twclid",
        "mc_cid", "mc_eid", "ref", "ref_src", "ref_url", "referrer", "_ga", "_gl", "mkt_tok",
        "cmpid", "ocid", "spm", "s_cid", "at_medium", "at_campaign", "ncid", "sr_share",
    }
)  # fmt: skip
_WEB = frozenset({"http", "https"})


def canonical_url(url: str) -> str:
    """Reduce a web URL to one spelling per page; return anything else stripped but unchanged."""
    url = url.strip()
    try:
        parts = urlsplit(url if "://" in url or not url.startswith("//") else "https:" + url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return url
    scheme = parts.scheme.lower()
    if scheme not in _WEB or not parts.netloc:
        return url
    host, port = _host_port(parts.netloc)
    # http and https serve the same article; default ports say nothing.
    netloc = host if port in ("", "80", "443") else f"{host}:{port}"
    path = parts.path.rstrip("/") or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)]
    return urlunsplit(("https", netloc, path, urlencode(sorted(query), quote_via=quote), ""))


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
    """Split a netloc into lower-case host without "www." and port, dropping any user info."""
    hostport = netloc.rpartition("@")[2].lower()
    if hostport.startswith("[") and "]" in hostport:  # IPv6 literal: its colons are not a port
        host, _, rest = hostport.partition("]")
        host, port = host + "]", rest.removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    host = host.rstrip(".")
    while host.startswith("www.") and len(host) > 4:  # a loop, so the result is stable on a second pass
        host = host[4:]
    return host, port


def _tracking(name: str) -> bool:
    """Tell whether a query parameter only tracks the visit."""
    name = name.lower()
    return name.startswith("utm_") or name in _TRACKING


def _normalize(text: str) -> str:
    """Fold compatibility forms, case and whitespace so cosmetic edits keep the id."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
