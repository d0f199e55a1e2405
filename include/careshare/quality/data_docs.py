"""GX Data Docs: one static site under `data_docs/` of the quality root, with the validation runs of
every report date.

The pages are rendered from what each run recorded (`quality_run`, `quality_rule_failure` and its GX
result JSON under `validations/`), not by GX's site builder: its pages load scripts and styles from
CDNs and build their tables in the browser (blank offline), leave runs unnamed, and take GX's own
`success`, which fails a run on a warning rule. Here a run reads as the daily report reads it.

    data_docs/index.html                            every run, newest first (filter by date, suite)
    data_docs/report_date=<D>/index.html            the runs of D; the daily report of D links here
    data_docs/report_date=<D>/<suite>/<stamp>.html  one run: each expectation and what it found
    data_docs/site.json                             the dates rendered, each with its newest run shown

A build for D renders D's pages and the index; other dates' pages are left as they are. Dates the
manifest lacks (history from before this layout, or a manifest lost to a concurrent build) are
rendered too, a few per build, newest first; the index shows only runs whose pages exist.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pandas as pd

from careshare.quality.data_docs_pages import RecordedRun, render_date, render_index, render_run
from careshare.quality.links import DATA_DOCS_INDEX, DATA_DOCS_PREFIX, data_docs_key, data_docs_prefix
from careshare.resources import Platform
from careshare.storage import ObjectStore

SITE_MANIFEST = f"{DATA_DOCS_PREFIX}/site.json"
SITE_LAYOUT = 1  # raise it when the pages change: every date is then rendered again, a few per build
HISTORY_DATES_PER_BUILD = 14  # keeps a build short while history is rendered anew
GX_SITE_FOLDERS = ("validations", "expectations", "static")  # what GX's site builder left under a date

Manifest = dict[date, datetime | None]  # each rendered date, with its newest run shown (None: no run)


def build_data_docs(platform: Platform, report_date: date) -> str:
    """Renders the date's pages (and any date not rendered yet) and the index; returns the date page's key."""
    runs = recorded_runs(platform)
    manifest = read_manifest(platform.quality)
    history = sorted({r.report_date for r in runs} - set(manifest) - {report_date}, reverse=True)
    for day in [report_date, *history[:HISTORY_DATES_PER_BUILD]]:
        manifest[day] = render_day(platform, day, [r for r in runs if r.report_date == day])
    write_manifest(platform.quality, manifest)
    shown = [r for r in runs if _has_page(r, manifest)]
    platform.quality.put(DATA_DOCS_INDEX, render_index(shown, sorted(manifest, reverse=True)).encode())
    return data_docs_key(report_date)


def recorded_runs(platform: Platform) -> list[RecordedRun]:
    """Every validation run in the warehouse, newest first."""
    frame = platform.warehouse.query_frame("quality/data_docs_runs")
    return [
        RecordedRun(
            run_id=str(r.run_id),
            suite=str(r.suite),
            report_date=pd.Timestamp(r.report_date).date(),
            source_sha256=None if pd.isna(r.source_sha256) else str(r.source_sha256),
            validated_at=pd.Timestamp(r.validated_at).to_pydatetime(),
            success=bool(r.success),
            rows_checked=int(r.rows_checked),
            rows_quarantined=int(r.rows_quarantined),
            rules_caught=int(r.rules_caught),
            result_key=str(r.result_key),
        )
        for r in frame.itertuples(index=False)
    ]


def render_day(platform: Platform, report_date: date, runs: list[RecordedRun]) -> datetime | None:
    """Writes the date's run pages, then its page; returns the newest run they show."""
    store = platform.quality
    outcomes = _rule_outcomes(platform, report_date)
    for run in runs:
        gx_result = json.loads(store.get(run.result_key))
        store.put(run.page_key, render_run(run, gx_result, outcomes.get(run.run_id, {})).encode())
    store.put(data_docs_key(report_date), render_date(report_date, runs).encode())
    _remove_gx_site(store, report_date)
    return max((r.validated_at for r in runs), default=None)


def read_manifest(store: ObjectStore) -> Manifest:
    stored = store.get_tagged(SITE_MANIFEST)
    if stored is None:
        return {}
    document = json.loads(stored[0])
    if document["layout"] != SITE_LAYOUT:
        return {}
    dates = document["dates"]
    return {date.fromisoformat(day): newest and datetime.fromisoformat(newest) for day, newest in dates.items()}


def write_manifest(store: ObjectStore, manifest: Manifest) -> None:
    dates = {day.isoformat(): newest and newest.isoformat() for day, newest in sorted(manifest.items())}
    store.put(SITE_MANIFEST, json.dumps({"layout": SITE_LAYOUT, "dates": dates}, indent=1).encode())


def _has_page(run: RecordedRun, manifest: Manifest) -> bool:
    newest = manifest.get(run.report_date)
    return newest is not None and run.validated_at <= newest


def _rule_outcomes(platform: Platform, report_date: date) -> dict[str, dict[str, dict[str, Any]]]:
    """The date's `quality_rule_failure` rows, by run and rule."""
    rows = platform.warehouse.query_frame("quality/data_docs_rule_outcomes", {"report_date": report_date})
    outcomes: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows.to_dict(orient="records"):
        outcomes.setdefault(str(row["run_id"]), {})[str(row["rule"])] = row
    return outcomes


def _remove_gx_site(store: ObjectStore, report_date: date) -> None:
    """The pages GX's site builder once wrote under the date fetch from CDNs; nothing links to them now."""
    prefix = data_docs_prefix(report_date)
    stale = [k for k in store.keys(prefix) if k.removeprefix(prefix).split("/")[0] in GX_SITE_FOLDERS]
    if stale:
        store.delete(stale)
