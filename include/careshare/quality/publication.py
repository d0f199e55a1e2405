"""Publish the quality outputs of a report date: the quarantine dataset, the Data Docs and the
daily report (HTML and JSON, with the per-council downloads of quarantined and warned rows beside
it), and say where they are.

Built once per publish run of a date, after the merge (the quarantine export too), and by a feed
DAG's quality gate only when it fails, so the failure's link shows why before the date is published.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from careshare.quality.charts import trend_charts
from careshare.quality.data_docs import build_data_docs
from careshare.quality.downloads import write_downloads
from careshare.quality.links import data_docs_link, relative_link, report_key, report_prefix, report_url, stored_url
from careshare.quality.quarantine import export_quarantine, manifest_key
from careshare.quality.report_figures import daily_figures
from careshare.quality.report_page import render_report
from careshare.resources import Platform

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QualityPublication:
    report_date: str
    report_url: str
    data_docs_url: str
    figures: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"report_date": self.report_date, "report_url": self.report_url, "data_docs_url": self.data_docs_url}


def publish_quality(platform: Platform, report_date: date, *, quarantine: bool) -> QualityPublication:
    """`quarantine`: export the day's quarantine too (once the merge has run)."""
    if quarantine:
        export_quarantine(platform, report_date)
    docs_key = build_data_docs(platform, report_date)
    figures = {**daily_figures(platform, report_date), "downloads": write_downloads(platform, report_date)}
    links = {"data_docs": data_docs_link(report_date), "quarantine": _manifest_link(platform, report_date)}
    html = render_report(figures, trend_charts(figures["trend"]), links)
    prefix = report_prefix(report_date)
    platform.quality.put(prefix + "report.json", json.dumps({**figures, "links": links}, indent=2).encode())
    platform.quality.put(report_key(report_date), html.encode())
    publication = QualityPublication(
        report_date.isoformat(), report_url(platform, report_date), stored_url(platform, docs_key), figures
    )
    log.info("quality report %s: %s", report_date, publication.report_url)
    return publication


def _manifest_link(platform: Platform, report_date: date) -> str | None:
    """The day's quarantine manifest as the report links to it; None before its first export."""
    manifest = manifest_key(report_date)
    return relative_link(report_key(report_date), manifest) if platform.quality.exists(manifest) else None
