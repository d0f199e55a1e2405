"""The published datasets, defined once: the Parquet schema, the CSV header, the Table Schema and
the data dictionary are all generated from these definitions, so the semantics of every column
(precedence, staleness, flags, matching), its answer set and its shape are written here."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from careshare.conform.conform import CARE_HOME, SERVICE_GROUP
from careshare.councils import LA_CODE_PATTERN
from careshare.feeds import (
    CQC_FORM_LAST_DAY,
    CQC_LOCATION_ID_PATTERN,
    CQC_WEEKDAYS_ONLY_FROM,
    CT_CARE_HOMES,
    CT_HOME_CARE,
    FEEDS,
    ICF_FROM,
    RAG_WITH_BLUE,
    TRANSITION,
    YES_NO,
)
from careshare.status import PublishedFeedStatus

PARTITION_COLUMNS = ("la_code", "report_date")
NATIONAL_PARTITION_COLUMNS = ("report_date",)
STALE_AFTER_DAYS = 7
NAME_MATCH_THRESHOLD = 0.9
MATCH_METHODS = ("crosswalk", "location_id", "ods_code", "name_postcode")
REGION_CODE_PATTERN = r"^E12[0-9]{6}$"

FEED_STATUSES = {
    PublishedFeedStatus.LOADED: "the feed's file for the date was loaded",
    PublishedFeedStatus.FAILED: (
        "a file arrived but could not be used or failed a critical quality rule (the rule says which)"
    ),
    PublishedFeedStatus.MISSING: "no file: none appeared while the fetch waited for it, or none was delivered",
    PublishedFeedStatus.NOT_COLLECTED: (
        f"the contract does not collect the feed on the date (the CQC form at weekends from {CQC_WEEKDAYS_ONLY_FROM} "
        f"and after {CQC_FORM_LAST_DAY}, ct_home_care before {TRANSITION}): an expected absence, not missing"
    ),
}

ARROW_TYPES = {
    "string": pa.string(),
    # An ordered dictionary: pyarrow, pandas (an ordered categorical) and Parquet keep the answer set and its order.
    "category": pa.dictionary(pa.int8(), pa.string(), ordered=True),
    "int32": pa.int32(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # a key of ARROW_TYPES
    description: str
    source: str
    unit: str = ""
    since: str = "2020-04-13"
    nullable: bool = True
    values: tuple[str, ...] = ()  # a category's answers, in their order (RAG from Red to Blue)
    pattern: str = ""  # the shape of an identifier, a regular expression
    minimum: float = 0  # numbers only: counts, days, rows and rates are never negative
    maximum: float | None = None

    def __post_init__(self) -> None:
        if (self.type == "category") != bool(self.values):
            raise ValueError(f"field {self.name}: a category, and only a category, lists its values")

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.type]

    @property
    def numeric(self) -> bool:
        return self.type in ("int32", "float64")


@dataclass(frozen=True)
class Dataset:
    """`key` is the grain (unique per row); `partition_columns` make the object path: council
    first for data a council may see, report date only for national datasets."""

    name: str
    description: str
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    partition_columns: tuple[str, ...] = PARTITION_COLUMNS

    @property
    def grain(self) -> str:
        return ", ".join(self.key)

    @property
    def national(self) -> bool:
        return "la_code" not in self.partition_columns

    @property
    def sort_columns(self) -> list[str]:
        """Row order inside one object: the key without the partition columns."""
        return [c for c in self.key if c not in self.partition_columns]

    def arrow_schema(self, *, without_partitions: bool = False) -> pa.Schema:
        return pa.schema(
            [
                pa.field(f.name, f.arrow_type, nullable=f.nullable)
                for f in self.fields
                if not (without_partitions and f.name in self.partition_columns)
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


def _answer(name: str, description: str, source: str, values: tuple[str, ...], since: str = "2020-04-13") -> Field:
    return Field(name, "category", description, source, since=since, values=values)


def _answers(column: str) -> tuple[str, ...]:
    return CT_CARE_HOMES.column(column).values


SERVICE_TYPES = (CARE_HOME, *CT_HOME_CARE.column("Service_Type").values)


_PPE = (
    "RAG: Red under 48 hours of supply, Amber under a week, Green a week or more, Blue long-term "
    "(CT from 2020-08-10); CQC days of supply mapped as under 2 Red, 2-6 Amber, 7+ Green"
)

_PRECEDENCE = (
    "Care homes come from the Capacity Tracker care-home section. Community services (homecare, extra care, "
    f"supported living) come from the CQC form before {TRANSITION} and from the CT home-care section from then; "
    f"in the overlap ({TRANSITION} to {CQC_FORM_LAST_DAY}) a CQC answer is used only where CT has no row. "
    "Within one feed and day the latest submission wins (on equal timestamps, the first row of the file). "
    "Every row that loses is kept in the warehouse as superseded, with the row that won, and counted."
)
_SHARED_LIVES = (
    "Shared Lives schemes and other services the directory marks as not expected to report are left out "
    "of the denominator"
)

LOCATION_DAILY = Dataset(
    name="location_daily",
    description=(
        "One row per CQC location per report date: the answer of the location's system of record. "
        f"{_PRECEDENCE} Rows that match no directory location are quarantined with everything needed to fix "
        "them, never published."
    ),
    key=("report_date", "location_id"),
    fields=(
        Field(
            "report_date", "date", "The day the answers are reported for (Europe/London).", "pipeline", nullable=False
        ),
        Field(
            "location_id",
            "string",
            "CQC location id (`1-` and 9 to 11 digits).",
            DIRECTORY,
            nullable=False,
            pattern=CQC_LOCATION_ID_PATTERN,
        ),
        Field(
            "la_code",
            "string",
            "ONS code of the council valid on the report date (from the directory's council, not the provider's text).",
            f"{DIRECTORY} + ONS reference",
            nullable=False,
            pattern=LA_CODE_PATTERN.pattern,
        ),
        Field("la_name", "string", "Name of that council.", "ONS reference", nullable=False),
        Field(
            "region_code",
            "string",
            "ONS code of the region.",
            "ONS reference",
            nullable=False,
            pattern=REGION_CODE_PATTERN,
        ),
        Field("region_name", "string", "Name of the region.", "ONS reference", nullable=False),
        Field(
            "provider_id",
            "string",
            "CQC provider id of the location's provider.",
            DIRECTORY,
            pattern=CQC_LOCATION_ID_PATTERN,  # provider ids have the shape of location ids
        ),
        Field("location_name", "string", "Location name as the directory has it.", DIRECTORY),
        Field("postcode", "string", "Postcode as the directory has it.", DIRECTORY),
        Field(
            "service_group",
            "category",
            "`care_home` (answers from the CT care-home section) or `community` (homecare, extra care, supported "
            "living: answers from the CQC form or the CT home-care section).",
            "pipeline",
            nullable=False,
            values=tuple(dict.fromkeys(SERVICE_GROUP.values())),
        ),
        Field(
            "service_type",
            "category",
            "Care home, Domiciliary care, Extra care housing or Supported living.",
            BOTH,
            values=SERVICE_TYPES,
        ),
        Field("registration_status", "string", "Registered or Deregistered, as the directory has it today.", DIRECTORY),
        Field(
            "deregistered_but_reporting",
            "bool",
            "The directory gives a deregistration date before the report date, yet the location reported: "
            "the row is published with this flag, never dropped.",
            "pipeline",
            nullable=False,
        ),
        Field(
            "unexpected_reporter",
            "bool",
            "The directory marks the service as not expected to report (Shared Lives schemes answer neither "
            "collection), yet a row matched it: published with this flag so it is seen, and left out of "
            "completion rates.",
            "pipeline",
            nullable=False,
        ),
        Field(
            "last_updated_at",
            "timestamp",
            "When the answers were last updated: CT `Last_Updated` (UK local time) or CQC `submitted_at`, as a UTC "
            "instant. A CT row carries the latest answers as of the report date, which can be days old.",
            BOTH,
            unit="UTC instant",
        ),
        Field(
            "days_since_update",
            "int32",
            "Whole days between the UK date of last_updated_at and the report date (0: updated that day).",
            "pipeline",
            unit="days",
        ),
        Field(
            "stale",
            "bool",
            f"days_since_update is more than {STALE_AFTER_DAYS}: the answers are over a week old. Stale rows are "
            "published and counted in the roll-ups' locations_stale.",
            "pipeline",
            nullable=False,
        ),
        _count("beds_total", "Beds in the care home.", CT),
        _count("beds_vacant", "Vacant beds.", CT),
        _answer("accepting_admissions", "Yes or No.", CT, YES_NO),
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
        _answer("can_provide_more_hours", "Yes or No.", CT, YES_NO, since=TRANSITION.isoformat()),
        Field(
            "hours_unable_to_deliver",
            "int32",
            "Care hours the service could not deliver.",
            CT,
            unit="hours",
            since=TRANSITION.isoformat(),
        ),
        _answer("unable_to_deliver_care", "Yes or No: the service was unable to deliver care.", CQC, YES_NO),
        _count("covid_deaths_since_last_update", "Deaths from COVID-19 since the last update.", CQC),
        _answer("ppe_masks", _PPE, BOTH, RAG_WITH_BLUE),
        _answer("ppe_gloves", _PPE, BOTH, RAG_WITH_BLUE),
        _answer("ppe_aprons", _PPE, BOTH, RAG_WITH_BLUE),
        _answer("ppe_eye_protection", _PPE, BOTH, RAG_WITH_BLUE),
        _answer("ppe_hand_hygiene", _PPE, BOTH, RAG_WITH_BLUE),
        _answer("visiting_status", "Open, Restricted or Closed.", CT, _answers("Visiting_Status")),
        _answer(
            "icf_staff_single_site",
            "Infection Control Fund: staff work at a single site (Yes, No, Partially).",
            CT,
            _answers("ICF_Staff_Single_Site"),
            since=ICF_FROM.isoformat(),
        ),
        _answer(
            "icf_full_pay_when_isolating",
            "Infection Control Fund: staff paid in full when isolating (Yes, No).",
            CT,
            _answers("ICF_Full_Pay_When_Isolating"),
            since=ICF_FROM.isoformat(),
        ),
        _answer(
            "icf_funding_received",
            "Infection Control Fund: funding received (Yes, No, Not yet).",
            CT,
            _answers("ICF_Funding_Received"),
            since=ICF_FROM.isoformat(),
        ),
        Field(
            "source_feed",
            "category",
            "Feed the published answers came from: ct_care_homes, ct_home_care or cqc_update (see the precedence "
            "in the dataset description).",
            "pipeline",
            nullable=False,
            values=tuple(feed.value for feed in FEEDS),
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
            minimum=1,
        ),
        Field(
            "source_record_id",
            "string",
            "The record's id in its source (CT_Home_ID, CT_Service_ID or CQC location_id).",
            BOTH,
        ),
        Field(
            "superseded_rows",
            "int32",
            "Other rows for this location and report date that lost to this one (a repeated submission, a duplicate "
            "row, the other collection in the overlap); each is kept in the warehouse with the row that won.",
            "pipeline",
            unit="rows",
            nullable=False,
        ),
        Field(
            "match_method",
            "category",
            "How the row was tied to the location, in the order tried: `crosswalk` (a manual override in the "
            "platform's crosswalk, keyed by feed and source record id), `location_id` "
            "(the CQC id once trimmed, upper-cased and given back a missing `1-`), `ods_code` (an ODS code carried "
            "by exactly one directory location), `name_postcode` (the only directory location of the row's kind at "
            f"the row's postcode whose name scores at least {NAME_MATCH_THRESHOLD:.2f}).",
            "pipeline",
            nullable=False,
            values=MATCH_METHODS,
        ),
        Field(
            "match_score",
            "float64",
            "1.0 for crosswalk and identifier matches; for name_postcode the name similarity (the better of the "
            "plain and the word-order-blind edit similarity; case, accents, punctuation and words like Ltd "
            f"ignored), from {NAME_MATCH_THRESHOLD:.2f} to 1.0.",
            "pipeline",
            nullable=False,
            maximum=1,
        ),
    ),
)


def _rollup_fields(whose: str) -> tuple[Field, ...]:
    """The directory's expectations and the sums of the published location rows, for one provider or council."""

    def count(name: str, description: str) -> Field:
        return Field(name, "int32", description, "pipeline", unit="locations", nullable=False)

    def total(name: str, description: str, unit: str = "people") -> Field:
        return Field(name, "int32", f"{description} Null when no reporting location answered.", "pipeline", unit=unit)

    return (
        count(
            "locations_registered",
            f"Directory locations of the {whose} registered on the report date, Shared Lives included.",
        ),
        count(
            "locations_expected",
            f"Registered locations of the {whose} whose collection was open that day (the CQC form ran Monday to "
            "Friday from 2020-05-14 and took extra care and supported living from 2020-06-01): the completion "
            f"denominator. {_SHARED_LIVES}.",
        ),
        count("locations_reporting", "Expected locations with a published row: the completion numerator."),
        Field(
            "completion_rate",
            "float64",
            "locations_reporting / locations_expected; null when no location was expected.",
            "pipeline",
            unit="ratio",
            maximum=1,
        ),
        count(
            "locations_reporting_unexpected",
            "Published rows of locations outside the denominator (Shared Lives, deregistered, or not asked that day).",
        ),
        count("care_homes_expected", "Expected locations that are care homes."),
        count("care_homes_reporting", "Published rows answered in the care-home section."),
        count("community_services_expected", "Expected locations that are community services."),
        count("community_services_reporting", "Published rows answered as a community service."),
        total("beds_total", "Beds in the reporting care homes.", unit="beds"),
        total("beds_vacant", "Vacant beds in the reporting care homes.", unit="beds"),
        total("care_home_residents", "Residents of the reporting care homes."),
        total("care_home_residents_covid_confirmed", "Care-home residents with confirmed COVID-19."),
        total("care_home_residents_covid_suspected", "Care-home residents with suspected COVID-19."),
        total("care_home_staff_employed", "Staff employed by the reporting care homes."),
        total("care_home_staff_absent_covid", "Care-home staff absent because of COVID-19."),
        total("community_people_supported", "People receiving care from the reporting community services."),
        total("community_people_covid_confirmed", "People receiving community care with confirmed COVID-19."),
        total("community_people_covid_suspected", "People receiving community care with suspected COVID-19."),
        total("community_staff_employed", "Care workers employed by the reporting community services."),
        total("community_staff_absent_covid", "Care workers absent because of COVID-19."),
        total(
            "community_hours_unable_to_deliver",
            f"Care hours the community services could not deliver (CT home care, from {TRANSITION}).",
            unit="hours",
        ),
        count("locations_ppe_red", "Published rows with at least one PPE item Red (under 48 hours of supply)."),
        count("locations_stale", f"Published rows whose answers are more than {STALE_AFTER_DAYS} days old."),
        count("locations_deregistered_reporting", "Published rows flagged deregistered_but_reporting."),
        count("locations_unexpected_reporter", "Published rows flagged unexpected_reporter."),
    )


def _feed_fields() -> tuple[Field, ...]:
    """The report date's feed states, the same on every council's row of the date."""
    statuses = "; ".join(f"`{status}`: {meaning}" for status, meaning in FEED_STATUSES.items())
    return (
        *(
            Field(
                f"{feed}_status",
                "category",
                f"The {feed} feed on the report date. {statuses}.",
                "pipeline",
                values=tuple(FEED_STATUSES),
            )
            for feed in FEEDS
        ),
        Field(
            "feeds_missing_or_failed",
            "int32",
            "Feeds whose status is missing or failed on the report date: 0 when every feed collected that day loaded "
            "(the date is complete).",
            "pipeline",
            unit="feeds",
            nullable=False,
        ),
        Field(
            "feed_problems",
            "string",
            "Those feeds, each as `<feed> <status>` and the rule that failed, e.g. `ct_home_care failed: "
            "file.truncated`, separated by `; `; empty when the date is complete. A completion rate beside a "
            "problem is low because a feed is, not because the council's providers did not answer.",
            "pipeline",
        ),
    )


_REPORT_DATE = LOCATION_DAILY.fields[0]

PROVIDER_DAILY = Dataset(
    name="provider_daily",
    description=(
        "One row per CQC provider per report date, rolled up from its locations' rows in location_daily: a "
        "provider with care homes and community services appears once, with both parts side by side. A provider "
        "spans councils, so this dataset is national (partitioned by report date only, for national recipients); "
        "a council reads its providers' locations in its own location_daily partition."
    ),
    key=("report_date", "provider_id"),
    partition_columns=NATIONAL_PARTITION_COLUMNS,
    fields=(
        _REPORT_DATE,
        Field("provider_id", "string", "CQC provider id.", DIRECTORY, nullable=False, pattern=CQC_LOCATION_ID_PATTERN),
        Field("provider_name", "string", "Provider name, once the directory's provider record is loaded.", DIRECTORY),
        Field(
            "councils_reporting",
            "int32",
            "Councils in which the provider has a published location row that day.",
            "pipeline",
            unit="councils",
            nullable=False,
        ),
        *_rollup_fields("provider"),
    ),
)

LA_DAILY_SUMMARY = Dataset(
    name="la_daily_summary",
    description=(
        "One row per council valid on the report date (councils with no locations included): locations registered "
        "and expected to report, locations that reported and the completion rate, totals of the main measures, "
        f"counts of stale and flagged locations, and the state of each feed on the date. {_SHARED_LIVES}."
    ),
    key=("report_date", "la_code"),
    fields=(
        _REPORT_DATE,
        *LOCATION_DAILY.fields[2:6],
        *_rollup_fields("council"),
        *_feed_fields(),
    ),
)

DATASETS = {d.name: d for d in (LOCATION_DAILY, PROVIDER_DAILY, LA_DAILY_SUMMARY)}
