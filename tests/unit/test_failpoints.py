"""Crash points: a process kills itself at the Nth pass, and first the process it goes down with."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from pipeline import failpoints

CRASHES = """
import sys
from pipeline import failpoints
failpoints.arm("after_rollups=2", together_with=int(sys.argv[1]))
failpoints.failpoint("after_rollups")
print("passed once", flush=True)
failpoints.failpoint("after_rollups")
print("never", flush=True)
"""


def test_the_nth_pass_kills_the_partner_then_the_process() -> None:
    partner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        crashing = subprocess.run(
            [sys.executable, "-c", CRASHES, str(partner.pid)], capture_output=True, text=True, timeout=60
        )
        assert crashing.returncode == -signal.SIGKILL
        assert crashing.stdout.splitlines() == ["passed once"]
        assert partner.wait(timeout=10) == -signal.SIGKILL
    finally:
        partner.kill()
        partner.wait()


def test_a_bad_spec_names_the_point() -> None:
    with pytest.raises(ValueError, match="no_such_point"):
        failpoints.arm("no_such_point=1")
    failpoints.arm("")
