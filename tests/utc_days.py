"""What a test does while UTC midnight may pass, and the UTC days it ran on: what it made may carry
either day (a date the code read from the clock), not the day the test module was collected on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TypeVar

T = TypeVar("T")


def on_utc_days(action: Callable[[], T]) -> tuple[T, set[date]]:
    """`action`'s result, and the UTC days from just before it to just after it (one or two)."""
    before = datetime.now(UTC).date()
    result = action()
    return result, {before, datetime.now(UTC).date()}
