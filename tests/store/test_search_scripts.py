"""Search in every script, the same on both engines.

Chinese, Japanese and Thai have no spaces between words; Korean attaches particles to its words; words
carry punctuation (``e-mail``, ``F.B.I.``, ``3.5%``) and accents. Every test here asks SQLite and
PostgreSQL the same question and wants the same answer from both, and the right one: a corpus of news
briefs with the articles each search must find (``tests/data/search_scripts.json``), texts generated
by Hypothesis, and the limits of what an article indexes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contracts import EnrichedArticle
from services.store.db import repository
from services.store.db.engine import create_engine, migrate
from services.store.db.repository import ArticleQuery
from services.store.db.terms import MAX_OCCURRENCES, MAX_POSITIONS
from services.store.feed.filters import matches
from services.store.filters import ArticleFilter
from tests.factories import enriched_article
from tests.store.conftest import create_database, database_url, drop_database

CORPUS = json.loads((Path(__file__).parents[1] / "data" / "search_scripts.json").read_text("utf-8"))
CASES = [pytest.param(case["q"], case["ids"], id=case["q"]) for case in CORPUS["queries"]]
# Generated cases store an article per example in one database per test: few examples, no deadline.
ON_BOTH = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def corpus_articles() -> list[EnrichedArticle]:
    return [
        enriched_article(
            id=doc["id"],
            minutes=doc["published_minutes"],
            language=doc["language"],
            title=doc["title"],
            summary=doc["summary"],
            body=doc["body"],
        )
        for doc in CORPUS["documents"]
    ]


def newest_first(wanted: list[str]) -> list[str]:
    minutes = {doc["id"]: doc["published_minutes"] for doc in CORPUS["documents"]}
    return sorted(wanted, key=lambda i: (minutes[i], i), reverse=True)


async def upsert(engine: AsyncEngine, *batch: EnrichedArticle) -> None:
    async with engine.begin() as conn:
        await repository.upsert_articles(conn, batch=list(batch))


async def ids(engine: AsyncEngine, q: str, **query: Any) -> list[str]:
    async with engine.connect() as conn:
        items, _ = await repository.list_articles(conn, query=ArticleQuery(q=q, limit=100, **query))
    return [item.id for item in items]


async def on_both(engines: dict[str, AsyncEngine], q: str, **query: Any) -> list[str]:
    """Ask both engines; fail unless they answer alike; return the answer."""
    found = {name: await ids(engine, q, **query) for name, engine in engines.items()}
    if query.get("sort") == "relevance":  # scores differ between engines, the matches do not
        assert set(found["sqlite"]) == set(found["postgresql"]), (q, found)
    else:
        assert found["sqlite"] == found["postgresql"], (q, found)
    return found["sqlite"]


async def _engines(sqlite_url: str, pg_url: str) -> AsyncIterator[dict[str, AsyncEngine]]:
    await migrate(sqlite_url)
    engines = {"sqlite": create_engine(sqlite_url), "postgresql": create_engine(pg_url)}
    try:
        yield engines
    finally:
        for engine in engines.values():
            await engine.dispose()


@pytest.fixture
async def engines(pg_url: str, tmp_path: Path) -> AsyncIterator[dict[str, AsyncEngine]]:
    """A migrated SQLite database and a migrated PostgreSQL database of this test alone."""
    async for both in _engines(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", pg_url):
        yield both


@pytest.fixture(scope="module")
def corpus_pg(pg_template: str) -> Iterator[str]:
    name = create_database(template=pg_template)
    yield database_url(name)
    drop_database(name)


@pytest.fixture(scope="module")
async def corpus(
    corpus_pg: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, AsyncEngine]]:
    """Both engines holding the corpus, shared by the tests of this module that only read it."""
    path = tmp_path_factory.mktemp("corpus") / "store.db"
    async for both in _engines(f"sqlite+aiosqlite:///{path}", corpus_pg):
        for engine in both.values():
            await upsert(engine, *corpus_articles())
        yield both


# ---------------------------------------------------------------------------------------------------------
# The corpus: one set of articles, every search asked of both engines


@pytest.mark.parametrize(("q", "wanted"), CASES)
async def test_both_engines_find_what_each_search_of_the_corpus_names(
    corpus: dict[str, AsyncEngine], q: str, wanted: list[str]
) -> None:
    assert await on_both(corpus, q) == newest_first(wanted)
    assert set(await on_both(corpus, q, sort="relevance")) == set(wanted)


@pytest.mark.parametrize(("q", "wanted"), CASES)
def test_the_live_feed_filter_matches_what_the_search_finds(q: str, wanted: list[str]) -> None:
    flt = ArticleFilter(q=q)
    assert [a.id for a in corpus_articles() if matches(a, flt)] == [
        a.id for a in corpus_articles() if a.id in wanted
    ]


def test_the_corpus_covers_every_script_and_kind_of_word() -> None:
    queries = {case["q"] for case in CORPUS["queries"]}
    assert len(queries) == len(CORPUS["queries"]) >= 50
    for q in ("深圳", "地铁", "新干线", "おにぎり", "รถไฟฟ้า", "Wi-Fi", "e-mail", "F.B.I.", "O'Brien"):
        assert q in queries
    for q in ("3.5%", "covid-19", "B2B", "метро", "Núñez", "nunez", "地铁 -深圳", "新干线 OR 新幹線"):
        assert q in queries
    languages = {doc["language"] for doc in CORPUS["documents"]}
    assert languages >= {"zh", "ja", "th", "ko", "ru", "ar", "fr", "es", "de", "pl", "vi", "en"}
    found = {i for case in CORPUS["queries"] for i in case["ids"]}
    assert found == {doc["id"] for doc in CORPUS["documents"]}  # every article is found by something


# ---------------------------------------------------------------------------------------------------------
# Generated texts: any word of a text finds it, on both engines

# Characters of scripts written without spaces, each with the marks that belong to it, so a slice of
# them never cuts a character from its marks.
HAN = list("深圳地铁新干线东京北京上海广州香港台湾日本中国人民经济发展市场公司政府幹線駅")
KANA = list("あいうえおかきくけこさしすせそたちつてとなにのはまやらわをんアイウカキクサシタナハマランー")
THAI = ["ก", "ข", "ค", "ง", "น", "ม", "ร", "ล", "ว", "ส", "อ", "เ", "แ", "ไ", "า", "ที่", "นี่", "รุ", "กำ", "ฟ้"]
HANGUL = list("서울지하철요금인상한국경제대통령선거에서는을")
UNITS = st.sampled_from(HAN + KANA + THAI + HANGUL)
SEPARATORS = st.sampled_from(["", "", "", "", " ", "，", "。", "、", "「", "」", " — "])


@st.composite
def unspaced_text_and_slice(draw: st.DrawFn) -> tuple[str, str]:
    """A text of characters of scripts without spaces, and a stretch of it from one character to another."""
    pieces = draw(st.lists(st.tuples(UNITS, SEPARATORS), min_size=1, max_size=40))
    start = draw(st.integers(0, len(pieces) - 1))
    end = draw(st.integers(start + 1, min(len(pieces), start + 6)))
    text = "".join(unit + sep for unit, sep in pieces)
    stretch = "".join(unit + sep for unit, sep in pieces[start:end])[: -len(pieces[end - 1][1]) or None]
    return text, stretch


@ON_BOTH
@given(unspaced_text_and_slice())
@example(("深圳地铁14号线今日开通", "地铁"))
@example(("東海道新幹線、始発から通常ダイヤで運転", "新幹線"))
@example(("กรุงเทพฯ เปิดเส้นทางรถไฟฟ้าสายสีชมพู", "รถไฟฟ้า"))
@example(("서울시는 지하철 요금을 인상한다", "서울"))
async def test_any_stretch_of_a_text_without_spaces_finds_it_on_both_engines(
    engines: dict[str, AsyncEngine], case: tuple[str, str]
) -> None:
    text, stretch = case
    article = enriched_article(title="Brief", body=text)
    await upsert(engines["sqlite"], article)
    await upsert(engines["postgresql"], article)

    assert article.id in await on_both(engines, stretch)


LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèêëüöäñçłßøåÉÖ0123456789"
OTHER = "абвгдеёжзийклмнопрстуфхцчшщыьэюяΑΒΓαβγδεζηθικλμνξοπρστυφχψωάέήίόύώ"
PART = st.text(alphabet=st.sampled_from(LATIN + OTHER), min_size=1, max_size=8)
JOINERS = st.sampled_from(["-", ".", "'", "’", "/", "&", "_", "\u2011", "+"])


@st.composite
def punctuated_word(draw: st.DrawFn) -> str:
    """A word as news text has them: letters and digits, parts joined by punctuation, maybe quoted."""
    parts = draw(st.lists(PART, min_size=1, max_size=4))
    joints = [draw(JOINERS) for _ in parts[1:]]
    word = parts[0] + "".join(j + p for j, p in zip(joints, parts[1:], strict=True))
    before = draw(st.sampled_from(["", "", "(", "«", "“"]))
    after = draw(st.sampled_from(["", "", ",", ".", "%", ")", "»", "”", "'s", ":"]))
    return before + word + after


@ON_BOTH
@given(st.lists(punctuated_word(), min_size=1, max_size=12), st.data())
@example(["Council", "chief", "O'Brien", "sent", "an", "e-mail"], None)
@example(["The", "F.B.I.", "said", "covid-19", "rose", "3.5%"], None)
@example(["Free", "Wi-Fi", "for", "B2B", "clients", "in", "Łódź"], None)
async def test_any_word_of_a_text_finds_it_on_both_engines(
    engines: dict[str, AsyncEngine], words: list[str], data: st.DataObject | None
) -> None:
    chosen = data.draw(st.sampled_from(words)) if data is not None else words[-1]
    if chosen == "OR":
        return
    article = enriched_article(title="Brief", body=" ".join(words))
    await upsert(engines["sqlite"], article)
    await upsert(engines["postgresql"], article)

    assert article.id in await on_both(engines, chosen)
    assert article.id in await on_both(engines, f'"{chosen}"')


# ---------------------------------------------------------------------------------------------------------
# Limits of what an article indexes: the same on both engines


async def test_occurrences_of_a_term_past_its_limit_match_nothing_on_both_engines(
    engines: dict[str, AsyncEngine],
) -> None:
    article = enriched_article(title="Brief", body="起点" + "的" * (MAX_OCCURRENCES + 44) + "终点")
    for engine in engines.values():
        await upsert(engine, article)

    assert await on_both(engines, "点的") == [article.id]  # the first 的 follows 点
    assert await on_both(engines, "终点") == [article.id]
    assert await on_both(engines, "的终") == []  # the last 的 is past the 256th: not indexed
    assert await on_both(engines, "的的的") == [article.id]


async def test_terms_past_the_position_limit_match_nothing_on_both_engines(
    engines: dict[str, AsyncEngine],
) -> None:
    article = enriched_article(
        title="Long read", summary="", body=" ".join(f"w{i}" for i in range(MAX_POSITIONS))
    )
    for engine in engines.values():
        await upsert(engine, article)

    last = MAX_POSITIONS - 5  # after 2 title terms and the unused position after title and summary
    assert await on_both(engines, f"w{last}") == [article.id]
    assert await on_both(engines, f"w{last + 1}") == []
