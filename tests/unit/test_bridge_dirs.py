"""The store bridge's socket directories: those of owners no longer running are removed when another
bridge starts (an owner killed with SIGKILL cannot remove its own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from insights.store_bridge import DIR_PREFIX, sweep_bridge_dirs


def test_only_the_directories_of_owners_gone_are_swept(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    dead = tmp_path / f"{DIR_PREFIX}{dead_pid}-k3v9x_q1"
    alive = tmp_path / f"{DIR_PREFIX}{os.getpid()}-a8b2c7d0"
    unnamed = tmp_path / f"{DIR_PREFIX}04zp30e_"  # no owner named in it: left alone
    other = tmp_path / "insights-data-123-x"
    for path in (dead, alive, unnamed, other):
        path.mkdir(mode=0o700)
        (path / "store.sock").touch()
    assert sweep_bridge_dirs(str(tmp_path)) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (alive, unnamed, other))
