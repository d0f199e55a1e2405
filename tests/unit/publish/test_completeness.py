"""A report date's feed completeness: each feed_day state as published, the manifest block, the
index summary, a release restated when only the completeness changes, and the la_daily_summary suite."""

import json
from datetime import date

import pandas as pd
import pytest

from careshare.config import EXPECTATIONS_DIR
from careshare.datasets import DATASETS, FEED_STATUSES, LA_DAILY_SUMMARY, LOCATION_DAILY
from careshare.feeds import CQC_UPDATE, CT_CARE_HOMES, CT_HOME_CARE, FEEDS
from careshare.publish import completeness as published
from careshare.publish.completeness import Completeness, FeedState, feed_state, summary
from careshare.quality.suites import dataset_parameters
from careshare.quality.validate import validate_frame
from tests.unit.publish.synthetic import synthetic_table

TUESDAY, SATURDAY = date(2020, 12, 1), date(2020, 12, 5)
BEFORE_HOME_CARE = date(2020, 11, 27)  # a Friday: CT home care opens on 2020-11-30
COUNCILS = {"E06000001": 3, "E08000035": 4}
HOME_CARE = CT_HOME_CARE.feed.value
SUITE = EXPECTATIONS_DIR / "la_daily_summary.json"


@pytest.mark.parametrize(
    ("status", "rule", "expected"),
    [
        ("loaded", None, FeedState("ct_home_care", "loaded")),
        ("failed", "file.truncated", FeedState("ct_home_care", "failed", published.UNUSABLE_FILE, "file.truncated")),
        (
            "failed",
            "ppe.masks.allowed",
            FeedState("ct_home_care", "failed", published.FAILED_RULE, "ppe.masks.allowed"),
        ),
        (
            "failed",
            "load.unexpected",
            FeedState("ct_home_care", "failed", published.NOT_LOADED, "load.unexpected"),
        ),
        (
            "expired",
            "delivery.expired",
            FeedState("ct_home_care", "missing", published.EXPIRED, "delivery.expired"),
        ),
        (
            "failed",
            "delivery.missing",
            FeedState("ct_home_care", "missing", published.NOT_DELIVERED, "delivery.missing"),
        ),
        ("expired", None, FeedState("ct_home_care", "missing", published.EXPIRED)),
        ("absent", None, FeedState("ct_home_care", "not_collected", published.OUTSIDE_COLLECTION)),
        (None, None, FeedState("ct_home_care", "missing", published.NOT_RECORDED)),
    ],
)
def test_each_recorded_state_is_published_with_its_status_and_a_fixed_reason(status, rule, expected):
    assert feed_state(CT_HOME_CARE, TUESDAY, status, rule) == expected


@pytest.mark.parametrize(("spec", "day"), [(CQC_UPDATE, SATURDAY), (CT_HOME_CARE, BEFORE_HOME_CARE)])
def test_a_feed_the_contract_does_not_collect_needs_no_row(spec, day):
    assert feed_state(spec, day, None, None).status == "not_collected"


def test_every_published_status_is_documented_and_every_reason_is_short():
    recorded = [("loaded", None), ("failed", "file.csv"), ("expired", None), ("absent", None), ("other", None)]
    states = [feed_state(CT_HOME_CARE, TUESDAY, status, rule) for status, rule in recorded]
    assert {s.status for s in states} == set(FEED_STATUSES)
    assert all(len(s.reason or "") <= 80 for s in states)


def test_the_manifest_block_lists_collected_feeds_and_expected_absences_apart():
    day = Completeness(
        (
            feed_state(CT_CARE_HOMES, SATURDAY, "loaded", None),
            feed_state(CT_HOME_CARE, SATURDAY, "failed", "file.truncated"),
            feed_state(CQC_UPDATE, SATURDAY, "absent", None),
        )
    )
    assert day.document() == {
        "complete": False,
        "feeds": {
            "ct_care_homes": {"status": "loaded", "rule": None, "reason": None},
            "ct_home_care": {"status": "failed", "rule": "file.truncated", "reason": published.UNUSABLE_FILE},
        },
        "not_collected": {"cqc_update": published.OUTSIDE_COLLECTION},
    }
    assert summary(day.document()) == {
        "complete": False,
        "failed": ["ct_home_care"],
        "missing": [],
        "not_collected": ["cqc_update"],
    }


def test_an_expected_absence_leaves_the_date_complete():
    saturday = Completeness(tuple(feed_state(spec, SATURDAY, None, None) for spec in (CQC_UPDATE,)))
    loaded = Completeness((feed_state(CT_CARE_HOMES, SATURDAY, "loaded", None), *saturday.feeds))
    assert saturday.complete and loaded.complete
    assert summary(loaded.document()) == {
        "complete": True,
        "failed": [],
        "missing": [],
        "not_collected": ["cqc_update"],
    }


def completeness_of(ct_home_care: str, rule: str | None = None) -> dict:
    return Completeness(
        (
            feed_state(CT_CARE_HOMES, TUESDAY, "loaded", None),
            feed_state(CT_HOME_CARE, TUESDAY, ct_home_care, rule),
            feed_state(CQC_UPDATE, TUESDAY, "loaded", None),
        )
    ).document()


def read_json(store, key):
    return json.loads(store.get(key))


def test_a_change_of_completeness_alone_restates_every_manifest_and_index(store, release):
    table = synthetic_table(LOCATION_DAILY, TUESDAY, COUNCILS)
    failed, corrected = completeness_of("failed", "file.truncated"), completeness_of("loaded")
    first = release(table, TUESDAY, completeness=failed)
    files = set(store.keys("location_daily/la_code=E08000035/_releases/"))

    again = release(table, TUESDAY, completeness=failed)
    restated = release(table, TUESDAY, completeness=corrected)

    assert (first.complete, again.new, restated.version, restated.complete) == (False, False, 2, True)
    manifest = read_json(store, restated.manifest_key)
    assert manifest["completeness"] == corrected and manifest["changes"]["unchanged"] == 7
    assert not any(part["files_changed"] for part in manifest["parts"].values())
    for la_code in COUNCILS:
        index = read_json(store, f"location_daily/la_code={la_code}/_index.json")
        versions = index["report_dates"][TUESDAY.isoformat()]["versions"]
        assert [v["completeness"]["complete"] for v in versions] == [False, True]
        assert index["latest"]["completeness"] == summary(corrected)
        mine = read_json(store, index["latest"]["manifest"])
        assert (mine["version"], mine["completeness"]) == (2, corrected)
        assert read_json(store, versions[0]["manifest"])["completeness"] == failed, "version 1 keeps what it said"
    assert set(store.keys("location_daily/la_code=E08000035/_releases/")) - files == {
        "location_daily/la_code=E08000035/_releases/report_date=2020-12-01/v0002.json"
    }, "no file is uploaded again"
    assert read_json(store, "_manifests/location_daily/latest.json")["completeness"] == summary(corrected)


def summary_rows(local_authorities, **feed_columns) -> pd.DataFrame:
    rows = []
    for council in local_authorities.valid_on(TUESDAY):
        row = {f.name: 0 if f.type == "int32" else None for f in LA_DAILY_SUMMARY.fields}
        row |= {
            "report_date": pd.Timestamp(TUESDAY),
            "la_code": council.code,
            "la_name": council.name,
            "region_code": council.region_code,
            "region_name": council.region_name,
            **{f"{feed}_status": "loaded" for feed in FEEDS},
        }
        rows.append(row | feed_columns.get(council.code, {}))
    return pd.DataFrame(rows, columns=LA_DAILY_SUMMARY.column_names)


def validate_summary(frame, local_authorities):
    councils = local_authorities.valid_on(TUESDAY)
    parameters = dataset_parameters(TUESDAY, [c.code for c in councils], [c.region_code for c in councils])
    return validate_frame(frame, SUITE, parameters, row_key="la_code")


def test_the_summary_suite_checks_the_feed_columns(local_authorities):
    problem = {"ct_home_care_status": "failed", "feeds_missing_or_failed": 1, "feed_problems": "ct_home_care failed"}
    incomplete = summary_rows(local_authorities, **{c.code: problem for c in local_authorities.valid_on(TUESDAY)})
    one_council_differs = summary_rows(local_authorities, E08000035=problem)
    unknown = summary_rows(local_authorities, E08000035={"cqc_update_status": "expired"})

    assert validate_summary(incomplete, local_authorities).success
    assert {b.rule for b in validate_summary(one_council_differs, local_authorities).blocking} == {
        "feed.ct_home_care_status.same_for_every_council",
        "feed.feeds_missing_or_failed.same_for_every_council",
    }
    assert [b.rule for b in validate_summary(unknown, local_authorities).blocking] == [
        "feed.cqc_update_status.allowed",
        "feed.cqc_update_status.same_for_every_council",
    ]


def test_the_summary_suite_names_every_column_of_the_dataset():
    suite = json.loads(SUITE.read_text())
    (columns,) = [e for e in suite["expectations"] if e["type"] == "expect_table_columns_to_match_set"]
    assert sorted(columns["kwargs"]["column_set"]) == sorted(DATASETS["la_daily_summary"].column_names)
