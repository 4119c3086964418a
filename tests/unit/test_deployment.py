"""The deployment files, checked without a Docker engine: docker-compose.yml against the Compose
Specification's JSON schema (vendored in tests/data/compose-spec), and against the code it runs: every
command is an `insights` subcommand, every INSIGHTS_* variable is documented and real, the image runs
`insights` as a non-root user, and no secret is written into a committed file."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from insights.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
SCHEMA = ROOT / "tests" / "data" / "compose-spec" / "compose-spec.json"
CODE_DIRS = ("api", "insights", "pipeline", "schemas", "tests", "bench")
DOCS = (ROOT / "README.md", ROOT / "docs" / "operations.md")
VARIABLE = re.compile(r"\bINSIGHTS_[A-Z][A-Z0-9_]*[A-Z0-9]\b")
# In code, a variable is a quoted name ("INSIGHTS_SECRET"); an unquoted one is a Python constant.
VARIABLE_IN_CODE = re.compile(r"""["'](INSIGHTS_[A-Z][A-Z0-9_]*[A-Z0-9])["']""")
# Variables that compose itself interpolates (image versions, secrets it passes on, published ports):
# they configure the deployment, not the code.
COMPOSE_ONLY = {
    "INSIGHTS_IMAGE",
    "INSIGHTS_VERSION",
    "INSIGHTS_API_PORT",
    "INSIGHTS_WORKER_METRICS_PORT",
    "INSIGHTS_API_METRICS_PORT",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def code_variables() -> set[str]:
    found: set[str] = set()
    for directory in CODE_DIRS:
        for path in (ROOT / directory).rglob("*.py"):
            if path != Path(__file__).resolve():  # this file names variables; it reads none
                found |= set(VARIABLE_IN_CODE.findall(path.read_text()))
    return found


def env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.lstrip().startswith("#")}


def test_the_compose_file_is_valid_under_the_compose_specification(compose: dict[str, Any]) -> None:
    validator = Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_catches_a_broken_compose_file(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["api"]["depends_on"]["kafka"]["condition"] = "service_ready"
    broken["services"]["worker"]["restart"] = ["always"]
    assert len(list(Draft7Validator(json.loads(SCHEMA.read_text())).iter_errors(broken))) == 2


def test_the_product_services_are_all_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"kafka", "clickhouse", "migrate", "worker", "api"}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    assert services["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")
    assert services["migrate"]["restart"] == "no"
    assert "ports" in services["api"]
    # --scale worker=N needs a worker without a fixed name or a published port
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]


def test_every_service_waits_for_what_it_needs(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("kafka", "clickhouse", "worker", "api"):
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["depends_on"] == {"clickhouse": {"condition": "service_healthy"}}
    for name in ("worker", "api"):
        assert services[name]["depends_on"] == {
            "kafka": {"condition": "service_healthy"},
            "clickhouse": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
    for name in ("kafka", "clickhouse", "worker", "api"):
        assert services[name]["restart"] == "unless-stopped", name


def test_state_lives_on_named_volumes(compose: dict[str, Any]) -> None:
    mounts = {
        name: [m.split(":")[0] for m in service.get("volumes", [])]
        for name, service in compose["services"].items()
    }
    assert "kafka-data" in mounts["kafka"]
    assert "clickhouse-data" in mounts["clickhouse"]
    assert {"kafka-data", "clickhouse-data"} <= set(compose["volumes"])
    for source in mounts["clickhouse"]:
        if source.startswith("./"):
            assert (ROOT / source).is_file(), source


def test_every_service_command_is_an_insights_subcommand(compose: dict[str, Any]) -> None:
    parser = build_parser()
    for name in ("migrate", "worker", "api"):
        command = compose["services"][name]["command"]
        args = shlex.split(command) if isinstance(command, str) else command
        parser.parse_args(args)  # SystemExit (a failure) on an unknown command or flag


def test_the_image_runs_insights_as_a_non_root_user() -> None:
    lines = [
        line.strip() for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2, "multi-stage: build wheels, then a runtime without build tools"
    assert all("-slim" in stage for stage in stages)
    runtime = lines[lines.index(stages[-1]) :]
    assert json.loads(next(line for line in runtime if line.startswith("ENTRYPOINT ")).split(" ", 1)[1]) == [
        "insights"
    ]
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    cmd = json.loads(next(line for line in runtime if line.startswith("CMD ")).split(" ", 1)[1])
    build_parser().parse_args(cmd)


def test_the_insights_image_has_a_version_to_pin_and_it_is_the_packages(compose: dict[str, Any]) -> None:
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name in ("migrate", "worker", "api"):
        assert (
            compose["services"][name]["image"]
            == "${INSIGHTS_IMAGE:-insights}:${INSIGHTS_VERSION:-" + version + "}"
        )
    assert env_example()["INSIGHTS_VERSION"] == version


def test_the_image_installs_neither_chdb_nor_the_test_tools() -> None:
    """The image talks to a ClickHouse server: its wheels leave out the [embedded] and [dev] extras."""
    build = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("RUN pip wheel")]
    assert build == ["RUN pip wheel --wheel-dir /wheels ."]
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("chdb") for d in project["dependencies"])
    assert any(d.startswith("chdb") for d in project["optional-dependencies"]["embedded"])
    assert "reserved" not in DOCKERFILE.read_text().lower()


def test_the_worker_healthcheck_asks_its_metrics_port(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    check = " ".join(worker["healthcheck"]["test"])
    assert "INSIGHTS_METRICS_PORT" in check and "INSIGHTS_METRICS_PORT" in worker["environment"]


def test_the_kafka_image_is_the_version_the_tests_run() -> None:
    pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    version = re.search(r"<insights.kafka.version>([^<]+)<", pom)
    assert version is not None
    assert env_example()["KAFKA_VERSION"] == version.group(1)
    assert f"KAFKA_VERSION:-{version.group(1)}" in COMPOSE.read_text()


def test_every_variable_the_code_reads_is_documented() -> None:
    assert {"INSIGHTS_SECRET", "INSIGHTS_LOG_FORMAT", "INSIGHTS_METRICS_PORT"} <= code_variables()
    documented = set().union(*(VARIABLE.findall(doc.read_text()) for doc in DOCS))
    assert code_variables() - documented == set()


def test_every_variable_compose_sets_exists_in_the_code(compose: dict[str, Any]) -> None:
    used = set(VARIABLE.findall(COMPOSE.read_text())) | {
        k for k in env_example() if k.startswith("INSIGHTS_")
    }
    assert used - code_variables() - COMPOSE_ONLY == set()
    documented = set().union(*(VARIABLE.findall(doc.read_text()) for doc in DOCS))
    assert COMPOSE_ONLY - documented == set()


def test_no_secret_is_committed(compose: dict[str, Any]) -> None:
    example = env_example()
    assert example["INSIGHTS_SECRET"] == "" and example["CLICKHOUSE_PASSWORD"] == ""
    text = COMPOSE.read_text()
    assert "${INSIGHTS_SECRET:?" in text and "${CLICKHOUSE_PASSWORD:?" in text
    users = (ROOT / "deploy" / "clickhouse" / "users.d" / "insights.xml").read_text()
    assert 'from_env="CLICKHOUSE_INSIGHTS_PASSWORD"' in users
    assert "<password>" not in users
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    ignored = [
        line for line in (ROOT / ".dockerignore").read_text().splitlines() if line[:1] not in ("#", "")
    ]
    assert ignored[0] == "*", "the build context holds only what the image needs"


def test_only_the_api_port_is_published_and_it_serves_no_metrics(compose: dict[str, Any]) -> None:
    published = {name: service.get("ports", []) for name, service in compose["services"].items()}
    assert published["api"] == ["${INSIGHTS_API_PORT:-8000}:8000"]
    assert not published["worker"]
    # With a metrics port of its own, the API leaves /metrics off the port compose publishes.
    assert compose["services"]["api"]["environment"]["INSIGHTS_METRICS_PORT"]
