"""The event loop's core of its own (insights/loop_core.py).

Affinity is per thread and inherited, so each case that pins runs in a child process of its own: the
test process's threads keep every CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from insights.loop_core import RESERVE_BELOW_SECONDS, SHARE_AFTER_SECONDS, LoopCore
from insights.settings import Settings, SettingsError
from tests.unit.writes_trail import along_the_trail

linux_with_two_cpus = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux and two CPUs or more",
)


def run_child(code: str) -> dict[str, list[int]]:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=True
    )
    result: dict[str, list[int]] = json.loads(completed.stdout)
    return result


def test_one_cpu_is_not_split() -> None:
    with pytest.raises(ValueError, match="two CPUs"):
        LoopCore({3})
    assert LoopCore.for_this_process(wanted=False) is None


def test_the_setting_is_off_unless_turned_on() -> None:
    base = {"INSIGHTS_SECRET": "x" * 40}
    assert Settings.from_env(base).loop_core is False
    assert Settings.from_env({**base, "INSIGHTS_LOOP_CORE": "ON"}).loop_core is True
    assert Settings.from_env({**base, "INSIGHTS_LOOP_CORE": "off"}).loop_core is False
    with pytest.raises(SettingsError, match="INSIGHTS_LOOP_CORE must be `on` or `off`"):
        Settings.from_env({**base, "INSIGHTS_LOOP_CORE": "yes"})


@linux_with_two_cpus
def test_the_loop_keeps_its_cpu_and_every_other_thread_is_moved_off_it() -> None:
    """A thread started by the loop's thread inherits the loop's CPU until a sweep moves it; a child
    process starts on the others, before it runs anything."""
    seen = run_child(
        """
        import json, os, subprocess, sys, threading
        from insights import loop_core
        from insights.loop_core import LoopCore

        loop_core.SWEEP_SECONDS = 3600  # only the sweeps the test makes
        core = LoopCore(os.sched_getaffinity(0))
        core.start()
        release = threading.Event()
        late = threading.Thread(target=release.wait)
        late.start()  # by the loop's thread: on its CPU
        inherited = sorted(os.sched_getaffinity(late.native_id))
        moved = core.sweep()
        child = subprocess.run(
            [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
            preexec_fn=core.child_setup, capture_output=True, text=True, check=True,
        )
        print(json.dumps({
            "all": sorted(core.others | {core.loop_cpu}),
            "loop_cpu": [core.loop_cpu],
            "loop": sorted(os.sched_getaffinity(0)),
            "inherited": inherited,
            "moved": [moved],
            "late": sorted(os.sched_getaffinity(late.native_id)),
            "sweeper": sorted(os.sched_getaffinity(core._sweeper.native_id)),
            "child": json.loads(child.stdout),
        }))
        release.set()
        """
    )
    others = [cpu for cpu in seen["all"] if cpu != seen["loop_cpu"][0]]
    assert seen["loop_cpu"] == [max(seen["all"])]
    assert seen["loop"] == seen["loop_cpu"]
    assert seen["inherited"] == seen["loop_cpu"]
    assert seen["moved"] == [1]
    assert seen["late"] == others
    assert seen["sweeper"] == others
    assert seen["child"] == others


@linux_with_two_cpus
def test_the_sweeper_moves_new_threads_by_itself() -> None:
    seen = run_child(
        """
        import json, os, threading, time
        from insights import loop_core

        core = loop_core.LoopCore(os.sched_getaffinity(0))
        loop_core.SWEEP_SECONDS = 0.01
        core.start()
        release = threading.Event()
        late = threading.Thread(target=release.wait)
        late.start()
        deadline = time.monotonic() + 30
        while os.sched_getaffinity(late.native_id) != core.others and time.monotonic() < deadline:
            time.sleep(0.01)
        late_cpus = sorted(os.sched_getaffinity(late.native_id))
        print(json.dumps({"late": late_cpus, "others": sorted(core.others)}))
        release.set()
        core.stop()
        """
    )
    assert seen["late"] == seen["others"]


def test_the_other_threads_share_the_loops_core_while_the_writes_trail() -> None:
    """Past SHARE_AFTER_SECONDS behind, shared; reserved again only under RESERVE_BELOW_SECONDS."""
    now = 1_000.0
    core = LoopCore({0, 1}, clock=lambda: now)
    seen = along_the_trail(core, now, SHARE_AFTER_SECONDS, RESERVE_BELOW_SECONDS, core.decide)
    assert seen == [True, True, True, False, False, True, True]
    assert core.every == {0, 1} and core.others == {0} and core.loop_cpu == 1


@linux_with_two_cpus
def test_while_shared_every_thread_and_included_child_may_use_every_cpu() -> None:
    seen = run_child(
        """
        import json, os, subprocess, sys, threading
        from insights import loop_core
        from insights.loop_core import LoopCore

        loop_core.SWEEP_SECONDS = 3600  # only the sweeps the test makes
        core = LoopCore(os.sched_getaffinity(0))
        core.start()
        child = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.stdin.read()"],
            stdin=subprocess.PIPE, preexec_fn=core.child_setup,
        )
        core.include(lambda: child.pid)
        core.include(lambda: None)  # a child not running
        before = sorted(os.sched_getaffinity(child.pid))
        core.reserved = False
        core.sweep()
        shared = {
            "child": sorted(os.sched_getaffinity(child.pid)),
            "sweeper": sorted(os.sched_getaffinity(core._sweeper.native_id)),
        }
        core.reserved = True
        core.sweep()
        print(json.dumps({
            "every": sorted(core.every), "others": sorted(core.others), "before": before,
            "shared_child": shared["child"], "shared_sweeper": shared["sweeper"],
            "reserved_child": sorted(os.sched_getaffinity(child.pid)),
            "loop": sorted(os.sched_getaffinity(0)), "loop_cpu": [core.loop_cpu],
        }))
        child.communicate(b"")
        """
    )
    assert seen["before"] == seen["others"]
    assert seen["shared_child"] == seen["every"]
    assert seen["shared_sweeper"] == seen["every"]
    assert seen["reserved_child"] == seen["others"]
    assert seen["loop"] == seen["loop_cpu"]
