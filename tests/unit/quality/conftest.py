"""Conformed frames built the way the pipeline builds them: CSV bytes -> parse -> conform."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from careshare.config import EXPECTATIONS_DIR as EXPECTATIONS
from careshare.conform.conform import conform
from careshare.conform.parse import parse_feed_file
from careshare.feeds import Feed, FeedSpec

_CT_PPE = ("PPE_Masks", "PPE_Gloves", "PPE_Aprons", "PPE_Eye_Protection", "PPE_Hand_Hygiene")
_ICF = {
    "ICF_Staff_Single_Site": "Yes",
    "ICF_Full_Pay_When_Isolating": "No",
    "ICF_Funding_Received": "Not yet",
}


def good_row(spec: FeedSpec, n: int) -> dict[str, str]:
    """A valid source row; `n` keeps ids distinct."""
    ct_identity = {"CQC_Location_ID": f"1-{100_000_000 + n}", "ODS_Code": "VN4A2", "Postcode": "ls1 4ap"}
    if spec.feed is Feed.CT_CARE_HOMES:
        return {
            "CT_Home_ID": str(5000 + n),
            **ct_identity,
            "Home_Name": f"Home {n}",
            "Local_Authority": "Leeds",
            "Last_Updated": "31/07/2020 09:30",
            "Beds_Total": "20",
            "Beds_Vacant": "3",
            "Accepting_Admissions": "Yes",
            "Residents_Total": "17",
            "Residents_Covid_Confirmed": "1",
            "Residents_Covid_Suspected": "0",
            "Residents_Newly_Confirmed_Today": "0",
            "Residents_Newly_Suspected_Today": "0",
            "Staff_Employed": "10",
            "Staff_Absent_Covid": "1",
            "Staff_Absent_Other": "1",
            "Staff_Newly_Confirmed_Today": "0",
            "Staff_Newly_Suspected_Today": "0",
            **dict.fromkeys(_CT_PPE, "Green"),
            "Visiting_Status": "Restricted",
            **_ICF,
        }
    if spec.feed is Feed.CT_HOME_CARE:
        return {
            "CT_Service_ID": str(9000 + n),
            **ct_identity,
            "Service_Name": f"Service {n}",
            "Service_Type": "Domiciliary care",
            "Local_Authority": "Leeds",
            "Last_Updated": "30/11/2020 17:45",
            "People_Supported": "40",
            "People_Covid_Confirmed": "2",
            "People_Covid_Suspected": "1",
            "Care_Workers_Employed": "25",
            "Care_Workers_Absent_Covid": "2",
            "Can_Provide_More_Hours": "No",
            "Hours_Unable_To_Deliver": "0",
            **dict.fromkeys(_CT_PPE, "Amber"),
            **_ICF,
        }
    return {
        "location_id": f"1-{200_000_000 + n}",
        "provider_id": "1-101010101",
        "location_name": f"Agency {n}",
        "service_type": "homecare",
        "submitted_at": "2020-05-20T10:15:00+01:00",
        "people_receiving_care": "30",
        "people_confirmed_covid": "1",
        "people_suspected_covid": "0",
        "staff_total": "12",
        "staff_absent_covid": "1",
        "ppe_masks_days": "9",
        "ppe_gloves_days": "3",
        "ppe_aprons_days": "1",
        "ppe_eye_protection_days": "",
        "ppe_hand_hygiene_days": "14",
        "unable_to_deliver_care": "no",
        "covid_deaths_since_last_update": "0",
    }


def feed_csv(spec: FeedSpec, report_date: date, rows: list[dict[str, str]]) -> bytes:
    columns = [c.name for c in spec.columns_on(report_date)]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def answered_on(spec: FeedSpec, report_date: date) -> dict[str, str]:
    """The update time of a good row: the morning of the report date (fresh, not in the future)."""
    if spec.feed is Feed.CQC_UPDATE:
        return {"submitted_at": f"{report_date.isoformat()}T10:15:00+00:00"}
    return {"Last_Updated": f"{report_date:%d/%m/%Y} 09:30"}


def conformed_frame(spec: FeedSpec, report_date: date, changes: list[dict[str, str]]) -> pd.DataFrame:
    """One row per entry of `changes` (source_row 1, 2, ...), each a good row with those cells changed."""
    rows = [{**good_row(spec, n), **answered_on(spec, report_date), **change} for n, change in enumerate(changes, 1)]
    data = feed_csv(spec, report_date, rows)
    parsed = parse_feed_file(data, spec, report_date, f"{spec.feed.value}/{report_date}.csv")
    return conform(parsed, spec, report_date, sha256="0" * 64).rows


@pytest.fixture
def build() -> Callable[[FeedSpec, date, list[dict[str, str]]], pd.DataFrame]:
    return conformed_frame


@pytest.fixture
def suite_for() -> Callable[[FeedSpec], Path]:
    return lambda spec: EXPECTATIONS / f"{spec.feed.value}.json"
