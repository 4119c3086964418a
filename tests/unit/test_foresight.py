"""The listener merges run ahead of their sums (api/read/listener_blocks.py, Foresight), without the
engine: a store that records the statements it is asked and answers with their parameters."""

import asyncio
from datetime import date
from typing import Any

import pytest

from api.read import listener_blocks
from api.read.listener_blocks import ALBUM, Ask, Entity, Foresight, Plan

ASK = Ask(Entity(ALBUM, 7), (1, 2), date(2026, 11, 7), date(2026, 12, 6))


class Recording:
    """Answers each statement with one row naming it; `release` holds the answers back, `asked` says a
    statement came."""

    def __init__(self) -> None:
        self.run: list[dict[str, Any]] = []
        self.release, self.asked = asyncio.Event(), asyncio.Event()

    async def aquery_rows(
        self, sql: str, parameters: dict[str, Any], binary: bool = False
    ) -> list[tuple[Any, ...]]:
        self.run.append(parameters)
        self.asked.set()
        await self.release.wait()
        return [(0, len(parameters["keys"]), 0)]


@pytest.fixture(autouse=True)
def merged_by_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every merge is the store's statement here (none is made in the process)."""
    monkeypatch.setattr(listener_blocks, "PROCESS_ROWS", -1)


def plan(keys: int) -> Plan:
    """A plan whose merge reads `keys` blocks."""
    listed = [(ALBUM, 7, 1, date(2026, 11, day)) for day in range(1, keys + 1)]
    empty = {"windows": [], "own": [], "exact_own": [], "total_tracks": []}
    return Plan((ASK,), {"keys": listed, "key_asks": [[0]] * keys} | empty)


def test_a_read_takes_the_merges_run_ahead_only_when_they_are_its_own() -> None:
    async def reads() -> None:
        store, foresight = Recording(), Foresight()
        first = foresight.ahead(store, "album")  # nothing known: nothing started
        assert await first.rows(plan(3)) is None and store.run == []
        again = foresight.ahead(store, "album")
        await asyncio.wait_for(store.asked.wait(), 5)  # started before the read knows its own plan
        assert len(store.run) == 1
        store.release.set()
        assert await again.rows(plan(3)) == [(0, 3, 0)]
        otherwise = foresight.ahead(store, "album")
        assert await otherwise.rows(plan(4)) is None  # the sums judged otherwise: run after
        latest = foresight.ahead(store, "album")  # the plan remembered is the last read's
        assert await latest.rows(plan(4)) == [(0, 4, 0)]
        nothing = foresight.ahead(store, "album")
        assert await nothing.rows(None) is None  # a read with nothing to merge forgets the plan
        await asyncio.gather(*(asyncio.all_tasks() - {asyncio.current_task()}))
        run = len(store.run)
        assert await foresight.ahead(store, "album").rows(None) is None
        await asyncio.gather(*(asyncio.all_tasks() - {asyncio.current_task()}))
        assert len(store.run) == run  # nothing started

    asyncio.run(reads())


def test_the_plans_kept_are_bounded_by_the_places_they_read() -> None:
    async def reads() -> None:
        # A plan weighs 1, its ask and its keys listed twice (the keys, the asks of each): 2 + 2 x keys.
        store, foresight = Recording(), Foresight(places=40)
        store.release.set()
        await foresight.ahead(store, "small").rows(plan(5))  # 12
        await foresight.ahead(store, "large").rows(plan(25))  # 52, past the bound alone: not kept
        assert await foresight.ahead(store, "large").rows(plan(25)) is None
        assert await foresight.ahead(store, "small").rows(plan(5)) is not None
        await foresight.ahead(store, "other").rows(plan(15))  # 32: with "small", past the bound
        assert await foresight.ahead(store, "small").rows(plan(5)) is None  # the least recent dropped

    asyncio.run(reads())
