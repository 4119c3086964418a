"""Work cut into bounded slices (pipeline/pacing.py): the loop gets a turn once a slice has run its
budget, and not before."""

from __future__ import annotations

import asyncio

from pipeline.pacing import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_work_yields_to_the_loop_only_once_its_slice_has_used_the_budget() -> None:
    clock = Clock()
    turns: list[float] = []  # when another task got the loop

    async def other() -> None:
        while True:
            turns.append(clock.now)
            await asyncio.sleep(0)

    async def work() -> Pacer:
        pacer = Pacer(budget=0.002, clock=clock)
        watcher = asyncio.create_task(other())
        await asyncio.sleep(0)  # the other task starts, then waits for its next turn
        turns.clear()
        for _ in range(10):  # ten pieces of 0.5 ms: a slice of four pieces reaches 2 ms
            clock.now += 0.0005
            await pacer.pause()
        watcher.cancel()
        return pacer

    pacer = asyncio.run(work())
    assert pacer.yields == 2
    assert turns == [0.002, 0.004]  # the loop's turns came after 2 ms and 4 ms of work, no sooner


def test_a_pause_before_the_budget_is_used_does_not_give_up_the_loop() -> None:
    clock = Clock()
    ran_meanwhile = []

    async def work() -> None:
        pacer = Pacer(budget=0.002, clock=clock)
        asyncio.get_running_loop().call_soon(ran_meanwhile.append, "other")
        clock.now += 0.001
        await pacer.pause()
        assert ran_meanwhile == []  # still this slice's turn

    asyncio.run(work())
