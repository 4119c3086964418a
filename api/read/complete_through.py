"""What an analytics or chart answer says of its own completeness (`complete_through`), and how a kept
answer's claim is renewed while it holds (docs/api.md, "Complete through").

A computed answer may claim the watermark read before its statements ran. A kept answer (api/read/changes.py)
may claim more: the newest watermark whose change notices the API has all applied, as long as none
of them named its tracks; the response cache renews the claim of an answer it keeps the same way
(api/read/response_cache.py), so an idle dashboard sees it move on without anything being computed again.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from api.read.changes import AnswerMemo
from api.read.response_cache import Keeping, keep
from api.read.watermark import Watermark, complete_through_text


def json_text(through: float | None) -> str:
    return msgspec.json.encode(complete_through_text(through)).decode()


class Through:
    """Collects, while a handler reads its answers, the instant the whole answer is complete through
    (the earliest of its parts'), and what renews it while every part still holds."""

    def __init__(self, watermark: Watermark | None, memo: AnswerMemo) -> None:
        self._watermark, self._memo = watermark, memo
        self._noted = False
        self.at: float | None = None
        self._holds: list[Callable[[], bool]] | None = []

    def note(self, at: float | None, holds: Callable[[], bool] | None) -> None:
        """A part complete through `at` (None: unknown); `holds()` says whether it is still the
        part's answer (None: no way to tell, so the claim is never renewed)."""
        if not self._noted:
            self.at, self._noted = at, True
        elif self.at is not None:
            self.at = None if at is None else min(self.at, at)
        if holds is None or self._holds is None:
            self._holds = None
        else:
            self._holds.append(holds)

    @property
    def text(self) -> str | None:
        return complete_through_text(self.at)

    def renewed(self) -> str | None:
        """The JSON text of a later `complete_through` the same answer may claim now, or None."""
        holds = self.holds()
        if self._watermark is None or holds is None:
            return None
        applied = self._memo.applied  # read before the versions: a notice applied after it is not relied on
        if not holds():
            return None
        later = self._watermark.confirmed(applied)
        if later is None or (self.at is not None and later <= self.at):
            return None
        self.at = later
        return json_text(later)

    def holds(self) -> Callable[[], bool] | None:
        """A test of whether every part read is still its answer; None when that cannot be told."""
        parts = self._holds
        if parts is None or not self._noted:
            return None
        return lambda: all(holds() for holds in parts)


def stamped(
    request: Request, response: Response, through: Through, refresh_after: float | None = None
) -> Response:
    """Tell the response cache where the answer's claim is and how to renew it; with `refresh_after`,
    that the answer is refreshed once that old if one of its parts no longer holds."""
    holds = through.holds() if refresh_after is not None else None
    keep(
        request,
        Keeping(
            stamp=json_text(through.at).encode(),
            restamp=through.renewed,
            holds=holds,
            refresh_after=refresh_after if holds is not None else None,
        ),
    )
    return response
