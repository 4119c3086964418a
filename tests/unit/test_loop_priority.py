"""The event loop's raised priority (insights/loop_priority.py).

Niceness is per thread and inherited, so each case that raises it runs in a child process of its own;
raising needs root or CAP_SYS_NICE, so those cases are skipped without it (CI runs as root). Whether
the writes trail, and a process that may not raise it, are decided with `os.setpriority` recorded.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

import pytest

from insights import loop_priority
from insights.loop_priority import RESERVE_BELOW_SECONDS, SHARE_AFTER_SECONDS, LoopPriority
from insights.metrics import REGISTRY
from insights.settings import Settings, SettingsError
from tests.niceness import may_raise_priority
from tests.unit.writes_trail import along_the_trail

needs_the_right = pytest.mark.skipif(
    not may_raise_priority(),
    reason="raising a thread's priority needs Linux and root or CAP_SYS_NICE",
)


def niceness_metric() -> float | None:
    return REGISTRY.get_sample_value("insights_loop_niceness")


def run_child(code: str) -> dict[str, int]:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=True
    )
    result: dict[str, int] = json.loads(completed.stdout)
    return result


def test_the_setting() -> None:
    base = {"INSIGHTS_SECRET": "x" * 40}
    assert Settings.from_env(base).loop_niceness == -10
    for text, value in (("0", 0), ("-20", -20), (" -5 ", -5)):
        assert Settings.from_env({**base, "INSIGHTS_LOOP_NICENESS": text}).loop_niceness == value
    for wrong in ("5", "-21", "+1", "-", "ten", "-1.5"):
        with pytest.raises(
            SettingsError, match="INSIGHTS_LOOP_NICENESS must be a whole number from -20 to 0"
        ):
            Settings.from_env({**base, "INSIGHTS_LOOP_NICENESS": wrong})


def test_nothing_to_do_at_or_above_the_process_own_niceness() -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert LoopPriority.for_this_process(own) is None
    assert LoopPriority.for_this_process(min(own + 1, 19)) is None
    if own > -20:
        assert LoopPriority.for_this_process(own - 1) is not None


@needs_the_right
def test_only_the_loops_thread_is_raised() -> None:
    """A thread the loop starts inherits its niceness until the sweep puts it back; the store's pools
    start their threads at the process's own; the sweeper runs at it too."""
    seen = run_child(
        """
        import json, os, threading
        from concurrent.futures import ThreadPoolExecutor
        from insights import loop_priority
        from insights.loop_priority import LoopPriority, niceness_of, unraised
        from insights.metrics import REGISTRY

        loop_priority.SWEEP_SECONDS = 3600  # only the sweeps the test makes
        priority = LoopPriority.for_this_process(-10)
        assert priority.start()
        release = threading.Event()
        late = threading.Thread(target=release.wait)
        late.start()  # by the loop's thread: at its niceness
        inherited = niceness_of(late.native_id)
        pool = ThreadPoolExecutor(1, initializer=unraised)
        pooled = pool.submit(lambda: niceness_of(threading.get_native_id())).result()
        moved = priority.sweep()
        print(json.dumps({
            "own": priority.own,
            "loop": niceness_of(threading.get_native_id()),
            "metric": REGISTRY.get_sample_value("insights_loop_niceness"),
            "inherited": inherited,
            "pooled": pooled,
            "moved": moved,
            "late": niceness_of(late.native_id),
            "sweeper": niceness_of(priority._sweeper.native_id),
        }))
        release.set()
        priority.stop()
        """
    )
    own = seen["own"]
    assert seen["loop"] == seen["metric"] == -10 < own
    assert seen["inherited"] == -10
    assert seen["pooled"] == own
    assert seen["moved"] == 1
    assert seen["late"] == own
    assert seen["sweeper"] == own


def test_a_process_that_may_not_raise_it_keeps_its_own(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refused(which: int, who: int, niceness: int) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(loop_priority.os, "setpriority", refused)
    priority = LoopPriority(-10)
    with caplog.at_level(logging.INFO, logger="insights.loop_priority"):
        assert priority.start() is False
    assert not priority.raised and priority._sweeper is None
    assert niceness_metric() == priority.own
    assert "CAP_SYS_NICE" in caplog.text
    loop_priority.unraised()  # nothing is raised: leaves a thread as it is


def test_the_loop_gives_up_its_priority_while_the_writes_trail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past SHARE_AFTER_SECONDS behind, the process's own niceness; raised again only under
    RESERVE_BELOW_SECONDS."""
    calls: list[int] = []
    monkeypatch.setattr(loop_priority.os, "setpriority", lambda which, who, niceness: calls.append(niceness))
    now = 1_000.0
    priority = LoopPriority(-10, clock=lambda: now)
    own = priority.own
    priority.raised = True
    seen = along_the_trail(
        priority,
        now,
        SHARE_AFTER_SECONDS,
        RESERVE_BELOW_SECONDS,
        lambda: (priority.decide(), niceness_metric()),
    )
    raised, lowered = (True, -10), (False, own)
    assert seen == [raised, raised, raised, lowered, lowered, raised, raised]
    assert calls == [own, -10]
