"""Where a process's event loop goes: the CPU time of every turn of the loop, by what ran, and every
pause of Python's garbage collector, written when the process exits. A diagnostic, not a benchmark.

Put this directory first on PYTHONPATH and name an output prefix in LOOP_TURNS; every Python process
started so (an `insights up` a benchmark starts included) writes LOOP_TURNS.<pid> at exit. CPU time
(not wall time), so other processes on the machine do not inflate it:

    PYTHONPATH=bench/loop_turns:. LOOP_TURNS=/tmp/turns .venv/bin/python bench/mixed_load.py --quick

Each line: CPU seconds in all, turns over 0.5 ms, the longest, the ten longest over 5 ms, and what ran
(a task's coroutine; for a request, its method and path with digits as N).
"""

from __future__ import annotations

import os

if os.environ.get("LOOP_TURNS"):
    import asyncio.events
    import atexit
    import collections
    import gc
    import re
    import time
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

    def _timed_run(self: asyncio.events.Handle) -> None:
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

    asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]
    gc.callbacks.append(_collected)
    atexit.register(_write)
