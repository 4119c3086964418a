"""The query parameters of the analytics and chart endpoints: `period` or `timeframe`, or `from`/`to`,
in the zone `tz`, and a chart's `interval`; anything else is refused by name (422)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime

from starlette.requests import Request

from api.http.errors import validation_failed
from schemas.local_ranges import (
    LocalRange,
    RangeError,
    check_interval,
    custom_range,
    default_interval,
    last_days,
)
from schemas.periods import DEFAULT_PERIOD, DEFAULT_TIMEFRAME, PERIOD_DAYS, TIMEFRAME_DAYS, TIMEFRAME_INTERVAL

ANALYTICS_PARAMETERS = ("period", "tz", "from", "to")
CHART_PARAMETERS = ("timeframe", "tz", "from", "to", "interval")
# The period a chart's timeframe covers, as its `period` says.
TIMEFRAME_PERIOD = {"7d": "7-days", "30d": "30-days", "90d": "90-days", "1y": "1-year"}


def check_parameters(request: Request, allowed: Collection[str]) -> None:
    for name in request.query_params:
        if name not in allowed:
            takes = ", ".join(allowed) if allowed else "no query parameters"
            raise validation_failed(name, f"Unknown query parameter {name!r}; this endpoint takes {takes}.")


def range_of(
    values: Mapping[str, object], fixed: str, names: dict[str, int], default: str
) -> tuple[str, LocalRange]:
    """(the fixed period's name or "custom", its local days) from query parameters or an export's
    body; RangeError naming the field at fault."""
    now = datetime.now(UTC)
    for name in ("tz", "from", "to", fixed):
        if values.get(name) is not None and not isinstance(values[name], str):
            raise RangeError(name, f"{name} must be a string.")
    tz = str(values["tz"]) if values.get("tz") is not None else "UTC"
    if values.get("from") is not None or values.get("to") is not None:
        if values.get(fixed) is not None:
            raise RangeError(fixed, f"Give either {fixed} or from and to, not both.")
        for name in ("from", "to"):
            if values.get(name) is None:
                raise RangeError(name, "from and to go together: give both local dates.")
        return "custom", custom_range(tz, str(values["from"]), str(values["to"]), now)
    name = str(values[fixed]) if values.get(fixed) is not None else default
    if name not in names:
        raise RangeError(fixed, f"{fixed} must be one of {', '.join(names)}.")
    period = TIMEFRAME_PERIOD.get(name, name)
    return name, last_days(period, names[name], tz, now)


def _range(request: Request, fixed: str, names: dict[str, int], default: str) -> tuple[str, LocalRange]:
    """(the fixed period's name or "custom", its local days); 422 naming the parameter at fault."""
    try:
        return range_of(request.query_params, fixed, names, default)
    except RangeError as error:
        raise validation_failed(error.field, error.message) from None


def requested_range(request: Request, also: Collection[str] = ()) -> LocalRange:
    """The range of an analytics request (`also`: the other parameters its endpoint takes)."""
    check_parameters(request, (*ANALYTICS_PARAMETERS, *also))
    return _range(request, "period", PERIOD_DAYS, DEFAULT_PERIOD)[1]


def requested_chart(request: Request) -> tuple[str, LocalRange, str, bool]:
    """(timeframe or "custom", local days, interval, whether a fixed timeframe's UTC chart answers it)."""
    check_parameters(request, CHART_PARAMETERS)
    timeframe, chosen = _range(request, "timeframe", TIMEFRAME_DAYS, DEFAULT_TIMEFRAME)
    try:
        interval = check_interval(
            request.query_params.get("interval", default_interval(chosen.days)), chosen.days
        )
    except RangeError as error:
        raise validation_failed(error.field, error.message) from None
    fixed = chosen.utc and timeframe in TIMEFRAME_INTERVAL and TIMEFRAME_INTERVAL[timeframe] == interval
    return timeframe, chosen, interval, fixed
