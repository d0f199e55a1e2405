"""validate_frame on conformed frames with known bad rows: exact rules, rows, and what blocks."""

from __future__ import annotations

import json
from datetime import date

import pytest

from careshare.feeds import CQC_UPDATE, CT_CARE_HOMES, CT_HOME_CARE
from careshare.quality.validate import suite_parameters_for, validate_frame

BEFORE_BLUE = date(2020, 8, 3)
AFTER_BLUE = date(2020, 9, 1)
PADDING = [{}] * 33  # enough good rows that one bad row per rule stays under 5%


def failures(report) -> set[tuple[int, str]]:
    return {(f.source_row, f.rule) for f in report.row_failures}


def care_home_changes() -> list[dict[str, str]]:
    return [
        {},
        {"CQC_Location_ID": "X-12"},
        {"Beds_Vacant": "-3"},
        {"Beds_Total": "20", "Beds_Vacant": "25"},
        {"Last_Updated": "04/08/2020 10:00"},
        {"PPE_Masks": "Blue"},
        {"Visiting_Status": "Maybe"},
        {"CQC_Location_ID": ""},  # CT may leave the id blank
        {"CQC_Location_ID": " 123456789 "},  # conform restores the 1-
        {"CT_Home_ID": "5001"},  # the id of row 1 again
        *PADDING,
    ]


def test_care_home_bad_rows_are_reported_by_rule_and_source_row(build, suite_for):
    frame = build(CT_CARE_HOMES, BEFORE_BLUE, care_home_changes())

    report = validate_frame(frame, suite_for(CT_CARE_HOMES), suite_parameters_for(CT_CARE_HOMES, BEFORE_BLUE))

    assert failures(report) == {
        (2, "id.cqc_location_id.pattern"),
        (3, "count.beds_vacant.non_negative"),
        (4, "bound.beds_vacant_le_total"),
        (5, "time.submitted_at.not_after_report_date"),
        (5, "time.days_since_update.non_negative"),
        (6, "answer.ppe_masks.allowed"),
        (7, "answer.visiting_status.allowed"),
        (1, "id.record_id.unique"),
        (10, "id.record_id.unique"),
    }
    assert report.quarantined_rows == [2, 3, 5, 6, 7]
    assert report.success and report.blocking == []
    assert [w.rule for w in report.warnings] == ["id.record_id.unique", "bound.beds_vacant_le_total"]
    by_rule = {f.rule: f for f in report.row_failures}
    assert (by_rule["id.cqc_location_id.pattern"].column, by_rule["id.cqc_location_id.pattern"].value) == (
        "cqc_location_id",
        "X-12",
    )
    assert by_rule["bound.beds_vacant_le_total"].severity == "warning"
    assert by_rule["bound.beds_vacant_le_total"].value == "beds_total = 20, beds_vacant = 25"
    assert by_rule["answer.ppe_masks.allowed"].value == "Blue"
    assert report.statistics.rows == 43 and report.statistics.rows_quarantined == 5


@pytest.mark.parametrize(
    ("spec", "report_date", "change"),
    [
        (CT_CARE_HOMES, date(2020, 8, 3), {}),
        (CT_CARE_HOMES, date(2021, 2, 1), {"PPE_Gloves": "Blue"}),
        (
            CT_HOME_CARE,
            date(2020, 12, 1),
            {"Service_Type": "supported LIVING"},
        ),
        (CT_HOME_CARE, date(2021, 2, 1), {"ICF_Staff_Single_Site": "Partially"}),
        (
            CQC_UPDATE,
            date(2020, 6, 2),
            {"service_type": "extra_care", "submitted_at": "2020-06-02T23:30:00+01:00"},
        ),
    ],
    ids=["care_homes", "care_homes_icf", "home_care_pre_icf", "home_care_icf", "cqc_extended"],
)
def test_clean_files_pass_every_rule(build, suite_for, spec, report_date, change):
    frame = build(spec, report_date, [{}, change, {}])

    report = validate_frame(frame, suite_for(spec), suite_parameters_for(spec, report_date))

    assert report.row_failures == [] and report.blocking == [] and report.warnings == []
    assert report.success and report.statistics.unsuccessful == 0


def test_blue_ppe_is_allowed_from_2020_08_10(build, suite_for):
    frame = build(CT_CARE_HOMES, AFTER_BLUE, [{"PPE_Masks": "Blue", "Last_Updated": "01/09/2020 08:00"}])

    report = validate_frame(frame, suite_for(CT_CARE_HOMES), suite_parameters_for(CT_CARE_HOMES, AFTER_BLUE))

    assert report.row_failures == [] and report.success


def test_staff_absences_are_summed_before_the_bound(build, suite_for):
    changes = [{"Staff_Employed": "10", "Staff_Absent_Covid": "6", "Staff_Absent_Other": "6"}, *PADDING]
    frame = build(CT_CARE_HOMES, BEFORE_BLUE, changes)

    report = validate_frame(frame, suite_for(CT_CARE_HOMES), suite_parameters_for(CT_CARE_HOMES, BEFORE_BLUE))

    [failure] = report.row_failures
    assert (failure.source_row, failure.rule, failure.severity) == (
        1,
        "bound.staff_absent_le_employed",
        "warning",
    )
    assert failure.value == "staff_employed = 10, staff_absent_total = 12"
    assert report.success


def test_home_care_bad_rows(build, suite_for):
    report_date = date(2021, 2, 1)  # ICF questions present
    changes = [
        {"CQC_Location_ID": "1-12"},
        {"Care_Workers_Employed": "5", "Care_Workers_Absent_Covid": "6"},
        {"Service_Type": "Nursing"},
        {"ICF_Funding_Received": "Maybe"},
        {"Hours_Unable_To_Deliver": "-1"},
        {"People_Supported": "3", "People_Covid_Confirmed": "4"},
        {"Last_Updated": "02/02/2021 00:30"},
        *PADDING,
    ]
    frame = build(CT_HOME_CARE, report_date, changes)

    report = validate_frame(frame, suite_for(CT_HOME_CARE), suite_parameters_for(CT_HOME_CARE, report_date))

    assert failures(report) == {
        (1, "id.cqc_location_id.pattern"),
        (2, "bound.staff_absent_le_employed"),
        (3, "answer.service_type.allowed"),
        (4, "answer.icf_funding_received.allowed"),
        (5, "count.hours_unable_to_deliver.non_negative"),
        (6, "bound.people_covid_confirmed_le_supported"),
        (7, "time.submitted_at.not_after_report_date"),
        (7, "time.days_since_update.non_negative"),
    }
    assert report.quarantined_rows == [1, 3, 4, 5, 7]
    assert report.success


def test_cqc_bad_rows(build, suite_for):
    report_date = date(2020, 5, 20)  # before extra care and supported living joined the form
    changes = [
        {"location_id": ""},
        {"provider_id": "P-1"},
        {"submitted_at": "2020-05-21T09:00:00+01:00"},
        {"submitted_at": "20/05/2020 09:00"},  # wrong format: conform leaves it null
        {"ppe_masks_days": "-2"},
        {"service_type": "extra_care"},
        {"unable_to_deliver_care": "maybe"},
        {"staff_total": "2", "staff_absent_covid": "3"},
        {"submitted_at": "2020-05-20T23:59:59+01:00"},  # last second of the day in UK time
        *PADDING,
    ]
    frame = build(CQC_UPDATE, report_date, changes)

    report = validate_frame(frame, suite_for(CQC_UPDATE), suite_parameters_for(CQC_UPDATE, report_date))

    assert failures(report) == {
        (1, "id.record_id.not_null"),
        (1, "id.cqc_location_id.not_null"),
        (2, "id.provider_id.pattern"),
        (3, "time.submitted_at.not_after_report_date"),
        (3, "time.days_since_update.non_negative"),
        (4, "time.submitted_at.not_null"),
        (5, "count.ppe_masks_days.non_negative"),
        (6, "answer.service_type.allowed"),
        (7, "answer.unable_to_deliver_care.allowed"),
        (8, "bound.staff_absent_le_employed"),
    }
    by_rule = {f.rule: f for f in report.row_failures}
    assert by_rule["answer.service_type.allowed"].value == "Extra care housing"  # harmonised spelling
    assert by_rule["id.cqc_location_id.not_null"].value is None


def test_ten_percent_bad_ids_block_the_feed_day(build, suite_for):
    changes = [{"CQC_Location_ID": "BAD"} if n in (4, 13) else {} for n in range(20)]
    frame = build(CT_CARE_HOMES, BEFORE_BLUE, changes)

    report = validate_frame(frame, suite_for(CT_CARE_HOMES), suite_parameters_for(CT_CARE_HOMES, BEFORE_BLUE))

    assert not report.success
    [blocking] = report.blocking
    assert (blocking.rule, blocking.severity, blocking.unexpected_count) == (
        "id.cqc_location_id.pattern",
        "critical",
        2,
    )
    assert blocking.unexpected_percent == pytest.approx(10.0)
    assert "5%" in blocking.message
    assert report.quarantined_rows == [5, 14]


def test_a_warning_only_problem_does_not_block(build, suite_for):
    changes = [{"Beds_Total": "5", "Beds_Vacant": "9"} if n % 4 == 0 else {} for n in range(20)]
    frame = build(CT_CARE_HOMES, BEFORE_BLUE, changes)

    report = validate_frame(frame, suite_for(CT_CARE_HOMES), suite_parameters_for(CT_CARE_HOMES, BEFORE_BLUE))

    assert report.success and report.blocking == []
    [warning] = report.warnings
    assert (warning.rule, warning.unexpected_count) == ("bound.beds_vacant_le_total", 5)
    assert {f.source_row for f in report.row_failures} == {1, 5, 9, 13, 17}
    assert report.quarantined_rows == []


def test_a_missing_column_blocks_with_a_table_rule(build, suite_for):
    frame = build(CT_CARE_HOMES, BEFORE_BLUE, [{}, {}]).drop(columns=["beds_vacant"])

    report = validate_frame(frame, suite_for(CT_CARE_HOMES), suite_parameters_for(CT_CARE_HOMES, BEFORE_BLUE))

    blocking = {f.rule: f for f in report.blocking}
    assert "missing column(s) beds_vacant" in blocking["table.columns.required"].message
    assert "Could not be checked" in blocking["count.beds_vacant.non_negative"].message
    assert blocking["table.columns.required"].unexpected_count is None
    assert [w.rule for w in report.warnings] == ["bound.beds_vacant_le_total"]


def test_an_empty_frame_blocks(build, suite_for):
    frame = build(CT_CARE_HOMES, BEFORE_BLUE, [{}]).iloc[0:0]

    report = validate_frame(frame, suite_for(CT_CARE_HOMES), suite_parameters_for(CT_CARE_HOMES, BEFORE_BLUE))

    assert [f.rule for f in report.blocking] == ["table.row_count.min"]


def test_report_is_plain_data_and_the_gx_result_is_json(build, suite_for):
    frame = build(CT_CARE_HOMES, BEFORE_BLUE, care_home_changes())

    report = validate_frame(frame, suite_for(CT_CARE_HOMES), suite_parameters_for(CT_CARE_HOMES, BEFORE_BLUE))

    stored = json.loads(json.dumps(report.gx_result))
    assert stored["statistics"]["evaluated_expectations"] == report.statistics.evaluated
    assert report.statistics.evaluated == report.statistics.successful + report.statistics.unsuccessful
    assert {type(f.source_row) for f in report.row_failures} == {int}
    assert report.suite == "ct_care_homes"


def test_the_gx_result_names_its_data_asset_after_the_feed(build, suite_for):
    for spec, report_date in ((CT_CARE_HOMES, BEFORE_BLUE), (CT_HOME_CARE, AFTER_BLUE), (CT_CARE_HOMES, AFTER_BLUE)):
        frame = build(spec, report_date, [{}])

        report = validate_frame(frame, suite_for(spec), suite_parameters_for(spec, report_date))

        batch = report.gx_result["meta"]["active_batch_definition"]
        assert (batch["datasource_name"], batch["data_asset_name"]) == ("careshare", spec.feed.value)
