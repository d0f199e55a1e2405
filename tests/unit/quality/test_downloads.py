"""Where held-back and warned rows are placed (never by the CQC id a provider typed alone), the
per-council CSV downloads (Excel-safe), the completion threshold, and the warned rows kept at load."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from careshare.quality.completion import THRESHOLD_ENV, completion_threshold, needing_action_first
from careshare.quality.downloads import csv_bytes, download_key
from careshare.quality.gx_result import RowFailure, Statistics, ValidationReport
from careshare.quality.placement import UNKNOWN_COUNCIL, council_codes, located
from careshare.quality.warned import store_warned_rows, warned_summary
from careshare.warehouse import Warehouse

DAY = date(2020, 11, 30)
COUNCIL_A, COUNCIL_B = "E08000035", "E06000001"  # Leeds, Hartlepool
HOME_A, HOME_B, HOME_B2, HOME_NO_COUNCIL = "1-100000001", "1-100000002", "1-100000003", "1-100000004"
DIRECTORY = pd.DataFrame(
    [
        (HOME_A, "AAA01", "Oak Lodge", "LS1 4AP", "Y", COUNCIL_A),
        (HOME_B, "BBB01", "Rose House Care Home", "TS24 7AA", "Y", COUNCIL_B),
        (HOME_B2, "SHARED", "Ivy Court", "TS24 8BB", "Y", COUNCIL_B),
        (HOME_NO_COUNCIL, "SHARED", "Elm View", "ZZ1 1ZZ", "Y", None),
    ],
    columns=["location_id", "ods_code", "name", "postcode", "care_home", "la_code"],
)


def care_home_row(source_row: int, stage: str = "validate", location_id: str | None = None, **cells: str) -> dict:
    record = {"CT_Home_ID": str(5000 + source_row), "CQC_Location_ID": HOME_A, "ODS_Code": "", "Home_Name": "",
              "Postcode": "", "Beds_Vacant": "-5", **cells}  # fmt: skip
    return {
        "feed": "ct_care_homes",
        "source_sha256": "a" * 64,
        "source_row": source_row,
        "stage": stage,
        "raw_record": json.dumps(record),
        "location_id": location_id,
    }


def place(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["location_id"] = located(frame, DIRECTORY, DAY)
    return frame.assign(la_code=council_codes(frame["location_id"], DIRECTORY))


def test_a_row_typing_another_councils_cqc_id_goes_where_the_merges_rules_match_it():
    placed = place(
        [
            care_home_row(1, ODS_Code="bbb01"),
            care_home_row(2, Home_Name="ROSE HOUSE CARE HOME LTD", Postcode="ts247aa"),
            care_home_row(3, ODS_Code="SHARED", Home_Name="Ivy Court", Postcode="TS24 8BB"),
        ]
    )
    assert placed[["location_id", "la_code"]].values.tolist() == [
        [HOME_B, COUNCIL_B],
        [HOME_B, COUNCIL_B],
        [HOME_B2, COUNCIL_B],
    ]


def test_a_row_matched_to_nothing_is_never_placed_by_its_typed_cqc_id():
    placed = place(
        [
            care_home_row(1),  # the typed id alone
            care_home_row(2, Home_Name="Nowhere House", Postcode="LS1 4AP"),  # no name fits at the postcode
            care_home_row(3, ODS_Code="SHARED"),  # two locations carry the ODS code
            {**care_home_row(4), "raw_record": json.dumps({"CQC_Location_ID": HOME_A})[:20]},  # cut short
            {**care_home_row(5, stage="parse"), "raw_record": json.dumps({"_record": f"5001,{HOME_A},,,"})},
        ]
    )
    assert placed["la_code"].tolist() == [UNKNOWN_COUNCIL] * 5
    assert placed["location_id"].isna().all()


def test_rows_the_merge_held_keep_its_match_and_its_councils_code():
    placed = place(
        [
            care_home_row(1, stage="merge", location_id=HOME_NO_COUNCIL),  # match.unknown_la
            care_home_row(2, stage="merge", ODS_Code="BBB01"),  # match.unmatched
            care_home_row(3, ODS_Code="BBB01"),
            {**care_home_row(3, ODS_Code="BBB01"), "stage": "validate"},  # the same row, a second rule
        ]
    )
    assert placed["location_id"].iloc[0] == HOME_NO_COUNCIL and pd.isna(placed["location_id"].iloc[1])
    assert placed["la_code"].tolist() == [UNKNOWN_COUNCIL, UNKNOWN_COUNCIL, COUNCIL_B, COUNCIL_B]


def test_a_day_without_rows_held_before_the_merge_places_nothing_new():
    assert located(pd.DataFrame(columns=list(care_home_row(1))), DIRECTORY, DAY).empty
    merge_only = place([care_home_row(1, stage="merge", location_id=HOME_B), care_home_row(2, stage="merge")])
    assert merge_only["la_code"].tolist() == [COUNCIL_B, UNKNOWN_COUNCIL]


def test_downloads_are_excel_safe_csv():
    rows = pd.DataFrame({"source_row": [7, 8], "value": ["-5", None], "message": ['=HYPERLINK("x")', "Vacant beds: é"]})
    data = csv_bytes(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").split("\r\n") == [
        "source_row,value,message",
        '7,\'-5,"\'=HYPERLINK(""x"")"',
        "8,,Vacant beds: é",
        "",
    ]


def test_download_keys_are_per_council_beside_the_report():
    assert download_key(DAY, "warned", COUNCIL_A) == f"reports/report_date=2020-11-30/warned/la_code={COUNCIL_A}.csv"
    assert download_key(DAY, "quarantined", UNKNOWN_COUNCIL).endswith("/quarantined/la_code=unknown.csv")
    with pytest.raises(ValueError, match="not an ONS council code"):
        download_key(DAY, "warned", "../E08000035")


@pytest.mark.parametrize(("setting", "share"), [(None, 0.5), ("30", 0.3), ("12.5%", 0.125), ("0", 0.0)])
def test_the_completion_threshold_is_a_percentage(monkeypatch, setting, share):
    if setting is None:
        monkeypatch.delenv(THRESHOLD_ENV, raising=False)
    else:
        monkeypatch.setenv(THRESHOLD_ENV, setting)
    assert completion_threshold() == share


@pytest.mark.parametrize("setting", ["half", "150", "-1"])
def test_a_threshold_that_is_not_a_percentage_is_refused(monkeypatch, setting):
    monkeypatch.setenv(THRESHOLD_ENV, setting)
    with pytest.raises(ValueError, match=THRESHOLD_ENV):
        completion_threshold()


def test_councils_under_the_threshold_come_first_worst_first():
    councils = pd.DataFrame(
        {
            "la_name": ["Leeds", "Hartlepool", "Bury", "Rutland", "York"],
            "completion": pd.array([0.9, 0.4, None, 0.1, 0.5], dtype="Float64"),
        }
    )
    ordered = needing_action_first(councils, 0.5)
    assert ordered["la_name"].tolist() == ["Rutland", "Hartlepool", "Leeds", "Bury", "York"]
    assert ordered["below_threshold"].tolist() == [True, True, False, False, False]


def test_the_warned_summary_counts_rows_once_and_those_published():
    rows = pd.DataFrame(
        [
            ("ct_care_homes", 1, "bound.beds_vacant_le_total", "published", "m1"),
            ("ct_care_homes", 1, "time.days_since_update.recent", "published", "m2"),
            ("ct_care_homes", 2, "bound.beds_vacant_le_total", "superseded", "m3"),
        ],
        columns=["feed", "source_row", "rule", "outcome", "message"],
    )
    summary = warned_summary(rows)
    assert (summary["rows"], summary["published"]) == (2, 1)
    assert [(r["rule"], r["rows"], r["published"]) for r in summary["by_rule"]] == [
        ("bound.beds_vacant_le_total", 2, 1),
        ("time.days_since_update.recent", 1, 1),
    ]


def report_with(*failures: RowFailure) -> ValidationReport:
    return ValidationReport("ct_care_homes", True, list(failures), [], [], Statistics(0, 0, 0, 0, 0), {})


def test_a_loads_warned_rows_replace_the_feed_days_and_leave_out_quarantined_rows(warehouse_url):
    warehouse = Warehouse(warehouse_url)
    warehouse.migrate()
    delivery = {"feed": "ct_care_homes", "report_date": DAY, "sha256": "b" * 64}
    warning = RowFailure(3, "bound.beds_vacant_le_total", "warning", "beds_vacant, beds_total", "9, 5", "m " * 1500)
    try:
        with warehouse.transaction() as connection:
            store_warned_rows(warehouse, connection, {**delivery, "sha256": "a" * 64}, report_with(warning), set())
        with warehouse.transaction() as connection:
            held = RowFailure(4, "bound.beds_vacant_le_total", "warning", "beds_vacant", "7", "m")
            critical = RowFailure(5, "count.beds_vacant.non_negative", "critical", "beds_vacant", "-1", "m")
            store_warned_rows(warehouse, connection, delivery, report_with(warning, held, critical), {4, 5})
        with warehouse.engine.connect() as connection:
            stored = connection.execute(sa.text("SELECT source_sha256, source_row, message FROM warned_row")).all()
    finally:
        warehouse.engine.dispose()
    assert [(sha, row) for sha, row, _ in stored] == [("b" * 64, 3)]
    assert len(stored[0][2]) <= 2000
