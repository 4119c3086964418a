"""The README's walkthrough, run as a newcomer runs it: `insights up` in a directory of its own (making
its own secret in ./.insights), then the commands of "Using the API" pasted into a shell there, every
curl required to succeed. The one change to the text: the port, since 8000 may be taken on this machine.

The block is run in two halves, because a person reads between them: the catalog must reach the worker
before a read can find track 42, so the test waits (on that condition) where a person would look.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import INSIGHTS, UpProcess, eventually

pytestmark = pytest.mark.integration

README = Path(__file__).parents[2] / "README.md"
READS_START = "# a token reads the tracks that list one of its artists"
# curl fails on any HTTP error, so a refused command fails the walkthrough.
SHELL_PRELUDE = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n'


def walkthrough() -> tuple[str, str]:
    """The README's "Using the API" shell block, split where the reads begin."""
    section = README.read_text().split("## Using the API", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the README lost its walkthrough"
    writes, reads = block.group(1).split(READS_START, 1)
    return writes, READS_START + reads


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UpProcess, Path]]:
    """`insights up` run from a fresh directory with no INSIGHTS_SECRET, as `make up` does."""
    home = tmp_path_factory.mktemp("newcomer")
    (home / ".venv").symlink_to(Path(sys.prefix))  # the README calls .venv/bin/insights
    up = UpProcess(home / ".insights")
    up.env.pop("INSIGHTS_SECRET")
    up.start()
    try:
        yield up, home
    finally:
        assert up.stop() == 0, up.log_tail()


def run_shell(script: str, up: UpProcess, home: Path) -> subprocess.CompletedProcess[str]:
    text = SHELL_PRELUDE + script.replace("localhost:8000", f"localhost:{up.port}")
    env = {k: v for k, v in os.environ.items() if k != "INSIGHTS_SECRET"}
    return subprocess.run(
        ["bash", "-c", text], cwd=home, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_readme_walkthrough_runs_as_written(newcomer: tuple[UpProcess, Path]) -> None:
    up, home = newcomer
    assert (home / ".insights" / "secret").exists(), "insights up made the secret the tokens are signed with"
    writes, reads = walkthrough()
    first = run_shell(writes, up, home)
    assert first.returncode == 0, first.stdout + first.stderr
    assert '"accepted":1,"rejected":1' in first.stdout  # the README's own example answer
    assert f"signed with the secret in {home / '.insights' / 'secret'}" in first.stderr

    bearer = subprocess.run(
        [str(home / ".venv" / "bin" / "insights"), "token", "create", "--scope", "admin"],
        cwd=home,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    def counted() -> bool:  # the catalog and the play have reached the API (a track with plays is
        # known before its catalog entry, to admin only: the title says the catalog is there too)
        answer = httpx.get(
            f"{up.url}{INSIGHTS}/tracks/42", headers={"Authorization": f"Bearer {bearer}"}, timeout=10
        )
        if answer.status_code != 200:
            return False
        data = answer.json()["data"]
        return bool(data["plays"]["total"] >= 1 and data["title"] == "Dawn")

    eventually(counted, timeout=60)
    second = run_shell(reads, up, home)
    assert second.returncode == 0, second.stdout + second.stderr
    assert '"title":"Dawn"' in second.stdout and '"status":"ready"' in second.stdout
    downloads = sorted(p.name for p in home.iterdir() if p.suffix in (".csv", ".pdf"))
    # The README downloads the tracks' rows, the albums' breakdowns and the PDF report, each named for it.
    kinds = sorted(name.split("-30-days-")[0] + "." + name.rsplit(".", 1)[1] for name in downloads)
    expected = ["insights-albums-breakdowns.csv", "insights-report-ana-vale.pdf", "insights-tracks.csv"]
    assert kinds == expected, downloads
