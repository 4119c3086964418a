"""Revoked tokens: kept in ClickHouse (`revoked_tokens`), mirrored in every API process's memory.

Checking a token is a set look-up; each process reloads the set every second, so a revocation made
on any replica is refused by all of them within about a second, with no query per request.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from insights.store import Store

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0

REVOKED_IDS_SQL = "SELECT token_id FROM revoked_tokens"
REVOCATIONS_SQL = """
SELECT token_id, max(revoked_at) AS at, argMax(reason, revoked_at)
FROM revoked_tokens
GROUP BY token_id
ORDER BY at DESC
"""


@dataclass(frozen=True)
class Revocation:
    token_id: str
    revoked_at: datetime
    reason: str


class Revocations:
    def __init__(self, store: Store, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._revoked: frozenset[str] = frozenset()

    def __contains__(self, token_id: str) -> bool:
        return token_id in self._revoked

    async def refresh(self) -> None:
        rows = await self._store.aquery_rows(REVOKED_IDS_SQL)
        self._revoked = frozenset(str(row[0]) for row in rows)

    async def keep_fresh(self) -> None:
        """Reload forever (a background task); a failed reload keeps the last known set."""
        while True:
            try:
                await self.refresh()
            except Exception as error:
                log.warning("could not reload revoked tokens (%s); keeping the last known list", error)
            await asyncio.sleep(self._refresh_seconds)

    async def revoke(self, token_id: str, reason: str) -> Revocation:
        revocation = Revocation(token_id, datetime.now(UTC), reason)
        await self._store.ainsert(
            "revoked_tokens",
            [(revocation.token_id, revocation.revoked_at, revocation.reason)],
            ("token_id", "revoked_at", "reason"),
        )
        self._revoked = self._revoked | {token_id}  # this process refuses it at once
        return revocation

    async def all(self) -> list[Revocation]:
        rows = await self._store.aquery_rows(REVOCATIONS_SQL)
        return [Revocation(str(t), at.replace(tzinfo=UTC), str(r)) for t, at, r in rows]
