"""The JSON suites: shape checks with clear errors, parameters from feeds.py, edits take effect."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest

from careshare.feeds import CQC_UPDATE, CT_CARE_HOMES, CT_HOME_CARE, RAG, RAG_WITH_BLUE, FeedSpec
from careshare.quality.suites import SuiteError, load_suite, suite_parameters_for
from careshare.quality.validate import validate_feed, validate_frame

SPECS = [CT_CARE_HOMES, CT_HOME_CARE, CQC_UPDATE]
MAP_TYPES = ("expect_column_values_", "expect_column_pair_values_")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.feed.value)
def test_shipped_suites_load_and_follow_the_severity_policy(spec: FeedSpec, suite_for):
    suite = load_suite(suite_for(spec))

    assert suite.name == spec.feed.value
    rules = {e["meta"]["rule"]: e for e in suite.expectations}
    for rule in ("table.columns.required", "table.row_count.min", "id.record_id.not_null",
                 "id.cqc_location_id.pattern", "time.submitted_at.not_null",
                 "time.submitted_at.not_after_report_date", "time.days_since_update.non_negative",
                 "bound.staff_absent_le_employed", "bound.people_covid_confirmed_le_supported",
                 "answer.ppe_masks.allowed"):  # fmt: skip
        assert rule in rules, rule
    for expectation in suite.expectations:
        meta = expectation["meta"]
        row_level = expectation["type"].startswith(MAP_TYPES)
        if meta["severity"] == "critical" and row_level and expectation["type"] != "expect_column_values_to_be_unique":
            assert expectation["kwargs"].get("mostly") == 0.95, meta["rule"]
        if meta["rule"].startswith("bound."):
            assert meta["severity"] == "warning", meta["rule"]
        if meta["rule"].startswith(("count.", "table.")):
            assert meta["severity"] == "critical", meta["rule"]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.feed.value)
@pytest.mark.parametrize("report_date", [date(2020, 5, 20), date(2020, 12, 1), date(2021, 2, 1)])
def test_feeds_py_supplies_every_parameter_a_suite_uses(spec: FeedSpec, report_date: date, suite_for):
    suite = load_suite(suite_for(spec))
    assert suite.parameter_names() <= set(suite.with_derived_parameters(suite_parameters_for(spec, report_date)))


def test_parameters_follow_the_timeline():
    assert suite_parameters_for(CT_CARE_HOMES, date(2020, 8, 9))["allowed_ppe"] == list(RAG)
    assert suite_parameters_for(CT_CARE_HOMES, date(2020, 8, 10))["allowed_ppe"] == list(RAG_WITH_BLUE)
    assert suite_parameters_for(CQC_UPDATE, date(2020, 5, 31))["allowed_service_type"] == ["Domiciliary care"]
    assert suite_parameters_for(CQC_UPDATE, date(2020, 6, 1))["allowed_service_type"] == [
        "Domiciliary care",
        "Extra care housing",
        "Supported living",
    ]
    assert suite_parameters_for(CQC_UPDATE, date(2020, 9, 1))["allowed_unable_to_deliver_care"] == [
        "Yes",
        "No",
    ]
    assert suite_parameters_for(CQC_UPDATE, date(2020, 9, 1))["allowed_ppe"] == list(RAG)


@pytest.mark.parametrize(
    ("report_date", "latest"),
    [
        (date(2020, 9, 1), "2020-09-01T22:59:59.999999+00:00"),  # BST
        (date(2020, 12, 1), "2020-12-01T23:59:59.999999+00:00"),  # GMT
        (date(2020, 10, 25), "2020-10-25T23:59:59.999999+00:00"),  # clocks went back that morning
    ],
)
def test_latest_valid_submission_is_the_end_of_the_uk_day(report_date, latest):
    assert suite_parameters_for(CT_CARE_HOMES, report_date)["latest_valid_submission"] == latest


def _copy(suite_for, tmp_path, spec=CT_CARE_HOMES):
    path = tmp_path / f"{spec.feed.value}.json"
    shutil.copy(suite_for(spec), path)
    return path, json.loads(path.read_text())


def test_adding_an_expectation_to_the_json_adds_a_check(build, suite_for, tmp_path):
    path, document = _copy(suite_for, tmp_path)
    document["expectations"].append(
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "beds_total", "max_value": 400},
            "meta": {
                "rule": "bound.beds_total.plausible",
                "severity": "warning",
                "description": "No care home in England has more than 400 beds.",
            },
        }
    )
    path.write_text(json.dumps(document))
    report_date = date(2020, 8, 3)
    frame = build(CT_CARE_HOMES, report_date, [{}, {"Beds_Total": "500", "Beds_Vacant": "3"}, {}])

    before = validate_feed(frame, CT_CARE_HOMES, report_date, suite_for(CT_CARE_HOMES).parent)
    after = validate_feed(frame, CT_CARE_HOMES, report_date, tmp_path)

    assert before.row_failures == []
    assert [(f.source_row, f.rule, f.value) for f in after.row_failures] == [(2, "bound.beds_total.plausible", "500")]
    assert [w.rule for w in after.warnings] == ["bound.beds_total.plausible"]
    assert after.success


def _broken(suite_for, tmp_path, edit) -> str:
    path, document = _copy(suite_for, tmp_path)
    edit(document)
    path.write_text(json.dumps(document))
    with pytest.raises(SuiteError) as raised:
        load_suite(path)
    message = str(raised.value)
    assert str(path) in message
    return message


def test_missing_severity_is_named(suite_for, tmp_path):
    message = _broken(suite_for, tmp_path, lambda d: d["expectations"][3]["meta"].pop("severity"))
    assert "expectations[3]" in message and "meta.severity" in message


def test_unknown_expectation_type_is_named(suite_for, tmp_path):
    def edit(document):
        document["expectations"][2]["type"] = "expect_column_values_to_be_lovely"

    message = _broken(suite_for, tmp_path, edit)
    assert "expect_column_values_to_be_lovely" in message and "expectations[2]" in message


def test_bad_kwargs_are_named(suite_for, tmp_path):
    message = _broken(suite_for, tmp_path, lambda d: d["expectations"][4]["kwargs"].pop("column"))
    assert "expectations[4]" in message and "id.record_id.not_null" in message


def test_duplicate_rule_ids_are_refused(suite_for, tmp_path):
    def edit(document):
        document["expectations"][3]["meta"]["rule"] = document["expectations"][2]["meta"]["rule"]

    assert "used twice" in _broken(suite_for, tmp_path, edit)


def test_missing_description_and_bad_rule_id_are_refused(suite_for, tmp_path):
    assert "description" in _broken(suite_for, tmp_path, lambda d: d["expectations"][0]["meta"].pop("description"))
    assert "meta.rule" in _broken(
        suite_for, tmp_path, lambda d: d["expectations"][0]["meta"].update(rule="Beds Vacant")
    )


def test_invalid_json_is_named(tmp_path):
    path = tmp_path / "ct_care_homes.json"
    path.write_text('{"name": "ct_care_homes", "expectations": [')
    with pytest.raises(SuiteError, match="not valid JSON"):
        load_suite(path)


def test_a_parameter_without_a_value_is_refused(build, suite_for):
    report_date = date(2020, 8, 3)
    frame = build(CT_CARE_HOMES, report_date, [{}])
    parameters = suite_parameters_for(CT_CARE_HOMES, report_date)
    del parameters["allowed_ppe"]

    with pytest.raises(SuiteError, match="allowed_ppe"):
        validate_frame(frame, suite_for(CT_CARE_HOMES), parameters)


@pytest.mark.parametrize(
    ("previous", "expected", "bounds"),
    [
        (100, 1000, (80, 120, 400)),  # ct_care_homes: 20% either way, 40% completion
        (None, None, (0, None, 0)),  # no previous day, no directory: no bounds
        (7, 3, (5, 9, 2)),  # rounded outwards
    ],
)
def test_tolerances_in_the_suite_turn_the_day_into_bounds(suite_for, previous, expected, bounds):
    suite = load_suite(suite_for(CT_CARE_HOMES))
    derived = suite.with_derived_parameters({"previous_day_rows": previous, "expected_locations": expected})
    assert (derived["row_count_low"], derived["row_count_high"], derived["completion_floor"]) == bounds


def test_a_file_far_smaller_than_the_previous_day_is_reported_not_blocked(build, suite_for):
    report_date = date(2020, 8, 3)
    frame = build(CT_CARE_HOMES, report_date, [{}] * 10)
    parameters = {**suite_parameters_for(CT_CARE_HOMES, report_date), "previous_day_rows": 20}

    report = validate_frame(frame, suite_for(CT_CARE_HOMES), parameters)

    assert [w.rule for w in report.warnings] == ["volume.row_count.vs_previous_day"]
    assert report.success and "Observed: 10" in report.warnings[0].message


def test_a_cqc_submission_from_another_day_is_reported(build, suite_for):
    report_date = date(2020, 6, 2)
    frame = build(CQC_UPDATE, report_date, [{}, {"submitted_at": "2020-05-29T16:00:00+01:00"}, {}])

    report = validate_frame(frame, suite_for(CQC_UPDATE), suite_parameters_for(CQC_UPDATE, report_date))

    assert [(f.source_row, f.rule, f.severity) for f in report.row_failures] == [
        (2, "time.submitted_at.on_report_date", "warning")
    ]
