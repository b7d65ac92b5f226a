"""Parse the seed text layout and bare plain text into ArticleIn fields."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.contracts import ArticleIn
from services.ingest.seedformat import parse_plain_text, parse_published, split_tags

SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_dccf1c9c5e5a1b50.txt"
TITLE = "Russia-North Korea Relations Deepen Amid Alleged Missile Usage in Ukraine"


@pytest.fixture(scope="module")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed(seed_text: str) -> dict[str, object]:
    return parse_plain_text(seed_text)


def _drop_line(text: str, start: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(start))


def test_seed_metadata(seed: dict[str, object]) -> None:
    assert seed["title"] == TITLE
    assert seed["author"] == "BNN Correspondents"
    assert seed["section"] == "International Relations"
    assert seed["language"] == "en"
    assert seed["published_at"] == datetime(2024, 1, 15, 8, 7, tzinfo=UTC)
    assert seed["tags"] == ["International Relations", "North Korea", "Russia"]


def test_seed_body_is_only_the_article(seed: dict[str, object]) -> None:
    body = seed["body"]
    assert isinstance(body, str)
    assert body.startswith("On January 16, Moscow is set to host")
    assert body.endswith("geopolitical dynamics of the region.")
    assert TITLE not in body
    for leftover in ("Gurbaksh Chahal", "BNN Newsroom", "BNN Correspondents", "North Korea Russia"):
        assert leftover not in body
    paragraphs = body.split("\n\n")
    # Sub-headings stay in the body as paragraphs of their own.
    assert "Deepening Ties Amidst Allegations" in paragraphs
    assert "Countering Measures by the United States" in paragraphs
    assert len(paragraphs) == 7


def test_seed_validates_as_article_in(seed: dict[str, object]) -> None:
    article = ArticleIn.model_validate(seed)
    assert article.title == TITLE
    assert article.published_at == datetime(2024, 1, 15, 8, 7, tzinfo=UTC)


def test_crlf_and_bom_give_the_same_result(seed_text: str, seed: dict[str, object]) -> None:
    assert parse_plain_text("\ufeff" + seed_text.replace("\n", "\r\n")) == seed


def test_blank_lines_do_not_matter(seed_text: str, seed: dict[str, object]) -> None:
    lines = [line for line in seed_text.splitlines() if line.strip()]
    assert parse_plain_text("\n".join(lines)) == seed
    assert parse_plain_text("\n\n\n".join(lines) + "\n\n") == seed


def test_bare_text_first_line_is_title() -> None:
    text = "\n  Storm hits the coast  \nWinds reached 120 km/h.\nPower is out.\n\n\n\nRepairs start Monday.\n"
    result = parse_plain_text(text)
    assert result["title"] == "Storm hits the coast"
    assert result["body"] == "Winds reached 120 km/h.\nPower is out.\n\nRepairs start Monday."
    assert result["author"] is None
    assert result["section"] is None
    assert result["published_at"] is None
    assert result["language"] is None
    assert result["tags"] == []


def test_missing_published_line_falls_back_to_header_date(seed_text: str) -> None:
    result = parse_plain_text(_drop_line(seed_text, "Published:"))
    assert result["published_at"] == datetime(2024, 1, 15, tzinfo=UTC)
    assert result["title"] == TITLE
    assert result["author"] == "BNN Correspondents"
    assert result["tags"] == ["International Relations", "North Korea", "Russia"]


def test_missing_published_line_and_header_gives_no_time(seed_text: str) -> None:
    text = _drop_line(_drop_line(seed_text, "Published:"), " date ")
    result = parse_plain_text(text)
    assert result["published_at"] is None
    assert result["language"] is None
    assert result["title"] == TITLE
    assert result["section"] == "International Relations"


def test_missing_by_line_finds_author_by_position(seed_text: str, seed: dict[str, object]) -> None:
    result = parse_plain_text(_drop_line(seed_text, "By:"))
    assert result == seed


def test_missing_closing_author_still_drops_tags_and_boilerplate(seed_text: str) -> None:
    text = "\n".join(line for line in seed_text.splitlines() if line != "BNN Correspondents")
    result = parse_plain_text(text)
    body = result["body"]
    assert isinstance(body, str)
    assert body.endswith("geopolitical dynamics of the region.")
    assert "Gurbaksh Chahal" not in body
    assert result["tags"] == ["International Relations", "North Korea", "Russia"]


def test_unknown_timezone_is_utc(seed_text: str) -> None:
    result = parse_plain_text(seed_text.replace("3:07 am EST", "3:07 pm XYZT"))
    assert result["published_at"] == datetime(2024, 1, 15, 15, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("January 15, 2024 at 3:07 am EST", datetime(2024, 1, 15, 8, 7, tzinfo=UTC)),
        ("July 4, 2023 at 12:30 pm EDT", datetime(2023, 7, 4, 16, 30, tzinfo=UTC)),
        ("July 4, 2023 at 12:30 am PDT", datetime(2023, 7, 4, 7, 30, tzinfo=UTC)),
        ("Mar 1, 2024 at 9:00 am CST", datetime(2024, 3, 1, 15, 0, tzinfo=UTC)),
        ("March 1, 2024 at 9:00 am IST", datetime(2024, 3, 1, 3, 30, tzinfo=UTC)),
        ("March 1, 2024 at 9:00 am JST", datetime(2024, 3, 1, 0, 0, tzinfo=UTC)),
        ("March 1, 2024 at 9:00 am AEST", datetime(2024, 2, 29, 23, 0, tzinfo=UTC)),
        ("March 1, 2024 at 9:00 am CET", datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),
        ("March 1, 2024 at 9:00 am GMT", datetime(2024, 3, 1, 9, 0, tzinfo=UTC)),
        ("March 1, 2024 at 9:00 am UTC+05:30", datetime(2024, 3, 1, 3, 30, tzinfo=UTC)),
        ("March 1, 2024 at 17:45", datetime(2024, 3, 1, 17, 45, tzinfo=UTC)),
        ("March 1, 2024", datetime(2024, 3, 1, tzinfo=UTC)),
    ],
)
def test_parse_published(value: str, expected: datetime) -> None:
    assert parse_published(value) == expected


@pytest.mark.parametrize("value", ["", "soon", "Smarch 1, 2024", "February 30, 2024 at 1:00 am EST"])
def test_parse_published_without_a_valid_date(value: str) -> None:
    assert parse_published(value) is None


def test_bad_published_line_falls_back_to_header_date(seed_text: str) -> None:
    result = parse_plain_text(seed_text.replace("January 15, 2024", "February 31, 2024"))
    assert result["published_at"] == datetime(2024, 1, 15, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "   \n\t\n", "\ufeff", "Only a title\n\n"])
def test_no_title_or_body_raises(text: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        parse_plain_text(text)


def test_layout_without_body_raises() -> None:
    text = (
        " date 2024-01-15 en English\nInternational Relations\nHeadline here\nBy: Jane Roe\n"
        "Published: January 15, 2024 at 3:07 am EST\nHeadline here\n\n"
        "International Relations North Korea\nJane Roe\n\nFounded by someone, X Newsroom is great.\n"
    )
    with pytest.raises(ValueError, match="empty"):
        parse_plain_text(text)


def test_last_body_sentence_is_not_a_tag_line() -> None:
    text = "Headline\nBy: Jane Roe\nFirst paragraph.\nThe Minister Said Nothing More.\n"
    result = parse_plain_text(text)
    assert result["tags"] == []
    assert result["body"] == "First paragraph.\n\nThe Minister Said Nothing More."


def test_capitalised_closing_paragraph_without_tail_is_kept() -> None:
    text = "Headline\nBy: Jane Roe\nFirst paragraph.\nLooking Ahead\n"
    result = parse_plain_text(text)
    assert result["tags"] == []
    assert result["body"] == "First paragraph.\n\nLooking Ahead"


def test_split_tags_keeps_multi_word_names() -> None:
    line = "International Relations North Korea Russia"
    assert split_tags(line, "International Relations") == ["International Relations", "North Korea", "Russia"]
    assert split_tags(line) == ["International Relations", "North Korea", "Russia"]


def test_split_tags_splits_unknown_names_per_word() -> None:
    assert split_tags("Politics United States Donald Trump", "Politics") == [
        "Politics",
        "United States",
        "Donald",
        "Trump",
    ]


def test_split_tags_uses_the_section_as_a_known_phrase() -> None:
    assert split_tags("Space Exploration Sri Lanka Moon", "Space Exploration") == [
        "Space Exploration",
        "Sri Lanka",
        "Moon",
    ]
    assert split_tags("Space Exploration Sri Lanka Moon") == ["Space", "Exploration", "Sri Lanka", "Moon"]


def test_split_tags_prefers_the_longest_match_and_dedupes() -> None:
    assert split_tags("Papua New Guinea New Zealand Russia Russia") == [
        "Papua New Guinea",
        "New Zealand",
        "Russia",
    ]


def test_missing_tag_line_gives_no_tags_and_keeps_the_body(seed_text: str, seed: dict[str, object]) -> None:
    result = parse_plain_text(seed_text.replace("International Relations North Korea Russia\n", ""))
    assert result["tags"] == []
    assert result["body"] == seed["body"]


def test_missing_byline_and_published_uses_the_repeated_headline(seed_text: str) -> None:
    lines = [line for line in seed_text.splitlines() if not line.startswith(("By:", "Published:"))]
    result = parse_plain_text("\n".join(lines))
    assert result["title"] == TITLE
    assert result["section"] == "International Relations"
    assert result["author"] == "BNN Correspondents"
    assert result["published_at"] == datetime(2024, 1, 15, tzinfo=UTC)
    assert result["tags"] == ["International Relations", "North Korea", "Russia"]
    body = result["body"]
    assert isinstance(body, str)
    assert body.startswith("On January 16, Moscow is set to host")
    assert "Gurbaksh Chahal" not in body
