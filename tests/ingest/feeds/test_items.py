"""Feeds as publishers write them, read into the articles a reader would see (tests/data/feeds)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.contracts import ArticleIn
from services.fetch import UnsafeXML
from services.ingest.feeds.items import SHORT_TEXT, FeedItem, ParsedFeed, parse_feed
from services.ingest.parsing import article_from_fields, to_raw

DATA = Path(__file__).parents[2] / "data" / "feeds"


def read(name: str, url: str, content_type: str | None = "application/rss+xml") -> ParsedFeed:
    return parse_feed((DATA / name).read_bytes(), url=url, content_type=content_type)


def tz(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


def test_rss2_with_content_encoded_dc_creator_and_tracking_links() -> None:
    feed = read("rss2_content_encoded.xml", "https://www.harbourgazette.example/feed/")
    assert (feed.title, feed.language, feed.version, feed.error) == (
        "The Harbour Gazette – Local news",
        "en-GB",
        "rss20",
        None,
    )
    assert feed.link == "https://www.harbourgazette.example/?utm_source=rss"
    first, teaser, relative = feed.items
    assert first.article == ArticleIn(
        title="Council approves new sea wall for the east quay",
        body=(
            "The council voted on Monday night to build a sea wall along the east quay, ending a debate that"
            " has divided the town since the storms of two winters ago.\n\n"
            "The east quay at high tide.\n\n"
            "Councillors approved the plan by nine votes to four. Work on the first section, between the"
            " lifeboat station and the fish market, is due to start in September and should take about"
            " eighteen months.\n\n"
            "Residents of Quay Street, whose cellars flooded twice last year, filled the public gallery."
            " “We have waited long enough,” said one of them, who has lived on the street for forty"
            " years.\n\n"
            "The wall will be paid for by a national flood defence grant and by the harbour trust, which will"
            " also repair the slipway."
        ),
        url="https://harbourgazette.example/2025/05/06/council-approves-sea-wall",
        published_at=datetime(2025, 5, 6, 8, 0, tzinfo=tz(1)),
        author="Priya Raman, Tom Okafor",
        tags=["Local", "Environment"],
        language="en-GB",
    )
    assert first.guid == "https://www.harbourgazette.example/?p=48213"
    assert first.link == (
        "https://www.harbourgazette.example/2025/05/06/council-approves-sea-wall/"
        "?utm_source=rss&utm_medium=rss&utm_campaign=council-approves-sea-wall"
    )
    assert first.needs_page is False  # content:encoded is the whole story, not the teaser <description>
    assert "trackRead" not in first.article.body

    # Only a short summary: the poller fetches the page. Trackers go, the content's id stays.
    assert teaser.article.body == "Extra crossings run on Monday; the last boat leaves at 22:00."
    assert teaser.article.url == "https://harbourgazette.example/2025/05/05/ferry-timetable?id=48207"
    assert teaser.article.published_at == datetime(2025, 5, 5, 17, 30, tzinfo=UTC)
    assert teaser.needs_page is True

    # A relative link is resolved against the feed's URL; a permalink GUID is still the GUID.
    assert relative.link == "https://www.harbourgazette.example/2025/05/04/lifeboat-gull-point/"
    assert relative.article.url == "https://harbourgazette.example/2025/05/04/lifeboat-gull-point"
    assert relative.article.author is None
    assert relative.article.tags == []
    assert relative.needs_page is False

    # The item without a headline and the one with only an image are counted, not published.
    assert feed.skips == {"no title": 1, "no text": 1}
    assert feed.skipped == 2


def test_atom_xhtml_content_with_xml_base_and_relative_links() -> None:
    feed = read("atom_xhtml.xml", "https://notes.tidewatch.example/blog/feed.atom", "application/atom+xml")
    assert (feed.title, feed.language, feed.link, feed.version) == (
        "Tidewatch notes",
        "en",
        "https://notes.tidewatch.example/blog/",
        "atom10",
    )
    xhtml, french, summary_only = feed.items
    assert xhtml.article == ArticleIn(
        title="Reading the spring tide tables",
        body=(
            "Spring tides arrive a day or two after each new and full moon, when the sun and the moon pull in"
            " line. The tables for this month show two of them, and the second is the larger.\n\n"
            "Each row gives the time and the height of high and low water at the harbour mouth. Heights are"
            " measured above chart datum, the lowest level the tide is expected to fall to, so a height of"
            " 0.3 m at low water means very little water over the bar.\n\n"
            "* Add twenty minutes for the inner basin.\n"
            "* Subtract half a metre of height in a strong easterly.\n\n"
            "See the full tables for the rest of the month."
        ),
        url="https://notes.tidewatch.example/blog/2025/05/spring-tides",  # xml:base + relative href
        published_at=datetime(2025, 5, 6, 8, 0, tzinfo=UTC),  # <updated>: the entry has no <published>
        author="Hanna Berg, Luis Ortega",
        tags=["Tides", "how-to"],  # a category's label, else its term
        language="en",
    )
    assert xhtml.guid == "tag:tidewatch.example,2025-05-06:/blog/spring-tides"
    assert xhtml.needs_page is False

    # An entry of its own language and base; HTML escaped in type="html", its title's entity too.
    assert french.article.title == "Les marées de vives-eaux"
    assert french.article.body.startswith("Les marées de vives-eaux arrivent un jour ou deux après")
    assert "par fort vent d’est.\n\nLes pêcheurs à pied" in french.article.body
    assert french.article.url == "https://notes.tidewatch.example/fr/2025/05/vives-eaux"
    assert french.article.published_at == datetime(2025, 5, 5, 18, 30, tzinfo=tz(2))  # published, not updated
    assert french.article.language == "fr"
    assert french.needs_page is False

    assert summary_only.article.body == "The observatory opens its doors on Saturday 24 May."
    assert summary_only.link == "https://notes.tidewatch.example/events/open-day-2025"
    assert summary_only.article.language == "en"  # the feed's
    assert summary_only.needs_page is True
    assert feed.skipped == 0


def test_json_feed_1_1() -> None:
    feed = read("jsonfeed_1_1.json", "https://diariodolitoral.example/feed.json", "application/feed+json")
    assert (feed.title, feed.language, feed.link, feed.version, feed.error) == (
        "Diário do Litoral",
        "pt-BR",
        "https://diariodolitoral.example/",
        "json11",
        None,
    )
    full, text_only, external = feed.items
    assert full.article == ArticleIn(
        title="Porto novo recebe o primeiro navio de cruzeiro",
        body=(
            "O novo terminal de passageiros do porto recebeu nesta terça-feira o primeiro navio de cruzeiro"
            " da temporada, com cerca de dois mil turistas a bordo.\n\n"
            "A prefeitura espera trinta escalas até o fim do ano. Comerciantes do centro histórico dizem que"
            " o movimento já aumentou nas lojas próximas ao cais.\n\n"
            "O terminal custou quarenta milhões de reais e levou dois anos para ficar pronto. A obra incluiu"
            " a dragagem do canal de acesso e uma nova passarela coberta até a estação de ônibus."
        ),
        url="https://diariodolitoral.example/2025/05/06/porto-novo",
        published_at=datetime(2025, 5, 6, 10, 0, tzinfo=tz(-3)),
        author="Ana Souza, Marcos Lima",
        tags=["Porto", "Turismo"],
        language="pt-BR",
    )
    assert full.guid == "https://diariodolitoral.example/2025/05/06/porto-novo"
    assert full.needs_page is False

    # content_text keeps its paragraphs; no authors: the feed's; only date_modified: that one.
    assert text_only.article.body == (
        "A maré alta da noite de segunda-feira alagou um trecho da avenida da orla entre o mercado e a praça"
        " do farol.\n\nA Defesa Civil interditou duas faixas por três horas. Não houve feridos, e o trânsito"
        " foi liberado antes da meia-noite, quando a água baixou."
    )
    assert text_only.article.url == "https://diariodolitoral.example/2025/05/05/mare-alta"
    assert text_only.article.author == "Redação Diário do Litoral"
    assert text_only.article.published_at == datetime(2025, 5, 5, 23, 45, tzinfo=tz(-3))
    assert text_only.guid == "2"

    # Only an external_url and a summary: the page holds the story.
    assert external.link == "https://agencia.example/noticias/pesca-da-tainha?utm_campaign=parceiros"
    assert external.article.url == "https://agencia.example/noticias/pesca-da-tainha"
    assert external.guid == "4"
    assert external.needs_page is True
    assert feed.skips == {"no title": 1}  # a microblog post without a title


def test_json_feed_1_0_author_and_numeric_id() -> None:
    feed = read("jsonfeed_1_0.json", "https://smallpress.example/feed.json", "application/json")
    assert (feed.version, feed.title, feed.language) == ("json10", "Small Press Weekly", None)
    [item] = feed.items
    assert (item.guid, item.article.author, item.article.tags) == (
        "1021",
        "Ines Varga",
        ["Print", "Workshops"],
    )
    assert item.article.published_at == datetime(2025, 5, 2, 9, 0, tzinfo=tz(2))


def test_rss1_rdf_with_dublin_core() -> None:
    feed = read("rss1_rdf.xml", "https://kawabata-shimbun.example/rss", "application/rdf+xml")
    assert (feed.title, feed.language, feed.version) == ("川端新聞 地域ニュース", "ja", "rss10")
    bridge, festival = feed.items
    assert bridge.article == ArticleIn(
        title="旧川端橋の架け替え工事が始まる",
        body=(
            "築七十年の旧川端橋で、架け替え工事が六日に始まった。新しい橋は幅が二倍になり、歩道と自転車道が設けられる。\n\n"
            "工事期間中は約二百メートル下流の仮設橋を通行する。市によると、完成は二〇二七年春の予定。"
        ),
        url="https://kawabata-shimbun.example/news/20250506-bridge?from=rss",
        published_at=datetime(2025, 5, 6, 8, 0, tzinfo=tz(9)),
        author="山田 花子",
        tags=["地域"],
        language="ja",
    )
    assert bridge.guid == "https://kawabata-shimbun.example/news/20250506-bridge"  # rdf:about
    assert festival.article.published_at == datetime(2025, 5, 5, tzinfo=UTC)  # a date alone is midnight UTC


def test_windows_1252_declared_in_the_xml_declaration() -> None:
    for content_type in ("application/rss+xml", "text/xml", None):
        feed = read("windows1252.xml", "https://cafeduport.example/rss", content_type)
        assert feed.error is None
        assert feed.title == "Le Café du Port – chronique"
        [item] = feed.items
        assert item.article.title == "Zürich’s “naïve” painters show in Saint-Malo"
        assert item.article.body == (
            "L’exposition réunit des peintres naïfs de Zürich et de Bretagne – une première.\n\n"
            "Entrée : 5 € ; gratuit pour les élèves."
        )


def test_windows_1252_declared_in_the_http_header() -> None:
    body = (DATA / "windows1252.xml").read_bytes().replace(b' encoding="windows-1252"', b"")
    feed = parse_feed(
        body, url="https://cafeduport.example/rss", content_type="text/xml; charset=windows-1252"
    )
    assert feed.items[0].article.title == "Zürich’s “naïve” painters show in Saint-Malo"
    assert feed.error is None


def test_odd_dates() -> None:
    feed = read("odd_dates.xml", "https://dates.example/rss")
    published = {item.article.title: item.article.published_at for item in feed.items}
    assert published == {
        "RFC 822 with a numeric offset": datetime(2025, 5, 6, 8, 0, tzinfo=tz(1)),
        "ISO 8601 in pubDate": datetime(2025, 5, 6, 8, 0, tzinfo=UTC),
        "No weekday, no seconds, a named zone": datetime(2025, 5, 6, 8, 0, tzinfo=tz(-5)),
        "No date at all": None,
        "A date nobody can read": None,
        "Only dc:date": datetime(2025, 5, 6, 17, 0, tzinfo=tz(9)),
    }
    for when in published.values():
        assert when is None or when.tzinfo is not None


def test_empty_feed() -> None:
    feed = read("empty.xml", "https://parish.example/notices/rss")
    assert feed == ParsedFeed(title="Parish notices", link="https://parish.example/notices/", version="rss20")


def test_malformed_feed_still_yields_its_good_items() -> None:
    feed = read("malformed.xml", "https://valleyradio.example/news/rss.xml")
    assert feed.error == "not well-formed XML at line 13, column 37: mismatched tag"
    assert [item.article.title for item in feed.items] == [
        "Road closed after landslip near Brackenford",
        "Market hall reopens",
        "Choir raises money for the cottage hospital",
    ]
    assert feed.items[2].article.body == (
        "The male voice choir's spring concert raised more than four thousand pounds for the cottage"
        " hospital's new scanner."
    )


def test_entity_bomb_is_refused_before_parsing() -> None:
    started = time.perf_counter()
    with pytest.raises(UnsafeXML) as refused:
        read("entity_bomb.xml", "https://bomb.example/rss")
    assert refused.value.reason == "unsafe_xml"
    assert refused.value.url == "https://bomb.example/rss"
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (b"<html><body><p>Our news</p></body></html>", "text/html", "not an RSS, Atom or JSON feed"),
        (b"", "application/rss+xml", "not an RSS, Atom or JSON feed"),
        (b'{"items": [', "application/feed+json", "malformed JSON: "),
        (b'{"title": "x", "items": []}', "application/json", "not a JSON Feed: "),
    ],
)
def test_what_is_not_a_feed_is_an_error_not_an_exception(body: bytes, content_type: str, error: str) -> None:
    feed = parse_feed(body, url="https://site.example/feed", content_type=content_type)
    assert feed.items == []
    assert feed.error is not None and feed.error.startswith(error)


def test_a_body_is_never_read_as_a_file_name() -> None:
    # feedparser opens a string it is given as a path: the body must reach it as a stream.
    feed = parse_feed(b"/etc/hostname", url="https://site.example/feed", content_type="application/xml")
    assert feed.items == []
    assert feed.error is not None


def _big_feed(count: int) -> bytes:
    items = "".join(
        f"<item><title>Tide report {n}</title><link>https://tides.example/r/{n}?utm_source=rss</link>"
        f'<guid isPermaLink="false">tide-{n}</guid><pubDate>Tue, 06 May 2025 08:00:00 +0100</pubDate>'
        f"<description>&lt;p&gt;High water at the harbour mouth, report {n}.&lt;/p&gt;</description></item>"
        for n in range(count)
    )
    channel = f"<channel><title>Tides</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def test_a_feed_of_5000_items() -> None:
    started = time.perf_counter()
    feed = parse_feed(_big_feed(5000), url="https://tides.example/rss", content_type="application/rss+xml")
    elapsed = time.perf_counter() - started
    assert len(feed.items) == 5000
    assert feed.skipped == 0
    assert len({item.article.url for item in feed.items}) == 5000
    last = feed.items[-1]
    assert (last.guid, last.article.url, last.article.body) == (
        "tide-4999",
        "https://tides.example/r/4999",
        "High water at the harbour mouth, report 4999.",
    )
    assert elapsed < 30, f"5,000 items took {elapsed:.1f} s"


def test_items_validate_as_posted_articles_and_get_their_ids() -> None:
    feeds = [
        read("rss2_content_encoded.xml", "https://www.harbourgazette.example/feed/"),
        read("atom_xhtml.xml", "https://notes.tidewatch.example/blog/feed.atom", "application/atom+xml"),
        read("jsonfeed_1_1.json", "https://diariodolitoral.example/feed.json", "application/feed+json"),
        read("rss1_rdf.xml", "https://kawabata-shimbun.example/rss", "application/rdf+xml"),
    ]
    items: list[FeedItem] = [item for feed in feeds for item in feed.items]
    assert len(items) == 11
    for item in items:
        fields = item.article.model_dump(mode="json")
        # What the poller publishes is what ingest would accept and publish for the same fields.
        assert article_from_fields(fields) == item.article
        raw = to_raw(item.article)
        assert raw.id == to_raw(ArticleIn.model_validate(fields)).id
        assert len(raw.id) == 16
    # The same story in another spelling of its link gets the same id: the trackers are gone.
    sea_wall = feeds[0].items[0].article
    tracked = sea_wall.model_copy(update={"url": feeds[0].items[0].link})
    assert to_raw(tracked).id == to_raw(sea_wall).id


@pytest.mark.parametrize(
    ("length", "needs_page"), [(SHORT_TEXT - 1, True), (SHORT_TEXT, False), (SHORT_TEXT * 10, False)]
)
def test_needs_page_is_about_the_length_of_the_text(length: int, needs_page: bool) -> None:
    body = (
        '<rss version="2.0"><channel><title>T</title><item><title>A story</title>'
        f"<link>https://site.example/story</link><description>{'x' * length}</description></item>"
        "</channel></rss>"
    ).encode()
    [item] = parse_feed(body, url="https://site.example/rss", content_type="application/rss+xml").items
    assert item.needs_page is needs_page


def test_an_item_without_a_link_never_needs_a_page() -> None:
    body = (
        b'<rss version="2.0"><channel><title>T</title><item><title>Notice</title>'
        b"<description>The office is closed on Monday.</description></item></channel></rss>"
    )
    [item] = parse_feed(body, url="https://site.example/rss", content_type="application/rss+xml").items
    assert (item.link, item.article.url, item.needs_page) == (None, None, False)


def test_links_that_are_not_web_pages_are_dropped() -> None:
    body = (
        b'<rss version="2.0"><channel><title>T</title><item><title>Mail us</title>'
        b"<link>mailto:desk@site.example</link><description>Write to the desk.</description></item>"
        b"</channel></rss>"
    )
    [item] = parse_feed(body, url="https://site.example/rss", content_type="application/rss+xml").items
    assert item.link is None
    assert item.article.url is None


def test_an_item_over_the_contracts_limits_is_skipped_with_the_field_named() -> None:
    body = (
        '<rss version="2.0"><channel><title>T</title>'
        f"<item><title>{'Long ' * 300}</title><description>Text.</description></item>"
        "<item><title>Fine</title><description>Text.</description></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, url="https://site.example/rss", content_type="application/rss+xml")
    assert [item.article.title for item in feed.items] == ["Fine"]
    assert feed.skips == {"invalid title": 1}


@pytest.mark.parametrize(
    "name", ["rss2_content_encoded.xml", "atom_xhtml.xml", "jsonfeed_1_1.json", "rss1_rdf.xml"]
)
def test_a_feed_cut_off_anywhere_never_raises(name: str) -> None:
    whole = (DATA / name).read_bytes()
    for end in range(0, len(whole), 97):
        feed = parse_feed(whole[:end], url="https://site.example/feed", content_type=None)
        assert isinstance(feed, ParsedFeed)
        assert feed.error is not None or end == 0 or feed.items


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_bytes_give_a_parsed_feed(body: bytes) -> None:
    try:
        feed = parse_feed(body, url="https://site.example/feed", content_type="application/xml")
    except UnsafeXML:
        return
    assert isinstance(feed, ParsedFeed)
