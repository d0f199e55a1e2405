"""The published-dataset suites: location_daily's rules on merged rows, parameters by date, and
JSON edits (new expectations, tolerances) that change the checks with no code change."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime

import pandas as pd
import pytest

from careshare.config import EXPECTATIONS_DIR as EXPECTATIONS
from careshare.datasets import DATASETS, LOCATION_DAILY
from careshare.feeds import FEEDS
from careshare.quality.suites import dataset_parameters, load_suite
from careshare.quality.validate import validate_frame

REPORT_DATE = date(2020, 11, 30)
NORTHAMPTONSHIRE, NORTH_NORTHAMPTONSHIRE = "E10000021", "E06000061"  # the latter from 2021-04-01


def parameters(local_authorities, day: date = REPORT_DATE, **context) -> dict:
    councils = local_authorities.valid_on(day)
    return {**dataset_parameters(day, [c.code for c in councils], [c.region_code for c in councils]), **context}


def location_rows(count: int, day: date = REPORT_DATE, **changes_by_row) -> pd.DataFrame:
    """`count` good merged rows typed as published; `changes_by_row` maps 'row<n>' to cell changes."""
    rows = []
    for n in range(1, count + 1):
        row = {
            "report_date": pd.Timestamp(day),
            "location_id": f"1-{100_000_000 + n}",
            "la_code": "E08000035",
            "la_name": "Leeds",
            "region_code": "E12000003",
            "region_name": "Yorkshire and The Humber",
            "provider_id": "1-101010101",
            "location_name": f"Home {n}",
            "postcode": "LS1 4AP",
            "service_group": "care_home",
            "service_type": "Care home",
            "registration_status": "Registered",
            "deregistered_but_reporting": False,
            "last_updated_at": pd.Timestamp(datetime.combine(day, datetime.min.time()), tz="UTC")
            + pd.Timedelta(hours=9),
            "days_since_update": 0,
            "stale": False,
            "beds_total": 20,
            "beds_vacant": 3,
            "accepting_admissions": "Yes",
            "people_supported": 17,
            "people_covid_confirmed": 1,
            "people_covid_suspected": 0,
            "people_newly_confirmed_today": 0,
            "people_newly_suspected_today": 0,
            "staff_employed": 10,
            "staff_absent_covid": 1,
            "staff_absent_other": 1,
            "staff_newly_confirmed_today": 0,
            "staff_newly_suspected_today": 0,
            "can_provide_more_hours": None,
            "hours_unable_to_deliver": None,
            "unable_to_deliver_care": None,
            "covid_deaths_since_last_update": None,
            **dict.fromkeys(
                ("ppe_masks", "ppe_gloves", "ppe_aprons", "ppe_eye_protection", "ppe_hand_hygiene"), "Blue"
            ),
            "visiting_status": "Restricted",
            "icf_staff_single_site": None,
            "icf_full_pay_when_isolating": None,
            "icf_funding_received": None,
            "source_feed": "ct_care_homes",
            "source_sha256": "0" * 64,
            "source_row": n,
            "source_record_id": str(5000 + n),
            "match_method": "location_id",
            "match_score": 1.0,
            **changes_by_row.get(f"row{n}", {}),
        }
        rows.append(row)
    frame = pd.DataFrame(rows, columns=LOCATION_DAILY.column_names)
    for name in ("days_since_update", "beds_total", "beds_vacant", "staff_employed", "source_row"):
        frame[name] = frame[name].astype("Int32")
    return frame


def validate(frame, local_authorities, suite_path=EXPECTATIONS / "location_daily.json", **context):
    return validate_frame(frame, suite_path, parameters(local_authorities, **context), row_key="location_id")


def test_every_suite_is_a_feed_or_a_published_dataset():
    names = {path.stem for path in EXPECTATIONS.glob("*.json")}
    assert names == {feed.value for feed in FEEDS} | set(DATASETS)
    for name in DATASETS:
        assert load_suite(EXPECTATIONS / f"{name}.json").name == name


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_dataset_suites_check_only_real_columns_and_block_on_any_critical_row(dataset):
    suite = load_suite(EXPECTATIONS / f"{dataset}.json")
    columns = set(DATASETS[dataset].column_names) | set(suite.derived_columns)
    assert suite.document["meta"]["row_key"] in columns
    for expectation in suite.expectations:
        kwargs, meta = expectation["kwargs"], expectation["meta"]
        for key in ("column", "column_A", "column_B"):
            if key in kwargs:
                assert kwargs[key] in columns, meta["rule"]
        if meta["severity"] == "critical":
            assert "mostly" not in kwargs, f"{meta['rule']}: a merged row breaking a critical rule is a bug"


def test_location_daily_suite_has_the_key_rules():
    suite = load_suite(EXPECTATIONS / "location_daily.json")
    rules = {e["meta"]["rule"] for e in suite.expectations}
    assert {
        "key.location_id.unique",
        "ref.la_code.valid_on_date",
        "time.report_date.matches_run",
        "volume.row_count.vs_previous_day",
        "volume.completion.vs_directory",
        "bound.beds_vacant_le_total",
        "registration.deregistered_but_reporting",
    } <= rules


def test_councils_and_answers_follow_the_date(local_authorities):
    before, after = parameters(local_authorities, date(2021, 3, 31)), parameters(local_authorities, date(2021, 4, 1))
    assert NORTHAMPTONSHIRE in before["allowed_la_code"] and NORTH_NORTHAMPTONSHIRE not in before["allowed_la_code"]
    assert NORTH_NORTHAMPTONSHIRE in after["allowed_la_code"] and NORTHAMPTONSHIRE not in after["allowed_la_code"]
    assert "Blue" not in parameters(local_authorities, date(2020, 8, 9))["allowed_ppe"]
    assert "Blue" in parameters(local_authorities, date(2020, 8, 10))["allowed_ppe"]
    assert set(before["allowed_service_type"]) == {
        "Care home",
        "Domiciliary care",
        "Extra care housing",
        "Supported living",
    }


def test_clean_merged_rows_pass(local_authorities):
    report = validate(location_rows(5), local_authorities)

    assert report.success and report.blocking == [] and report.warnings == [] and report.row_failures == []


def test_merged_rows_that_break_critical_rules_block_the_day(local_authorities):
    frame = location_rows(
        40,
        row2={"la_code": NORTH_NORTHAMPTONSHIRE},  # not a council yet on the report date
        row3={"ppe_gloves": "Purple"},
        row4={"report_date": pd.Timestamp(date(2020, 11, 29))},
        row5={"beds_total": 5, "beds_vacant": 9},
        row6={"deregistered_but_reporting": True},
    )
    frame.loc[6, "location_id"] = frame.loc[0, "location_id"]  # two answers for one location

    report = validate(frame, local_authorities)

    assert not report.success
    assert [b.rule for b in report.blocking] == [
        "key.location_id.unique",
        "time.report_date.matches_run",
        "ref.la_code.valid_on_date",
        "answer.ppe_gloves.allowed",
    ]
    assert {w.rule for w in report.warnings} == {
        "bound.beds_vacant_le_total",
        "registration.deregistered_but_reporting",
    }
    by_rule = {f.rule: f for f in report.row_failures}
    assert (by_rule["ref.la_code.valid_on_date"].source_row, by_rule["ref.la_code.valid_on_date"].value) == (
        "1-100000002",
        NORTH_NORTHAMPTONSHIRE,
    )


def test_row_count_against_the_previous_day_and_the_directory(local_authorities):
    frame = location_rows(10)

    steady = validate(frame, local_authorities, previous_day_rows=11, expected_locations=20)
    dropped = validate(frame, local_authorities, previous_day_rows=20, expected_locations=40)
    first_day = validate(frame, local_authorities, previous_day_rows=None, expected_locations=None)

    assert steady.warnings == [] and first_day.warnings == []
    assert [w.rule for w in dropped.warnings] == ["volume.row_count.vs_previous_day", "volume.completion.vs_directory"]
    assert dropped.success, "volume rules are warnings: reported, and the day is still published"


def _copy(tmp_path):
    path = tmp_path / "location_daily.json"
    shutil.copy(EXPECTATIONS / "location_daily.json", path)
    return path, json.loads(path.read_text())


def test_editing_the_dataset_json_changes_the_checks(local_authorities, tmp_path):
    path, document = _copy(tmp_path)
    document["expectations"].append(
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "match_method", "value_set": ["location_id"]},
            "meta": {
                "rule": "match.method.exact_ids_only",
                "severity": "critical",
                "description": "Only rows matched on the CQC location id are published.",
            },
        }
    )
    document["meta"]["row_count_tolerance"] = 0.6
    path.write_text(json.dumps(document))
    frame = location_rows(10, row7={"match_method": "ods_code"})

    shipped = validate(frame, local_authorities, previous_day_rows=20)
    edited = validate(frame, local_authorities, suite_path=path, previous_day_rows=20)

    assert shipped.success and [w.rule for w in shipped.warnings] == ["volume.row_count.vs_previous_day"]
    assert [b.rule for b in edited.blocking] == ["match.method.exact_ids_only"]
    assert edited.warnings == [], "a 50% drop is within the edited 60% tolerance"
    assert [(f.source_row, f.value) for f in edited.row_failures] == [("1-100000007", "ods_code")]


@pytest.mark.parametrize("bad", [1.5, -0.1, "20%", True])
def test_a_tolerance_that_is_not_a_fraction_is_refused(tmp_path, bad):
    from careshare.quality.suites import SuiteError

    path, document = _copy(tmp_path)
    document["meta"]["row_count_tolerance"] = bad
    path.write_text(json.dumps(document))
    with pytest.raises(SuiteError, match="row_count_tolerance"):
        load_suite(path)
