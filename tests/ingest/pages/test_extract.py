"""Article pages as publishers serve them, read into the article a reader sees (tests/data/feeds/pages)."""

from __future__ import annotations

import contextlib
import socket
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from services.contracts import ArticleIn
from services.errors import PoisonMessage
from services.ingest.pages.extract import NotAnArticle, PageArticle, decode_page, extract_page
from services.ingest.parsing import article_from_fields, to_raw

PAGES = Path(__file__).parents[2] / "data" / "feeds" / "pages"
GAZETTE = "https://www.harbourgazette.example/2025/05/06/skelholm-ferry-returns/?utm_source=rss"


def extract(name: str, url: str, content_type: str | None = "text/html; charset=utf-8") -> PageArticle:
    return extract_page((PAGES / name).read_bytes(), url=url, content_type=content_type)


def tz(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


def test_article_without_its_boilerplate() -> None:
    page = extract("article_boilerplate.html", GAZETTE)
    assert page.article == ArticleIn(
        title="Ferry returns to Skelholm after winter repairs",
        body=(
            "The passenger ferry that links the old harbour with the island of Skelholm resumed its timetable"
            " on Tuesday morning, after four months in the boatyard for a new engine and a rebuilt"
            " wheelhouse.\n\n"
            "About forty commuters were waiting on the quay for the first crossing at seven o'clock. The"
            " harbour master said the vessel had passed its sea trials last week and that the summer"
            " timetable, with a crossing every half hour, would begin in June.\n\n"
            "Shops on the island had relied on a temporary water taxi since January. Several owners said"
            " deliveries had been late and expensive, and welcomed the return of a boat that can carry goods"
            " trolleys and bicycles.\n\n"
            "The island's school, which had moved its Friday lessons online for the winter, will return to"
            " its usual week after the half-term holiday."
        ),
        # <link rel=canonical href="/2025/...?utm_source=twitter...">: resolved, then made canonical.
        url="https://harbourgazette.example/2025/05/06/skelholm-ferry-returns",
        published_at=datetime(
            2025, 5, 6, 7, 45, tzinfo=tz(1)
        ),  # JSON-LD: the time of day, not the URL's date
        author="Mara Lindqvist",
        section="Transport",
        tags=["Ferries", "Skelholm", "Transport"],
        language="en-GB",
    )
    assert page.canonical == (
        "https://www.harbourgazette.example/2025/05/06/skelholm-ferry-returns/"
        "?utm_source=twitter&utm_medium=social"
    )
    assert page.site_name == "The Harbour Gazette"
    for boilerplate in ("cookies", "Accept all", "Subscribe", "Share on", "newsletter", "Most read", "©"):
        assert boilerplate not in page.article.body


def test_a_page_without_article_text_is_not_an_article() -> None:
    with pytest.raises(NotAnArticle) as refused:
        extract("no_article.html", "https://www.harbourgazette.example/galleries/")
    assert refused.value.reason == "no_text"
    assert refused.value.url == "https://www.harbourgazette.example/galleries/"
    assert str(refused.value).startswith("no_text: no main text (")
    assert isinstance(refused.value, PoisonMessage)  # a stage dead-letters it at once


BANNER = (
    "<p>We use cookies and similar technologies to personalise content and ads, to provide social media"
    " features and to analyse our traffic. By clicking Accept all you agree to the storing of cookies on"
    " your device.</p>"
)


def test_a_consent_banner_is_never_the_main_text() -> None:
    # Without an article, trafilatura would take the longest text left: the banner.
    html = (
        (PAGES / "no_article.html")
        .read_text()
        .replace(
            "<p>This site uses cookies. By continuing to browse you accept our use of cookies.</p>", BANNER
        )
    )
    with pytest.raises(NotAnArticle, match=r"^no_text"):
        extract_page(html, url="https://www.harbourgazette.example/galleries/", content_type=None)


def test_a_page_marked_by_its_consent_manager_keeps_its_article() -> None:
    html = (PAGES / "article_boilerplate.html").read_text()
    for marked in (
        html.replace("<body>", '<body class="cookie-consent-given">'),
        html.replace('<html lang="en-GB">', '<html lang="en-GB" class="has-cookie-banner">'),
        html.replace("<main>", '<main id="consent-ok">'),
    ):
        page = extract_page(marked, url=GAZETTE, content_type=None)
        assert page.article == extract("article_boilerplate.html", GAZETTE).article


def test_greek_article() -> None:
    page = extract(
        "greek_article.html", "https://nisiotika-nea.example/topika/nea-grammi-leoforeiou?ref=home"
    )
    assert page.article.title == "Νέα γραμμή λεωφορείου συνδέει το λιμάνι με το αεροδρόμιο"
    assert page.article.body.startswith("Από τη Δευτέρα ξεκινά η νέα γραμμή λεωφορείου")
    assert page.article.body.endswith("που φτάνουν με τα πλοία το καλοκαίρι.")
    assert page.article.body.count("\n\n") == 2
    assert page.article.url == "https://nisiotika-nea.example/topika/nea-grammi-leoforeiou"
    assert page.article.published_at == datetime(2025, 5, 6, 9, 30, tzinfo=tz(3))
    assert (page.article.author, page.article.language) == ("Ελένη Παπαδοπούλου", "el")
    assert page.site_name == "Νησιωτικά Νέα"
    assert "Αρχική" not in page.article.body  # the menu
    assert "επιφύλαξη" not in page.article.body  # the footer


def test_japanese_article_in_shift_jis_declared_in_a_meta_tag() -> None:
    page = extract(
        "japanese_shift_jis.html", "https://kawabata-shimbun.example/news/20250506-library", "text/html"
    )
    assert page.article == ArticleIn(
        title="商店街に新しい図書館が開館",
        body=(
            "川端駅前の商店街で六日、空き店舗を改装した市立図書館の分館が開館した。蔵書は約二万冊で、"
            "子ども向けの絵本コーナーや学習スペースが設けられている。\n\n"
            "開館式には地元の小学生や商店街の店主ら約百人が出席した。市の担当者は"
            "「買い物のついでに気軽に立ち寄ってほしい」と話した。\n\n"
            "開館時間は午前十時から午後七時まで。毎週月曜日が休館日となる。商店街では、"
            "図書館の利用者に割引を行う店も出てくる予定だという。"
        ),
        url="https://kawabata-shimbun.example/news/20250506-library",  # no canonical link: the page's URL
        published_at=datetime(2025, 5, 6, 10, 0, tzinfo=tz(9)),
        language="ja-JP",  # og:locale ja_JP
    )


def test_a_date_only_in_the_text_is_found_and_a_copyright_year_is_not_a_date() -> None:
    url = "https://brackenford.example/news/allotment-centenary"
    page = extract("date_in_text.html", url, "text/html")
    assert page.article.title == "Allotment society celebrates its centenary"
    assert page.article.published_at == datetime(2025, 4, 14, tzinfo=UTC)
    assert page.article.body.startswith("The Brackenford and District Allotment Society marked one hundred")
    assert "Posted on" not in page.article.body
    undated = (PAGES / "date_in_text.html").read_bytes().replace(b"Posted on 14 April 2025 by", b"Posted by")
    page = extract_page(undated, url=url, content_type="text/html")
    assert page.article.published_at is None  # not 2025-01-01 from "Copyright 2025"


def test_declared_charset_wins_and_text_is_decoded_right() -> None:
    body = "<p>Zürich’s “naïve” painters – 5 €</p>".encode("cp1252")
    assert decode_page(body, "text/html; charset=windows-1252") == "<p>Zürich’s “naïve” painters – 5 €</p>"
    assert decode_page(body, "text/html; charset=iso-8859-1").endswith("5 €</p>")  # what browsers read
    assert decode_page(body, None) == "<p>Zürich’s “naïve” painters – 5 €</p>"  # undeclared legacy
    assert decode_page("<p>Ωραία</p>".encode(), None) == "<p>Ωραία</p>"
    assert decode_page(b"<p>x</p>", "text/html; charset=no-such-charset") == "<p>x</p>"
    assert decode_page("<p>é</p>".encode("utf-16"), "text/html; charset=iso-8859-1") == "<p>é</p>"


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (b"", "not_html"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "not_html"),
        (
            b"<html><head><title>Error 404</title></head><body><h1>Page not found</h1></body></html>",
            "no_text",
        ),
    ],
)
def test_pages_that_hold_no_article(html: bytes, reason: str) -> None:
    with pytest.raises(NotAnArticle) as refused:
        extract_page(html, url="https://site.example/missing", content_type="text/html")
    assert refused.value.reason == reason
    assert refused.value.reason in NotAnArticle.reasons


def test_a_page_given_as_text_and_a_canonical_link_of_another_spelling() -> None:
    paragraph = (
        "<p>" + "The lock keeper opened the sluice at dawn to let the spring flood through. " * 3 + "</p>"
    )
    html = (
        "<html><head><title>Sluice opened</title>"
        '<link rel="Canonical" href="//www.canals.example/news/sluice?amp=1&amp;utm_medium=email">'
        f"</head><body><article><h1>Sluice opened</h1>{paragraph}</article></body></html>"
    )
    page = extract_page(html, url="https://amp.canals.example/news/sluice.amp", content_type=None)
    assert page.canonical == "https://www.canals.example/news/sluice?amp=1&utm_medium=email"
    assert page.article.url == "https://canals.example/news/sluice"
    assert page.article.title == "Sluice opened"
    assert page.article.body == paragraph[3:-4].strip()


def test_nothing_is_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access during extraction: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for name in sorted(PAGES.iterdir()):
        with contextlib.suppress(NotAnArticle):
            extract_page(name.read_bytes(), url=f"https://site.example/{name.stem}", content_type="text/html")
    # A page that is nothing but a URL is still only text.
    with pytest.raises(NotAnArticle):
        extract_page("https://site.example/other", url="https://site.example/x", content_type=None)


def test_extraction_is_deterministic() -> None:
    first = extract("article_boilerplate.html", GAZETTE)
    assert all(extract("article_boilerplate.html", GAZETTE) == first for _ in range(3))


def test_pages_validate_as_posted_articles_and_get_their_ids() -> None:
    pages = [
        extract("article_boilerplate.html", GAZETTE),
        extract("greek_article.html", "https://nisiotika-nea.example/topika/nea-grammi-leoforeiou"),
        extract(
            "japanese_shift_jis.html", "https://kawabata-shimbun.example/news/20250506-library", "text/html"
        ),
        extract("date_in_text.html", "https://brackenford.example/news/allotment-centenary", "text/html"),
    ]
    for page in pages:
        fields = page.article.model_dump(mode="json")
        assert article_from_fields(fields) == page.article
        assert len(to_raw(page.article).id) == 16
    # The page fetched under a tracking URL and its feed item's canonical URL give one id.
    feed_spelling = page_of(pages[0], "https://www.harbourgazette.example/2025/05/06/skelholm-ferry-returns/")
    assert to_raw(feed_spelling).id == to_raw(pages[0].article).id


def page_of(page: PageArticle, url: str) -> ArticleIn:
    return page.article.model_copy(update={"url": url})
