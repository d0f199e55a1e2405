"""The daily quality report as one static HTML page: figures, tables and the trend charts
embedded as PNG data, one small inline script that sorts the council table, and nothing fetched
from elsewhere. Its links are relative, within the quality root, so they work wherever it is served."""

from __future__ import annotations

import base64
from typing import Any

from careshare.quality.charts import TRENDS
from careshare.quality.downloads import QUARANTINED, WARNED
from careshare.quality.placement import UNKNOWN_COUNCIL
from careshare.quality.templating import environment
from careshare.status import HELD_BACK


def render_report(figures: dict[str, Any], charts: dict[str, bytes], links: dict[str, str | None]) -> str:
    """`figures`: daily_figures plus `downloads` (write_downloads); `links`: `data_docs` and
    `quarantine` (the quarantine manifest, None before the first export), relative to the page."""
    images = [(name, title, base64.b64encode(charts[name]).decode()) for name, title in TRENDS]
    councils = council_rows(figures)
    template = environment().get_template("daily_report.html")
    return template.render(
        f=figures,
        charts=images,
        links=links,
        verdict=verdict(figures),
        councils=councils,
        flagged=[c for c in councils if c["below_threshold"]],
        downloads={kind: download_rows(figures, kind) for kind in (QUARANTINED, WARNED)},
    )


def verdict(figures: dict[str, Any]) -> dict[str, str]:
    failed = [f for f in figures["feeds"] if f["status"] in HELD_BACK]
    blocked = [d for d in figures["datasets"] if not d["passed"]]
    if failed or blocked:
        parts = [f"{f['feed']} ({f['rule']})" for f in failed] + [
            f"{d['dataset']} ({', '.join(d['blocking'])})" for d in blocked
        ]
        return {"css": "blocked", "text": "Held back from publication: " + "; ".join(parts)}
    if figures["datasets"] and all(d["passed"] for d in figures["datasets"]):
        return {"css": "ok", "text": "Every feed that arrived passed its critical checks; the day is published."}
    return {"css": "pending", "text": "Not published yet: waiting for feeds or the merge."}


def council_rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Each council's completion with its downloads of quarantined and warned rows (None without rows)."""
    files = {kind: {e["la_code"]: e for e in figures["downloads"][kind]} for kind in (QUARANTINED, WARNED)}
    return [
        {**c, QUARANTINED: files[QUARANTINED].get(c["la_code"]), WARNED: files[WARNED].get(c["la_code"])}
        for c in figures["completion"]["by_council"]
    ]


def download_rows(figures: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The downloads of one kind with the name of their council; rows that could not be placed last."""
    names = {c["la_code"]: c["la_name"] for c in figures["completion"]["by_council"]}
    names[UNKNOWN_COUNCIL] = "not placed (no council the CQC directory confirms)"
    entries = [{**e, "la_name": names.get(e["la_code"], e["la_code"])} for e in figures["downloads"][kind]]
    return sorted(entries, key=lambda e: (e["la_code"] == UNKNOWN_COUNCIL, e["la_name"]))
