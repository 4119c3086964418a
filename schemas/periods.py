"""The fixed periods and growth: `period=30-days` -> UTC day bounds, and growth rounding.

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


TIMEFRAME_DAYS = {"7d": 7, "30d": 30, "90d": 90, "1y": 365}
DEFAULT_TIMEFRAME = "30d"
TIMEFRAME_INTERVAL = {"7d": "hour", "30d": "day", "90d": "day", "1y": "week"}


@dataclass(frozen=True)
class ChartBuckets:
    """UTC bucket starts from the bucket holding the period's start to the bucket holding now."""

    timeframe: str
    interval: str  # hour, day or week (ISO weeks, from Monday)
    starts: tuple[datetime, ...]

    @property
    def first(self) -> datetime:
        return self.starts[0]

    @property
    def last(self) -> datetime:
        return self.starts[-1]


def chart_buckets(timeframe: str, now: datetime) -> ChartBuckets:
    """Raises KeyError for an unknown timeframe. `now` must be timezone-aware UTC."""
    days = TIMEFRAME_DAYS[timeframe]
    interval = TIMEFRAME_INTERVAL[timeframe]
    start = datetime.combine(now.date() - timedelta(days=days - 1), datetime.min.time(), now.tzinfo)
    if interval == "hour":
        step, last = timedelta(hours=1), now.replace(minute=0, second=0, microsecond=0)
    elif interval == "day":
        step, last = timedelta(days=1), start + timedelta(days=days - 1)
    else:
        step = timedelta(weeks=1)
        start -= timedelta(days=start.weekday())
        today = datetime.combine(now.date(), datetime.min.time(), now.tzinfo)
        last = today - timedelta(days=today.weekday())
    count = int((last - start) / step) + 1
    return ChartBuckets(timeframe, interval, tuple(start + i * step for i in range(count)))


REALTIME_MINUTES = 60


def realtime_minutes(now: datetime) -> tuple[datetime, ...]:
    """The REALTIME_MINUTES one-minute buckets ending with the minute that holds `now`."""
    last = now.replace(second=0, microsecond=0)
    return tuple(last - timedelta(minutes=REALTIME_MINUTES - 1 - i) for i in range(REALTIME_MINUTES))
