"""What a read runs: the statements a Store is asked to answer, recorded on their way to it."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from api.read import listener_blocks
from api.read.catalog_snapshot import HAS_EVENTS_SQL, LOAD_SQL, MARKER_SQL
from insights.store import Store

T = TypeVar("T")

# The catalog's checks: run in the background on their own clock (every half second), whatever is asked
CATALOG_SQL = frozenset({MARKER_SQL, HAS_EVENTS_SQL, *LOAD_SQL.values()})


# Recorded in place of a listener merge's statements: a merge is made in the process or by the engine
# (api/read/listener_blocks.py, `_run`), and is recorded the same either way, with its plan's parameters.
MERGE = "<listener merge>"


class Statements:
    """Records each (sql, parameters) `store.aquery_rows` is called with, for the test's duration; a
    listener merge as (MERGE, its parameters), whichever way it is made (its own statements, which read
    with the same parameters, are not recorded; those of windows fetched and estimates asked are)."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        self.run: list[tuple[str, dict[str, Any]]] = []
        real, real_merge = store.aquery_rows, listener_blocks._run
        merging: set[int] = set()

        async def recorded(
            sql: str, parameters: dict[str, Any] | None = None, *, quick: bool = False, binary: bool = False
        ) -> list[tuple[Any, ...]]:
            if id(parameters) not in merging:
                self.run.append((sql, parameters or {}))
            return await real(sql, parameters, quick=quick, binary=binary)

        async def merge(on: Store, plan: listener_blocks.Plan) -> listener_blocks.Merged:
            if on is store:
                self.run.append((MERGE, plan.parameters))
                merging.add(id(plan.parameters))
            return await real_merge(on, plan)

        monkeypatch.setattr(store, "aquery_rows", recorded)
        monkeypatch.setattr(listener_blocks, "_run", merge)

    @property
    def sql(self) -> list[str]:
        return [sql for sql, _ in self.run]

    @property
    def answering(self) -> list[str]:
        """The statements run for answers: all but the catalog's checks (see CATALOG_SQL)."""
        return [sql for sql in self.sql if sql not in CATALOG_SQL]

    async def answering_during(self, reading: Awaitable[T]) -> tuple[T, int]:
        """What `reading` gives, and how many statements for answers were run meanwhile."""
        before = len(self.answering)
        value = await reading
        return value, len(self.answering) - before

    async def kept(
        self, reading: Awaitable[T], why: str = "a kept answer is served without a statement"
    ) -> T:
        """What `reading` gives, asserting that no statement for an answer was run meanwhile."""
        value, ran = await self.answering_during(reading)
        assert ran == 0, why
        return value
