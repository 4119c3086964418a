"""The PDF report's look: colours, paragraph styles, number formats and the one table style, shared by
every section of api/exports/pdf/document.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.platypus import Paragraph, Table, TableStyle

Json = dict[str, Any]
INK = colors.HexColor("#111827")
MUTED = colors.HexColor("#6b7280")
RULE = colors.HexColor("#e5e7eb")
BAND = colors.HexColor("#f9fafb")
UP, DOWN = colors.HexColor("#047857"), colors.HexColor("#b91c1c")

_base = getSampleStyleSheet()
STYLES = {
    "cover": ParagraphStyle(
        "cover", _base["Title"], fontSize=30, leading=36, textColor=INK, alignment=TA_CENTER
    ),
    "cover_sub": ParagraphStyle(
        "cover_sub", _base["Normal"], fontSize=13, leading=18, textColor=MUTED, alignment=TA_CENTER
    ),
    "h1": ParagraphStyle("h1", _base["Heading1"], fontSize=17, textColor=INK, spaceBefore=14, spaceAfter=8),
    "h2": ParagraphStyle("h2", _base["Heading2"], fontSize=12.5, textColor=INK, spaceBefore=10, spaceAfter=6),
    "body": ParagraphStyle("body", _base["Normal"], fontSize=9, leading=12, textColor=INK),
    "note": ParagraphStyle("note", _base["Normal"], fontSize=8, leading=10, textColor=MUTED),
    "figure": ParagraphStyle(
        "figure", _base["Normal"], fontName="Helvetica-Bold", fontSize=18, leading=22, textColor=INK
    ),
    "cell": ParagraphStyle("cell", _base["Normal"], fontSize=8, leading=10, textColor=INK),
}
EVERY = {"hour": "Hourly", "day": "Daily", "week": "Weekly", "month": "Monthly"}
PERIOD_NAMES = {
    "7-days": "Last 7 days",
    "30-days": "Last 30 days",
    "90-days": "Last 90 days",
    "1-year": "Last 12 months",
}


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def number(value: int) -> str:
    return f"{value:,}"


def counted(value: int, noun: str) -> str:
    return f"{value:,} {noun}" + ("" if value == 1 else "s")


def growth_text(change: float | None) -> str:
    if change is None:
        return '<font color="#6b7280">no previous data</font>'
    colour = UP.hexval()[2:] if change >= 0 else DOWN.hexval()[2:]
    return f'<font color="#{colour}">{change:+.1f}%</font> vs previous period'


def day_text(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d %b %Y").lstrip("0")


def range_text(report: Json) -> str:
    """The days a report covers, in words: "Last 30 days: 6 Oct 2026 to 4 Nov 2026", and the zone
    unless UTC ("..., Asia/Kolkata time")."""
    start, end = day_text(report["period_start"]), day_text(report["period_end"])
    name = PERIOD_NAMES.get(report["period"])
    text = f"{name}: {start} to {end}" if name else f"{start} to {end}"
    return text if report.get("tz", "UTC") == "UTC" else f"{text}, {report['tz']} time"


def short_range_text(report: Json) -> str:
    """For the footer: the period's name or the dates, and the zone unless UTC."""
    name = PERIOD_NAMES.get(report["period"]) or f"{report['period_start']} to {report['period_end']}"
    return name if report.get("tz", "UTC") == "UTC" else f"{name} ({report['tz']})"


def table(header: list[str], rows: list[list[Any]], widths: list[float], numeric_from: int) -> Table:
    cells = [header] + [
        [Paragraph(escape(str(c)), STYLES["cell"]) if i < numeric_from else c for i, c in enumerate(row)]
        for row in rows
    ]
    result = Table(cells, colWidths=widths, repeatRows=1)
    result.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
                ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
                ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
                ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, BAND]),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return result


def change_cell(change: float | None) -> str:
    return "n/a" if change is None else f"{change:+.1f}%"


def figures_row(entity: Json) -> list[Any]:
    return [
        number(entity["plays"]["period"]),
        number(entity["listeners"]["unique"]),
        number(entity["engagement"]["likes"]),
        number(entity["engagement"]["reposts"]),
        number(entity["plays"]["total"]),
        change_cell(entity["growth"]["plays_change"]),
    ]


FIGURE_HEADER = ["Plays", "Listeners", "Likes", "Reposts", "All-time plays", "Growth"]
FIGURE_WIDTHS = [46, 50, 40, 46, 64, 48]
