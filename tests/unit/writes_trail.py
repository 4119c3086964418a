"""The walk both favours to the reads (a core of its own, a raised priority) are tested along: the
writes trailing by nothing, a little, exactly the bound to give up at, past it, between the bounds,
under the bound to take the favour back at, and between again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from insights.loop_core import WhileTheWritesKeepUp

T = TypeVar("T")


def along_the_trail(
    favour: WhileTheWritesKeepUp, now: float, share: float, reserve: float, step: Callable[[], T]
) -> list[T]:
    """What `step` returns at each point of the walk, `favour`'s clock reading `now`."""
    through: list[float | None] = [None]
    favour.follow(lambda: through[0])
    between = (share + reserve) / 2
    seen = []
    for behind in (None, 0.5, share, share + 0.1, between, reserve - 0.1, between):
        through[0] = None if behind is None else now - behind
        seen.append(step())
    return seen
