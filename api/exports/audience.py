"""Where and how they listen, as the exports carry it: each entity's breakdowns by country, source and
platform in the endpoint's shape (JSON), as one spreadsheet row per value (CSV), and named for people."""

from __future__ import annotations

from typing import Any

from api.read.audience_queries import share
from schemas.audience import DIMENSIONS
from schemas.countries import COUNTRY_NAMES

Row = dict[str, Any]

# How a source or platform reads in a report; a country is named by schemas/countries.tsv.
VALUE_NAMES = {
    "source": {
        "search": "Search",
        "library": "Library",
        "playlist": "Playlist",
        "album": "Album",
        "artist_page": "Artist page",
        "radio": "Radio",
        "recommendation": "Recommendation",
        "embed": "Embed",
        "external": "External",
        "other": "Other",
    },
    "platform": {
        "web": "Web",
        "ios": "iOS",
        "android": "Android",
        "desktop": "Desktop",
        "tv": "TV",
        "speaker": "Speaker",
        "car": "Car",
        "other": "Other",
    },
    "country": COUNTRY_NAMES,
}
PLURALS = {"country": "countries", "source": "sources", "platform": "platforms"}

# The columns of a breakdowns export after the entity's id and title or name: one row per value of
# each dimension, then `other` (the values past the limit together) and `unknown` (plays that did not
# say) when they have plays.
BREAKDOWN_COLUMNS = ["dimension", "slice", "rank", "value", "value_name", "plays", "listeners", "share"]


def value_name(dimension: str, value: str) -> str:
    return VALUE_NAMES[dimension].get(value, value)


def other_name(dimension: str) -> str:
    return f"All other {PLURALS[dimension]}"


UNKNOWN_NAME = "Not stated"


def slice_rows(dimension: str, found: dict[str, Any]) -> list[Row]:
    """A breakdown (the endpoint's shape) as rows: the ranked values, then `other` and `unknown` if they
    had plays. Every row's share is of every play in the range (together about 100)."""
    total = sum(r["plays"] for r in found["rows"]) + found["other"]["plays"] + found["unknown"]["plays"]
    rows = [
        {"dimension": dimension, "slice": "ranked", "rank": rank, "value": r["value"]}
        | {"value_name": value_name(dimension, r["value"]), "plays": r["plays"], "listeners": r["listeners"]}
        | {"share": r["share"]}
        for rank, r in enumerate(found["rows"], start=1)
    ]
    for part, shown in (("other", other_name(dimension)), ("unknown", UNKNOWN_NAME)):
        plays, listeners = found[part]["plays"], found[part]["listeners"]
        if plays:
            rows.append(
                {"dimension": dimension, "slice": part, "rank": None, "value": None, "value_name": shown}
                | {"plays": plays, "listeners": listeners, "share": share(plays, total)}
            )
    return rows


def entity_slice_rows(breakdowns: dict[str, Any]) -> list[Row]:
    """Every dimension's rows of one entity's `breakdowns`: country first, then source, then platform."""
    return [row for d in DIMENSIONS for row in slice_rows(d, breakdowns[d])]
