"""GX Data Docs for a report date, built from every validation run recorded for it.

GX 1.x has no S3 store, so each run builds the site into a fresh local folder (under
CARESHARE_HOME/data_docs, removed afterwards: runs of the same date may build at once) with an
ephemeral GX context, then uploads it, file by file, to
`data_docs/report_date=<YYYY-MM-DD>/` under the quality root. Great Expectations is imported
only inside functions.
"""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from careshare.platform import Platform
from careshare.quality.suites import SuiteError, load_suite

PREFIX = "data_docs"
SITE = "careshare"
STATIC = "static/"


def site_prefix(report_date: date) -> str:
    return f"{PREFIX}/report_date={report_date.isoformat()}/"


def build_data_docs(platform: Platform, report_date: date) -> str:
    """Builds the date's site in a fresh local folder, uploads it; returns the key of its index page."""
    runs = platform.warehouse.query_frame("quality/run_result_keys", {"report_date": report_date})
    builds = platform.settings.home / PREFIX
    builds.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"report_date={report_date.isoformat()}-", dir=builds) as build:
        folder = Path(build)
        context = _context(folder)
        for run in runs.itertuples(index=False):
            result = platform.quality.get(run.result_key)
            _add_result(context, result, run.suite, pd.Timestamp(run.validated_at), report_date)
        for suite in sorted(set(runs["suite"])):
            _add_suite(context, platform.settings.expectations_dir / f"{suite}.json")
        context.build_data_docs(site_names=[SITE])
        prefix = site_prefix(report_date)
        present = set(platform.quality.keys(prefix + STATIC))
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = prefix + path.relative_to(folder).as_posix()
            if key not in present:  # the static assets are the same for every build
                platform.quality.put(key, path.read_bytes())
    return prefix + "index.html"


def _context(folder: Path) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    return gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            data_docs_sites={SITE: site},
        ),
    )


def _add_result(context: Any, document: bytes, suite: str, validated_at: pd.Timestamp, report_date: date) -> None:
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    result = ExpectationSuiteValidationResultSchema().load(json.loads(document))
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite),
        run_id=RunIdentifier(
            run_name=report_date.isoformat(), run_time=validated_at.tz_localize("UTC").to_pydatetime()
        ),
        batch_identifier=suite,
    )
    context.validation_results_store.set(key, result)


def _add_suite(context: Any, path: Path) -> None:
    """The suite's current JSON, for its expectations page; a suite since removed is skipped."""
    try:
        context.suites.add(load_suite(path).gx_suite())
    except SuiteError:
        return
