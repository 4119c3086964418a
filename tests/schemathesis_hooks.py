"""What schemathesis needs to know of the API beyond its OpenAPI document (loaded by schemathesis.toml,
so `st run` from the repository root and tests/integration/test_openapi_conformance.py fuzz alike).

One rule of the document cannot be written in JSON Schema: an event's `occurred_at` (the only date-time
a request carries) must lie within the last 400 days, since the API refuses older and future events. So
generated date-times are instants of that window, written with any UTC offset and fraction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import schemathesis
from hypothesis import strategies as st

from schemas.events import MAX_AGE

# A day's margin at the old end and a minute at the new one: the request reaches the API a little later.
SECONDS_BACK = st.integers(min_value=60, max_value=int((MAX_AGE - timedelta(days=1)).total_seconds()))
OFFSET_MINUTES = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)
MICROSECONDS = st.sampled_from([0, 0, 500_000, 123_456])


def instant(seconds_back: int, offset_minutes: int, microseconds: int) -> str:
    moment = datetime.now(UTC) - timedelta(seconds=seconds_back)
    local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    return local.replace(microsecond=microseconds).isoformat()


schemathesis.openapi.format("date-time", st.builds(instant, SECONDS_BACK, OFFSET_MINUTES, MICROSECONDS))
