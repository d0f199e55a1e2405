"""Entity resolution for the merge: the crosswalk of manual overrides and the conservative name match.

The identifier steps of the cascade (crosswalk, CQC location id, ODS code) run as SQL. What they
leave is decided here: a row is tied to a location by name only when exactly one directory
location of the row's kind at the row's postcode has a name scoring at least the threshold. A row
still unmatched is quarantined with what was tried, the nearest candidates, and the crosswalk line
that would fix it.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from rapidfuzz import fuzz

from careshare.conform.normalise import normalise_location_id
from careshare.datasets import NAME_MATCH_THRESHOLD
from careshare.feeds import CQC_LOCATION_ID_PATTERN, FEEDS, Feed
from careshare.reference import name_key

CROSSWALK_COLUMNS = ("feed", "record_id", "location_id", "reason")
NAME_POSTCODE = "name_postcode"
UNMATCHED = "unmatched"
CANDIDATES_SHOWN = 5

_NOISE_WORDS = frozenset({"the", "ltd", "limited"})
_APOSTROPHES = re.compile(r"['\u2019`]")
_LOCATION_ID = re.compile(CQC_LOCATION_ID_PATTERN)


class CrosswalkError(ValueError):
    """The crosswalk file cannot be used: the message names the file, the lines and the rules."""


@dataclass(frozen=True)
class CrosswalkEntry:
    line: int
    feed: str
    record_id: str
    location_id: str
    reason: str


def read_crosswalk(path: Path) -> list[CrosswalkEntry]:
    """Manual overrides `feed,record_id,location_id,reason[,…]`: the feed's own record id (CT_Home_ID,
    CT_Service_ID or the CQC form's location id) tied to a CQC location by a person."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CROSSWALK_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CrosswalkError(f"{path}: header lacks {', '.join(missing)} [rule crosswalk.header]")
        rows = [(line, {k: (v or "").strip() for k, v in row.items() if k}) for line, row in enumerate(reader, 2)]
    problems: list[str] = []
    entries: list[CrosswalkEntry] = []
    first_line: dict[tuple[str, str], int] = {}
    for line, row in rows:
        location_id = _normalised_location_id(row["location_id"])
        checks = (
            (row["feed"] in FEEDS, "feed", f"feed {row['feed']!r} is not one of {', '.join(FEEDS)}"),
            (bool(row["record_id"]), "record_id", "record_id is empty"),
            (bool(_LOCATION_ID.match(location_id)), "location_id", f"{row['location_id']!r} is not a CQC location id"),
            (bool(row["reason"]), "reason", "reason is empty: say why the override is right"),
        )
        failed = [f"line {line}: {message} [rule crosswalk.{rule}]" for ok, rule, message in checks if not ok]
        key = (row["feed"], row["record_id"])
        if key in first_line:
            failed.append(
                f"line {line}: {key[0]} record {key[1]} is already on line {first_line[key]} [rule crosswalk.duplicate]"
            )
        first_line.setdefault(key, line)
        problems.extend(failed)
        if not failed:
            entries.append(CrosswalkEntry(line, row["feed"], row["record_id"], location_id, row["reason"]))
    if problems:
        raise CrosswalkError(f"{path}: " + "; ".join(problems))
    return entries


def crosswalk_frame(entries: list[CrosswalkEntry], report_date: date) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "report_date": [report_date] * len(entries),
            "feed": [e.feed for e in entries],
            "record_id": [e.record_id for e in entries],
            "location_id": [e.location_id for e in entries],
            "line": [e.line for e in entries],
        }
    )


def name_match_key(name: str | None) -> str:
    """Accents, case, punctuation, `&`/`and` and words like `Ltd` do not tell two names apart."""
    if not name:
        return ""
    return " ".join(word for word in name_key(_APOSTROPHES.sub("", name)).split() if word not in _NOISE_WORDS)


def name_score(a: str | None, b: str | None) -> float:
    """0..1: the better of the plain and the word-order-blind similarity of the two name keys."""
    left, right = name_match_key(a), name_match_key(b)
    if not left or not right:
        return 0.0
    return round(max(fuzz.ratio(left, right), fuzz.token_sort_ratio(left, right)) / 100.0, 4)


@dataclass(frozen=True)
class Candidate:
    location_id: str
    name: str | None
    care_home: bool
    score: float

    def describe(self) -> str:
        kind = "care home" if self.care_home else "community service"
        return f"{self.location_id} {self.name!r} ({kind}, name score {self.score:.2f})"


@dataclass(frozen=True)
class Resolution:
    """The outcome of the name step for one row: a location, or the quarantine record saying why not."""

    feed: str
    source_row: int
    location_id: str | None
    score: float | None
    quarantine: dict[str, Any] | None = None


def resolve_by_name(rows: pd.DataFrame, report_date: date) -> list[Resolution]:
    """`rows`: merge/unmatched_rows (one row per unmatched row and directory location at its postcode)."""
    resolutions = []
    for (feed, source_row), group in rows.groupby(["feed", "source_row"], sort=True):
        row = group.iloc[0]
        wants_care_home = feed == Feed.CT_CARE_HOMES.value
        name = _text(row["name"])
        scored = sorted(
            (
                Candidate(
                    c.candidate_id,
                    _text(c.candidate_name),
                    c.candidate_care_home == "Y",
                    name_score(name, _text(c.candidate_name)),
                )
                for c in group.itertuples()
                if isinstance(c.candidate_id, str)
            ),
            key=lambda c: (-c.score, c.location_id),
        )
        fitting = [c for c in scored if c.care_home == wants_care_home and c.score >= NAME_MATCH_THRESHOLD]
        if len(fitting) == 1:
            resolutions.append(Resolution(str(feed), int(source_row), fitting[0].location_id, fitting[0].score))
        else:
            record = _unmatched_record(row, scored, fitting, wants_care_home, report_date)
            resolutions.append(Resolution(str(feed), int(source_row), None, None, record))
    return resolutions


def _unmatched_record(
    row: pd.Series, scored: list[Candidate], fitting: list[Candidate], wants_care_home: bool, report_date: date
) -> dict[str, Any]:
    feed, record_id = row["feed"], _text(row["record_id"]) or "?"
    raw_id = _text(row["cqc_location_id_raw"])
    reasons = [_id_reason(raw_id, _text(row["cqc_location_id"])), _ods_reason(_text(row["ods_code"]), row)]
    reasons.append(_name_reason(_text(row["name"]), _text(row["postcode"]), scored, fitting, wants_care_home))
    message = (
        f"{feed} row {int(row['source_row'])} (record {record_id}, name {_text(row['name'])!r}, postcode "
        f"{_text(row['postcode'])!r}) matches no CQC location: {'; '.join(reasons)}. To fix, add the line "
        f"`{feed},{record_id},<CQC location id>,<reason>` to the crosswalk (include/careshare/data/crosswalk.csv, "
        "or the file CARESHARE_CROSSWALK_CSV names) and rerun the day."
    )
    raw_record = {
        "record_id": record_id,
        "cqc_location_id": raw_id,
        "ods_code": _text(row["ods_code"]),
        "name": _text(row["name"]),
        "postcode": _text(row["postcode"]),
        "la_name_reported": _text(row["la_name_reported"]),
        "service_type": _text(row["service_type"]),
        "candidates_at_postcode": [c.__dict__ for c in scored[:CANDIDATES_SHOWN]],
    }
    return {
        "report_date": report_date,
        "feed": feed,
        "source_sha256": row["source_sha256"],
        "source_row": int(row["source_row"]),
        "stage": "merge",
        "rule": "match.unmatched",
        "column_name": "cqc_location_id",
        "severity": "critical",
        "value": raw_id,
        "message": message[:2000],
        "raw_record": json.dumps(raw_record, ensure_ascii=False)[:8000],
        "location_id": None,
    }


def _id_reason(raw_id: str | None, normalised: str | None) -> str:
    if not raw_id:
        return "no CQC location id"
    if normalised and normalised != raw_id:
        return f"CQC location id {raw_id!r} (read as {normalised!r}) is not in the directory"
    return f"CQC location id {raw_id!r} is not in the directory"


def _ods_reason(ods_code: str | None, row: pd.Series) -> str:
    if not ods_code:
        return "no ODS code"
    sharing = int(row["ods_locations"])
    if sharing == 0:
        return f"ODS code {ods_code!r} is not in the directory"
    return f"ODS code {ods_code!r} is carried by {sharing} directory locations"


def _name_reason(
    name: str | None, postcode: str | None, scored: list[Candidate], fitting: list[Candidate], wants_care_home: bool
) -> str:
    if not postcode or not name:
        return "no name and postcode to match on"
    if not scored:
        return f"no directory location at postcode {postcode!r}"
    shown = ", ".join(c.describe() for c in scored[:CANDIDATES_SHOWN])
    if len(fitting) > 1:
        return f"the name fits {len(fitting)} locations at {postcode!r}, too close to choose: {shown}"
    kind = "care home" if wants_care_home else "community service"
    return f"no {kind} at {postcode!r} has a name scoring {NAME_MATCH_THRESHOLD:.2f} or more: {shown}"


def _normalised_location_id(value: str) -> str:
    normalised = normalise_location_id(pd.Series([value], dtype="str")).iloc[0]
    return "" if pd.isna(normalised) else str(normalised)


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)
