"""Properties of the text parser and article identity on generated input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from courlan.clean import TRACKERS_RE
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.contracts import ArticleIn
from services.ingest.identity import article_id, canonical_url
from services.ingest.seedformat import parse_plain_text
from services.ingest.tracking import _PREFIXES, _SUPPLEMENT, _reads_as_content

BOUNDED = settings(max_examples=200, deadline=None)

# Lines that look like parts of the seed layout, so generated texts exercise its branches.
layout_line = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            " date 2024-01-15 en English",
            "date 2024-13-45 xx",
            "International Relations",
            "By: BNN Correspondents",
            "By:",
            "Published: January 15, 2024 at 3:07 am EST",
            "Published: February 30, 0001 at 99:99 pm ZZZ",
            "Published: January 1, 0001 at 1:00 am AEDT",
            "International Relations North Korea Russia",
            "BNN Correspondents",
            "Founded by someone, BNN Newsroom is a newsroom.",
            "A body sentence.",
            "",
            "\ufeff",
            "\r",
        ]
    ),
)
texts = st.one_of(st.text(), st.lists(layout_line, max_size=14).map("\n".join))


def _parse_or_message(text: str) -> dict[str, Any] | str:
    try:
        return parse_plain_text(text)
    except ValueError as exc:
        return str(exc)


@BOUNDED
@given(texts)
def test_parse_plain_text_only_raises_value_error(text: str) -> None:
    result = _parse_or_message(text)
    if isinstance(result, str):
        assert "empty" in result
        return
    assert result["title"].strip()
    assert result["body"].strip()
    # The source's offset is kept (the contract records it and converts to UTC): it must be convertible.
    assert result["published_at"] is None or result["published_at"].astimezone(UTC).tzinfo is UTC
    # Whatever the parser accepts is a valid article.
    ArticleIn.model_validate(result)


zones = st.sampled_from([None, UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))])
moments = st.none() | st.datetimes(timezones=zones) | st.sampled_from([datetime.min, datetime.max])


@BOUNDED
@given(title=st.text(), body=st.text(), url=st.none() | st.text(), published=moments)
def test_article_id_is_stable(title: str, body: str, url: str | None, published: datetime | None) -> None:
    first = article_id(title=title, body=body, published_at=published, url=url)
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert article_id(title=title, body=body, published_at=published, url=url) == first


@BOUNDED
@given(title=st.text(), body=st.text())
def test_article_id_ignores_case_and_spacing(title: str, body: str) -> None:
    spaced = article_id(title=f"  {title.upper()} ", body=f"\n{body}\t", published_at=None, url=None)
    assert spaced == article_id(title=title.upper(), body=body, published_at=None, url=None)


word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%", max_size=8)
label = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
host = st.lists(label, min_size=1, max_size=3)
key = st.sampled_from(["utm_source", "fbclid", "ref", "id", "q", "Page", "a b"]) | word
urls = st.builds(
    lambda scheme, www, labels, port, path, query, fragment: (
        f"{scheme}://{www}{'.'.join(labels)}{port}/{'/'.join(path)}"
        + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
        + fragment
    ),
    st.sampled_from(["http", "https", "HTTP", "HtTpS"]),
    st.sampled_from(["", "www.", "WWW.", "www.www."]),
    host,
    st.sampled_from(["", ":80", ":443", ":8080"]),
    st.lists(word, max_size=4),
    st.lists(st.tuples(key, st.text(max_size=6))),
    st.sampled_from(["", "#", "#top"]),
)


@BOUNDED
@given(urls)
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert once.startswith("https://")
    assert "#" not in once
    assert not re.search(r"[?&](utm_source|fbclid|ref)=", once)


@BOUNDED
@given(st.text())
def test_canonical_url_is_idempotent_on_any_text(text: str) -> None:
    once = canonical_url(text)
    assert canonical_url(once) == once


# ---------------------------------------------------------------------------------------------------------
# One story, many URLs: a clean news URL and its tracking, AMP and mobile variants

_EDITION_LABELS = {"www", "m", "mobile", "amp", "google", "amphtml"}
_slug = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}", fullmatch=True).filter(
    lambda s: s not in _EDITION_LABELS
)
_label = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True).filter(
    lambda s: s not in _EDITION_LABELS
)
_domain = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(_label, min_size=1, max_size=2),
    st.sampled_from(["com", "co.uk", "fr", "de", "com.au", "news"]),
)
_digits = st.integers(1, 10**7).map(str)
_content = st.dictionaries(st.sampled_from(["id", "p", "page", "articleId", "gameId"]), _digits, max_size=2)
_value = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:", max_size=12)

# Tracking parameter names: courlan's named families (click ids, utm_, mc_, ...) and tracking words, our
# supplement, and anything else courlan's pattern matches unless it reads as a content selector (those are
# kept; see the properties further down).
_ascii_name = "abcdefghijklmnopqrstuvwxyz0123456789_-."
_tracker = st.one_of(
    st.from_regex(TRACKERS_RE, alphabet=_ascii_name).filter(lambda name: not _reads_as_content(name)),
    st.from_regex(r"(utm|mc|pk|mtm|itm|vero|oly)_[a-z]{1,8}", fullmatch=True),
    st.from_regex(r"[a-z]{1,6}_(medium|campaign|referrer)", fullmatch=True),
    st.from_regex(r"[a-z]{1,6}_(source|cid|eid)", fullmatch=True).filter(
        lambda name: not _reads_as_content(name)
    ),
    st.sampled_from(
        ["fbclid", "gclid", "dclid", "msclkid", "igshid", "twclid", "yclid", "_ga", "_gl", "xtor", "ref_src"]
    ),
    st.sampled_from(sorted(_SUPPLEMENT)),
    st.builds(
        lambda prefix, rest: prefix + rest,
        st.sampled_from(_PREFIXES),
        st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
    ),
)
_cased = st.tuples(_tracker, st.booleans()).map(lambda t: t[0].upper() if t[1] else t[0])
_amp_flags = st.lists(
    st.sampled_from(
        [("amp", ""), ("amp", "1"), ("amp", "true"), ("outputType", "amp"), ("output", "amp"), ("m", "1")]
    ),
    max_size=2,
    unique_by=lambda kv: kv[0],
)


def _query(pairs: list[tuple[str, str]]) -> str:
    """A query string as sites write it: a bare "amp" flag has no "=" sign."""
    return "&".join(
        quote(k, safe="") if k == "amp" and not v else f"{quote(k, safe='')}={quote(v, safe='')}"
        for k, v in pairs
    )


@st.composite
def _story_variants(draw: st.DrawFn) -> tuple[str, str, list[tuple[str, str]]]:
    """A clean news URL, one of its variants, and the variant's query pairs (to extend)."""
    domain = draw(_domain)
    segments = draw(st.lists(_slug, min_size=1, max_size=4))
    if draw(st.booleans()):
        segments[-1] += ".html"
    content = list(draw(_content).items())
    clean = f"https://{draw(st.sampled_from(['', 'www.']))}{domain}/{'/'.join(segments)}"
    clean += f"?{_query(content)}" if content else ""

    # The AMP or mobile edition: host label, path form, query flags.
    host = draw(st.sampled_from(["", "www.", "WWW.", "m.", "mobile.", "amp.", "www.m."])) + domain
    path = list(segments)
    form = draw(st.sampled_from(["", "slash", "amp", "amp/", "leading", "inner", "suffix"]))
    if form == "amp":
        path.append("amp")
    elif form == "amp/":
        path.append("amp/")
    elif form == "slash":
        path[-1] += "/"
    elif form in ("leading", "inner"):
        path.insert(0 if form == "leading" else draw(st.integers(0, len(path))), "amp")
    elif form == "suffix":
        stem, dot, ext = path[-1].partition(".")
        path[-1] = f"{stem}.amp{dot}{ext}"
    trackers = draw(st.lists(st.tuples(_cased, _value), max_size=4))
    pairs = draw(st.permutations(content + trackers + draw(_amp_flags)))
    scheme = draw(st.sampled_from(["http", "https"]))
    origin = f"{host}/{'/'.join(path)}"
    wrapper = draw(st.sampled_from(["", "cache", "viewer", "google"]))
    if wrapper == "cache":
        dashed = host.lower().replace("-", "--").replace(".", "-")
        url = f"https://{dashed}.cdn.ampproject.org/c/{'s/' if scheme == 'https' else ''}{origin}"
        pairs = [*pairs, ("amp_js_v", "0.1")]
    elif wrapper == "viewer":
        url = f"https://cdn.ampproject.org/v/{'s/' if scheme == 'https' else ''}{origin}"
        pairs = [*pairs, ("usqp", "mq331AQKKAFQArABIIACAw==")]
    elif wrapper == "google":
        url = f"https://www.google.com/amp/{'s/' if scheme == 'https' else ''}{origin}"
    else:
        url = f"{scheme}://{origin}"
    return clean, url, pairs


def _with(url: str, pairs: list[tuple[str, str]], fragment: str = "") -> str:
    return f"{url}?{_query(pairs)}{fragment}" if pairs else url + fragment


@BOUNDED
@given(_story_variants(), st.sampled_from(["", "#", "#comments", "#amp_tf=From%20%251%24s&aoh=17053"]))
def test_tracking_amp_and_mobile_variants_have_the_canonical_url_of_the_story(
    story: tuple[str, str, list[tuple[str, str]]], fragment: str
) -> None:
    clean, url, pairs = story
    variant = _with(url, pairs, fragment)
    assert canonical_url(variant) == canonical_url(clean)
    assert article_id(title="A", body="B", published_at=None, url=variant) == article_id(
        title="C", body="D", published_at=None, url=clean
    )


@BOUNDED
@given(_story_variants(), st.integers(1, 10**6))
def test_a_content_parameter_makes_another_story(
    story: tuple[str, str, list[tuple[str, str]]], n: int
) -> None:
    clean, url, pairs = story
    other = canonical_url(_with(url, [*pairs, ("story", str(n))]))
    assert other != canonical_url(clean)
    assert other == canonical_url(clean + ("&" if "?" in clean else "?") + f"story={n}")
    assert canonical_url(other) == other


# ---------------------------------------------------------------------------------------------------------
# Two pages told apart by a content parameter keep two ids, also when courlan's word parts match its name

# courlan 1.4.0's anchored alternatives: click ids and tracker prefix families, trackers whatever follows.
_COURLAN_NAMED = re.compile(
    r"^(?:dc|fbc|gc|twc|yc|ysc)lid|^(?:click|gbra|msclk|igsh|partner|wbra)id"
    r"|^(?:ads?|mc|ga|gs|itm|mc|mkt|ml|mtm|oly|pk|utm|vero)_"
)
_TRACKING_WORDS = re.compile(r"campaign|medium|referr?er|affiliate|xtor")


def _not_a_tracker(name: str) -> bool:
    """Leave out the names that are trackers beyond doubt, however content-like they look."""
    lower = name.lower()
    parts = {p.lower() for p in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+", name)}
    return not (
        _COURLAN_NAMED.match(lower)
        or _TRACKING_WORDS.search(lower)
        or parts & {"aff", "affi"}
        or lower in _SUPPLEMENT
        or lower == "clid"
        or lower.startswith((*_PREFIXES, "amp_"))
    )


_letters = st.from_regex(r"[a-z]{1,8}", fullmatch=True)
_nouns = st.sampled_from(["game", "gallery", "episode", "article", "story", "photo", "video", "post", "item"])
_content_names = st.one_of(
    # Ids, codes, numbers and slugs: gaXid, ref_id, sourceId, gamecode, sessionnum, refslug ...
    st.builds(
        lambda stem, suffix: stem + suffix,
        _letters | st.sampled_from(["ga", "gl", "ref", "source", "session", "c", "u", "e", "kwd", "keyword"]),
        st.sampled_from(["id", "_id", "Id", "code", "num", "slug"]),
    ),
    # Content nouns, alone or in a compound name: gameweek, photo_gallery, article_source, episode_cid ...
    st.builds(
        lambda before, noun, after: before + noun + after,
        st.sampled_from(["", "_", "x-", "photo_"]) | _letters.map(lambda s: s + "_"),
        _nouns,
        st.sampled_from(["", "Pk", "week", "_source", "_cid", "_ref", "-gallery", "_ga"])
        | _letters
        | _letters.map(lambda s: "_" + s),
    ),
).filter(_not_a_tracker)
_content_values = st.integers(0, 10**12).map(str) | _slug


@BOUNDED
@given(_content_names, _domain, st.lists(_slug, min_size=1, max_size=3), _content_values, _content_values)
def test_a_content_like_parameter_keeps_two_pages_apart(
    name: str, domain: str, segments: list[str], one: str, two: str
) -> None:
    assume(one != two)
    page = f"https://www.{domain}/{'/'.join(segments)}"
    first = canonical_url(f"{page}?{quote(name, safe='')}={one}&utm_source=rss")
    second = canonical_url(f"{page}?utm_medium=email&{quote(name, safe='')}={two}")
    assert first != second
    assert f"?{quote(name, safe='')}={one}" in first
    assert article_id(title="A", body="B", published_at=None, url=first) != article_id(
        title="A", body="B", published_at=None, url=second
    )


# ---------------------------------------------------------------------------------------------------------
# One page, many spellings (RFC 3986, section 6.2.2), and spellings that differ in meaning

_UNRESERVED = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
# Path characters: unreserved, reserved ones a path holds as they are, and non-ASCII letters.
_segment = st.text(alphabet=_UNRESERVED + "!$&'()*+,;=:@" + "éüØ例كو", min_size=1, max_size=8).filter(
    lambda s: s not in (".", "..")
)
_unicode_label = st.sampled_from(["bücher", "пример", "例え", "münchen", "ελλάδα"])


def _escape(data: bytes, draw: st.DrawFn) -> str:
    """Percent-encode bytes, hex digits in upper or lower case as drawn."""
    return "".join(f"%{b:02X}" if draw(st.booleans()) else f"%{b:02x}" for b in data)


def _respell_path_char(char: str, draw: st.DrawFn) -> str:
    """An unreserved or non-ASCII character as it is or percent-encoded; a reserved one as it is."""
    if (char in _UNRESERVED or not char.isascii()) and draw(st.booleans()):
        return _escape(char.encode("utf-8"), draw)
    return char


def _respell_query_bytes(data: bytes, draw: st.DrawFn) -> str:
    """Bytes of a query name or value, each written in one of the ways that mean it."""
    spelled = []
    for b in data:
        char = chr(b)
        forms = [_escape(bytes([b]), draw)]
        if char in _UNRESERVED:
            forms.append(char)
        if char == " ":
            forms.append("+")
        spelled.append(draw(st.sampled_from(forms)))
    return "".join(spelled)


@st.composite
def _spellings(draw: st.DrawFn) -> tuple[str, str]:
    """A URL in its plain spelling and one of its other spellings."""
    labels = draw(st.lists(_label, min_size=1, max_size=2))
    idn = draw(st.none() | _unicode_label)
    tld = draw(st.sampled_from(["com", "co.uk", "de", "fr"]))
    plain_host = ".".join([*([idn] if idn else []), *labels, tld])
    # Its punycode spelling, as the standard library's IDNA codec writes it, or the plain one.
    punycode = idn is not None and draw(st.booleans())
    other_host = plain_host.encode("idna").decode("ascii") if punycode else plain_host
    other_host = draw(st.sampled_from(["", "www.", "WWW."])) + draw(
        st.sampled_from([other_host, other_host.upper(), other_host.title()])
    )

    segments = draw(st.lists(_segment, min_size=1, max_size=4))
    other_segments: list[str] = []
    for segment in segments:
        # Dot segments and empty segments that resolve to nothing.
        other_segments += draw(st.sampled_from([[], ["."], [""], [draw(_segment), ".."], [".", ""]]))
        other_segments.append("".join(_respell_path_char(c, draw) for c in segment))
    trailing = draw(st.sampled_from(["", "/", "//", "/."]))

    names = draw(st.lists(st.sampled_from([b"id", b"story", b"q", b"page"]), max_size=3))
    values = [draw(st.binary(max_size=6)) for _ in names]
    plain_query = "&".join(f"{n.decode()}={quote(v, safe='')}" for n, v in zip(names, values, strict=True))
    other_pairs = [
        f"{_respell_query_bytes(n, draw)}={_respell_query_bytes(v, draw)}"
        for n, v in zip(names, values, strict=True)
    ]
    other_pairs = draw(
        st.permutations(
            [*other_pairs, *draw(st.lists(st.sampled_from(["utm_source=x", "fbclid=1"]), max_size=2))]
        )
    )

    plain = f"https://{plain_host}/{'/'.join(segments)}" + (f"?{plain_query}" if plain_query else "")
    scheme = draw(st.sampled_from(["https://", "http://", "HTTP://", "//", ""]))
    other = f"{scheme}{other_host}/{'/'.join(other_segments)}{trailing}"
    other += ("?" + "&".join(other_pairs) if other_pairs else "") + draw(st.sampled_from(["", "#top"]))
    return plain, other


@BOUNDED
@given(_spellings())
def test_spellings_of_one_url_have_one_canonical_url(spellings: tuple[str, str]) -> None:
    plain, other = spellings
    canonical = canonical_url(plain)
    assert canonical_url(other) == canonical
    assert canonical.isascii()
    assert canonical_url(canonical) == canonical


@BOUNDED
@given(_spellings(), st.binary(max_size=6), st.binary(max_size=6))
def test_query_values_keep_their_bytes(spellings: tuple[str, str], one: bytes, two: bytes) -> None:
    assume(one != two)
    plain, other = spellings
    sep = "&" if "?" in other else "?"
    first = canonical_url(f"{other.partition('#')[0]}{sep}value={quote(one, safe='')}")
    second = canonical_url(f"{plain}{'&' if '?' in plain else '?'}value={quote(two, safe='')}")
    assert first != second


# Pieces of URLs that exercise escapes, dot segments, hosts and AMP forms, in any order.
_piece = st.sampled_from(
    [
        *"aA0-._~%/?#&=+:;@!$'()*,[]\\ü例ß。．｡ \t",
        *("%2e", "%2E", "%41", "%d8", "%C3%BC", "%E9", "%25", "%2F", "%26", "%3D", "%3A", "%40", "%5B"),
        *("..", ".", "//", "amp", "www.", "m.", "amp.", "xn--", ".amp"),
    ]
)
_messy = st.builds(
    lambda start, pieces: start + "".join(pieces),
    st.sampled_from(
        [
            *("", "http://", "https://", "//", "https://www.", "www.", "amp.", "https://amp.cnn.com/cnn/"),
            *(
                "https://a.cdn.ampproject.org/c/s/",
                "https://www.google.com/amp/s/",
                "bücher.de/",
                "example.com",
            ),
        ]
    ),
    st.lists(_piece, max_size=25),
)


@BOUNDED
@given(_messy)
def test_canonical_url_is_idempotent_on_messy_urls(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once
