"""Row exports (POST /export/csv and /export/json): one row per readable entity, produced page by page
so a large export streams in bounded memory, and encoded as spreadsheet-safe CSV or as JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import msgspec

from api.export_queries import NO_FIGURES, figures_of, readable_page
from insights.store import Store
from schemas.periods import PeriodBounds
from schemas.tokens import TokenClaims

PAGE_ROWS = 5000
Row = dict[str, Any]

# Cells a spreadsheet would run as a formula (OWASP "CSV injection"): such text gets a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def columns(kind: str) -> list[str]:
    """`<type>_id`, `title` (tracks, albums) or `name` (artists), then the figures (ARCHITECTURE §6.3)."""
    label = "name" if kind == "artists" else "title"
    return [f"{kind.removesuffix('s')}_id", label, "plays", "plays_total", "listeners", "likes", "reposts"]


async def row_pages(
    store: Store, kind: str, claims: TokenClaims, bounds: PeriodBounds, page_rows: int = PAGE_ROWS
) -> AsyncIterator[list[Row]]:
    """Pages of rows, ids ascending: one query for the page's entities, one for all their figures."""
    id_column, label = columns(kind)[:2]
    after = 0
    while True:
        page = await readable_page(store, kind, claims, after, page_rows)
        if not page:
            return
        found = await figures_of(store, kind, [entity_id for entity_id, _ in page], bounds)
        rows = []
        for entity_id, name in page:
            f = found.get(entity_id, NO_FIGURES)
            rows.append(
                {id_column: entity_id, label: name, "plays": f.plays, "plays_total": f.plays_total}
                | {"listeners": f.listeners, "likes": f.likes, "reposts": f.reposts}
            )
        yield rows
        if len(page) < page_rows:
            return
        after = page[-1][0]


def spreadsheet_safe(cell: object) -> object:
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """RFC 4180 lines (CRLF, quoted where needed), every text cell made spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return buffer.getvalue()


async def csv_chunks(kind: str, pages: AsyncIterator[list[Row]]) -> AsyncIterator[bytes]:
    header = columns(kind)
    yield csv_text([header]).encode()
    async for rows in pages:
        yield csv_text([[row[name] for name in header] for row in rows]).encode()


_encoder = msgspec.json.Encoder()


async def json_chunks(kind: str, period: str, pages: AsyncIterator[list[Row]]) -> AsyncIterator[bytes]:
    """`{"success": true, "data": {"type", "period", "rows": [...]}}`, written a page at a time."""
    head = {"type": kind, "period": period}
    yield b'{"success":true,"data":' + _encoder.encode(head)[:-1] + b',"rows":['
    separator = b""
    async for rows in pages:
        if rows:
            yield separator + _encoder.encode(rows)[1:-1]
            separator = b","
    yield b"]}}"
