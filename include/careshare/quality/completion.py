"""Completion against the CQC directory: which locations were expected to answer on a report
date, and how many of them the published data has, by council, region and service group.

Councils under `CARESHARE_COMPLETION_THRESHOLD` (a percentage, 50 unless set) need action: the
daily report lists them first, worst first.
"""

from __future__ import annotations

import os
from datetime import date

import pandas as pd

from careshare.feeds import CQC_EXTENDED_SERVICES_FROM, CQC_FORM_OPENS
from careshare.merge import directory_day
from careshare.resources import Platform

SERVICE_GROUPS = ("care_home", "community")
COUNCIL_COLUMNS = ["la_code", "la_name", "region_code", "region_name"]
THRESHOLD_ENV = "CARESHARE_COMPLETION_THRESHOLD"
DEFAULT_THRESHOLD_PERCENT = 50.0


def completion_threshold() -> float:
    """The completion, as a share, under which a council is flagged."""
    text = os.environ.get(THRESHOLD_ENV, "").strip().removesuffix("%")
    try:
        percent = float(text) if text else DEFAULT_THRESHOLD_PERCENT
    except ValueError:
        percent = float("nan")
    if not 0 <= percent <= 100:
        raise ValueError(f"{THRESHOLD_ENV}={os.environ[THRESHOLD_ENV]!r} is not a percentage from 0 to 100")
    return percent / 100


def expected_locations(platform: Platform, report_date: date) -> pd.DataFrame:
    """location_id, council columns and service_group of every location expected on the date, in
    the directory the date's merge read."""
    return platform.warehouse.query_frame(
        "quality/expected_locations",
        {
            **directory_day(platform.warehouse, report_date),
            "community_collected": report_date >= CQC_FORM_OPENS,
            "all_community_services": report_date >= CQC_EXTENDED_SERVICES_FROM,
        },
    )


def published_locations(platform: Platform, report_date: date) -> pd.DataFrame:
    frame = platform.warehouse.query_frame("quality/published_locations", {"report_date": report_date})
    frame["stale"] = frame["stale"].astype(bool)
    return frame


def completion_by_council(expected: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Per council: expected and reported locations per service group and in total, and the rate.

    A location counts as reported when it is expected and published; published locations the
    directory does not expect (Shared Lives, deregistered) are counted apart as `unexpected`.
    """
    reported_ids = set(published["location_id"])
    marked = expected.assign(reported=expected["location_id"].isin(reported_ids))
    table = marked.pivot_table(
        index=COUNCIL_COLUMNS,
        columns="service_group",
        values="reported",
        aggfunc=["size", "sum"],
        fill_value=0,
    )
    result = pd.DataFrame(index=table.index)
    for group in SERVICE_GROUPS:
        result[f"{group}_expected"] = table.get(("size", group), 0)
        result[f"{group}_reported"] = table.get(("sum", group), 0)
    result["expected"] = result[[f"{g}_expected" for g in SERVICE_GROUPS]].sum(axis=1)
    result["reported"] = result[[f"{g}_reported" for g in SERVICE_GROUPS]].sum(axis=1)
    unexpected = published[~published["location_id"].isin(set(expected["location_id"]))]
    counts = unexpected.groupby("la_code").size()
    result = result.reset_index()
    result["unexpected"] = result["la_code"].map(counts).fillna(0).astype(int)
    result["completion"] = _rate(result["reported"], result["expected"])
    return result.sort_values(["region_name", "la_name"]).reset_index(drop=True)


def needing_action_first(councils: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """`councils` with `below_threshold`: those under the threshold first, worst first, then the
    rest in their order. A council expecting no location is never below it."""
    below = councils["completion"].lt(threshold).fillna(False).astype(bool)
    marked = councils.assign(below_threshold=below)
    return pd.concat([marked[below].sort_values(["completion", "la_name"]), marked[~below]]).reset_index(drop=True)


def completion_by_region(councils: pd.DataFrame) -> pd.DataFrame:
    sums = councils.groupby(["region_code", "region_name"], as_index=False)[["expected", "reported"]].sum()
    sums["completion"] = _rate(sums["reported"], sums["expected"])
    return sums.sort_values("region_name").reset_index(drop=True)


def national_completion(expected: pd.DataFrame, published: pd.DataFrame) -> float | None:
    if expected.empty:
        return None
    return float(expected["location_id"].isin(set(published["location_id"])).mean())


def _rate(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator / denominator.where(denominator > 0)).astype("Float64")
