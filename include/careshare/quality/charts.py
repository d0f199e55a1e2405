"""Trend charts of the daily quality report as PNG images (matplotlib's Agg canvas, no display).

Each chart's y-axis runs from 0 to a little above its highest value, so a quarantine rate of 0.3%
shows its shape instead of lying flat on a 0-100% axis; tick labels carry the decimals the range needs.
"""

from __future__ import annotations

import io
import math
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

HEADROOM = 1.1
EMPTY_TOP = 0.01  # the axis of a series that is all zero (or has no value): 0-1%
TRENDS = (
    ("completion", "Completion against the CQC directory"),
    ("quarantine_rate", "Quarantined share of delivered rows"),
    ("stale_share", "Stale share of published answers (> 7 days old)"),
)


def trend_charts(trend: dict[str, list]) -> dict[str, bytes]:
    """One PNG per trend series, keyed like the series."""
    dates = [date.fromisoformat(d) for d in trend["dates"]]
    return {name: _png(line_chart(dates, trend[name], title)) for name, title in TRENDS}


def axis_top(values: list[Any]) -> float:
    highest = max((v for v in values if v is not None), default=0)
    return highest * HEADROOM if highest > 0 else EMPTY_TOP


def percent_ticks(top: float) -> tuple[list[float], int]:
    """Ticks from 0 to `top` in steps of 1, 2 or 5 times a power of ten, and the decimals of their
    percentages (a step of 0.1% needs one)."""
    from matplotlib.ticker import MaxNLocator

    ticks = [float(t) for t in MaxNLocator(nbins=5, steps=[1, 2, 5, 10]).tick_values(0, top) if 0 <= t <= top]
    step_percent = round(100 * (ticks[1] - ticks[0]), 12)
    return ticks, max(0, -math.floor(math.log10(step_percent)))


def line_chart(dates: list[date], values: list[Any], title: str) -> Figure:
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
    top = axis_top(values)
    ticks, decimals = percent_ticks(top)
    axes.set_ylim(0, top)
    axes.set_yticks(ticks)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=decimals))
    axes.xaxis.set_major_formatter(DateFormatter("%d %b"))
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
