"""Settings that contradict each other refuse to start, naming the problem."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from pydantic import ValidationError

from services.enrich.settings import EnrichSettings
from services.ingest.settings import IngestSettings
from services.store.settings import StoreSettings
from tests.harness import ROOT


@pytest.mark.parametrize("kind", [EnrichSettings, StoreSettings])
def test_a_claim_idle_time_shorter_than_one_read_is_refused(kind: type[StoreSettings]) -> None:
    with pytest.raises(ValidationError, match=r"CLAIM_IDLE_MS \(500\) is shorter than POLL_MS \(1000\)"):
        kind(claim_idle_ms=500, poll_ms=1000)
    assert kind(claim_idle_ms=1000, poll_ms=1000).claim_idle_ms == 1000


def test_a_batch_over_a_tenth_of_the_cap_is_refused() -> None:
    with pytest.raises(
        ValidationError, match=r"BATCH_SIZE \(101\) is over a tenth of STREAM_MAXLEN \(1000\)"
    ):
        StoreSettings(batch_size=101, stream_maxlen=1000)
    assert StoreSettings(batch_size=100, stream_maxlen=1000).batch_size == 100


def test_a_raw_lag_limit_above_the_cap_is_refused_and_the_default_follows_the_cap() -> None:
    with pytest.raises(ValidationError, match=r"MAX_RAW_LAG \(5000\) is above STREAM_MAXLEN \(1000\)"):
        IngestSettings(max_raw_lag=5000, stream_maxlen=1000)
    assert IngestSettings(stream_maxlen=1000).raw_lag_limit == 500
    assert IngestSettings(stream_maxlen=1000, max_raw_lag=0).raw_lag_limit == 1000  # only the cap
    assert IngestSettings(stream_maxlen=1000, max_raw_lag=300).raw_lag_limit == 300


def test_durations_read_seconds_and_iso_8601_and_groups_a_list() -> None:
    settings = StoreSettings(
        stream_retention="P2D", dead_retention="3600", protected_groups=" analytics, ,bi "
    )
    assert settings.stream_retention == timedelta(days=2)
    assert settings.dead_retention == timedelta(hours=1)
    assert settings.protected == frozenset({"analytics", "bi"})
    with pytest.raises(ValidationError):
        StoreSettings(stream_retention="0")


@pytest.mark.parametrize(
    ("service", "env", "problem"),
    [
        ("store", {"CLAIM_IDLE_MS": "100", "POLL_MS": "1000"}, "CLAIM_IDLE_MS (100) is shorter than POLL_MS"),
        (
            "ingest",
            {"MAX_RAW_LAG": "5000", "STREAM_MAXLEN": "1000"},
            "MAX_RAW_LAG (5000) is above STREAM_MAXLEN",
        ),
        ("enrich", {"BATCH_SIZE": "500", "STREAM_MAXLEN": "1000"}, "BATCH_SIZE (500) is over a tenth"),
    ],
)
def test_a_service_with_contradicting_settings_exits_with_the_problem(
    service: str, env: dict[str, str], problem: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", f"services.{service}"],
        cwd=ROOT,
        env={"PATH": "", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert f"wirestream {service} refuses to start" in done.stderr and problem in done.stderr
