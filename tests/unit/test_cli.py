"""The `insights` command as a newcomer meets it: a version, help on every option, data as JSON on request,
errors on stderr with a non-zero exit, and token commands that never sign with a secret nobody checks."""

from __future__ import annotations

import argparse
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from insights.cli import build_parser, main
from schemas.tokens import create_token, verify_token

SECRET = "cli-unit-test-secret-of-a-reasonable-length"


@pytest.fixture(autouse=True)
def no_secret_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSIGHTS_SECRET", raising=False)
    monkeypatch.delenv("INSIGHTS_DATA_DIR", raising=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data dir an instance already ran in: it holds the secret."""
    (tmp_path / "secret").write_text(SECRET)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse: --version, --help and usage errors
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def every_parser(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from every_parser(child)


def test_version_is_the_installed_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("insights ") and out.split()[1][0].isdigit()


def test_every_option_and_argument_has_help() -> None:
    missing = [
        f"{prog} {action.dest}"
        for prog, parser in every_parser(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction) and not action.help
    ]
    assert missing == []


def test_every_command_that_prints_data_takes_json() -> None:
    servers = {"insights up", "insights api", "insights worker"}  # they log; they print no data
    leaves = [
        (prog, parser)
        for prog, parser in every_parser(build_parser())
        if not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
    ]
    assert {prog for prog, _ in leaves} - servers, "the walk found the commands"
    lacking = [
        prog
        for prog, parser in leaves
        if prog not in servers and "--json" not in {s for a in parser._actions for s in a.option_strings}
    ]
    assert lacking == []


def test_the_help_says_nothing_of_internal_documents(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--help")
    assert "ARCHITECTURE" not in out and "§" not in out


def test_token_create_without_the_instances_secret_refuses_and_makes_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "token", "create", "--artist", "1", "--data-dir", str(tmp_path / "data"))
    assert code == 2 and out == ""
    assert f"No secret at {tmp_path / 'data' / 'secret'}" in err and "--data-dir" in err
    assert not (tmp_path / "data").exists(), "a client command never makes a secret"


@pytest.mark.parametrize("command", ["up", "api"])
def test_a_server_with_a_short_secret_refuses_before_it_starts_anything(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INSIGHTS_SECRET", "too-short")
    started: list[object] = []
    monkeypatch.setattr("insights.runner.run", lambda *args, **kwargs: started.append(args))
    code, out, err = run(capsys, command, "--data-dir", str(tmp_path / "data"))
    assert code == 2 and out == "" and started == []
    assert "INSIGHTS_SECRET must be at least 32 bytes long" in err and "too-short" not in err


def test_token_create_prints_one_line_and_says_which_secret_signed(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "token", "create", "--artist", "7", "--data-dir", str(data_dir))
    assert code == 0 and out.count("\n") == 1
    assert verify_token(out.strip(), SECRET).artists == {7}
    assert err.strip() == f"insights: signed with the secret in {data_dir / 'secret'}"


def test_insights_secret_signs_when_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INSIGHTS_SECRET", "from-the-environment-and-long-enough")
    code, out, err = run(capsys, "token", "create", "--scope", "events:write")
    assert code == 0 and "signed with INSIGHTS_SECRET" in err
    assert verify_token(out.strip(), "from-the-environment-and-long-enough").scopes == {"events:write"}


@pytest.mark.parametrize(
    "scopes", [[], ["--scope", "insights:read"], ["--scope", "insights:read", "--scope", "events:write"]]
)
def test_a_read_token_that_can_read_nothing_is_refused_with_a_hint(
    data_dir: Path, capsys: pytest.CaptureFixture[str], scopes: list[str]
) -> None:
    code, out, err = run(capsys, "token", "create", *scopes, "--subject", "ana", "--data-dir", str(data_dir))
    assert code == 2 and out == ""
    assert "can read nothing" in err and "--artist ID" in err and "--scope admin" in err


@pytest.mark.parametrize(
    "scopes", [["--scope", "admin"], ["--scope", "events:write"], ["--scope", "catalog:write"]]
)
def test_tokens_that_need_no_artist_are_made(
    data_dir: Path, capsys: pytest.CaptureFixture[str], scopes: list[str]
) -> None:
    assert run(capsys, "token", "create", *scopes, "--data-dir", str(data_dir))[0] == 0


def test_token_create_json_holds_the_token_and_its_claims(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "token", "create", "--artist", "7", "--artist", "8", "--subject", "ana", "--days", "2",
        "--json", "--data-dir", str(data_dir),
    )  # fmt: skip
    assert code == 0
    answer = json.loads(out)
    claims = verify_token(answer["token"], SECRET)
    assert answer["token_id"] == claims.token_id and answer["subject"] == "ana"
    assert answer["artists"] == [7, 8] and answer["scopes"] == ["insights:read"]
    assert answer["expires_at"] == f"{claims.expires_at:%Y-%m-%dT%H:%M:%SZ}"
    assert answer["signed_with"] == f"the secret in {data_dir / 'secret'}"


class Revocations(http.server.BaseHTTPRequestHandler):
    """A stand-in API answering GET/POST /api/v1/tokens/revocations to a valid admin token."""

    revoked: list[dict[str, str]] = []

    def answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorised(self) -> bool:
        bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            return "admin" in verify_token(bearer, SECRET).scopes
        except ValueError:
            return False

    def do_GET(self) -> None:
        if not self.authorised():
            self.answer(
                401, {"success": False, "message": "The token is not valid.", "error": "unauthorized"}
            )
            return
        self.answer(200, {"success": True, "data": {"revocations": self.revoked}})

    def do_POST(self) -> None:
        self.answer(403, {"success": False, "message": "This token may not do that.", "error": "forbidden"})

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Revocations)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_inspect_says_a_revoked_token_is_revoked(
    data_dir: Path, api: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = create_token(SECRET, subject="ana", artists=[7])
    token_id = jwt.decode(token, options={"verify_signature": False})["jti"]
    revoked = [{"token_id": token_id, "revoked_at": "2026-01-02T03:04:05.000000Z", "reason": "leaked"}]
    monkeypatch.setattr(Revocations, "revoked", revoked)
    code, out, _ = run(capsys, "token", "inspect", token, "--url", api, "--data-dir", str(data_dir), "--json")
    answer = json.loads(out)
    assert code == 1 and answer["status"] == "revoked" and answer["reason"] == "leaked"
    monkeypatch.setattr(Revocations, "revoked", [])
    code, out, _ = run(capsys, "token", "inspect", token, "--url", api, "--data-dir", str(data_dir))
    assert code == 0 and out.startswith("status:     valid") and f"checked at {api}" in out


def test_inspect_works_offline_and_says_revocation_was_not_checked(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = create_token(SECRET, subject="ana", artists=[7])
    code, out, _ = run(
        capsys, "token", "inspect", token, "--url", "http://127.0.0.1:9", "--data-dir", str(data_dir)
    )
    assert code == 0 and "status:     valid" in out and "not checked (no API answers at" in out


def test_inspect_of_a_token_from_another_secret_says_so(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = create_token("another-instance-secret-of-enough-length", artists=[7])
    code, out, _ = run(capsys, "token", "inspect", token, "--data-dir", str(data_dir), "--json")
    answer = json.loads(out)
    assert code == 1 and answer["status"] == "invalid"
    assert answer["reason"] == f"not signed with the secret in {data_dir / 'secret'} (or altered)"


def test_api_refusals_and_absences_go_to_stderr_with_exit_1(
    data_dir: Path, api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "token", "revoke", "abc", "--url", api, "--data-dir", str(data_dir))
    assert (code, out) == (1, "") and err.strip() == "insights: This token may not do that."
    code, out, err = run(
        capsys, "token", "revocations", "--url", "http://127.0.0.1:9", "--data-dir", str(data_dir)
    )
    assert (code, out) == (1, "") and "did not answer" in err


def test_revocations_json(
    data_dir: Path, api: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    revoked = [{"token_id": "t-1", "revoked_at": "2026-01-02T03:04:05.000000Z", "reason": ""}]
    monkeypatch.setattr(Revocations, "revoked", revoked)
    code, out, _ = run(capsys, "token", "revocations", "--json", "--url", api, "--data-dir", str(data_dir))
    assert code == 0 and json.loads(out) == {"revocations": revoked}


def test_status_json_and_an_absent_api_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "status", "--json", "--url", "http://127.0.0.1:9")
    assert (code, out) == (2, "") and "nothing answers at http://127.0.0.1:9" in err


def test_the_ready_banner_names_the_dashboard_the_docs_and_a_token_to_paste(tmp_path: Path) -> None:
    from insights.runner import ready_banner
    from insights.settings import Settings

    settings = Settings.from_env({}, data_dir=str(tmp_path), port=8123)
    banner = ready_banner(settings, "insights")
    assert "http://127.0.0.1:8123/dashboard/" in banner and "http://127.0.0.1:8123/docs" in banner
    assert f"insights token create --data-dir {tmp_path.resolve()} --artist 1" in banner


def test_without_chdb_the_embedded_default_says_how_to_get_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "chdb" else real_find_spec(name, *a)
    )
    code, out, err = run(capsys, "migrate", "--data-dir", str(tmp_path))
    assert (code, out) == (2, "")
    assert "pip install 'insights[embedded]'" in err and "INSIGHTS_CLICKHOUSE_DSN" in err


def test_importing_the_product_does_not_import_chdb() -> None:
    import subprocess
    import sys

    code = "import sys, insights.cli, insights.runner, api.app, pipeline.worker; print('chdb' in sys.modules)"
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert answer.stdout.strip() == "False", "a server deployment runs without chDB installed"


class AcceptingApi(Revocations):
    """A stand-in API that accepts every catalog item and event, and answers a Kafka reset."""

    reset: dict[str, Any] = {"accepted": True, "epoch": 2, "problem": None}

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/api/v1/kafka/reset":
            self.answer(200, {"success": True, "data": self.reset})
            return
        items = sum(len(value) for value in body.values())
        self.answer(202, {"success": True, "data": {"accepted": items, "rejected": 0, "errors": []}})


@pytest.fixture
def accepting_api() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AcceptingApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_generate_json_prints_the_outcome_alone_on_stdout(
    data_dir: Path, accepting_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "generate", "--events", "300", "--tracks", "24", "--json", "--url", accepting_api,
        "--data-dir", str(data_dir),
    )  # fmt: skip
    assert code == 0 and out.count("\n") == 1
    answer = json.loads(out)
    assert (answer["events"], answer["accepted"], answer["rejected"], answer["tracks"]) == (300, 300, 0, 24)
    assert answer["url"] == accepting_api and answer["artists"] >= 3 and answer["seconds"] >= 0
    assert "300/300 events" in err, "the progress stays on stderr"


def test_generate_against_no_api_fails_on_stderr(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "generate",
        "--events",
        "10",
        "--json",
        "--url",
        "http://127.0.0.1:9",
        "--data-dir",
        str(data_dir),
    )
    assert (code, out) == (1, "") and "Cannot reach http://127.0.0.1:9" in err


@pytest.mark.parametrize(
    ("reset", "code", "text"),
    [
        ({"accepted": True, "epoch": 2, "problem": None}, 0, "Kafka reset accepted: epoch 2\n"),
        ({"accepted": False, "epoch": 1, "problem": None}, 0, "nothing to accept: Kafka matches\n"),
    ],
)
def test_kafka_accept_reset_prints_text_or_json(
    data_dir: Path,
    accepting_api: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    reset: dict[str, Any],
    code: int,
    text: str,
) -> None:
    monkeypatch.setattr(AcceptingApi, "reset", reset)
    command = ("kafka", "accept-reset", "--url", accepting_api, "--data-dir", str(data_dir))
    assert run(capsys, *command) == (code, text, "")
    assert run(capsys, *command, "--json") == (code, json.dumps(reset) + "\n", "")


def test_kafka_accept_reset_that_still_mismatches_fails_on_stderr(
    data_dir: Path, accepting_api: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reset = {"accepted": True, "epoch": 3, "problem": "the cluster id is c3, not c2"}
    monkeypatch.setattr(AcceptingApi, "reset", reset)
    command = ("kafka", "accept-reset", "--url", accepting_api, "--data-dir", str(data_dir), "--json")
    code, out, err = run(capsys, *command)
    assert (code, json.loads(out)) == (1, reset) and "still does not match: the cluster id is c3" in err
    code, out, err = run(
        capsys, "kafka", "accept-reset", "--url", "http://127.0.0.1:9", "--data-dir", str(data_dir)
    )
    assert (code, out) == (1, "") and "did not answer" in err


def test_a_migration_refused_at_start_is_a_sentence_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from insights import runner
    from insights.migrate import WorkersRunning

    async def refused(*args: Any, **kwargs: Any) -> None:
        raise WorkersRunning("Migration 012 needs the workers stopped; 2 are running.")

    monkeypatch.setattr(runner, "run", refused)
    code, out, err = run(capsys, "worker", "--data-dir", str(tmp_path))
    assert (code, out) == (1, "")
    assert err == "insights worker: Migration 012 needs the workers stopped; 2 are running.\n"
