"""Which council a held-back or warned row belongs to, for the per-council quarantine prefixes and
downloads: the council the CQC directory gives, on the report date, for the location the merge tied
the row to. The CQC id a provider typed never places a row by itself (it may be another council's
location); a row that cannot be placed goes to `unknown`, readable only nationally.

A row held before the merge (it failed parsing or a critical rule, so it was never staged) has no
match of the merge's: it is matched by the merge's own rules without the typed id, an ODS code
exactly one location carries, else its name among the locations at its postcode.
"""

from __future__ import annotations

import functools
import json
from datetime import date

import pandas as pd

from careshare.conform import normalise
from careshare.conform.conform import harmonised_name
from careshare.conform.parse import SOURCE_ROW
from careshare.councils import LA_CODE_PATTERN
from careshare.feeds import feed_spec
from careshare.matching import resolve_by_name
from careshare.merge import directory_day
from careshare.resources import Platform

UNKNOWN_COUNCIL = "unknown"
MERGE_STAGE = "merge"
IDENTITY = ("record_id", "cqc_location_id", "ods_code", "name", "postcode", "la_name_reported", "service_type")


def directory_locations(platform: Platform, report_date: date) -> pd.DataFrame:
    """Every location of the directory the date's merge read, with its council on the date (None
    without an ONS code) and what the merge matches rows on."""
    return platform.warehouse.query_frame("quality/location_councils", directory_day(platform.warehouse, report_date))


def council_segment(la_code: str) -> str:
    """`la_code=<code>` for an object key, refusing anything but an ONS council code or `unknown`."""
    if la_code != UNKNOWN_COUNCIL and not LA_CODE_PATTERN.match(la_code):
        raise ValueError(f"refusing to build an object key from {la_code!r}: not an ONS council code")
    return f"la_code={la_code}"


def council_codes(location_ids: pd.Series, directory: pd.DataFrame) -> pd.Series:
    council_of = dict(zip(directory["location_id"], directory["la_code"], strict=True))
    return location_ids.map(council_of).fillna(UNKNOWN_COUNCIL).astype(str)


def located(rows: pd.DataFrame, directory: pd.DataFrame, report_date: date) -> pd.Series:
    """The location of each quarantined row (feed, source_row, stage, raw_record, location_id): the
    merge's match for a row the merge held, the merge's rules without the typed id for the others."""
    identities = _identities(rows[rows["stage"] != MERGE_STAGE].drop_duplicates(["feed", SOURCE_ROW]))
    by_ods = _by_ods_code(identities, directory)
    by_name = _by_name(identities[by_ods.isna()], directory, report_date)
    keys = zip(identities["feed"], identities[SOURCE_ROW], strict=True)
    found = {key: ods if isinstance(ods, str) else by_name.get(key) for key, ods in zip(keys, by_ods, strict=True)}
    held_before = [found.get(key) for key in zip(rows["feed"], rows[SOURCE_ROW], strict=True)]
    return (
        rows["location_id"]
        .astype(object)
        .where(rows["stage"] == MERGE_STAGE, pd.Series(held_before, index=rows.index, dtype=object))
    )


def _identities(rows: pd.DataFrame) -> pd.DataFrame:
    """The identity columns of each row as the conform step would give them, from its raw record."""
    records = [_identity(str(feed), raw) for feed, raw in zip(rows["feed"], rows["raw_record"], strict=True)]
    frame = pd.DataFrame.from_records(records, columns=list(IDENTITY))
    frame["cqc_location_id_raw"] = frame["cqc_location_id"]
    for column, clean in (
        ("cqc_location_id", normalise.normalise_location_id),
        ("ods_code", normalise.normalise_ods_code),
        ("postcode", normalise.normalise_postcode),
        ("name", normalise.normalise_text),
    ):
        frame[column] = clean(frame[column])
    frame = frame.astype(object).where(frame.notna(), None)
    frame["feed"] = rows["feed"].to_numpy()
    frame[SOURCE_ROW] = rows[SOURCE_ROW].to_numpy()
    frame["source_sha256"] = rows["source_sha256"].to_numpy()
    return frame


def _identity(feed: str, raw_record: object) -> dict[str, str | None]:
    """A record too long for the warehouse is kept cut short (no longer JSON): it has no identity."""
    try:
        record = json.loads(raw_record) if isinstance(raw_record, str) else None
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        record = {}
    columns = _source_columns(feed)
    cells = {target: record.get(columns[target]) if target in columns else None for target in IDENTITY}
    return {target: value if isinstance(value, str) else None for target, value in cells.items()}


@functools.cache
def _source_columns(feed: str) -> dict[str, str]:
    """Harmonised column -> the feed's own column."""
    spec = feed_spec(feed)
    return {harmonised_name(spec, c.name): c.name for c in spec.columns}


def _by_ods_code(identities: pd.DataFrame, directory: pd.DataFrame) -> pd.Series:
    unique = directory.dropna(subset=["ods_code"]).drop_duplicates("ods_code", keep=False)
    return identities["ods_code"].map(dict(zip(unique["ods_code"], unique["location_id"], strict=True)))


def _by_name(identities: pd.DataFrame, directory: pd.DataFrame, report_date: date) -> dict[tuple[str, int], str]:
    """(feed, source_row) -> location, by the merge's name step over merge/unmatched_rows' shape (each
    row with the locations at its postcode)."""
    named = identities.dropna(subset=["name", "postcode"]).reset_index(drop=True)
    if named.empty:
        return {}
    candidates = directory.dropna(subset=["postcode"])[["location_id", "name", "postcode", "care_home"]]
    candidates.columns = ["candidate_id", "candidate_name", "postcode", "candidate_care_home"]
    sharing = directory.dropna(subset=["ods_code"]).groupby("ods_code").size()
    named["ods_locations"] = named["ods_code"].map(sharing).fillna(0).astype(int)
    resolutions = resolve_by_name(named.merge(candidates, on="postcode", how="left"), report_date)
    return {(r.feed, r.source_row): r.location_id for r in resolutions if r.location_id}
