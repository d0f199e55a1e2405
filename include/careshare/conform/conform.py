"""Typed, harmonised rows from a parsed feed file: one schema for all three feeds.

Conversion follows each source column's kind in feeds.py; cells that hold text but cannot be
converted become row issues (rule `parse.<kind>`), never silent nulls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pandas as pd

from careshare.conform import normalise as n
from careshare.conform.parse import SOURCE_ROW, ParsedFile, RowIssue
from careshare.feeds import Feed, FeedSpec, Kind

CARE_HOME = "Care home"
SERVICE_GROUP = {Feed.CT_CARE_HOMES: "care_home", Feed.CT_HOME_CARE: "community", Feed.CQC_UPDATE: "community"}

# Source column -> harmonised column, per feed (columns not listed keep their lower-case name).
RENAMES: dict[Feed, dict[str, str]] = {
    Feed.CT_CARE_HOMES: {
        "CT_Home_ID": "record_id",
        "CQC_Location_ID": "cqc_location_id",
        "Home_Name": "name",
        "Local_Authority": "la_name_reported",
        "Last_Updated": "submitted_at",
        "Residents_Total": "people_supported",
        "Residents_Covid_Confirmed": "people_covid_confirmed",
        "Residents_Covid_Suspected": "people_covid_suspected",
        "Residents_Newly_Confirmed_Today": "people_newly_confirmed_today",
        "Residents_Newly_Suspected_Today": "people_newly_suspected_today",
    },
    Feed.CT_HOME_CARE: {
        "CT_Service_ID": "record_id",
        "CQC_Location_ID": "cqc_location_id",
        "Service_Name": "name",
        "Local_Authority": "la_name_reported",
        "Last_Updated": "submitted_at",
        "Care_Workers_Employed": "staff_employed",
        "Care_Workers_Absent_Covid": "staff_absent_covid",
    },
    Feed.CQC_UPDATE: {
        "location_id": "cqc_location_id",
        "location_name": "name",
        "people_receiving_care": "people_supported",
        "people_confirmed_covid": "people_covid_confirmed",
        "people_suspected_covid": "people_covid_suspected",
        "staff_total": "staff_employed",
        "ppe_masks_days": "ppe_masks",
        "ppe_gloves_days": "ppe_gloves",
        "ppe_aprons_days": "ppe_aprons",
        "ppe_eye_protection_days": "ppe_eye_protection",
        "ppe_hand_hygiene_days": "ppe_hand_hygiene",
    },
}

HARMONISED_ANSWERS = {
    "service_type": {
        "homecare": "Domiciliary care",
        "extra_care": "Extra care housing",
        "supported_living": "Supported living",
    },
    "unable_to_deliver_care": {"yes": "Yes", "no": "No"},
}

COUNT_COLUMNS = (
    "beds_total",
    "beds_vacant",
    "people_supported",
    "people_covid_confirmed",
    "people_covid_suspected",
    "people_newly_confirmed_today",
    "people_newly_suspected_today",
    "staff_employed",
    "staff_absent_covid",
    "staff_absent_other",
    "staff_newly_confirmed_today",
    "staff_newly_suspected_today",
    "hours_unable_to_deliver",
    "covid_deaths_since_last_update",
)
ANSWER_COLUMNS = (
    "accepting_admissions",
    "can_provide_more_hours",
    "unable_to_deliver_care",
    "ppe_masks",
    "ppe_gloves",
    "ppe_aprons",
    "ppe_eye_protection",
    "ppe_hand_hygiene",
    "visiting_status",
    "icf_staff_single_site",
    "icf_full_pay_when_isolating",
    "icf_funding_received",
)
STAGING_COLUMNS = (
    "report_date",
    "feed",
    "source_sha256",
    SOURCE_ROW,
    "record_id",
    "cqc_location_id",
    "cqc_location_id_raw",
    "ods_code",
    "provider_id",
    "name",
    "postcode",
    "la_name_reported",
    "service_group",
    "service_type",
    "submitted_at",
    "days_since_update",
    *COUNT_COLUMNS,
    *ANSWER_COLUMNS,
    "extra_columns",
)


@dataclass
class ConformedFile:
    rows: pd.DataFrame  # STAGING_COLUMNS plus validation-only columns (e.g. CQC PPE days)
    issues: list[RowIssue]


def harmonised_name(spec: FeedSpec, source_column: str) -> str:
    return RENAMES[spec.feed].get(source_column, source_column.lower())


def conform(parsed: ParsedFile, spec: FeedSpec, report_date: date, sha256: str) -> ConformedFile:
    source = parsed.frame
    out = pd.DataFrame(index=source.index)
    issues: list[RowIssue] = []
    for column in spec.columns_on(report_date):
        target = harmonised_name(spec, column.name)
        converted, bad = _convert(source[column.name], column.kind, column.values_on(report_date))
        if column.kind is Kind.PPE_DAYS:
            out[f"{target}_days"] = converted
            converted = n.ppe_days_to_rag(converted)
        out[target] = converted
        issues.extend(_issues(source, column.name, bad, f"parse.{column.kind.value}"))
        if column.kind is Kind.LOCATION_ID and target == "cqc_location_id":
            out["cqc_location_id_raw"] = source[column.name]
    for answer_column, answers in HARMONISED_ANSWERS.items():
        if answer_column in out and spec.feed is Feed.CQC_UPDATE:
            out[answer_column] = out[answer_column].map(lambda v, a=answers: a.get(v, v)).astype("str")

    out["record_id"] = out["record_id"].astype("str") if spec.record_id != "location_id" else out["cqc_location_id"]
    if spec.feed is Feed.CT_CARE_HOMES:
        out["service_type"] = CARE_HOME
    out["service_group"] = SERVICE_GROUP[spec.feed]
    out["report_date"] = pd.Timestamp(report_date)
    out["feed"] = spec.feed.value
    out["source_sha256"] = sha256
    out[SOURCE_ROW] = source[SOURCE_ROW]
    out["days_since_update"] = (pd.Timestamp(report_date) - n.uk_local_date(out["submitted_at"])).dt.days
    out["days_since_update"] = out["days_since_update"].astype("Int64")
    out["extra_columns"] = _extra_columns_json(source, parsed.extra_columns)
    for staging_column in STAGING_COLUMNS:
        if staging_column not in out:
            out[staging_column] = pd.Series(pd.NA, index=out.index, dtype=_empty_dtype(staging_column))
    validation_only = [c for c in out.columns if c not in STAGING_COLUMNS]
    return ConformedFile(rows=out[[*STAGING_COLUMNS, *validation_only]], issues=issues)


def _convert(values: pd.Series, kind: Kind, allowed: tuple[str, ...]) -> tuple[pd.Series, pd.Series]:
    nothing_bad = pd.Series(False, index=values.index)
    match kind:
        case Kind.INTEGER | Kind.PPE_DAYS:
            return n.parse_count(values)
        case Kind.LOCATION_ID:
            return n.normalise_location_id(values), nothing_bad
        case Kind.UK_TIMESTAMP:
            return n.parse_uk_local_timestamp(values)
        case Kind.ISO_TIMESTAMP:
            return n.parse_iso_timestamp(values)
        case Kind.CHOICE | Kind.PPE_RAG:
            return n.canonical_choice(values, allowed), nothing_bad
        case Kind.TEXT:
            return n.normalise_text(values), nothing_bad
        case Kind.POSTCODE:
            return n.normalise_postcode(values), nothing_bad
        case Kind.ODS_CODE:
            return n.normalise_ods_code(values), nothing_bad
    raise AssertionError(f"unhandled column kind {kind}")


_KIND_WORDS = {f"parse.{Kind.INTEGER.value}": f"whole number (at most {n.MAX_COUNT:,})"}


def _issues(source: pd.DataFrame, column: str, bad: pd.Series, rule: str) -> list[RowIssue]:
    if not bad.any():
        return []
    rows = source.loc[bad, [SOURCE_ROW, column]]
    return [
        RowIssue(int(row), rule, column, str(value), f"{column} {value!r} is not a valid {_KIND_WORDS.get(rule, rule)}")
        for row, value in rows.itertuples(index=False)
    ]


def _extra_columns_json(source: pd.DataFrame, extra: list[str]) -> pd.Series:
    if not extra:
        return pd.Series(pd.NA, index=source.index, dtype="str")
    records = source[extra].to_dict(orient="records")
    return pd.Series([json.dumps(r, ensure_ascii=False) for r in records], index=source.index, dtype="str")


def _empty_dtype(column: str) -> str:
    return "Int64" if column in COUNT_COLUMNS else "str"
