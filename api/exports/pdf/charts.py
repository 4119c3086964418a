"""The PDF report's charts, drawn with ReportLab's own graphics: plays and listeners over the period
(a line chart), and horizontal bar charts (the most played tracks; plays by country, source, platform)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors

PLAYS_COLOUR = colors.HexColor("#4f46e5")
LISTENERS_COLOUR = colors.HexColor("#10b981")
GRID_COLOUR = colors.HexColor("#e5e7eb")
TEXT_COLOUR = colors.HexColor("#374151")
FONT = "Helvetica"
# The tallest bar chart: with its heading it fits on a page (a flowable taller than the page cannot be
# laid out), so a breakdown of up to 50 values gets thinner bars instead of failing.
MAX_BARS_HEIGHT = 560


def nice_ceiling(value: int) -> int:
    """A round axis maximum at or above `value`: 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def count_axis(axis: Any, highest: int) -> None:
    """A value axis of counts from 0 to a round maximum, with whole-number ticks and a light grid."""
    top = nice_ceiling(highest)
    axis.valueMin, axis.valueMax = 0, top
    axis.valueStep = max(top // 5 if top % 5 == 0 else top // 4, 1)
    axis.labels.fontName, axis.labels.fontSize = FONT, 7
    axis.labelTextFormat = lambda v: f"{v:,.0f}"
    axis.visibleGrid = True
    axis.gridStrokeColor = axis.strokeColor = GRID_COLOUR


def label_for(t: str, interval: str) -> str:
    """A short tick label from an RFC 3339 bucket start: 'Nov 26', or 'Nov 26 14:00' for hours."""
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    month, day, hour = int(t[5:7]), int(t[8:10]), t[11:13]
    return f"{months[month - 1]} {day}" + (f" {hour}:00" if interval == "hour" else "")


def plays_and_listeners(chart: dict[str, Any], width: float, height: float) -> Drawing:
    series = chart["series"]
    drawing = Drawing(width, height)
    plot = LinePlot()
    plot.x, plot.y = 40, 42
    plot.width, plot.height = width - 60, height - 70
    plot.data = [
        [(i, point["plays"]) for i, point in enumerate(series)],
        [(i, point["listeners"]) for i, point in enumerate(series)],
    ]
    for index, colour in enumerate((PLAYS_COLOUR, LISTENERS_COLOUR)):
        plot.lines[index].strokeColor = colour
        plot.lines[index].strokeWidth = 1.8
    count_axis(plot.yValueAxis, max((p["plays"] for p in series), default=0))
    last = max(len(series) - 1, 1)
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = 0, last
    ticks = sorted({round(last * k / 5) for k in range(6)})
    plot.xValueAxis.valueSteps = ticks
    labels = {i: label_for(series[i]["t"], chart["interval"]) for i in ticks if i < len(series)}
    plot.xValueAxis.labelTextFormat = lambda v: labels.get(round(v), "")
    plot.xValueAxis.labels.fontName = FONT
    plot.xValueAxis.labels.fontSize = 7
    plot.xValueAxis.strokeColor = GRID_COLOUR
    drawing.add(plot)
    legend = Legend()
    legend.x, legend.y = 40, height - 8
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.fontName, legend.fontSize = FONT, 8
    legend.dx, legend.dy, legend.deltax = 8, 8, 90
    legend.colorNamePairs = [(PLAYS_COLOUR, "Plays"), (LISTENERS_COLOUR, "Unique listeners")]
    drawing.add(legend)
    drawing.add(
        String(
            width - 20,
            4,
            f"one point per {chart['interval']}, UTC",
            fontName=FONT,
            fontSize=7,
            fillColor=TEXT_COLOUR,
            textAnchor="end",
        )
    )
    return drawing


def top_tracks(tracks: Sequence[dict[str, Any]], width: float) -> Drawing:
    """Bars of period plays, most played on top; `tracks` arrive most played first."""
    names = [t["title"] or f"Track {t['track_id']}" for t in tracks]
    return bars(names, [t["plays"] for t in tracks], width)


def bars(names: Sequence[str], values: Sequence[int], width: float, colour: Any = PLAYS_COLOUR) -> Drawing:
    """Horizontal bars labelled with their values, the first on top; at most MAX_BARS_HEIGHT tall."""
    shown, counts = list(names)[::-1], list(values)[::-1]  # the chart draws its first category at the bottom
    bar_height = min(18, (MAX_BARS_HEIGHT - 30) / max(len(shown), 1))
    height = max(len(shown), 1) * bar_height + 30
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 150, 20
    chart.width, chart.height = width - 190, height - 30
    chart.data = [counts or [0]]
    chart.bars[0].fillColor = colour
    chart.bars[0].strokeColor = None
    chart.barSpacing = 2
    chart.categoryAxis.categoryNames = [n if len(n) <= 28 else n[:27] + "…" for n in shown] or [""]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.strokeColor = GRID_COLOUR
    count_axis(chart.valueAxis, max(counts, default=0))
    chart.barLabelFormat = lambda v: f"{v:,.0f}"
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = 7
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    return drawing
