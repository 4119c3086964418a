"""The field types the API's request and answer bodies share, each with its rules and its meaning for
clients: the OpenAPI document (schemas/openapi.py) is generated from the bodies built of them.

A field is `Annotated[Type, doc("What it means.", example)]`; msgspec states the rules (`Meta(ge=...)`)
and carries the words and examples into the JSON Schema.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from schemas.periods import DEFAULT_PERIOD, DEFAULT_TIMEFRAME, PERIOD_DAYS, TIMEFRAME_DAYS, TIMEFRAME_INTERVAL

MAX_ID = 2**63 - 1
# An example date or instant written with this stand-in is dated the day the document is made
# (schemas/openapi.py): the API refuses events older than 400 days and ranges older than 731 days, so a
# fixed date would expire.
TODAY = "<today>"


def doc(description: str, *examples: Any) -> Meta:
    """A field's meaning, and the examples a client sees (none: the type's own)."""
    return (
        Meta(description=description, examples=list(examples)) if examples else Meta(description=description)
    )


def one_of(values: Iterable[str], description: str | None = None, *examples: str) -> Meta:
    """A string from `values`, listed in their own order."""
    return Meta(
        description=description, examples=list(examples) or None, extra_json_schema={"enum": list(values)}
    )


def ref(name: str) -> dict[str, str]:
    """A reference to a body of the document, for the few rules a type cannot state."""
    return {"$ref": f"#/components/schemas/{name}"}


def checked(
    item: str, description: str, min_length: int | None = None, max_length: int | None = None
) -> Meta:
    """A list of a request whose items are checked one by one: a valid `item` is taken, anything else is
    reported by its index without failing the request (which needs at least one valid item)."""
    anything = {"description": "Anything else: reported by its index in the answer's `errors`."}
    items: dict[str, Any] = {"items": {"anyOf": [ref(item), anything]}}
    if min_length:
        items["contains"] = ref(item)
    return Meta(
        description=description, extra_json_schema=items, min_length=min_length, max_length=max_length
    )


class Answer(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The base of an answer's body: every field listed, none other sent, so none other allowed."""


Id = Annotated[int, Meta(ge=1, le=MAX_ID)]
TrackId = Annotated[Id, doc("The track.", 101)]
AlbumId = Annotated[Id, doc("The album.", 10)]
ArtistId = Annotated[Id, doc("The artist.", 1)]
Count = Annotated[int, Meta(ge=0)]
Text = Annotated[str, Meta(min_length=1)]
AnyText = str  # may be empty: a name the catalog does not have yet

Timestamp = Annotated[
    str,
    Meta(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
        description="An RFC 3339 UTC instant to the second, ending in `Z`.",
        examples=["2025-06-01T00:00:00Z"],
        extra_json_schema={"format": "date-time"},
    ),
]
LocalTimestamp = Annotated[
    str,
    Meta(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$",
        description="An RFC 3339 instant to the second with the zone's offset at that instant "
        "(`2026-11-05T00:00:00+05:45`); `Z` in UTC.",
        examples=["2026-11-05T00:00:00+05:45"],
    ),
]
Tz = Annotated[
    str,
    doc(
        "An IANA time zone name (`UTC`, `Europe/Berlin`, `Asia/Kolkata`, `Asia/Kathmandu`, "
        "`America/St_Johns`). A day is a calendar day of this zone: 23, 24 or 25 hours.",
        "Asia/Kolkata",
    ),
]
Day = Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$", extra_json_schema={"format": "date"})]
LocalDate = Annotated[Day, doc("A calendar date of `tz`, YYYY-MM-DD.", TODAY)]
FirstDay = Annotated[LocalDate, doc("The first local date covered.")]  # of an answer
LastDay = Annotated[LocalDate, doc("The last local date covered (today: until now).")]
Estimates = Annotated[
    list[str],
    doc(
        "The figures of this answer that are approximations (for example `listeners.unique` past "
        "102,000 listeners, read from sketches); empty when all are exact.",
        [],
    ),
]
CompleteThrough = Annotated[
    Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")] | None,
    Meta(
        description="Every event accepted with a 202 before this instant (RFC 3339, UTC, to the "
        "millisecond) is counted in this answer: a watermark of what the workers have stored, not a "
        "guess. While the pipeline is idle it trails now by a few seconds; while the workers are behind "
        "or stopped it stays back. Events accepted later may be counted too. null while the server does "
        "not know yet (it has just started and the workers have not caught up with Kafka since).",
        examples=["2026-11-05T14:03:27.512Z"],
        extra_json_schema={"format": "date-time"},
    ),
]

PERIOD_TEXT = (
    "The last N UTC calendar days including today: from 00:00Z of (today - N + 1) until now, with "
    + ", ".join(f"`{name}` (N = {days})" for name, days in PERIOD_DAYS.items())
    + ". The previous period, used for growth, is the N days just before it."
)
TIMEFRAME_TEXT = (
    "The same N days as `period`: "
    + ", ".join(
        f"`{name}` (N = {days}, one bucket per {TIMEFRAME_INTERVAL[name]})"
        for name, days in TIMEFRAME_DAYS.items()
    )
    + " (weeks are ISO weeks, starting Monday)."
)
Period = Annotated[str, one_of(PERIOD_DAYS, PERIOD_TEXT, DEFAULT_PERIOD)]
Timeframe = Annotated[str, one_of(TIMEFRAME_DAYS, TIMEFRAME_TEXT, DEFAULT_TIMEFRAME)]
INTERVALS = ("hour", "day", "week", "month")
PeriodAsked = Annotated[
    str,
    one_of(
        [*PERIOD_DAYS, "custom"],
        "The period asked for, or `custom` for a `from`/`to` range.",
        DEFAULT_PERIOD,
    ),
]
