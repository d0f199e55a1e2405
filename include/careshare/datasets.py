"""The published datasets, defined once: the Parquet schema, the CSV header and the data
dictionary are all generated from these definitions."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from careshare.feeds import ICF_FROM, TRANSITION

PARTITION_COLUMNS = ("la_code", "report_date")

_TYPES = {
    "string": pa.string(),
    "int32": pa.int32(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # a key of _TYPES
    description: str
    source: str
    unit: str = ""
    since: str = "2020-04-13"
    nullable: bool = True

    @property
    def arrow_type(self) -> pa.DataType:
        return _TYPES[self.type]


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    grain: str
    fields: tuple[Field, ...]

    def arrow_schema(self, *, without_partitions: bool = False) -> pa.Schema:
        return pa.schema(
            [
                pa.field(f.name, f.arrow_type, nullable=f.nullable)
                for f in self.fields
                if not (without_partitions and f.name in PARTITION_COLUMNS)
            ]
        )

    @property
    def column_names(self) -> list[str]:
        return [f.name for f in self.fields]


CT = "Capacity Tracker"
CQC = "CQC COVID-19 update form"
DIRECTORY = "CQC directory"
BOTH = f"{CT} (care homes; community services from {TRANSITION}) or {CQC} (community services before)"


def _count(name: str, description: str, source: str, since: str = "2020-04-13") -> Field:
    return Field(name, "int32", description, source, unit="people" if "people" in name else "count", since=since)


def _answer(name: str, description: str, source: str, since: str = "2020-04-13") -> Field:
    return Field(name, "string", description, source, since=since)


_PPE = (
    "RAG: Red under 48 hours of supply, Amber under a week, Green a week or more, Blue long-term "
    "(CT from 2020-08-10); CQC days of supply mapped as under 2 Red, 2-6 Amber, 7+ Green"
)

LOCATION_DAILY = Dataset(
    name="location_daily",
    description="One row per CQC location per report date: the merged answer of the location's system of record.",
    grain="report_date, location_id",
    fields=(
        Field(
            "report_date", "date", "The day the answers are reported for (Europe/London).", "pipeline", nullable=False
        ),
        Field("location_id", "string", "CQC location id (`1-` and 9 to 11 digits).", DIRECTORY, nullable=False),
        Field(
            "la_code",
            "string",
            "ONS code of the council valid on the report date (from the directory's council, not the provider's text).",
            f"{DIRECTORY} + ONS reference",
            nullable=False,
        ),
        Field("la_name", "string", "Name of that council.", "ONS reference", nullable=False),
        Field("region_code", "string", "ONS code of the region.", "ONS reference", nullable=False),
        Field("region_name", "string", "Name of the region.", "ONS reference", nullable=False),
        Field("provider_id", "string", "CQC provider id of the location's provider.", DIRECTORY),
        Field("location_name", "string", "Location name as the directory has it.", DIRECTORY),
        Field("postcode", "string", "Postcode as the directory has it.", DIRECTORY),
        Field(
            "service_group",
            "string",
            "`care_home` or `community` (homecare, extra care, supported living).",
            "pipeline",
            nullable=False,
        ),
        Field("service_type", "string", "Care home, Domiciliary care, Extra care housing or Supported living.", BOTH),
        Field("registration_status", "string", "Registered or Deregistered, as the directory has it today.", DIRECTORY),
        Field(
            "deregistered_but_reporting",
            "bool",
            "The location reported after its deregistration date.",
            "pipeline",
            nullable=False,
        ),
        Field(
            "submitted_at",
            "timestamp",
            "When the answers were last updated (CT Last_Updated, CQC submitted_at), UTC.",
            BOTH,
            unit="UTC instant",
        ),
        Field(
            "days_since_update",
            "int32",
            "Days between the last update (UK date) and the report date.",
            "pipeline",
            unit="days",
        ),
        Field("stale", "bool", "The answers are more than 7 days old.", "pipeline", nullable=False),
        _count("beds_total", "Beds in the care home.", CT),
        _count("beds_vacant", "Vacant beds.", CT),
        _answer("accepting_admissions", "Yes or No.", CT),
        _count("people_supported", "Residents of the care home, or people receiving care from the service.", BOTH),
        _count("people_covid_confirmed", "People with confirmed COVID-19.", BOTH),
        _count("people_covid_suspected", "People with suspected COVID-19.", BOTH),
        _count("people_newly_confirmed_today", "Residents newly confirmed today.", CT),
        _count("people_newly_suspected_today", "Residents newly suspected today.", CT),
        _count("staff_employed", "Staff (care workers) employed.", BOTH),
        _count("staff_absent_covid", "Staff absent because of COVID-19.", BOTH),
        _count("staff_absent_other", "Staff absent for other reasons.", CT),
        _count("staff_newly_confirmed_today", "Staff newly confirmed today.", CT),
        _count("staff_newly_suspected_today", "Staff newly suspected today.", CT),
        _answer("can_provide_more_hours", "Yes or No.", CT, since=TRANSITION.isoformat()),
        Field(
            "hours_unable_to_deliver",
            "int32",
            "Care hours the service could not deliver.",
            CT,
            unit="hours",
            since=TRANSITION.isoformat(),
        ),
        _answer("unable_to_deliver_care", "Yes or No: the service was unable to deliver care.", CQC),
        _count("covid_deaths_since_last_update", "Deaths from COVID-19 since the last update.", CQC),
        _answer("ppe_masks", _PPE, BOTH),
        _answer("ppe_gloves", _PPE, BOTH),
        _answer("ppe_aprons", _PPE, BOTH),
        _answer("ppe_eye_protection", _PPE, BOTH),
        _answer("ppe_hand_hygiene", _PPE, BOTH),
        _answer("visiting_status", "Open, Restricted or Closed.", CT),
        _answer(
            "icf_staff_single_site",
            "Infection Control Fund: staff work at a single site (Yes, No, Partially).",
            CT,
            since=ICF_FROM.isoformat(),
        ),
        _answer(
            "icf_full_pay_when_isolating",
            "Infection Control Fund: staff paid in full when isolating (Yes, No).",
            CT,
            since=ICF_FROM.isoformat(),
        ),
        _answer(
            "icf_funding_received",
            "Infection Control Fund: funding received (Yes, No, Not yet).",
            CT,
            since=ICF_FROM.isoformat(),
        ),
        Field(
            "source_feed",
            "string",
            "Feed the row came from: ct_care_homes, ct_home_care or cqc_update.",
            "pipeline",
            nullable=False,
        ),
        Field(
            "source_sha256",
            "string",
            "SHA-256 of the delivered file (its key in the raw archive).",
            "pipeline",
            nullable=False,
        ),
        Field(
            "source_row",
            "int32",
            "Data row number in that file (1 = first row after the header).",
            "pipeline",
            nullable=False,
        ),
        Field(
            "source_record_id",
            "string",
            "The record's id in its source (CT_Home_ID, CT_Service_ID or CQC location_id).",
            BOTH,
        ),
        Field(
            "match_method",
            "string",
            "How the row was tied to the location: location_id, ods_code, name_postcode or crosswalk.",
            "pipeline",
            nullable=False,
        ),
        Field("match_score", "float64", "Confidence of the match, 1.0 for exact identifiers.", "pipeline"),
    ),
)

DATASETS = {d.name: d for d in (LOCATION_DAILY,)}
