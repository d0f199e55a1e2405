"""The Data Docs site built from recorded GX runs of two dates: offline, each run and asset named,
read as the daily report reads it, one index across dates, rebuilt one date at a time."""

from __future__ import annotations

import json
import posixpath
from datetime import date, datetime
from pathlib import Path

import pytest
from tests.conftest import REFERENCE_CSV
from tests.unit.quality.conftest import EXPECTATIONS, conformed_frame
from tests.unit.quality.data_docs_links import linked_keys

from careshare.config import EXPECTATIONS_DIR, Settings
from careshare.feeds import CT_CARE_HOMES, CT_HOME_CARE
from careshare.platform import Platform
from careshare.quality.docs import SITE_MANIFEST, build_data_docs, recorded_runs
from careshare.quality.docs_pages import RecordedRun
from careshare.quality.links import DATA_DOCS_INDEX, data_docs_key, data_docs_link, report_key
from careshare.quality.runs import record_validation, run_name
from careshare.quality.validate import ValidationReport, suite_parameters_for, validate_frame

FIRST, SECOND = date(2020, 8, 3), date(2020, 8, 4)
PADDING = [{}] * 33  # one bad row in 34 stays within a rule's 5%
RUNS = {  # kind: (feed, date, changed rows)
    "clean": (CT_HOME_CARE, FIRST, [{}, {}]),
    "warning": (CT_CARE_HOMES, FIRST, [{"Beds_Total": "5", "Beds_Vacant": "9"}, *PADDING]),
    "quarantined": (CT_CARE_HOMES, SECOND, [{"Beds_Vacant": "-3"}, *PADDING]),
    "blocking": (CT_HOME_CARE, SECOND, [{"CQC_Location_ID": "BAD"} if n % 5 == 0 else {} for n in range(20)]),
}
SHA = {kind: str(n) * 64 for n, kind in enumerate(RUNS, 1)}


@pytest.fixture(scope="module")
def reports() -> dict[str, ValidationReport]:
    validated = {}
    for kind, (spec, day, changes) in RUNS.items():
        frame = conformed_frame(spec, day, changes)
        suite = EXPECTATIONS / f"{spec.feed.value}.json"
        validated[kind] = validate_frame(frame, suite, suite_parameters_for(spec, day))
    return validated


@pytest.fixture
def platform(tmp_path: Path):
    settings = Settings(
        home=tmp_path,
        warehouse_url=f"sqlite:///{tmp_path / 'warehouse.db'}",
        raw_archive_uri=str(tmp_path / "raw"),
        publish_uri=str(tmp_path / "published"),
        quality_uri=str(tmp_path / "quality"),
        reference_csv=REFERENCE_CSV,
        expectations_dir=EXPECTATIONS_DIR,
    )
    built = Platform.from_settings(settings)
    built.warehouse.migrate()
    yield built
    built.warehouse.engine.dispose()


def record(platform: Platform, reports: dict[str, ValidationReport], *kinds: str) -> None:
    for kind in kinds:
        record_validation(platform, reports[kind], RUNS[kind][1], SHA[kind])


@pytest.fixture
def runs(platform, reports) -> dict[str, RecordedRun]:
    """Both dates recorded and built, each date by its own build, as its feed runs build it."""
    record(platform, reports, "clean", "warning")
    build_data_docs(platform, FIRST)
    record(platform, reports, "quarantined", "blocking")
    build_data_docs(platform, SECOND)
    by_sha = {run.source_sha256: run for run in recorded_runs(platform)}
    return {kind: by_sha[sha] for kind, sha in SHA.items()}


def read(platform: Platform, key: str) -> str:
    return platform.quality.get(key).decode()


def site_pages(platform: Platform) -> list[str]:
    return sorted(k for k in platform.quality.keys("data_docs/") if k.endswith(".html"))


def test_no_page_refers_to_anything_outside_the_quality_root(platform, runs):
    keys = site_pages(platform)
    assert len(keys) == 1 + 2 + len(RUNS)  # the index, a page per date, a page per run
    for key in keys:
        targets = linked_keys(key, read(platform, key))
        assert targets, key
        for target in targets:
            if not target.startswith("reports/"):  # the daily reports are published beside the site
                assert platform.quality.exists(target), (key, target)


def test_each_run_is_named_and_its_data_asset_is_its_feed(platform, runs):
    for kind, run in runs.items():
        spec, day, _ = RUNS[kind]
        assert run.name == f"{spec.feed.value} {day.isoformat()} {SHA[kind][:12]}"
        page = read(platform, run.page_key)
        assert f"<h1>{run.name}</h1>" in page
        assert f"<dt>Data asset</dt><dd>{spec.feed.value} (feed file)</dd>" in page
        assert run.name in read(platform, data_docs_key(day)) and run.name in read(platform, DATA_DOCS_INDEX)
        stored = json.loads(platform.quality.get(run.result_key))
        assert stored["meta"]["run_id"]["run_name"] == run.name
        assert stored["meta"]["active_batch_definition"]["data_asset_name"] == spec.feed.value
    for key in site_pages(platform):
        page = read(platform, key)
        assert "conformed_feed" not in page and "__none__" not in page and "None" not in page, key


def test_a_published_dataset_run_is_told_by_its_time():
    at = datetime(2020, 8, 4, 6, 2, 11, 123456)
    assert run_name("location_daily", SECOND, None, at) == "location_daily 2020-08-04 20200804T060211Z"


def test_a_run_fails_only_when_a_critical_rule_blocks_it(platform, runs):
    expected = {
        "clean": "Passed",
        "warning": "Passed with warnings",
        "quarantined": "Passed with warnings",
        "blocking": "Failed",
    }
    for kind, status in expected.items():
        page = read(platform, runs[kind].page_key)
        assert f'id="status" class="status {runs[kind].status_css}">{status}</p>' in page, kind
    assert json.loads(platform.quality.get(runs["warning"].result_key))["success"] is False, "GX itself says failed"
    warning = read(platform, runs["warning"].page_key)
    assert '<tr id="rule-bound.beds_vacant_le_total" class="outcome-reported">' in warning
    quarantined = read(platform, runs["quarantined"].page_key)
    assert '<tr id="rule-count.beds_vacant.non_negative" class="outcome-quarantined">' in quarantined
    blocking = read(platform, runs["blocking"].page_key)
    assert '<tr id="rule-id.cqc_location_id.pattern" class="outcome-blocked-the-day">' in blocking
    assert "1, 6, 11, 16" in blocking, "the failing rows are listed"


def test_the_index_lists_every_run_of_both_dates_newest_first(platform, runs):
    index = read(platform, DATA_DOCS_INDEX)
    newest_first = [runs[k] for k in ("blocking", "quarantined", "warning", "clean")]
    positions = [index.index(run.name) for run in newest_first]
    assert positions == sorted(positions)
    assert index.index(f">{SECOND.isoformat()}</a>") < index.index(f">{FIRST.isoformat()}</a>")
    for run in newest_first:
        assert f'data-date="{run.report_date.isoformat()}" data-suite="{run.suite}"' in index


def test_building_one_date_rewrites_that_date_and_the_index_only(platform, reports, runs):
    first = {k: platform.quality.get(k) for k in platform.quality.keys(f"data_docs/report_date={FIRST.isoformat()}/")}
    record_validation(platform, reports["quarantined"], SECOND, "f" * 64)
    build_data_docs(platform, SECOND)
    assert {k: platform.quality.get(k) for k in first} == first
    assert set(platform.quality.keys(f"data_docs/report_date={FIRST.isoformat()}/")) == set(first)
    newest = f"ct_care_homes {SECOND.isoformat()} {'f' * 12}"
    assert newest in read(platform, data_docs_key(SECOND)) and newest in read(platform, DATA_DOCS_INDEX)


def test_dates_not_yet_in_the_site_are_rendered_and_gx_builder_pages_removed(platform, reports, runs):
    platform.quality.delete([SITE_MANIFEST, data_docs_key(FIRST), runs["clean"].page_key])
    gx_page = f"data_docs/report_date={FIRST.isoformat()}/static/styles/data_docs_default_styles.css"
    platform.quality.put(gx_page, b"body {}")
    build_data_docs(platform, SECOND)
    assert platform.quality.exists(data_docs_key(FIRST)) and platform.quality.exists(runs["clean"].page_key)
    assert not platform.quality.exists(gx_page)
    assert runs["clean"].name in read(platform, DATA_DOCS_INDEX)


def test_the_index_shows_only_runs_whose_pages_are_built(platform, reports, runs):
    record_validation(platform, reports["clean"], FIRST, "e" * 64)  # its date's build has not run yet
    build_data_docs(platform, SECOND)
    assert f"ct_home_care {FIRST.isoformat()} {'e' * 12}" not in read(platform, DATA_DOCS_INDEX)


def test_the_daily_report_links_to_its_dates_page():
    link = data_docs_link(FIRST)
    assert posixpath.normpath(posixpath.join(posixpath.dirname(report_key(FIRST)), link)) == data_docs_key(FIRST)
    assert link == "../../data_docs/report_date=2020-08-03/index.html"
