"""Properties of ingest's text normalisation: generated members of each class of real-world input."""

from __future__ import annotations

import html
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.contracts import ArticleIn, RawArticle
from services.errors import RequestError
from services.ingest.normalize import clean_text, clean_url, looks_like_markup
from services.ingest.parsing import codec_for, decode_body, to_raw

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Words of news copy in several scripts, with the punctuation that sits between them.
latin = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèàçñöüßøåÉÓ", min_size=2, max_size=9
)
other = st.sampled_from(["東京", "Москва", "القاهرة", "Αθήνα", "서울", "กรุงเทพ", "2024", "3.5%", "covid-19"])
words = st.lists(st.one_of(latin, latin, latin, other), min_size=1, max_size=12)
sentences = words.map(lambda ws: " ".join(ws) + ".")
paragraphs = st.lists(sentences, min_size=1, max_size=3).map(" ".join)
bodies = st.lists(paragraphs, min_size=1, max_size=4)


def _flat(text: str) -> str:
    return " ".join(text.split())


@st.composite
def as_markup(draw: st.DrawFn, paras: list[str]) -> str:
    """Write paragraphs the way feeds and CMSs do: tags, references, scripts, CDATA."""
    out = []
    for para in paras:
        tokens = []
        for word in para.split(" "):
            style = draw(st.sampled_from(["plain", "plain", "named", "numeric", "tag"]))
            if style == "named":
                word = html.escape(word).replace("é", "&eacute;").replace("ü", "&uuml;")
            elif style == "numeric":
                word = "".join(f"&#{ord(c)};" if not c.isascii() or c == "%" else c for c in word)
            elif style == "tag":
                tag = draw(st.sampled_from(["b", "i", "em", "strong", "span"]))
                word = f"<{tag}>{html.escape(word)}</{tag}>"
            else:
                word = html.escape(word)
            tokens.append(word)
        joiner = draw(st.sampled_from([" ", " ", "&nbsp;", "\n"]))
        block = draw(st.sampled_from(["p", "div", "h2", "blockquote", "section"]))
        out.append(f"<{block}>{joiner.join(tokens)}</{block}>")
        if draw(st.booleans()):
            out.append(
                draw(
                    st.sampled_from(
                        [
                            "<br>",
                            "<br/>",
                            "<script>var a = '<p>x</p>';</script>",
                            "<style>p { color: red }</style>",
                            "<!-- ad slot -->",
                        ]
                    )
                )
            )
    markup = "".join(out)
    return f"<![CDATA[{markup}]]>" if draw(st.booleans()) else markup


@PROPERTY
@given(bodies.flatmap(lambda paras: st.tuples(st.just(paras), as_markup(paras))))
def test_markup_renders_to_the_words_a_reader_sees(generated: tuple[list[str], str]) -> None:
    paras, markup = generated
    text = clean_text(markup, multiline=True)

    assert _flat(text) == _flat(" ".join(paras))
    assert not looks_like_markup(text)
    assert "<" not in text and "&" not in text


@PROPERTY
@given(bodies.map("\n\n".join))
def test_plain_text_passes_unchanged(text: str) -> None:
    assert clean_text(text, multiline=True) == unicodedata.normalize("NFC", text)


invisible = st.sampled_from(["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u2063"])


@st.composite
def with_invisibles(draw: st.DrawFn, text: str) -> str:
    """Sprinkle invisible characters inside the Latin words of a text."""
    chars = list(text)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(1, max(len(chars) - 1, 1)))
        if chars[i - 1].isascii() and chars[i - 1].isalpha():
            chars.insert(i, draw(invisible))
    return "".join(chars)


@PROPERTY
@given(bodies.map("\n\n".join).flatmap(lambda t: st.tuples(st.just(t), with_invisibles(t))))
def test_invisible_characters_neither_split_nor_glue_words(generated: tuple[str, str]) -> None:
    text, spoiled = generated
    assert clean_text(spoiled, multiline=True) == unicodedata.normalize("NFC", text)


accented = st.lists(
    st.sampled_from(
        ["François", "Zürich", "São Paulo", "Málaga", "Kraków", "Ørsted", "naïve", "café", "Besançon"]
    ),
    min_size=1,
    max_size=6,
).map(" ".join)


@PROPERTY
@given(accented)
def test_double_encoded_utf8_is_repaired(text: str) -> None:
    mojibake = text.encode("utf-8").decode("cp1252", errors="strict")
    assert clean_text(mojibake, multiline=False) == text


@PROPERTY
@given(st.text(max_size=200))
def test_whatever_is_posted_comes_out_storable_and_visible(text: str) -> None:
    for multiline in (True, False):
        out = clean_text(text, multiline=multiline)
        out.encode("utf-8")  # no lone surrogate is left
        assert "\x00" not in out
        assert all(c in "\n" or unicodedata.category(c) not in ("Cc", "Cs") for c in out)
        assert unicodedata.is_normalized("NFC", out)
        assert multiline or "\n" not in out
        assert clean_text(out, multiline=multiline) == out  # one pass is enough


@PROPERTY
@given(st.text(max_size=80))
def test_urls_lose_only_what_cannot_be_in_a_url(path: str) -> None:
    url = clean_url(f"https://news.example.com/{path}")
    assert url.startswith("https://news.example.com/")
    assert not any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in url)


# Labels as senders write them; each names the encoding the WHATWG Encoding Standard gives it.
charsets = st.sampled_from(
    ["windows-1252", "ISO-8859-1", "Shift_JIS", "windows-31j", "gb2312", "EUC-KR", "Big5", "utf-16", "koi8-r"]
)


@PROPERTY
@given(charsets, st.text(min_size=1, max_size=60))
def test_a_declared_charset_is_honoured(charset: str, text: str) -> None:
    codec = codec_for(charset.lower())
    try:
        raw = text.encode(codec)
    except UnicodeEncodeError:
        assume(False)
    assume(raw.decode(codec) == text)  # CP932 writes "¥" as the byte it reads back as "\\"
    assert decode_body(raw, f"text/plain; charset={charset}") == text.removeprefix("\ufeff")


def test_latin_1_is_read_as_windows_1252_as_browsers_do() -> None:
    # Senders label Windows text "ISO-8859-1"; the five bytes Windows leaves undefined stay readable.
    assert decode_body(b"\x93Quoted\x94 \x80 5 \x81", "text/plain; charset=ISO-8859-1") == "“Quoted” € 5 \x81"


@pytest.mark.parametrize(
    ("label", "text"),
    [
        ("Shift_JIS", "㈱髙島屋 売上高①位 ～"),
        ("gb2312", "朱镕基在北京"),
        ("euc-kr", "똠방각하"),
        ("big5", "臺北市"),
    ],
)
def test_narrow_labels_read_the_wider_encodings_senders_use(label: str, text: str) -> None:
    raw = text.encode(codec_for(label.lower()))
    assert decode_body(raw, f"text/plain; charset={label}") == text


@PROPERTY
@given(st.text(alphabet="éüçñàÉ", min_size=1, max_size=20))
def test_undeclared_non_utf8_text_is_refused_with_how_to_declare(text: str) -> None:
    with pytest.raises(RequestError) as info:
        decode_body(text.encode("cp1252"), "text/plain")
    assert info.value.status == 400
    assert "charset=" in info.value.detail


offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@PROPERTY
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets))
def test_times_are_published_in_utc_with_the_source_offset_kept(when: datetime) -> None:
    article = to_raw(ArticleIn(title="t", body="b", published_at=when))
    dumped = article.model_dump(mode="json")

    assert article.published_at == when
    assert article.published_at is not None and article.published_at.tzinfo is UTC
    assert dumped["published_at"].endswith("Z") and dumped["received_at"].endswith("Z")
    offset = when.utcoffset()
    assert offset is not None  # given, even when it is +00:00: only a naive time has no offset
    sign, rest = dumped["published_offset"][0], dumped["published_offset"][1:]
    hours, minutes = map(int, rest.split(":"))
    assert (-1 if sign == "-" else 1) * timedelta(hours=hours, minutes=minutes) == offset


@PROPERTY
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_a_naive_time_is_utc_without_an_offset(when: datetime) -> None:
    article = to_raw(ArticleIn(title="t", body="b", published_at=when))
    assert article.published_at == when.replace(tzinfo=UTC)
    assert article.published_offset is None


@pytest.mark.parametrize("value", [1700000000, 1700000000.5, "1700000000", "-62135596800", "0.0"])
def test_a_number_is_not_a_time(value: object) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        RawArticle.model_validate(
            {
                "title": "t",
                "body": "b",
                "id": "x",
                "received_at": "2024-01-01T00:00:00Z",
                "published_at": value,
            }
        )
