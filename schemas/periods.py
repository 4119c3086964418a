"""Periods and growth of ARCHITECTURE §6.3: `period=30-days` -> UTC day bounds, and growth rounding.

Pure functions of "now", so the read side and the tests compute them the same, independent way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

PERIOD_DAYS = {"7-days": 7, "30-days": 30, "90-days": 90, "1-year": 365}
DEFAULT_PERIOD = "30-days"


@dataclass(frozen=True)
class PeriodBounds:
    """The period is [start, today] in UTC days (to now); the previous one is [previous_start, start)."""

    name: str
    days: int
    start: date
    today: date

    @property
    def previous_start(self) -> date:
        return self.start - timedelta(days=self.days)


def period_bounds(name: str, now: datetime) -> PeriodBounds:
    """Raises KeyError for an unknown period name."""
    days = PERIOD_DAYS[name]
    today = now.date()
    return PeriodBounds(name=name, days=days, start=today - timedelta(days=days - 1), today=today)


def percent_change(current: int, previous: int) -> float | None:
    """(current - previous) / previous x 100, half away from zero to 1 decimal; None if previous is 0."""
    if previous == 0:
        return None
    change = (Decimal(current) - Decimal(previous)) / Decimal(previous) * 100
    return float(change.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
