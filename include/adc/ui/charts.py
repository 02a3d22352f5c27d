"""Chart geometry for the dashboard: numbers in, positions out; the templates draw them as inline SVG.

Every chart prints its numbers next to its shapes (a person reads it at a glance, and a screen
reader or a printout loses nothing), and each shape carries a <title>. Nothing here makes markup:
labels reach the page through the autoescaping templates (ui/templates/_charts.html).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

LABEL_WIDTH = 200  # px for the labels of horizontal bars
PLOT_WIDTH = 300  # px for the longest bar
ROW = 26  # px per bar


@dataclass
class Segment:
    key: str
    value: int
    x: float
    width: float
    css: str


@dataclass
class Row:
    label: str
    total: int
    y: float
    segments: list[Segment] = field(default_factory=list)
    href: str | None = None


@dataclass
class BarChart:
    rows: list[Row]
    height: float
    legend: list[tuple[str, str]]  # (segment key, css class)
    label_width: int = LABEL_WIDTH
    plot_width: int = PLOT_WIDTH

    @property
    def width(self) -> int:
        return self.label_width + self.plot_width + 70


def bars(rows: Sequence[tuple[str, Mapping[str, int]]], segments: Sequence[tuple[str, str]], *,
         hrefs: Mapping[str, str] | None = None) -> BarChart:
    """Horizontal bars, one per (label, {segment key: n}), each split into ``segments`` (key, css class)
    in order, all on one scale (the longest total fills the plot)."""
    longest = max((sum(values.values()) for _, values in rows), default=0) or 1
    chart_rows = []
    for index, (label, values) in enumerate(rows):
        row = Row(label=label, total=sum(values.values()), y=index * ROW, href=(hrefs or {}).get(label))
        x = float(LABEL_WIDTH)
        for key, css in segments:
            n = values.get(key, 0)
            if n:
                width = max(PLOT_WIDTH * n / longest, 1.5)
                row.segments.append(Segment(key, n, x, width, css))
                x += width
        chart_rows.append(row)
    used = [(key, css) for key, css in segments if any(s.key == key for r in chart_rows for s in r.segments)]
    return BarChart(chart_rows, height=max(len(chart_rows), 1) * ROW, legend=used if len(segments) > 1 else [])


def single(rows: Sequence[tuple[str, int]], css: str | Mapping[str, str] = "bar", *,
           hrefs: Mapping[str, str] | None = None) -> BarChart:
    """Plain horizontal bars: (label, n), one class for all or one per label; no legend."""
    chart = bars([(label, {label: n}) for label, n in rows],
                 [(label, css if isinstance(css, str) else css.get(label, "bar")) for label, _ in rows], hrefs=hrefs)
    chart.legend = []
    return chart


@dataclass
class Column:
    label: str  # the date under it
    title: str  # what hovering says
    x: float
    registered_y: float
    registered_h: float
    unregistered_y: float
    unregistered_h: float
    share: str  # "97%" above it
    failed: int  # scopes the harvest could not list


@dataclass
class ColumnChart:
    columns: list[Column]
    column_width: float
    width: int
    height: int
    baseline: float
    peak: int  # the tallest column's datasets (the scale)


def coverage(points: Sequence, *, width: int = 640, height: int = 220) -> ColumnChart:
    """Stacked columns over time: datasets the register covers (bottom) and unregistered ones (top),
    with the covered share above each column and a mark under a harvest with unreadable scopes."""
    top, bottom, left = 24, 46, 8
    plot = height - top - bottom
    peak = max((p.datasets for p in points), default=0) or 1
    slot = (width - left * 2) / max(len(points), 1)
    column_width = min(slot * 0.7, 48)
    columns = []
    every = max(1, round(len(points) / 8))  # at most about 8 dates under the axis
    for index, point in enumerate(points):
        registered_h = plot * point.registered / peak
        unregistered_h = plot * min(point.unregistered, point.datasets) / peak
        baseline = top + plot
        share = point.share
        columns.append(Column(
            label=point.at.strftime("%d %b") if index % every == 0 or index == len(points) - 1 else "",
            title=(f"{point.at:%Y-%m-%d %H:%M} UTC, harvest {point.harvest_run_id}: {point.datasets} datasets, "
                   f"{point.registered} covered by the register, {point.unregistered} unregistered, "
                   f"{point.missing_assets} assets missing, {point.scopes_failed} scope(s) unreadable"),
            x=left + slot * index + (slot - column_width) / 2,
            registered_y=baseline - registered_h, registered_h=registered_h,
            unregistered_y=baseline - registered_h - unregistered_h, unregistered_h=unregistered_h,
            share="" if share is None else f"{share:.0%}",
            failed=point.scopes_failed,
        ))
    return ColumnChart(columns, column_width, width, height, baseline=top + plot, peak=peak)
