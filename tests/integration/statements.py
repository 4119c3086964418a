"""What a read runs: the statements a Store is asked to answer, recorded on their way to it."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from api.read.catalog_snapshot import HAS_EVENTS_SQL, LOAD_SQL, MARKER_SQL
from insights.store import Store

T = TypeVar("T")

# The catalog's checks: run in the background on their own clock (every half second), whatever is asked
CATALOG_SQL = frozenset({MARKER_SQL, HAS_EVENTS_SQL, *LOAD_SQL.values()})


class Statements:
    """Records each (sql, parameters) `store.aquery_rows` is called with, for the test's duration."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        self.run: list[tuple[str, dict[str, Any]]] = []
        real = store.aquery_rows

        async def recorded(
            sql: str, parameters: dict[str, Any] | None = None, *, quick: bool = False
        ) -> list[tuple[Any, ...]]:
            self.run.append((sql, parameters or {}))
            return await real(sql, parameters, quick=quick)

        monkeypatch.setattr(store, "aquery_rows", recorded)

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
