"""Fetch settings: read from FETCH_* variables, safe by default, refused when they cannot work."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.fetch import FetchSettings


def test_the_defaults_refuse_private_addresses_and_bound_every_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALLOW_PRIVATE", "USER_AGENT", "TIMEOUT_S", "MAX_BYTES", "HOST_CONCURRENCY", "HOST_DELAY_S"):
        monkeypatch.delenv(f"FETCH_{name}", raising=False)
    settings = FetchSettings()
    assert settings.fetch_allow_private is False
    assert settings.fetch_user_agent.startswith("Wirestream/")
    assert (settings.fetch_timeout_s, settings.fetch_max_bytes) == (30.0, 10 * 1024 * 1024)
    assert (settings.fetch_host_concurrency, settings.fetch_host_delay_s) == (2, 1.0)


def test_the_environment_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FETCH_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("FETCH_USER_AGENT", "NewsBot/2.0 (+https://news.example/bot)")
    monkeypatch.setenv("FETCH_TIMEOUT_S", "12.5")
    monkeypatch.setenv("FETCH_MAX_BYTES", "2097152")
    monkeypatch.setenv("FETCH_HOST_CONCURRENCY", "1")
    monkeypatch.setenv("FETCH_HOST_DELAY_S", "0")
    settings = FetchSettings()
    assert settings.fetch_allow_private is True
    assert settings.fetch_user_agent == "NewsBot/2.0 (+https://news.example/bot)"
    assert (settings.fetch_timeout_s, settings.fetch_max_bytes) == (12.5, 2 * 1024 * 1024)
    assert (settings.fetch_host_concurrency, settings.fetch_host_delay_s) == (1, 0.0)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("fetch_user_agent", "Bot\r\nX-Injected: 1", "printable ASCII on one line"),
        ("fetch_user_agent", "", "at least 1 character"),
        ("fetch_timeout_s", 0, "greater than 0"),
        ("fetch_max_bytes", 10, "greater than or equal to 1024"),
        ("fetch_host_concurrency", 0, "greater than or equal to 1"),
        ("fetch_host_delay_s", -1, "greater than or equal to 0"),
    ],
)
def test_values_that_cannot_work_are_refused(field: str, value: object, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        FetchSettings(**{field: value})
