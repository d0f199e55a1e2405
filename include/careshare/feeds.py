"""The contract of the source feeds (shared/SOURCES.md) as data: timeline, columns, values.

The simulator emits exactly this; ingestion checks files against it. Nothing here imports
pandas, so DAG files can read it at parse time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

CQC_FORM_OPENS = date(2020, 4, 13)
CQC_WEEKDAYS_ONLY_FROM = date(2020, 5, 14)
CQC_EXTENDED_SERVICES_FROM = date(2020, 6, 1)
BLUE_PPE_FROM = date(2020, 8, 10)
TRANSITION = date(2020, 11, 30)
CQC_FORM_LAST_DAY = date(2020, 12, 13)
ICF_FROM = date(2021, 1, 11)

RAG = ("Red", "Amber", "Green")
RAG_WITH_BLUE = (*RAG, "Blue")
YES_NO = ("Yes", "No")
CT_TIMESTAMP_FORMAT = "%d/%m/%Y %H:%M"
CQC_LOCATION_ID_PATTERN = r"^1-[0-9]{9,11}$"


class Kind(StrEnum):
    INTEGER = "integer"  # whole number >= 0
    TEXT = "text"
    POSTCODE = "postcode"
    ODS_CODE = "ods_code"
    LOCATION_ID = "location_id"  # 1- then 9 to 11 digits, possibly messy
    UK_TIMESTAMP = "uk_timestamp"  # DD/MM/YYYY HH:MM, Europe/London wall time
    ISO_TIMESTAMP = "iso_timestamp"  # ISO 8601 with offset
    CHOICE = "choice"
    PPE_RAG = "ppe_rag"
    PPE_DAYS = "ppe_days"  # integer days of supply, blank = unknown


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    values: tuple[str, ...] = ()
    since: date | None = None  # first report date whose files carry the column
    nullable: bool = False

    def values_on(self, report_date: date) -> tuple[str, ...]:
        if self.kind is Kind.PPE_RAG:
            return RAG_WITH_BLUE if report_date >= BLUE_PPE_FROM else RAG
        if self.name == "service_type" and report_date < CQC_EXTENDED_SERVICES_FROM:
            return ("homecare",)
        return self.values


class Feed(StrEnum):
    CT_CARE_HOMES = "ct_care_homes"
    CT_HOME_CARE = "ct_home_care"
    CQC_UPDATE = "cqc_update"


@dataclass(frozen=True)
class FeedSpec:
    feed: Feed
    description: str
    opens: date | None
    last_day: date | None
    weekdays_only_from: date | None
    record_id: str  # the column that identifies the record within the source system
    columns: tuple[Column, ...] = field(repr=False)

    def expected_on(self, report_date: date) -> bool:
        """Whether a file is due for this report date (else its absence is normal)."""
        if self.opens and report_date < self.opens:
            return False
        if self.last_day and report_date > self.last_day:
            return False
        return not (self.weekdays_only_from and report_date >= self.weekdays_only_from and report_date.weekday() >= 5)

    def columns_on(self, report_date: date) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.since is None or report_date >= c.since)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _ints(*names: str) -> tuple[Column, ...]:
    return tuple(Column(n, Kind.INTEGER) for n in names)


def _ppe(kind: Kind, names: tuple[str, ...]) -> tuple[Column, ...]:
    return tuple(Column(n, kind, nullable=kind is Kind.PPE_DAYS) for n in names)


_CT_PPE = ("PPE_Masks", "PPE_Gloves", "PPE_Aprons", "PPE_Eye_Protection", "PPE_Hand_Hygiene")
_ICF = (
    Column("ICF_Staff_Single_Site", Kind.CHOICE, ("Yes", "No", "Partially"), since=ICF_FROM),
    Column("ICF_Full_Pay_When_Isolating", Kind.CHOICE, YES_NO, since=ICF_FROM),
    Column("ICF_Funding_Received", Kind.CHOICE, ("Yes", "No", "Not yet"), since=ICF_FROM),
)
_CT_IDENTITY = (
    Column("CQC_Location_ID", Kind.LOCATION_ID, nullable=True),
    Column("ODS_Code", Kind.ODS_CODE, nullable=True),
)

CT_CARE_HOMES = FeedSpec(
    feed=Feed.CT_CARE_HOMES,
    description="Capacity Tracker care-home section: one row per care home, latest answers",
    opens=None,
    last_day=None,
    weekdays_only_from=None,
    record_id="CT_Home_ID",
    columns=(
        Column("CT_Home_ID", Kind.INTEGER),
        *_CT_IDENTITY,
        Column("Home_Name", Kind.TEXT),
        Column("Postcode", Kind.POSTCODE),
        Column("Local_Authority", Kind.TEXT, nullable=True),
        Column("Last_Updated", Kind.UK_TIMESTAMP),
        *_ints("Beds_Total", "Beds_Vacant"),
        Column("Accepting_Admissions", Kind.CHOICE, YES_NO),
        *_ints(
            "Residents_Total",
            "Residents_Covid_Confirmed",
            "Residents_Covid_Suspected",
            "Residents_Newly_Confirmed_Today",
            "Residents_Newly_Suspected_Today",
            "Staff_Employed",
            "Staff_Absent_Covid",
            "Staff_Absent_Other",
            "Staff_Newly_Confirmed_Today",
            "Staff_Newly_Suspected_Today",
        ),
        *_ppe(Kind.PPE_RAG, _CT_PPE),
        Column("Visiting_Status", Kind.CHOICE, ("Open", "Restricted", "Closed")),
        *_ICF,
    ),
)

CT_HOME_CARE = FeedSpec(
    feed=Feed.CT_HOME_CARE,
    description="Capacity Tracker home-care section: one row per community service",
    opens=TRANSITION,
    last_day=None,
    weekdays_only_from=None,
    record_id="CT_Service_ID",
    columns=(
        Column("CT_Service_ID", Kind.INTEGER),
        *_CT_IDENTITY,
        Column("Service_Name", Kind.TEXT),
        Column("Service_Type", Kind.CHOICE, ("Domiciliary care", "Extra care housing", "Supported living")),
        Column("Postcode", Kind.POSTCODE),
        Column("Local_Authority", Kind.TEXT, nullable=True),
        Column("Last_Updated", Kind.UK_TIMESTAMP),
        *_ints(
            "People_Supported",
            "People_Covid_Confirmed",
            "People_Covid_Suspected",
            "Care_Workers_Employed",
            "Care_Workers_Absent_Covid",
        ),
        Column("Can_Provide_More_Hours", Kind.CHOICE, YES_NO),
        Column("Hours_Unable_To_Deliver", Kind.INTEGER),
        *_ppe(Kind.PPE_RAG, _CT_PPE),
        *_ICF,
    ),
)

CQC_UPDATE = FeedSpec(
    feed=Feed.CQC_UPDATE,
    description="CQC 'Update CQC on the impact of COVID-19' form: one row per submission",
    opens=CQC_FORM_OPENS,
    last_day=CQC_FORM_LAST_DAY,
    weekdays_only_from=CQC_WEEKDAYS_ONLY_FROM,
    record_id="location_id",
    columns=(
        Column("location_id", Kind.LOCATION_ID),
        Column("provider_id", Kind.LOCATION_ID),
        Column("location_name", Kind.TEXT),
        Column("service_type", Kind.CHOICE, ("homecare", "extra_care", "supported_living")),
        Column("submitted_at", Kind.ISO_TIMESTAMP),
        *_ints(
            "people_receiving_care",
            "people_confirmed_covid",
            "people_suspected_covid",
            "staff_total",
            "staff_absent_covid",
        ),
        *_ppe(
            Kind.PPE_DAYS,
            (
                "ppe_masks_days",
                "ppe_gloves_days",
                "ppe_aprons_days",
                "ppe_eye_protection_days",
                "ppe_hand_hygiene_days",
            ),
        ),
        Column("unable_to_deliver_care", Kind.CHOICE, ("yes", "no")),
        Column("covid_deaths_since_last_update", Kind.INTEGER),
    ),
)

FEEDS: dict[Feed, FeedSpec] = {s.feed: s for s in (CT_CARE_HOMES, CT_HOME_CARE, CQC_UPDATE)}


def feed_spec(name: str) -> FeedSpec:
    try:
        return FEEDS[Feed(name)]
    except ValueError:
        raise ValueError(f"unknown feed {name!r}; known feeds: {', '.join(FEEDS)}") from None
