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
from services.ingest.identity import (
    _PREFIXES,
    _SUPPLEMENT,
    _reads_as_content,
    article_id,
    canonical_url,
)
from services.ingest.seedformat import parse_plain_text

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
