"""Ranges of local calendar days in any IANA time zone, as UTC instants, and their chart buckets.

Pure functions of "now", like schemas/periods.py: the read side and the tests share no code with the
product's queries. A local day is 23, 24 or 25 hours; a local hour may start at :30 or :45 UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EARLIEST = date(2000, 1, 1)
MAX_SPAN_DAYS = 731
MAX_HOUR_SPAN_DAYS = 31
INTERVALS = ("hour", "day", "week", "month")
QUARTER = timedelta(minutes=15)
DAY = timedelta(days=1)


class RangeError(ValueError):
    """A parameter that does not make a range; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; RangeError (field `tz`) for anything else."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        raise RangeError("tz", "tz must be an IANA time zone name, such as Europe/Berlin.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RangeError("tz", f"tz {name!r} is not a known IANA time zone.") from None


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant local day `day` begins (a day whose midnight is skipped begins at the jump)."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def local_today(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


@dataclass(frozen=True)
class LocalRange:
    """Local days [first, last] of zone `tz`: UTC instants [start, end); the previous range is the
    same number of local days just before, [previous_start, start). `period` is the fixed-period name it was
    asked by, or "custom" for from/to."""

    period: str
    tz: str
    first: date
    last: date
    start: datetime
    end: datetime
    previous_start: datetime

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def utc(self) -> bool:
        return self.tz == "UTC"


def local_range(period: str, tz_name: str, first: date, last: date) -> LocalRange:
    tz = zone(tz_name)
    days = (last - first).days + 1
    return LocalRange(
        period=period,
        tz=tz_name,
        first=first,
        last=last,
        start=local_midnight(first, tz),
        end=local_midnight(last + DAY, tz),
        previous_start=local_midnight(first - timedelta(days=days), tz),
    )


def last_days(period: str, days: int, tz_name: str, now: datetime) -> LocalRange:
    """The last `days` local days including today."""
    today = local_today(now, zone(tz_name))
    return local_range(period, tz_name, today - timedelta(days=days - 1), today)


def parse_day(field: str, text: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise RangeError(field, f"{field} must be a date as YYYY-MM-DD.") from None


def custom_range(tz_name: str, first_text: str, last_text: str, now: datetime) -> LocalRange:
    """`from`/`to` local dates, inclusive; RangeError naming the field that breaks a rule."""
    tz = zone(tz_name)
    first, last = parse_day("from", first_text), parse_day("to", last_text)
    today = local_today(now, tz)
    if first < EARLIEST:
        raise RangeError("from", f"from must not be before {EARLIEST.isoformat()}.")
    if last > today:
        raise RangeError("to", f"to must not be after today ({today.isoformat()} in {tz_name}).")
    if first > last:
        raise RangeError("from", "from must not be after to.")
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        raise RangeError("from", f"A range spans at most {MAX_SPAN_DAYS} days.")
    return local_range("custom", tz_name, first, last)


def default_interval(days: int) -> str:
    return "hour" if days <= 7 else "day" if days <= 90 else "week"


def check_interval(interval: str, days: int) -> str:
    if interval not in INTERVALS:
        raise RangeError("interval", f"interval must be one of {', '.join(INTERVALS)}.")
    if interval == "hour" and days > MAX_HOUR_SPAN_DAYS:
        raise RangeError("interval", f"interval=hour covers at most {MAX_HOUR_SPAN_DAYS} days.")
    return interval


def unit_start(moment: datetime, interval: str, tz: ZoneInfo) -> datetime:
    """The UTC instant the local hour, day, ISO week or month holding `moment` begins. A fall-back
    night's repeated hour is two hours (the local time keeps its fold)."""
    local = moment.astimezone(tz)
    if interval == "hour":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    day = local.date()
    if interval == "week":
        day -= timedelta(days=day.weekday())
    elif interval == "month":
        day = day.replace(day=1)
    return local_midnight(day, tz)


def _next_start(start: datetime, interval: str, tz: ZoneInfo) -> datetime:
    if interval == "hour":
        probe = start + QUARTER
        while unit_start(probe, interval, tz) == start:
            probe += QUARTER
        return probe
    day = start.astimezone(tz).date()
    if interval == "day":
        return local_midnight(day + DAY, tz)
    if interval == "week":
        return local_midnight(day + timedelta(days=7), tz)
    return local_midnight((day.replace(day=28) + timedelta(days=4)).replace(day=1), tz)


@dataclass(frozen=True)
class LocalBuckets:
    """Chart buckets: UTC instants of whole local units, from the one holding the range's start to
    the one holding its end (now, when the range ends today); `end` is where the last one ends."""

    range: LocalRange
    timeframe: str  # the fixed timeframe asked, or "custom"
    interval: str
    starts: tuple[datetime, ...]
    end: datetime

    @property
    def first(self) -> datetime:
        return self.starts[0]

    @property
    def last(self) -> datetime:
        return self.starts[-1]

    @property
    def whole_days(self) -> tuple[date, ...]:
        """The UTC days that lie whole inside one bucket: read from the day rollup, not by quarters."""
        if self.interval == "hour":
            return ()
        bounds = (*self.starts, self.end)
        days: list[date] = []
        for lo, hi in pairwise(bounds):
            day = lo.date() if lo.time() == datetime.min.time() else lo.date() + DAY
            while datetime.combine(day + DAY, datetime.min.time(), UTC) <= hi:
                days.append(day)
                day += DAY
        return tuple(days)


def buckets_of(chosen: LocalRange, interval: str, timeframe: str, now: datetime) -> LocalBuckets:
    tz = zone(chosen.tz)
    today = chosen.last == local_today(now, tz)
    starts = [unit_start(chosen.start, interval, tz)]
    following = _next_start(starts[0], interval, tz)
    while following < chosen.end and (not today or following <= now):
        starts.append(following)
        following = _next_start(following, interval, tz)
    return LocalBuckets(chosen, timeframe, interval, tuple(starts), following)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_local(moment: datetime, tz_name: str) -> str:
    """RFC 3339 with the zone's offset at that instant; UTC keeps `Z`."""
    if tz_name == "UTC":
        return rfc3339(moment)
    return moment.astimezone(ZoneInfo(tz_name)).isoformat(timespec="seconds")
