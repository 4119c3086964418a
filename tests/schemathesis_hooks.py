"""What schemathesis needs to know of the API beyond its OpenAPI document (loaded by schemathesis.toml,
so `st run` from the repository root and tests/integration/test_openapi_conformance.py fuzz alike).

Some rules of the document are stated in words, as JSON Schema cannot write them: they depend on the
current time or tie parameters together. Requests generated as valid are made to keep them:
- an event's `occurred_at` (the only date-time a request carries) lies within the last 400 days;
- `tz` is an IANA time zone name (listing the ~600 names would make schemathesis try each one);
- a range (query parameters, or an export's body) is `period`/`timeframe` or `from` and `to` together,
  never both; `from` ≤ `to` ≤ today (in
  `tz`), at most 731 days apart; `interval=hour` covers at most 31 days.
- a listing's `cursor` is one the API gave (opaque: a generated one is left out);
- an event's `country` is an assigned ISO 3166-1 alpha-2 code (listing them would bloat the document).
Requests generated as invalid are left alone: the API must refuse them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import available_timezones

import schemathesis
from hypothesis import strategies as st

from schemas.countries import COUNTRIES
from schemas.events import MAX_AGE
from schemas.local_ranges import MAX_HOUR_SPAN_DAYS, MAX_SPAN_DAYS
from schemas.periods import DEFAULT_TIMEFRAME, TIMEFRAME_DAYS

# A day's margin at the old end and a minute at the new one: the request reaches the API a little later.
SECONDS_BACK = st.integers(min_value=60, max_value=int((MAX_AGE - timedelta(days=1)).total_seconds()))
OFFSET_MINUTES = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)
MICROSECONDS = st.sampled_from([0, 0, 500_000, 123_456])
ZONES = available_timezones()
EARLIEST = date(2000, 1, 1)  # no range starts before it


def instant(seconds_back: int, offset_minutes: int, microseconds: int) -> str:
    moment = datetime.now(UTC) - timedelta(seconds=seconds_back)
    local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    return local.replace(microsecond=microseconds).isoformat()


schemathesis.openapi.format("date-time", st.builds(instant, SECONDS_BACK, OFFSET_MINUTES, MICROSECONDS))


def parsed(text: Any) -> date | None:
    try:
        return date.fromisoformat(text) if isinstance(text, str) and len(text) == 10 else None
    except ValueError:
        return None


def within_the_range_rules(query: dict[str, Any]) -> None:
    """Change a generated query, in place, into one the range rules allow, keeping what they allow."""
    if "tz" in query and query["tz"] not in ZONES:
        query["tz"] = "UTC"
    hourly = query.get("interval") == "hour"
    if "from" not in query and "to" not in query:
        if hourly and TIMEFRAME_DAYS.get(query.get("timeframe", DEFAULT_TIMEFRAME), 0) > MAX_HOUR_SPAN_DAYS:
            query["interval"] = "day"
        return
    query.pop("period", None)
    query.pop("timeframe", None)
    # Yesterday in UTC is no later than today in any zone.
    latest = datetime.now(UTC).date() - timedelta(days=1)
    first, last = sorted(d or latest for d in (parsed(query.get("from")), parsed(query.get("to"))))
    last = max(min(last, latest), EARLIEST)
    span = (MAX_HOUR_SPAN_DAYS if hourly else MAX_SPAN_DAYS) - 1
    first = min(max(first, last - timedelta(days=span), EARLIEST), last)
    query["from"], query["to"] = first.isoformat(), last.isoformat()


def with_assigned_countries(body: Any) -> None:
    """Give every generated event with a country an assigned one, in place."""
    events = body.get("events") if isinstance(body, dict) else None
    for event in events if isinstance(events, list) else ():
        country = event.get("country") if isinstance(event, dict) else None
        if isinstance(country, str) and country.upper() not in COUNTRIES:
            event["country"] = "DE"


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    if case.meta is not None and case.meta.generation.mode.is_positive:
        if case.query:
            within_the_range_rules(case.query)
            case.query.pop("cursor", None)
        with_assigned_countries(case.body)
        if isinstance(case.body, dict):  # the exports take the same range fields in their bodies
            within_the_range_rules(case.body)
    return case
