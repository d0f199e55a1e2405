"""Trend charts of the daily quality report as PNG images (matplotlib's Agg canvas, no display)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

TRENDS = (
    ("completion", "Completion against the CQC directory"),
    ("quarantine_rate", "Quarantined share of delivered rows"),
    ("stale_share", "Stale share of published answers (> 7 days old)"),
)


def trend_charts(trend: dict[str, list]) -> dict[str, bytes]:
    """One PNG per trend series, keyed like the series."""
    dates = [date.fromisoformat(d) for d in trend["dates"]]
    return {name: _line_chart(dates, trend[name], title) for name, title in TRENDS}


def _line_chart(dates: list[date], values: list[Any], title: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter, date2num
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    figure = Figure(figsize=(6.4, 2.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    days = date2num(dates)
    points = [(d, v) for d, v in zip(days, values, strict=True) if v is not None]
    if points:
        axes.plot([d for d, _ in points], [v for _, v in points], marker="o", markersize=3, color="#1d70b8")
    else:
        axes.text(0.5, 0.5, "no data in the last 30 days", ha="center", va="center", transform=axes.transAxes)
    axes.set_title(title, fontsize=10, loc="left")
    axes.set_xlim(days[0], days[-1])
    axes.set_ylim(0, 1)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.xaxis.set_major_formatter(DateFormatter("%d %b"))
    axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
