"""Row exports (POST /export/csv and /export/json): one row per readable entity, most played first,
described from the catalog (album, artists) and dated (the range's first and last local day, and its
zone), with its listening figures (and in JSON its breakdowns), or with the `breakdowns` layout one row
per entity, dimension and value; produced page by page so the figures of a large export are fetched in
bounded batches, and encoded as spreadsheet-safe CSV or as JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from typing import Any

import msgspec

from api.exports.audience import BREAKDOWN_COLUMNS, entity_slice_rows
from api.exports.queries import NO_FIGURES, breakdowns_of, figures_of, ranked_entities
from api.read.catalog_snapshot import Snapshot
from api.read.figure_bodies import entity_breakdowns, listening
from insights.store import Store
from schemas.local_ranges import LocalRange
from schemas.tokens import TokenClaims

PAGE_ROWS = 5000
Row = dict[str, Any]
Describe = Callable[[int], Row]

# Cells a spreadsheet would run as a formula (OWASP "CSV injection"): such text gets a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# What tells two entities of the same title apart: a track's album and artists, an album's artist.
DESCRIPTION_COLUMNS = {
    "tracks": ["album_id", "album", "artist_ids", "artists"],
    "albums": ["artist_id", "artist"],
    "artists": [],
}
FIGURE_COLUMNS = ["plays", "plays_total", "listeners", "likes", "reposts"]
PERIOD_COLUMNS = ["from", "to", "tz"]  # the range's first and last local day and its zone, on every row
# Added after the columns of the first version, so a reader by position still finds those where they
# were: JSON's `listening` object, flattened.
LISTENING_FIELDS = ["qualified_plays", "total_ms", "avg_ms"]
LISTENING_COLUMNS = [f"listening_{name}" for name in LISTENING_FIELDS]


def identity_columns(kind: str) -> list[str]:
    """`<type>_id`, and `title` (tracks, albums) or `name` (artists)."""
    return [f"{kind.removesuffix('s')}_id", "name" if kind == "artists" else "title"]


def columns(kind: str) -> list[str]:
    """`<type>_id`, `title` (tracks, albums) or `name` (artists), what tells it apart, the figures
    (period values unless `_total`), and the range's dates and zone."""
    return identity_columns(kind) + DESCRIPTION_COLUMNS[kind] + FIGURE_COLUMNS + PERIOD_COLUMNS


def csv_columns(kind: str, layout: str) -> list[str]:
    """The CSV header: the entity layout's columns and the listening figures, or the breakdowns'."""
    if layout == "breakdowns":
        return identity_columns(kind) + BREAKDOWN_COLUMNS + PERIOD_COLUMNS
    return columns(kind) + LISTENING_COLUMNS


def describer(kind: str, catalog: Snapshot) -> Describe:
    """The description columns of an entity, from the catalog held in memory (no query)."""

    def name_of(artist_id: int) -> str:
        artist = catalog.artists.get(artist_id)
        return artist.name if artist is not None else ""

    def track(track_id: int) -> Row:
        entry = catalog.tracks.get(track_id)
        if entry is None:  # counted without a catalog entry
            return {"album_id": None, "album": "", "artist_ids": [], "artists": []}
        album = catalog.albums.get(entry.album_id) if entry.album_id is not None else None
        return {
            "album_id": entry.album_id,
            "album": album.title if album is not None else "",
            "artist_ids": list(entry.artist_ids),
            "artists": [name_of(a) for a in entry.artist_ids],
        }

    def album(album_id: int) -> Row:
        entry = catalog.albums.get(album_id)
        artist_id = entry.artist_id if entry is not None else None
        return {"artist_id": artist_id, "artist": name_of(artist_id) if artist_id is not None else ""}

    return {"tracks": track, "albums": album, "artists": lambda _: {}}[kind]


async def row_pages(
    store: Store,
    kind: str,
    claims: TokenClaims,
    chosen: LocalRange,
    describe: Describe,
    only: Collection[int] | None = None,
    page_rows: int = PAGE_ROWS,
    breakdown_limit: int | None = None,
) -> AsyncIterator[list[Row]]:
    """Pages of rows, most played in the period first (ties by id): one query ranks the readable
    entities (within `only` when given), then one query per page fetches the page's figures, and with
    a `breakdown_limit` one more its breakdowns (`breakdowns`, the endpoint's shape per dimension)."""
    id_column, label = identity_columns(kind)
    dates = range_json(chosen)
    ranked = await ranked_entities(store, kind, claims, chosen, only)
    for first in range(0, max(len(ranked), 1), page_rows):
        page = ranked[first : first + page_rows]
        ids = [entity_id for entity_id, _ in page]
        found = await figures_of(store, kind, ids, chosen)
        audience = None
        if breakdown_limit is not None:
            audience = await breakdowns_of(store, kind, ids, chosen, breakdown_limit)
        rows = []
        for entity_id, name in page:
            f = found.get(entity_id, NO_FIGURES)
            row = (
                {id_column: entity_id, label: name}
                | describe(entity_id)
                | {"plays": f.plays, "plays_total": f.plays_total, "listeners": f.listeners}
                | {"likes": f.likes, "reposts": f.reposts}
                | dates
                | {
                    "listening": msgspec.to_builtins(
                        listening(f.qualified_plays, f.listened_ms, f.timed_plays)
                    )
                }
            )
            if audience is not None:
                row["breakdowns"] = msgspec.to_builtins(entity_breakdowns(audience, entity_id))
            rows.append(row)
        yield rows


async def breakdown_pages(kind: str, pages: AsyncIterator[list[Row]]) -> AsyncIterator[list[Row]]:
    """The `breakdowns` layout from pages of rows with breakdowns: per entity (in their order) and
    dimension (country, source, platform), a row per ranked value, then `other` and `unknown` if they
    had plays; an entity without a play in the range has none."""
    identity = identity_columns(kind)
    async for rows in pages:
        yield [
            {name: row[name] for name in identity} | slice_row | {name: row[name] for name in PERIOD_COLUMNS}
            for row in rows
            for slice_row in entity_slice_rows(row["breakdowns"])
        ]


def spreadsheet_safe(cell: object) -> object:
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def csv_cell(value: object) -> object:
    """A list (a track's artists) as one cell, items joined by "; "; no value as an empty cell."""
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return "" if value is None else value


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """RFC 4180 lines (CRLF, quoted where needed), every text cell made spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([spreadsheet_safe(csv_cell(cell)) for cell in row] for row in rows)
    return buffer.getvalue()


def flat(row: Row) -> Row:
    """A row as CSV has it: `listening` as its `listening_*` columns."""
    listening = row.get("listening")
    if listening is None:
        return row
    return row | {f"listening_{name}": listening[name] for name in LISTENING_FIELDS}


async def csv_chunks(
    kind: str, pages: AsyncIterator[list[Row]], layout: str = "entities"
) -> AsyncIterator[bytes]:
    header = csv_columns(kind, layout)
    yield csv_text([header]).encode()
    async for rows in pages:
        yield csv_text([[flat(row)[name] for name in header] for row in rows]).encode()


_encoder = msgspec.json.Encoder()


def range_json(chosen: LocalRange) -> dict[str, str]:
    """The local dates an export covers and their zone."""
    return {"from": chosen.first.isoformat(), "to": chosen.last.isoformat(), "tz": chosen.tz}


async def json_chunks(
    kind: str, chosen: LocalRange, pages: AsyncIterator[list[Row]], layout: str = "entities"
) -> AsyncIterator[bytes]:
    """`{"success": true, "data": {"type", "period", "from", "to", "tz", "layout", "rows": [...]}}`, a
    page at a time (`period` is `custom` for a from/to range)."""
    head = {"type": kind, "period": chosen.period} | range_json(chosen) | {"layout": layout}
    yield b'{"success":true,"data":' + _encoder.encode(head)[:-1] + b',"rows":['
    separator = b""
    async for rows in pages:
        if rows:
            yield separator + _encoder.encode(rows)[1:-1]
            separator = b","
    yield b"]}}"
