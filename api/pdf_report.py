"""The report (api/export_report.py) as a PDF laid out with ReportLab's platypus: title page, summary
with growth, charts, album and track tables, collaborations. Pure CPU work: callers run it in a thread."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import BaseDocTemplate
from reportlab.platypus.frames import Frame

from api import pdf_charts
from api.export_report import subject_of
from api.pdf_charts import LISTENERS_COLOUR, PLAYS_COLOUR

Json = dict[str, Any]
INK = colors.HexColor("#111827")
MUTED = colors.HexColor("#6b7280")
RULE = colors.HexColor("#e5e7eb")
BAND = colors.HexColor("#f9fafb")
UP, DOWN = colors.HexColor("#047857"), colors.HexColor("#b91c1c")
MAX_TABLE_ROWS = 200  # beyond this the PDF says so and points to the CSV export

_base = getSampleStyleSheet()
STYLES = {
    "cover": ParagraphStyle(
        "cover", _base["Title"], fontSize=30, leading=36, textColor=INK, alignment=TA_CENTER
    ),
    "cover_sub": ParagraphStyle(
        "cover_sub", _base["Normal"], fontSize=13, leading=18, textColor=MUTED, alignment=TA_CENTER
    ),
    "h1": ParagraphStyle(
        "h1", _base["Heading1"], fontSize=17, textColor=INK, spaceBefore=14, spaceAfter=8, keepWithNext=1
    ),
    "h2": ParagraphStyle(
        "h2", _base["Heading2"], fontSize=12.5, textColor=INK, spaceBefore=10, spaceAfter=6, keepWithNext=1
    ),
    "body": ParagraphStyle("body", _base["Normal"], fontSize=9, leading=12, textColor=INK),
    "note": ParagraphStyle("note", _base["Normal"], fontSize=8, leading=10, textColor=MUTED),
    "figure": ParagraphStyle(
        "figure", _base["Normal"], fontName="Helvetica-Bold", fontSize=18, leading=22, textColor=INK
    ),
    "cell": ParagraphStyle("cell", _base["Normal"], fontSize=8, leading=10, textColor=INK),
}
EVERY = {"hour": "Hourly", "day": "Daily", "week": "Weekly"}
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


def cover(report: Json) -> list[Any]:
    start, end = day_text(report["period_start"]), day_text(report["period_end"])
    period = f"{PERIOD_NAMES[report['period']]}: {start} to {end}"
    return [
        Spacer(1, 70 * mm),
        Paragraph("Insights report", STYLES["cover_sub"]),
        Spacer(1, 6 * mm),
        Paragraph(escape(subject_of(report)), STYLES["cover"]),
        Spacer(1, 10 * mm),
        Paragraph(period, STYLES["cover_sub"]),
        Spacer(1, 3 * mm),
        Paragraph(
            f"Generated {report['generated_at'].replace('T', ' ').replace('Z', ' UTC')}", STYLES["cover_sub"]
        ),
        NextPageTemplate("content"),
        PageBreak(),
    ]


def summary(report: Json, width: float) -> list[Any]:
    s = report["summary"]
    cards = [
        ("Plays", s["plays"]["period"], growth_text(s["growth"]["plays_change"])),
        ("Unique listeners", s["listeners"]["unique"], growth_text(s["growth"]["listeners_change"])),
        ("Likes", s["engagement"]["likes"], "in the period"),
        ("Reposts", s["engagement"]["reposts"], "in the period"),
    ]
    cells = [
        [
            [
                Paragraph(label.upper(), STYLES["note"]),
                Paragraph(number(value), STYLES["figure"]),
                Paragraph(detail, STYLES["note"]),
            ]
            for label, value, detail in cards
        ]
    ]
    grid = Table(cells, colWidths=[width / 4] * 4)
    grid.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                ("INNERGRID", (0, 0), (-1, -1), 0.5, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 8),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
            ]
        )
    )
    totals = (
        f"All time: {counted(s['plays']['total'], 'play')} "
        f"by {counted(s['listeners']['total'], 'listener')}, "
        f"across {counted(s['tracks'], 'track')}, {counted(s['albums'], 'album')} and "
        f"{counted(s['artists'], 'artist')}."
    )
    return [Paragraph("Summary", STYLES["h1"]), grid, Spacer(1, 3 * mm), Paragraph(totals, STYLES["body"])]


def charts(report: Json, width: float) -> list[Any]:
    parts: list[Any] = []
    if report.get("chart"):
        key = (
            f'<font color="#{PLAYS_COLOUR.hexval()[2:]}">plays</font> and '
            f'<font color="#{LISTENERS_COLOUR.hexval()[2:]}">unique listeners</font>'
        )
        parts += [
            KeepTogether(
                [
                    Paragraph("Plays and listeners over the period", STYLES["h2"]),
                    Paragraph(
                        f"{EVERY[report['chart']['interval']]} {key} across everything in this report (UTC).",
                        STYLES["note"],
                    ),
                    pdf_charts.plays_and_listeners(report["chart"], width, 190),
                ]
            )
        ]
    top = [t | {"plays": t["plays"]["period"]} for t in report["tracks"][:10]]
    if top:
        parts += [
            KeepTogether(
                [
                    Paragraph("Top tracks by plays in the period", STYLES["h2"]),
                    pdf_charts.top_tracks(top, width),
                ]
            )
        ]
    return parts


def limited(rows: list[Any], what: str) -> tuple[list[Any], list[Any]]:
    if len(rows) <= MAX_TABLE_ROWS:
        return rows, []
    note = (
        f"The {MAX_TABLE_ROWS} most played {what} of {len(rows):,} are shown; the CSV export lists them all."
    )
    return rows[:MAX_TABLE_ROWS], [Paragraph(note, STYLES["note"])]


def albums_and_tracks(report: Json, width: float) -> list[Any]:
    parts: list[Any] = []
    name_width = width - sum(FIGURE_WIDTHS)
    if report["albums"]:
        rows, note = limited([[a["title"], *figures_row(a)] for a in report["albums"]], "albums")
        parts += [
            Paragraph("Albums", STYLES["h2"]),
            table(["Album", *FIGURE_HEADER], rows, [name_width, *FIGURE_WIDTHS], 1),
            *note,
        ]
    rows, note = limited(
        [[t["title"] or f"Track {t['track_id']}", *figures_row(t)] for t in report["tracks"]], "tracks"
    )
    parts += [
        Paragraph("Tracks", STYLES["h2"]),
        table(["Track", *FIGURE_HEADER], rows, [name_width, *FIGURE_WIDTHS], 1),
        *note,
    ]
    for album in report["albums"][:MAX_TABLE_ROWS]:
        track_rows = [
            [t["title"] or f"Track {t['track_id']}", number(t["plays"]), number(t["listeners"])]
            for t in album["tracks"]
        ]
        if track_rows:
            parts.append(
                KeepTogether(
                    [
                        Paragraph(f"Album: {escape(album['title'])}", STYLES["h2"]),
                        table(["Track", "Plays", "Listeners"], track_rows, [width - 140, 70, 70], 1),
                    ]
                )
            )
    return parts


def collaborations(report: Json, width: float) -> list[Any]:
    parts: list[Any] = [Paragraph("Collaborations", STYLES["h1"])]
    for artist in report["artists"]:
        c = artist["collaborations"]
        name = escape(artist["name"] or f"Artist {artist['artist_id']}")
        if not c["total_collaborations"]:
            parts.append(Paragraph(f"{name} has no tracks shared with other artists.", STYLES["body"]))
            continue
        people = [
            [p["name"] or f"Artist {p['artist_id']}", number(p["tracks"]), number(p["plays"])]
            for p in c["top_collaborators"]
        ]
        shared, note = limited(
            [[t["title"], number(t["plays"])] for t in c["collaboration_tracks"]], "tracks"
        )
        parts += [
            Paragraph(f"{name}: {c['total_collaborations']} shared tracks", STYLES["h2"]),
            table(["Collaborator", "Shared tracks", "All-time plays"], people, [width - 160, 80, 80], 1),
            Spacer(1, 3 * mm),
            table(["Shared track", "All-time plays"], shared, [width - 80, 80], 1),
            *note,
        ]
    return parts


def render_pdf(report: Json) -> bytes:
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Insights report: {subject_of(report)}",
        author="Insights",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=20 * mm,
        bottomMargin=18 * mm,
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(
            doc.leftMargin,
            10 * mm,
            f"Insights report · {subject_of(report)} · {PERIOD_NAMES[report['period']]}",
        )
        canvas.drawRightString(doc.leftMargin + doc.width, 10 * mm, f"Page {document.page}")
        canvas.restoreState()

    def accent(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFillColor(PLAYS_COLOUR)
        canvas.rect(0, A4[1] - 14 * mm, A4[0], 14 * mm, stroke=0, fill=1)
        canvas.setFillColor(LISTENERS_COLOUR)
        canvas.rect(0, A4[1] - 16 * mm, A4[0], 2 * mm, stroke=0, fill=1)
        canvas.restoreState()

    doc.addPageTemplates(
        [PageTemplate("cover", [frame], onPage=accent), PageTemplate("content", [frame], onPage=footer)]
    )
    story = [
        *cover(report),
        *summary(report, doc.width),
        *charts(report, doc.width),
        *albums_and_tracks(report, doc.width),
        *collaborations(report, doc.width),
    ]
    doc.build(story)
    return buffer.getvalue()
