"""A plain-Python reference model of the metric definitions (docs/api.md), written apart from
the product code: tests compare the API with it, computed from the very events they posted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

Event = dict[str, Any]
PERIODS = {"7-days": 7, "30-days": 30, "90-days": 90, "1-year": 365}
TIMEFRAMES = {"7d": 7, "30d": 30, "90d": 90, "1y": 365}


def at(event: Event) -> datetime:
    return datetime.fromisoformat(event["occurred_at"]).astimezone(UTC)


def counted(events: Iterable[Event], track_ids: Iterable[int]) -> list[Event]:
    """The first event of each event_id, on the given tracks."""
    first: dict[str, Event] = {}
    for event in events:
        first.setdefault(event["event_id"], event)
    wanted = set(track_ids)
    return [e for e in first.values() if e["track_id"] in wanted]


def change(current: int, previous: int) -> float | None:
    if previous == 0:
        return None
    exact = (Decimal(current) - Decimal(previous)) * 100 / Decimal(previous)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def analytics(events: Iterable[Event], track_ids: Iterable[int], days: int, today: date) -> dict[str, Any]:
    mine = counted(events, track_ids)
    start = today - timedelta(days=days - 1)
    previous_start = start - timedelta(days=days)
    plays = [e for e in mine if e["type"] == "play"]
    now_plays = [e for e in plays if start <= at(e).date() <= today]
    before = [e for e in plays if previous_start <= at(e).date() < start]
    listeners = len({e["listener_id"] for e in now_plays})

    def engagement(kind: str) -> int:
        return sum(1 for e in mine if e["type"] == kind and start <= at(e).date() <= today)

    return {
        "plays": {"total": len(plays), "period": len(now_plays)},
        "listeners": {"total": len({e["listener_id"] for e in plays}), "unique": listeners},
        "engagement": {"likes": engagement("like"), "reposts": engagement("repost")},
        "growth": {
            "plays_change": change(len(now_plays), len(before)),
            "listeners_change": change(listeners, len({e["listener_id"] for e in before})),
        },
    }


def per_track(
    events: Iterable[Event], track_ids: Iterable[int], days: int, today: date
) -> dict[int, tuple[int, int]]:
    start = today - timedelta(days=days - 1)
    plays = [e for e in counted(events, track_ids) if e["type"] == "play" and start <= at(e).date() <= today]
    return {
        t: (
            sum(1 for e in plays if e["track_id"] == t),
            len({e["listener_id"] for e in plays if e["track_id"] == t}),
        )
        for t in track_ids
    }


def bucket_of(moment: datetime, interval: str) -> datetime:
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if interval == "day" else day - timedelta(days=day.weekday())


def chart(events: Iterable[Event], track_ids: Iterable[int], timeframe: str, now: datetime) -> dict[str, Any]:
    days = TIMEFRAMES[timeframe]
    interval = {"7d": "hour", "30d": "day", "90d": "day", "1y": "week"}[timeframe]
    period_start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    first, last = bucket_of(period_start, interval), bucket_of(now, interval)
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[interval]
    starts = []
    while first <= last:
        starts.append(first)
        first += step
    mine = [e for e in counted(events, track_ids) if starts[0] <= at(e) < starts[-1] + step]
    series = []
    for start in starts:
        inside = [e for e in mine if bucket_of(at(e), interval) == start]
        kinds = Counter(e["type"] for e in inside)
        series.append(
            {
                "t": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "plays": kinds["play"],
                "listeners": len({e["listener_id"] for e in inside if e["type"] == "play"}),
                "likes": kinds["like"],
                "reposts": kinds["repost"],
            }
        )
    return {"timeframe": timeframe, "interval": interval, "series": series}


def realtime(events: Iterable[Event], track_id: int, as_of: datetime) -> dict[str, Any]:
    mine = [e for e in counted(events, [track_id]) if as_of - timedelta(hours=1) < at(e) <= as_of]
    recent = [e for e in mine if at(e) > as_of - timedelta(minutes=5)]
    last_minute = as_of.replace(second=0, microsecond=0)
    minutes = [last_minute - timedelta(minutes=59 - i) for i in range(60)]
    plays = [e for e in mine if e["type"] == "play"]
    return {
        "active_listeners": len({e["listener_id"] for e in recent if e["type"] in ("play", "heartbeat")}),
        "plays_last_5m": sum(1 for e in recent if e["type"] == "play"),
        "plays_last_60m": len(plays),
        "series": [
            {
                "t": m.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "plays": sum(1 for e in plays if m <= at(e) < m + timedelta(minutes=1)),
            }
            for m in minutes
        ],
    }


def collaborations(
    events: Iterable[Event], tracks: list[dict[str, Any]], names: dict[int, str], artist_id: int
) -> dict[str, Any]:
    shared = [t for t in tracks if artist_id in t["artist_ids"] and len(t["artist_ids"]) > 1]
    plays = Counter(
        e["track_id"] for e in counted(events, [t["track_id"] for t in shared]) if e["type"] == "play"
    )
    together: Counter[int] = Counter()
    together_plays: Counter[int] = Counter()
    for track in shared:
        for other in track["artist_ids"]:
            if other != artist_id:
                together[other] += 1
                together_plays[other] += plays[track["track_id"]]
    order = sorted(together, key=lambda a: (-together[a], -together_plays[a], a))
    return {
        "artist_id": artist_id,
        "total_collaborations": len(shared),
        "top_collaborators": [
            {"artist_id": a, "name": names.get(a, ""), "tracks": together[a], "plays": together_plays[a]}
            for a in order[:10]
        ],
        "collaboration_tracks": [
            {
                "track_id": t["track_id"],
                "title": t["title"],
                "artist_ids": t["artist_ids"],
                "plays": plays[t["track_id"]],
            }
            for t in sorted(shared, key=lambda t: (-plays[t["track_id"]], t["track_id"]))
        ],
    }


# Any zone, any range (local calendar days of an IANA zone), computed from each event's own local time.


def local_analytics(
    events: Iterable[Event], track_ids: Iterable[int], zone: str, first: date, last: date
) -> dict[str, Any]:
    tz = ZoneInfo(zone)
    days = (last - first).days + 1
    before = first - timedelta(days=days)
    mine = counted(events, track_ids)

    def local(e: Event) -> date:
        return at(e).astimezone(tz).date()

    plays = [e for e in mine if e["type"] == "play"]
    now_plays = [e for e in plays if first <= local(e) <= last]
    previous = [e for e in plays if before <= local(e) < first]
    listeners = len({e["listener_id"] for e in now_plays})

    def engagement(kind: str) -> int:
        return sum(1 for e in mine if e["type"] == kind and first <= local(e) <= last)

    return {
        "plays": {"total": len(plays), "period": len(now_plays)},
        "listeners": {"total": len({e["listener_id"] for e in plays}), "unique": listeners},
        "engagement": {"likes": engagement("like"), "reposts": engagement("repost")},
        "growth": {
            "plays_change": change(len(now_plays), len(previous)),
            "listeners_change": change(listeners, len({e["listener_id"] for e in previous})),
        },
    }


def local_unit(moment: datetime, interval: str, tz: ZoneInfo) -> datetime:
    """The UTC instant the local hour/day/ISO week/month holding `moment` starts (a repeated hour keeps
    its fold, so it is its own bucket)."""
    local = moment.astimezone(tz)
    if interval == "hour":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    day = local.date()
    if interval == "week":
        day -= timedelta(days=day.weekday())
    if interval == "month":
        day = day.replace(day=1)
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def local_chart(
    events: Iterable[Event], track_ids: Iterable[int], zone: str, first: date, last: date, interval: str
) -> list[dict[str, Any]]:
    """A past range's series: every bucket from the one holding local 00:00 of `first` to the one holding
    the range's last minute; the buckets are found minute by minute."""
    tz = ZoneInfo(zone)
    start = datetime(first.year, first.month, first.day, tzinfo=tz).astimezone(UTC)
    end_day = last + timedelta(days=1)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=tz).astimezone(UTC)
    starts: list[datetime] = []
    moment = start
    while moment < end:
        unit = local_unit(moment, interval, tz)
        if not starts or unit != starts[-1]:
            starts.append(unit)
        moment += timedelta(minutes=5)
    by_bucket: dict[datetime, list[Event]] = {}
    for e in counted(events, track_ids):
        by_bucket.setdefault(local_unit(at(e), interval, tz), []).append(e)
    series = []
    for bucket in starts:
        inside = by_bucket.get(bucket, [])
        kinds = Counter(e["type"] for e in inside)
        stamp = bucket.astimezone(tz).isoformat(timespec="seconds")
        series.append(
            {
                "t": bucket.strftime("%Y-%m-%dT%H:%M:%SZ") if zone == "UTC" else stamp,
                "plays": kinds["play"],
                "listeners": len({e["listener_id"] for e in inside if e["type"] == "play"}),
                "likes": kinds["like"],
                "reposts": kinds["repost"],
            }
        )
    return series


# Where and how they listen (country, source, platform; listened_ms), over local days of a zone.


def _local_plays(
    events: Iterable[Event], track_ids: Iterable[int], zone: str, first: date, last: date
) -> list[Event]:
    tz = ZoneInfo(zone)
    return [
        e
        for e in counted(events, track_ids)
        if e["type"] == "play" and first <= at(e).astimezone(tz).date() <= last
    ]


def listening(
    events: Iterable[Event], track_ids: Iterable[int], zone: str, first: date, last: date
) -> dict[str, Any]:
    plays = _local_plays(events, track_ids, zone, first, last)
    timed = [e["listened_ms"] for e in plays if e.get("listened_ms") is not None]
    average = None
    if timed:
        average = int(
            (Decimal(sum(timed)) / Decimal(len(timed))).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        )
    return {
        "qualified_plays": sum(1 for ms in timed if ms >= 30_000),
        "total_ms": sum(timed),
        "avg_ms": average,
    }


def breakdown(
    events: Iterable[Event],
    track_ids: Iterable[int],
    dimension: str,
    zone: str,
    first: date,
    last: date,
    limit: int = 10,
) -> dict[str, Any]:
    """Rows by value (countries upper case), most plays first then value; `other` past the limit."""
    plays = _local_plays(events, track_ids, zone, first, last)

    def value(e: Event) -> str | None:
        found = e.get(dimension)
        return found.upper() if dimension == "country" and found is not None else found

    by_value: dict[str | None, list[Event]] = {}
    for e in plays:
        by_value.setdefault(value(e), []).append(e)
    known = sorted((v for v in by_value if v is not None), key=lambda v: (-len(by_value[v]), v))

    def share(n: int) -> float:
        return float(
            (Decimal(n) * 100 / Decimal(len(plays))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        )

    def summary(group: list[Event]) -> dict[str, int]:
        return {"plays": len(group), "listeners": len({e["listener_id"] for e in group})}

    return {
        "rows": [
            {"value": v} | summary(by_value[v]) | {"share": share(len(by_value[v]))} for v in known[:limit]
        ],
        "other": summary([e for v in known[limit:] for e in by_value[v]]),
        "unknown": summary(by_value.get(None, [])),
    }
