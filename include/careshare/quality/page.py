"""The daily quality report as one static HTML page: figures, tables and the trend charts
embedded as PNG data, no script and nothing fetched from elsewhere."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from careshare.quality.charts import TRENDS

TEMPLATES = Path(__file__).with_name("templates")


def render_report(figures: dict[str, Any], charts: dict[str, bytes], links: dict[str, str]) -> str:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["num"] = lambda v: "–" if v is None else f"{v:,}"
    environment.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.1f}%"
    images = [(name, title, base64.b64encode(charts[name]).decode()) for name, title in TRENDS]
    return environment.get_template("daily_report.html").render(
        f=figures, charts=images, links=links, verdict=verdict(figures)
    )


def verdict(figures: dict[str, Any]) -> dict[str, str]:
    failed = [f for f in figures["feeds"] if f["status"] in ("failed", "expired")]
    blocked = [d for d in figures["datasets"] if not d["passed"]]
    if failed or blocked:
        parts = [f"{f['feed']} ({f['rule']})" for f in failed] + [
            f"{d['dataset']} ({', '.join(d['blocking'])})" for d in blocked
        ]
        return {"css": "blocked", "text": "Held back from publication: " + "; ".join(parts)}
    if figures["datasets"] and all(d["passed"] for d in figures["datasets"]):
        return {"css": "ok", "text": "Every feed that arrived passed its critical checks; the day is published."}
    return {"css": "pending", "text": "Not published yet: waiting for feeds or the merge."}
