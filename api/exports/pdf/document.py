"""The report (api/exports/report.py) as a PDF laid out with ReportLab's platypus: title page, summary
with growth, charts, where and how they listen, album and track tables, collaborations. Pure CPU work:
callers run it in a thread."""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
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

from api.exports.pdf import charts
from api.exports.pdf.audience import audience
from api.exports.pdf.charts import LISTENERS_COLOUR, PLAYS_COLOUR
from api.exports.pdf.styles import (
    EVERY,
    FIGURE_HEADER,
    FIGURE_WIDTHS,
    MUTED,
    RULE,
    STYLES,
    Json,
    counted,
    escape,
    figures_row,
    growth_text,
    number,
    range_text,
    short_range_text,
    table,
)
from api.exports.report import subject_of

MAX_TABLE_ROWS = 200  # beyond this the PDF says so and points to the CSV export
MAX_COLLABORATING_ARTISTS = 50  # the most played; the JSON report has them all


def cover(report: Json) -> list[Any]:
    period = escape(range_text(report))
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


def chart_section(report: Json, width: float) -> list[Any]:
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
                        f"{EVERY[report['chart']['interval']]} {key} across everything in this report "
                        f"({escape(report.get('tz', 'UTC'))}).",
                        STYLES["note"],
                    ),
                    charts.plays_and_listeners(report["chart"], width, 190),
                ]
            )
        ]
    top = [t | {"plays": t["plays"]["period"]} for t in report["tracks"][:10]]
    if top:
        parts += [
            KeepTogether(
                [
                    Paragraph("Top tracks by plays in the period", STYLES["h2"]),
                    charts.top_tracks(top, width),
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
            CondPageBreak(40 * mm),  # a heading never ends a page alone
            Paragraph("Albums", STYLES["h2"]),
            table(["Album", *FIGURE_HEADER], rows, [name_width, *FIGURE_WIDTHS], 1),
            *note,
        ]
    rows, note = limited(
        [[t["title"] or f"Track {t['track_id']}", *figures_row(t)] for t in report["tracks"]], "tracks"
    )
    parts += [
        CondPageBreak(40 * mm),
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
    parts: list[Any] = [CondPageBreak(60 * mm), Paragraph("Collaborations", STYLES["h1"])]
    collaborating = [a for a in report["artists"] if a["collaborations"]["total_collaborations"]]
    if not collaborating:
        parts.append(Paragraph("No tracks are shared with other artists.", STYLES["body"]))
    for artist in collaborating[:MAX_COLLABORATING_ARTISTS]:
        c = artist["collaborations"]
        name = escape(artist["name"] or f"Artist {artist['artist_id']}")
        people = [
            [p["name"] or f"Artist {p['artist_id']}", number(p["tracks"]), number(p["plays"])]
            for p in c["top_collaborators"]
        ]
        shared, note = limited(
            [[t["title"], number(t["plays"])] for t in c["collaboration_tracks"]], "tracks"
        )
        parts += [
            CondPageBreak(40 * mm),
            Paragraph(f"{name}: {counted(c['total_collaborations'], 'shared track')}", STYLES["h2"]),
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
            f"Insights report · {subject_of(report)} · {short_range_text(report)}",
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
        *chart_section(report, doc.width),
        *audience(report, doc.width),
        *albums_and_tracks(report, doc.width),
        *collaborations(report, doc.width),
    ]
    doc.build(story)
    return buffer.getvalue()
