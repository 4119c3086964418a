"""The PDF report's audience pages: how long the plays were listened to, and where and how they were
listened to (countries by name, sources, platforms), as bars and tables, from the report's summary."""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, Spacer

from api.exports.audience import PLURALS, UNKNOWN_NAME, other_name, value_name
from api.exports.pdf import charts
from api.exports.pdf.charts import LISTENERS_COLOUR
from api.exports.pdf.styles import STYLES, Json, counted, escape, number, table
from api.read.audience_queries import share
from schemas.audience import DIMENSIONS

TITLES = {"country": "Countries", "source": "Sources", "platform": "Platforms"}
WHERE_FROM = {
    "country": "where the listeners were",
    "source": "where in the player the plays started",
    "platform": "what they played on",
}


def duration(ms: int) -> str:
    """Listening time for people: "3:07" (minutes and seconds) under an hour, else "12.5 hours"."""
    seconds = (ms + 500) // 1000
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds / 3600:,.1f} hours"


def listening_text(listening: Json) -> str:
    """One sentence: qualified plays, the time listened, and the average play."""
    average = listening["avg_ms"]
    text = (
        f"Listening: {counted(listening['qualified_plays'], 'play')} of 30 seconds or more; "
        f"{duration(listening['total_ms'])} listened"
    )
    if average is None:
        return text + " (no play said how long)."
    return text + f", {duration(average)} per play on average (of the plays that said how long)."


def dimension_parts(dimension: str, found: Json, width: float) -> list[Any]:
    """A heading, bars of the ranked values' plays, and the table with `other` and `unknown`."""
    rows = found["rows"]
    title = f"{TITLES[dimension]}: {WHERE_FROM[dimension]}"
    if not rows and not found["unknown"]["plays"]:
        return [Paragraph(title, STYLES["h2"]), Paragraph("No plays in the period.", STYLES["body"])]
    names = [value_name(dimension, r["value"]) for r in rows]
    cells = [
        [str(rank), name, number(r["plays"]), number(r["listeners"]), f"{r['share']:.1f}%"]
        for rank, (name, r) in enumerate(zip(names, rows, strict=True), start=1)
    ]
    total = sum(r["plays"] for r in rows) + found["other"]["plays"] + found["unknown"]["plays"]
    notes = ["Ranked by plays in the period; listeners are distinct per row."]
    for shown, part, meaning in (
        (other_name(dimension), found["other"], f"sums the {PLURALS[dimension]} past the top {len(rows)}"),
        (UNKNOWN_NAME, found["unknown"], "counts the plays that did not say"),
    ):
        if part["plays"]:
            part_share = f"{share(part['plays'], total):.1f}%"
            cells.append(["", shown, number(part["plays"]), number(part["listeners"]), part_share])
            notes.append(f"\u201c{shown}\u201d {meaning}.")
    parts: list[Any] = [Paragraph(title, STYLES["h2"])]
    if rows:
        parts.append(charts.bars(names, [r["plays"] for r in rows], width, LISTENERS_COLOUR))
    return [
        KeepTogether(parts),
        table(["#", "Name", "Plays", "Listeners", "Share"], cells, [28, width - 208, 60, 60, 60], 2),
        Spacer(1, 1 * mm),
        Paragraph(escape(" ".join(notes)), STYLES["note"]),
    ]


def audience(report: Json, width: float) -> list[Any]:
    """The section over everything the report holds (its summary)."""
    summary = report["summary"]
    parts: list[Any] = [
        CondPageBreak(80 * mm),
        Paragraph("Where and how they listen", STYLES["h1"]),
        Paragraph(escape(listening_text(summary["listening"])), STYLES["body"]),
    ]
    for dimension in DIMENSIONS:
        parts += [
            CondPageBreak(50 * mm),
            *dimension_parts(dimension, summary["breakdowns"][dimension], width),
        ]
    return parts
