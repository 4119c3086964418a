"""Where a process's event loop goes: the CPU time of every turn of the loop, by what ran, and every
pause of Python's garbage collector, written when the process exits. A diagnostic, not a benchmark.

Put this directory first on PYTHONPATH and name an output prefix in LOOP_TURNS; every Python process
started so (an `insights up` a benchmark starts included) writes LOOP_TURNS.<pid> at exit. CPU time
(not wall time), so other processes on the machine do not inflate it:

    PYTHONPATH=bench/loop_turns:. LOOP_TURNS=/tmp/turns .venv/bin/python bench/mixed_load.py --quick

Each line: CPU seconds in all, turns over 0.5 ms, the longest, the ten longest over 5 ms, and what ran
(a task's coroutine; for a request, its method and path with digits as N).

Then the stalls: every time the loop, with work to do (not waiting in `select`), started nothing for
over STALL_MS of wall time, a watcher thread notes how long, the loop thread's scheduler states seen
meanwhile (R: runnable or running, S: asleep, e.g. on the interpreter's lock), the CPU it got, where
it was, and which threads of the process used the CPU meanwhile (CPU from /proc, in ticks of 10 ms).
A stall in state R with little CPU of its own is the loop waiting for a core, not doing work.
"""

from __future__ import annotations

import os

if os.environ.get("LOOP_TURNS"):
    import asyncio.events
    import atexit
    import collections
    import gc
    import re
    import sys
    import threading
    import time
    import traceback
    from typing import Any

    _turns: dict[str, list[Any]] = collections.defaultdict(lambda: [0, 0.0, 0.0, []])
    _pauses: dict[int, list[float]] = collections.defaultdict(list)
    _gc_began = [0.0]
    _run = asyncio.events.Handle._run

    def _what(handle: asyncio.events.Handle) -> str:
        task = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
        if not isinstance(task, asyncio.Task):
            return str(getattr(handle._callback, "__qualname__", repr(handle._callback)))  # type: ignore[attr-defined]
        coro = task.get_coro()
        name = str(getattr(coro, "__qualname__", repr(coro)))
        frame = getattr(coro, "cr_frame", None)
        if frame is not None and name.endswith("_execute_task"):  # a mode/Faust service's task
            inner = frame.f_locals.get("task")
            name += ":" + str(getattr(inner, "__qualname__", repr(inner)[:60]))
        elif frame is not None and name.endswith("run_asgi"):  # a request served by uvicorn
            scope = getattr(frame.f_locals.get("self"), "scope", None) or {}
            name += f":{scope.get('method', '')} {re.sub(r'[0-9]+', 'N', scope.get('path', ''))}"
        return name

    STALL_MS = 30
    _started = [time.monotonic()]  # when the loop last started a callback
    _loop_thread: list[int] = []  # its native id and Python ident, once it runs one
    _stalls: list[tuple[int, str, int, str, list[tuple[int, str]]]] = []
    _TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")

    def _threads() -> dict[int, tuple[str, str, float]]:
        """{native id: (name, scheduler state, CPU ms)} of this process's threads."""
        seen = {}
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as stat, open(f"/proc/self/task/{tid}/comm") as comm:
                    fields, name = stat.read().rsplit(")", 1)[1].split(), comm.read().strip()
            except OSError:
                continue
            seen[int(tid)] = (name, fields[0], (int(fields[11]) + int(fields[12])) * _TICK_MS)
        return seen

    def _watch() -> None:
        while True:
            time.sleep(0.002)
            began = _started[0]
            if not _loop_thread or time.monotonic() - began < STALL_MS / 1000:
                continue
            native, ident = _loop_thread
            frame = sys._current_frames().get(ident)
            stack = traceback.extract_stack(frame)[-4:][::-1] if frame is not None else []
            if stack and stack[0].name == "select":
                while _started[0] == began:  # idle: waiting for work
                    time.sleep(0.002)
                continue
            before = _threads()
            states = before.get(native, ("", "?", 0.0))[1]
            while _started[0] == began:
                time.sleep(0.002)
                states += _threads().get(native, ("", "?", 0.0))[1]
            after = _threads()
            used = sorted(
                (
                    (round(after[t][2] - before[t][2]), after[t][0])
                    for t in after
                    if t in before and t != native
                ),
                reverse=True,
            )
            own = after.get(native, ("", "", 0.0))[2] - before.get(native, ("", "", 0.0))[2]
            where = " <- ".join(f"{f.name}:{f.lineno}" for f in stack)
            length = round((_started[0] - began) * 1000)
            _stalls.append(
                (length, "".join(sorted(set(states))), round(own), where, [u for u in used[:4] if u[0]])
            )

    def _timed_run(self: asyncio.events.Handle) -> None:
        _started[0] = time.monotonic()
        if not _loop_thread:
            _loop_thread.extend((threading.get_native_id(), threading.get_ident()))
            threading.Thread(target=_watch, name="loop-turns-stalls", daemon=True).start()
        began = time.thread_time()
        _run(self)
        spent = time.thread_time() - began
        if spent > 0.0005:
            turn = _turns[_what(self)]
            turn[0] += 1
            turn[1] += spent
            turn[2] = max(turn[2], spent)
            if spent > 0.005:
                turn[3].append(round(spent * 1000, 1))

    def _collected(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            _gc_began[0] = time.thread_time()
        else:
            _pauses[info["generation"]].append((time.thread_time() - _gc_began[0]) * 1000)

    def _write() -> None:
        if not _turns:
            return
        with open(f"{os.environ['LOOP_TURNS']}.{os.getpid()}", "w") as out:
            out.write(f"tracked objects at exit {len(gc.get_objects())}, frozen {gc.get_freeze_count()}\n")
            for generation, pauses in sorted(_pauses.items()):
                pauses.sort()
                out.write(
                    f"gc generation {generation}: {len(pauses)} passes, {sum(pauses):.0f} ms in all,"
                    f" longest {[round(p, 1) for p in pauses[-8:]]} ms\n"
                )
            for total, what, count, longest, over in sorted(
                ((t[1], w, t[0], t[2], sorted(t[3])[-10:]) for w, t in _turns.items()), reverse=True
            )[:30]:
                out.write(f"{total:7.3f} s {count:6} turns, longest {longest * 1000:6.1f} ms {over} {what}\n")
            out.write(f"loop stalls over {STALL_MS} ms with work to do: {len(_stalls)}\n")
            for length, states, own, where, used in sorted(_stalls, reverse=True)[:30]:
                out.write(f"{length:5} ms, states {states}, loop CPU {own} ms, at {where}; others: {used}\n")

    asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]
    gc.callbacks.append(_collected)
    atexit.register(_write)
