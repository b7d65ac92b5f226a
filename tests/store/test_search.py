"""Full-text search, filters and cursors of the article list, on SQLite and on PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import timedelta, timezone
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contracts import ENRICH_GROUP, STORE_GROUP, EnrichedArticle, Topic, enriched_stream, raw_stream
from services.errors import BadCursor, BadFilter, BadSearch
from services.store.db import aggregates, repository
from services.store.db.repository import ArticleQuery
from services.store.settings import StoreSettings
from tests.factories import BASE_TIME, enriched_article, entity
from tests.store.conftest import running_store

POLITICS, GOVERNMENT, ELECTION = "medtop:11000000", "medtop:20000621", "medtop:20000574"
SPORT = "medtop:15000000"


def topic(code: str, score: float = 0.5) -> Topic:
    return Topic(code=code, label=code, score=score)


async def upsert(engine: AsyncEngine, *batch: EnrichedArticle) -> None:
    async with engine.begin() as conn:
        await repository.upsert_articles(conn, batch=list(batch))


async def page(engine: AsyncEngine, **query: Any) -> tuple[list[str], str | None]:
    for key in ("entities", "tags", "topics"):
        if key in query:
            query[key] = tuple(query[key])
    async with engine.connect() as conn:
        items, cursor = await repository.list_articles(conn, query=ArticleQuery(**query))
    return [item.id for item in items], cursor


async def ids(engine: AsyncEngine, **query: Any) -> list[str]:
    return (await page(engine, limit=100, **query))[0]


def newest_first(*batch: EnrichedArticle) -> list[str]:
    return [a.id for a in sorted(batch, key=lambda a: (a.published_at or a.received_at, a.id), reverse=True)]


# ---------------------------------------------------------------------------------------------------------
# Full-text search


async def test_search_matches_words_anywhere_and_ranks_title_matches_first(store_engine: AsyncEngine) -> None:
    in_title = enriched_article(
        minutes=0, title="Inflation climbs again", body="Prices rose as inflation climbed in March."
    )
    in_body = enriched_article(minutes=10, title="Markets close", body="Traders watched inflation figures.")
    unrelated = enriched_article(minutes=20, title="Cup final", body="The striker scored twice.")
    await upsert(store_engine, in_title, in_body, unrelated)

    assert await ids(store_engine, q="inflation", sort="relevance") == [in_title.id, in_body.id]
    assert await ids(store_engine, q="inflation") == [in_body.id, in_title.id]  # published: newest first
    assert await ids(store_engine, q="INFLATION") == [in_body.id, in_title.id]


async def test_an_exact_phrase_ranks_above_scattered_words(store_engine: AsyncEngine) -> None:
    scattered = enriched_article(
        minutes=5, title="Budget day", summary="Rates of tax are an interest of many; rates may change."
    )
    phrase = enriched_article(minutes=0, title="Budget day", summary="The bank raised interest rates today.")
    await upsert(store_engine, scattered, phrase)

    assert await ids(store_engine, q="interest rates", sort="relevance") == [phrase.id, scattered.id]
    assert await ids(store_engine, q='"interest rates"') == [phrase.id]


async def test_search_stems_words_and_folds_accents(store_engine: AsyncEngine) -> None:
    article = enriched_article(title="Elections called", body="The president's café closed after voting.")
    await upsert(store_engine, article)

    assert await ids(store_engine, q="election") == [article.id]
    assert await ids(store_engine, q="voted") == [article.id]
    assert await ids(store_engine, q="cafe") == [article.id]


async def test_exclusion_and_alternatives(store_engine: AsyncEngine) -> None:
    oil = enriched_article(minutes=2, title="Oil prices jump", body="Crude oil rose on supply fears.")
    gas = enriched_article(minutes=1, title="Gas prices fall", body="Natural gas fell.")
    both = enriched_article(minutes=0, title="Energy prices", body="Oil and gas both moved.")
    await upsert(store_engine, oil, gas, both)

    assert await ids(store_engine, q="prices -gas") == [oil.id]
    assert await ids(store_engine, q="oil OR gas") == [oil.id, gas.id, both.id]
    assert await ids(store_engine, q="crude OR natural") == [oil.id, gas.id]


async def test_search_covers_summary_and_follows_a_newer_enrichment(store_engine: AsyncEngine) -> None:
    old = enriched_article(title="Harbour story", body="Boats.", summary="Fishermen protest quotas.")
    await upsert(store_engine, old)
    assert await ids(store_engine, q="quotas") == [old.id]

    new = old.model_copy(
        update={
            "title": "Harbour reopens",
            "summary": "Ferries resume.",
            "enriched_at": old.enriched_at + timedelta(1),
        }
    )
    await upsert(store_engine, new)

    assert await ids(store_engine, q="quotas") == []
    assert await ids(store_engine, q="ferries reopens") == [old.id]


@pytest.mark.parametrize(
    "text",
    [
        '"unbalanced quote',
        "NEAR(oil gas)",
        "oil AND OR NOT",
        "title:oil",
        "{title}: oil",
        "oil*",
        "^oil",
        "oil -",
        "(oil",
        "o'neill's",
        "C++ & C#",
        "100% sure?",
        "OR oil OR",
        "-- oil",
        "\\ oil ;",
    ],
)
async def test_search_syntax_in_user_input_is_never_an_error(store_engine: AsyncEngine, text: str) -> None:
    oil = enriched_article(title="Oil news", body="Oil was sold; O'Neill's shop; C++ and C# code; 100 sure.")
    await upsert(store_engine, oil)

    assert await ids(store_engine, q=text) in ([], [oil.id])
    assert await ids(store_engine, q=text, sort="relevance") in ([], [oil.id])


async def test_plain_words_inside_operators_still_match(store_engine: AsyncEngine) -> None:
    oil = enriched_article(title="Oil news", body="Oil was sold near the coast.")
    await upsert(store_engine, oil)

    for text in ("NEAR( oil", "(oil)", "oil:", "^oil", "oil*", '"oil', "oil -", "+oil"):
        assert await ids(store_engine, q=text) == [oil.id], text


@pytest.mark.parametrize("text", ["", "   ", "-oil", "!!! ???", '-"oil prices"', "OR"])
async def test_a_query_without_a_wanted_word_is_bad_search(store_engine: AsyncEngine, text: str) -> None:
    with pytest.raises(BadSearch, match="q has no word"):
        await page(store_engine, q=text)


async def test_too_many_words_is_bad_search(store_engine: AsyncEngine) -> None:
    with pytest.raises(BadSearch, match="at most"):
        await page(store_engine, q=" ".join(f"w{i}" for i in range(40)))


async def test_relevance_needs_q(store_engine: AsyncEngine) -> None:
    with pytest.raises(BadFilter, match="sort=relevance"):
        await page(store_engine, sort="relevance")


async def test_search_combines_with_every_filter(store_engine: AsyncEngine) -> None:
    hit = enriched_article(
        minutes=30,
        title="Brown sets budget",
        entities=[entity("Gordon Brown")],
        tags=["Economy"],
        topics=[topic(GOVERNMENT)],
        source="bbc",
    )
    wrong_tag = enriched_article(
        minutes=20, title="Brown budget", entities=[entity("Gordon Brown")], source="bbc"
    )
    wrong_time = hit.model_copy(update={"id": "old-budget", "published_at": BASE_TIME - timedelta(days=3)})
    await upsert(store_engine, hit, wrong_tag, wrong_time)

    found = await ids(
        store_engine,
        q="budget",
        entities=["Gordon Brown"],
        tags=["Economy"],
        topics=[POLITICS],
        source="bbc",
        language="en",
        since=BASE_TIME - timedelta(days=1),
    )
    assert found == [hit.id]


# ---------------------------------------------------------------------------------------------------------
# Paging: every matching article exactly once, while newer ones arrive


async def _page_through(engine: AsyncEngine, between: list[EnrichedArticle], **query: Any) -> list[str]:
    seen, cursor = [], None
    pending = list(between)
    while True:
        got, cursor = await page(engine, limit=3, cursor=cursor, **query)
        seen += got
        if pending:  # another article arrives after every page
            await upsert(engine, pending.pop())
        if cursor is None:
            return seen


async def test_search_pages_by_relevance_return_each_match_once_while_articles_arrive(
    store_engine: AsyncEngine,
) -> None:
    title = [enriched_article(minutes=i % 4, title=f"Storm warning {i}", body="A storm.") for i in range(5)]
    body = [
        enriched_article(minutes=i % 3, title=f"Weather {i}", body="A storm is coming.") for i in range(6)
    ]
    other = [enriched_article(minutes=i, title="Calm", body="Sunny.") for i in range(4)]
    await upsert(store_engine, *title, *body, *other)
    arriving = [
        enriched_article(minutes=100 + i, title=f"Storm update {i}", body="Storm storm storm.")
        for i in range(3)
    ] + [enriched_article(minutes=-100, title="Old storm", body="storm")]

    seen = await _page_through(store_engine, arriving, q="storm", sort="relevance")

    original = {a.id for a in title + body}
    assert len(seen) == len(set(seen))
    assert original <= set(seen)
    assert set(seen) <= original | {a.id for a in arriving}
    assert seen[: len(title)] == newest_first(*title)  # title matches first, newest first among equals


async def test_search_pages_by_published_time_return_each_match_once_while_articles_arrive(
    store_engine: AsyncEngine,
) -> None:
    matches = [enriched_article(minutes=i // 2, title=f"Flood {i}", body="Flood water.") for i in range(10)]
    await upsert(store_engine, *matches, *(enriched_article(minutes=i, title="Dry") for i in range(3)))
    arriving = [enriched_article(minutes=500 + i, title="Flood again") for i in range(4)]

    seen = await _page_through(store_engine, arriving, q="flood")

    assert seen == newest_first(*matches)


async def test_filtered_pages_return_each_article_once_while_articles_arrive(
    store_engine: AsyncEngine,
) -> None:
    tagged = [
        enriched_article(minutes=i // 3, tags=["Keep"], topics=[topic(ELECTION)], entities=[entity("Ada")])
        for i in range(11)
    ]
    await upsert(store_engine, *tagged, *(enriched_article(minutes=i, tags=["Other"]) for i in range(5)))
    arriving = [enriched_article(minutes=900 + i, tags=["Keep"], topics=[topic(ELECTION)]) for i in range(3)]

    for query in ({"tags": ["Keep"]}, {"topics": [POLITICS]}, {"entities": ["Ada"], "tags": ["Keep"]}):
        assert await _page_through(store_engine, [], **query) == newest_first(*tagged)
    assert await _page_through(store_engine, arriving, topics=[ELECTION], since=BASE_TIME) == newest_first(
        *tagged
    )


async def test_cursors_belong_to_their_sort_and_query(store_engine: AsyncEngine) -> None:
    await upsert(store_engine, *(enriched_article(minutes=i, title="Rain today") for i in range(4)))
    _, by_time = await page(store_engine, q="rain", limit=2)
    _, by_rank = await page(store_engine, q="rain", sort="relevance", limit=2)
    assert by_time
    assert by_rank

    with pytest.raises(BadCursor, match="not valid"):
        await page(store_engine, q="rain", sort="relevance", cursor=by_time)
    with pytest.raises(BadCursor, match="not valid"):
        await page(store_engine, q="rain", cursor=by_rank)
    with pytest.raises(BadCursor, match="different q"):
        await page(store_engine, q="today", sort="relevance", cursor=by_rank)


# ---------------------------------------------------------------------------------------------------------
# Filters


async def test_entity_filters_repeat_as_and_and_respect_the_type(store_engine: AsyncEngine) -> None:
    person = enriched_article(minutes=3, entities=[entity("Jordan"), entity("Amman", "LOCATION")])
    country = enriched_article(
        minutes=2, entities=[entity("Jordan", "LOCATION"), entity("Amman", "LOCATION")]
    )
    both = enriched_article(minutes=1, entities=[entity("Jordan"), entity("Jordan", "LOCATION")])
    org_only = enriched_article(minutes=0, entities=[entity("Acme", "ORG")])
    await upsert(store_engine, person, country, both, org_only)

    assert await ids(store_engine, entities=["Jordan"]) == [person.id, country.id, both.id]  # each once
    assert await ids(store_engine, entities=["Jordan"], entity_type="PERSON") == [person.id, both.id]
    assert await ids(store_engine, entities=["Jordan", "Amman"]) == [person.id, country.id]
    assert await ids(store_engine, entities=["Jordan", "Amman"], entity_type="LOCATION") == [country.id]
    assert await ids(store_engine, entity_type="ORG") == [org_only.id]
    assert await ids(store_engine, entities=["Jordan", "Nobody"]) == []


async def test_tags_repeat_as_and(store_engine: AsyncEngine) -> None:
    a = enriched_article(minutes=2, tags=["Politics", "Europe"])
    b = enriched_article(minutes=1, tags=["Politics"])
    await upsert(store_engine, a, b)

    assert await ids(store_engine, tags=["Politics"]) == [a.id, b.id]
    assert await ids(store_engine, tags=["Politics", "Europe"]) == [a.id]
    assert await ids(store_engine, tags=["politics"]) == []  # tags match exactly


async def test_a_parent_topic_finds_articles_filed_under_its_descendants(store_engine: AsyncEngine) -> None:
    election = enriched_article(minutes=2, topics=[topic(ELECTION)])
    government = enriched_article(minutes=1, topics=[topic(GOVERNMENT)])
    sport = enriched_article(minutes=0, topics=[topic(SPORT)])
    await upsert(store_engine, election, government, sport)

    assert await ids(store_engine, topics=[POLITICS]) == [election.id, government.id]
    assert await ids(store_engine, topics=[ELECTION]) == [election.id]  # a child never finds its parent
    assert await ids(store_engine, topics=[POLITICS, SPORT]) == []
    assert await ids(store_engine, topics=["medtop:99999999"]) == []


@pytest.mark.parametrize(
    "code", ["politics", "medtop:1100", "11000000", "medtop:11000000x", "MEDTOP:11000000"]
)
async def test_a_malformed_topic_code_is_bad_filter(store_engine: AsyncEngine, code: str) -> None:
    with pytest.raises(BadFilter, match="IPTC Media Topic code"):
        await page(store_engine, topics=[code])


async def test_language_and_source_filters(store_engine: AsyncEngine) -> None:
    en = enriched_article(minutes=2, language="en", source="bbc")
    fr = enriched_article(minutes=1, language="fr", source="afp")
    await upsert(store_engine, en, fr)

    assert await ids(store_engine, language="fr") == [fr.id]
    assert await ids(store_engine, source="bbc", language="en") == [en.id]
    assert await ids(store_engine, source="bbc", language="fr") == []


async def test_since_is_inclusive_and_until_exclusive_in_any_offset(store_engine: AsyncEngine) -> None:
    at = {m: enriched_article(minutes=m) for m in (0, 10, 20, 30)}
    await upsert(store_engine, *at.values())
    plus_two = timezone(timedelta(hours=2))

    found = await ids(
        store_engine, since=BASE_TIME + timedelta(minutes=10), until=BASE_TIME + timedelta(minutes=30)
    )
    assert found == [at[20].id, at[10].id]
    local_since = (BASE_TIME + timedelta(minutes=20)).astimezone(plus_two)
    assert await ids(store_engine, since=local_since) == [at[30].id, at[20].id]
    naive_until = (BASE_TIME + timedelta(minutes=10)).replace(tzinfo=None)
    assert await ids(store_engine, until=naive_until) == [at[0].id]
    assert await ids(store_engine, since=BASE_TIME, until=BASE_TIME) == []


async def test_until_before_since_is_bad_filter(store_engine: AsyncEngine) -> None:
    with pytest.raises(BadFilter, match="until is before since"):
        await page(store_engine, since=BASE_TIME, until=BASE_TIME - timedelta(seconds=1))


async def test_a_rare_filter_drives_the_scan_and_pages_stay_exact(store_engine: AsyncEngine) -> None:
    common = [
        enriched_article(minutes=i, tags=["Common"], entities=[entity("Rare")] if i % 7 == 0 else [])
        for i in range(40)
    ]
    await upsert(store_engine, *common)
    rare = [a for a in common if a.entities]

    assert await _page_through(store_engine, [], tags=["Common"], entities=["Rare"]) == newest_first(*rare)


# ---------------------------------------------------------------------------------------------------------
# Counts of entities, topics and tags


async def test_entities_in_as_many_articles_rank_by_mentions(store_engine: AsyncEngine) -> None:
    first = enriched_article(minutes=0, entities=[entity("Ann Able", count=1), entity("Zed Zeal", count=4)])
    second = enriched_article(minutes=5, entities=[entity("Ann Able", count=1), entity("Zed Zeal", count=1)])
    await upsert(store_engine, first, second)
    async with store_engine.connect() as conn:
        assert [e["name"] for e in await aggregates.top_entities(conn)] == ["Zed Zeal", "Ann Able"]
    # A newer enrichment that mentions Ann more turns the order round: counts follow replacements.
    await upsert(
        store_engine,
        first.model_copy(
            update={
                "entities": [entity("Ann Able", count=6), entity("Zed Zeal", count=1)],
                "enriched_at": first.enriched_at + timedelta(minutes=1),
            }
        ),
    )

    async with store_engine.connect() as conn:
        all_time = await aggregates.top_entities(conn)
        recent = await aggregates.top_entities(conn, since=BASE_TIME)

    assert [e["name"] for e in all_time] == ["Ann Able", "Zed Zeal"]
    assert [e["name"] for e in recent] == ["Ann Able", "Zed Zeal"]
    assert {e["articles"] for e in all_time} == {2}


async def test_top_entities_count_articles_filter_by_type_prefix_and_time(store_engine: AsyncEngine) -> None:
    await upsert(
        store_engine,
        enriched_article(minutes=0, entities=[entity("Gordon Brown"), entity("London", "LOCATION")]),
        enriched_article(minutes=10, entities=[entity("Gordon Brown"), entity("Élysée Palace", "LOCATION")]),
        enriched_article(minutes=20, entities=[entity("Gordon Brown"), entity("Gore Ltd", "ORG")]),
    )

    async with store_engine.connect() as conn:
        everything = await aggregates.top_entities(conn)
        located = await aggregates.top_entities(conn, entity_type="LOCATION")
        gor = await aggregates.top_entities(conn, prefix="gOR")
        accented = await aggregates.top_entities(conn, prefix="élY")
        recent = await aggregates.top_entities(conn, since=BASE_TIME + timedelta(minutes=10), limit=2)

    assert everything[0] == {"name": "Gordon Brown", "type": "PERSON", "articles": 3}
    assert len(everything) == 4
    assert [e["name"] for e in located] == ["London", "Élysée Palace"]
    assert [e["name"] for e in gor] == ["Gordon Brown", "Gore Ltd"]
    assert [e["name"] for e in accented] == ["Élysée Palace"]
    assert recent == [
        {"name": "Gordon Brown", "type": "PERSON", "articles": 2},
        {"name": "Gore Ltd", "type": "ORG", "articles": 1},
    ]


async def test_topic_counts_include_descendants_and_tags_count_exactly(store_engine: AsyncEngine) -> None:
    await upsert(
        store_engine,
        enriched_article(minutes=0, topics=[topic(ELECTION)], tags=["Vote", "UK"]),
        enriched_article(minutes=1, topics=[topic(GOVERNMENT)], tags=["UK"]),
        enriched_article(minutes=2, topics=[topic(SPORT)], tags=["Football"]),
    )

    async with store_engine.connect() as conn:
        topics = await aggregates.top_topics(conn, limit=3)
        by_word = await aggregates.top_topics(conn, prefix="ELECT")
        by_code = await aggregates.top_topics(conn, prefix="medtop:15")
        tags = await aggregates.top_tags(conn)
        uk = await aggregates.top_tags(conn, prefix="u")

    assert topics[0] == {"code": POLITICS, "label": "politics", "articles": 2}
    assert {t["code"] for t in by_word} == {ELECTION}
    assert [t["code"] for t in by_code] == [SPORT]
    assert tags == [
        {"name": "UK", "articles": 2},
        {"name": "Football", "articles": 1},
        {"name": "Vote", "articles": 1},
    ]
    assert uk == [{"name": "UK", "articles": 2}]


async def test_counts_follow_a_newer_enrichment(store_engine: AsyncEngine) -> None:
    old = enriched_article(entities=[entity("Old Name")], tags=["Old"], topics=[topic(SPORT)])
    await upsert(store_engine, old)
    new = old.model_copy(
        update={
            "entities": [entity("New Name")],
            "tags": ["New"],
            "topics": [],
            "enriched_at": old.enriched_at + timedelta(1),
        }
    )
    await upsert(store_engine, new)

    async with store_engine.connect() as conn:
        assert [e["name"] for e in await aggregates.top_entities(conn)] == ["New Name"]
        assert [t["name"] for t in await aggregates.top_tags(conn)] == ["New"]
        assert await aggregates.top_topics(conn) == []


async def test_running_counts_equal_a_fresh_count_after_any_sequence_of_writes(
    store_engine: AsyncEngine,
) -> None:
    rnd = random.Random(5)
    names = [entity(n, t) for n in ("Ada", "Bo", "Cy") for t in ("PERSON", "ORG")]
    codes = [ELECTION, GOVERNMENT, SPORT, "medtop:99999999"]
    base = [enriched_article(minutes=i) for i in range(10)]
    for _ in range(8):  # each round rewrites some articles, with newer or older enrichments
        batch = [
            a.model_copy(
                update={
                    "entities": rnd.sample(names, rnd.randint(0, 4)),
                    "tags": rnd.sample(["X", "Y", "Z"], rnd.randint(0, 3)),
                    "topics": [topic(c) for c in rnd.sample(codes, rnd.randint(0, 2))],
                    "enriched_at": a.enriched_at + timedelta(minutes=rnd.randint(-60, 60)),
                }
            )
            for a in rnd.sample(base, 6)
        ]
        await upsert(store_engine, *batch)

        async with store_engine.connect() as conn:
            ever = BASE_TIME - timedelta(days=1)  # with since, counts come from the lookup rows themselves
            assert await aggregates.top_entities(conn, limit=50) == await aggregates.top_entities(
                conn, since=ever, limit=50
            )
            assert await aggregates.top_tags(conn) == await aggregates.top_tags(conn, since=ever)
            assert await aggregates.top_topics(conn) == await aggregates.top_topics(conn, since=ever)


# ---------------------------------------------------------------------------------------------------------
# Over HTTP


@pytest.fixture
async def store(store_url: str, redis_url: str, prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = StoreSettings(database_url=store_url, redis_url=redis_url, stream_prefix=prefix)
    async with running_store(settings) as client:
        yield client


async def test_http_list_combines_every_parameter_and_pages(
    store: httpx.AsyncClient, store_engine: AsyncEngine
) -> None:
    hits = [
        enriched_article(
            minutes=i,
            title=f"Brown budget {i}",
            entities=[entity("Gordon Brown")],
            tags=["Economy"],
            topics=[topic(GOVERNMENT)],
            source="bbc",
        )
        for i in range(3)
    ]
    await upsert(store_engine, *hits, enriched_article(minutes=1, title="Brown budget", source="afp"))
    params = {
        "q": "budget",
        "entity": "Gordon Brown",
        "entity_type": "PERSON",
        "tag": "Economy",
        "topic": POLITICS,
        "language": "en",
        "source": "bbc",
        "since": "2024-01-15T08:07:00Z",
        "until": "2024-01-16",
        "sort": "relevance",
        "limit": "2",
    }

    first = await store.get("/v1/articles", params=params)
    assert first.status_code == 200, first.text
    second = await store.get("/v1/articles", params={**params, "cursor": first.json()["next_cursor"]})
    assert second.status_code == 200, second.text

    got = [a["id"] for a in first.json()["items"] + second.json()["items"]]
    assert got == newest_first(*hits)
    assert second.json()["next_cursor"] is None
    assert first.json()["items"][0]["entities"][0]["name"] == "Gordon Brown"


BAD_LISTS: list[tuple[dict[str, str], int, str]] = [
    ({"cursor": "garbage"}, 400, "cursor is not valid"),
    ({"topic": "politics"}, 400, "IPTC Media Topic code"),
    ({"since": "2024-02-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, 400, "until is before since"),
    ({"q": "-oil"}, 400, "q has no word"),
    ({"q": "!!!"}, 400, "q has no word"),
    ({"sort": "relevance"}, 400, "give q as well"),
    (
        {"q": "oil", "sort": "relevance", "cursor": "WyIyMDI0LTAxLTE1VDA4OjA3OjAwKzAwOjAwIiwiYSJd"},
        400,
        "cursor",
    ),
    ({"since": "yesterday"}, 422, "since"),
    ({"until": "2024-13-45"}, 422, "until"),
    ({"q": ""}, 422, "q"),
    ({"sort": "random"}, 422, "sort"),
    ({"entity_type": "ANIMAL"}, 422, "entity_type"),
    ({"limit": "0"}, 422, "limit"),
    ({"limit": "101"}, 422, "limit"),
]


async def test_http_bad_parameters_answer_4xx_with_a_message(store: httpx.AsyncClient) -> None:
    for params, status, words in BAD_LISTS:
        answer = await store.get("/v1/articles", params=params)
        assert answer.status_code == status, (params, answer.text)
        assert words in answer.text, (params, answer.text)
    for path, params in [
        ("/v1/entities", {"type": "ANIMAL"}),
        ("/v1/entities", {"since": "soon"}),
        ("/v1/topics", {"limit": "0"}),
        ("/v1/tags", {"q": ""}),
    ]:
        answer = await store.get(path, params=params)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["detail"][0]["msg"]


async def test_http_counts_of_entities_topics_and_tags(
    store: httpx.AsyncClient, store_engine: AsyncEngine
) -> None:
    await upsert(
        store_engine,
        enriched_article(
            entities=[entity("Gordon Brown"), entity("Gore Ltd", "ORG")],
            tags=["UK"],
            topics=[topic(ELECTION)],
        ),
        enriched_article(entities=[entity("Gordon Brown")], tags=["UK", "Vote"]),
    )

    entities = (await store.get("/v1/entities", params={"type": "PERSON", "q": "gor"})).json()
    topics = (await store.get("/v1/topics", params={"q": "polit"})).json()
    tags = (await store.get("/v1/tags", params={"limit": "1"})).json()

    assert entities == {"items": [{"name": "Gordon Brown", "type": "PERSON", "articles": 2}]}
    assert topics == {"items": [{"code": POLITICS, "label": "politics", "articles": 1}]}
    assert tags == {"items": [{"name": "UK", "articles": 2}]}


async def test_http_stats_count_articles_and_report_consumer_lag(
    store: httpx.AsyncClient, store_engine: AsyncEngine, redis: Redis, prefix: str
) -> None:
    await upsert(
        store_engine,
        *(enriched_article(minutes=i, language="en", source="bbc") for i in range(3)),
        enriched_article(minutes=60, language="fr", source="afp"),
    )
    missing = (await store.get("/v1/stats")).json()["streams"][0]
    assert (missing["error"], missing["lag"]) == ("no such stream", None)
    for i in range(5):
        await redis.xadd(raw_stream(prefix), {"n": i})
    await redis.xgroup_create(raw_stream(prefix), ENRICH_GROUP, id="0")
    await redis.xreadgroup(ENRICH_GROUP, "tester", {raw_stream(prefix): ">"}, count=2)

    stats = (await store.get("/v1/stats")).json()

    assert stats["articles"] == {
        "total": 4,
        "newest_article_at": "2024-01-15T09:07:00Z",
        "by_language": [{"language": "en", "articles": 3}, {"language": "fr", "articles": 1}],
        "by_source": [{"source": "bbc", "articles": 3}, {"source": "afp", "articles": 1}],
    }
    raw, enriched = stats["streams"]
    assert raw == {
        "stream": raw_stream(prefix),
        "group": ENRICH_GROUP,
        "length": 5,
        "lag": 3,
        "pending": 2,
        "consumers": 1,
        "protected": True,
        "missed": 0,
        "error": None,
    }
    assert (enriched["stream"], enriched["group"], enriched["lag"], enriched["pending"]) == (
        enriched_stream(prefix),
        STORE_GROUP,
        0,
        0,
    )


async def test_openapi_documents_every_parameter_with_examples(store: httpx.AsyncClient) -> None:
    spec = (await store.get("/openapi.json")).json()
    listing = spec["paths"]["/v1/articles"]["get"]
    names = {p["name"] for p in listing["parameters"]}

    assert names >= {"q", "entity", "entity_type", "tag", "topic", "language", "source", "since", "until"}
    assert names >= {"sort", "limit", "cursor"}
    assert "400" in listing["responses"]
    assert all(p.get("description") for p in listing["parameters"])
    for path in ("/v1/entities", "/v1/topics", "/v1/tags", "/v1/stats"):
        assert path in spec["paths"]
    for schema in ("EntityList", "TopicList", "TagList", "Stats", "ArticlePage"):
        assert spec["components"]["schemas"][schema]["examples"], schema
    assert (await store.get("/docs")).status_code == 200
