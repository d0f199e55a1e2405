"""The name step of the matching cascade and the crosswalk file, on their own."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from careshare.matching import CrosswalkError, name_match_key, name_score, read_crosswalk, resolve_by_name

DAY = date(2020, 12, 1)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Rose Lodge", "ROSE LODGE"),
        ("The Rose Lodge Ltd", "Rose Lodge"),
        ("St. Anne's & St. Mary's", "St Annes and St Marys"),
        ("Résidence Beaumont", "Residence Beaumont"),
        ("=Rose Lodge", "Rose Lodge"),
        ("Lodge Rose", "Rose Lodge"),
    ],
)
def test_spelling_that_does_not_tell_names_apart_scores_one(a, b):
    assert name_score(a, b) == 1.0


def test_different_names_score_low_and_empty_names_score_zero():
    assert name_score("Rose Lodge", "Oak House") < 0.5
    assert name_score("Rose Lodge", "Rose Court") < 0.9
    assert name_score(None, "Rose Lodge") == name_score("The Ltd", "Rose Lodge") == 0.0
    assert name_match_key("The Old Rectory Ltd") == "old rectory"


def unmatched(rows: list[dict]) -> pd.DataFrame:
    """Rows shaped like merge/unmatched_rows: one per (row, candidate at its postcode)."""
    base = {
        "feed": "ct_care_homes",
        "source_row": 7,
        "source_sha256": "ab" * 32,
        "record_id": "10042",
        "cqc_location_id": None,
        "cqc_location_id_raw": None,
        "ods_code": None,
        "name": "The Rose Lodge",
        "postcode": "LS1 4AP",
        "la_name_reported": "Leeds",
        "service_type": "Care home",
        "ods_locations": 0,
        "candidate_id": None,
        "candidate_name": None,
        "candidate_care_home": None,
    }
    return pd.DataFrame([base | row for row in rows])


def candidate(location_id: str, name: str, care_home: str = "Y") -> dict:
    return {"candidate_id": location_id, "candidate_name": name, "candidate_care_home": care_home}


def test_the_one_close_name_of_the_right_kind_at_the_postcode_is_matched_with_its_score():
    rows = unmatched(
        [
            candidate("1-100000001", "Rosewood Lodge Ltd"),
            candidate("1-100000002", "Oak House Nursing Home"),
            candidate("1-100000003", "Rosewood Lodge", care_home="N"),
            {"source_row": 8, "name": "Oakhouse Nursing Home", **candidate("1-100000002", "Oak House Nursing Home")},
            {"source_row": 9, "name": "Rose Lodge", **candidate("1-100000001", "Rosewood Lodge Ltd")},
        ]
    )
    rows.loc[rows["source_row"] == 7, "name"] = "The Rosewood Lodge"
    exact, close, different = resolve_by_name(rows, DAY)
    assert (exact.source_row, exact.location_id, exact.score, exact.quarantine) == (7, "1-100000001", 1.0, None)
    assert close.location_id == "1-100000002" and 0.9 <= close.score < 1.0
    assert different.location_id is None and "name score 0.8" in different.quarantine["message"]


def test_a_name_that_fits_two_locations_is_not_guessed():
    rows = unmatched([candidate("1-100000001", "Rose Lodge"), candidate("1-100000002", "Rose Lodge Ltd")])
    (resolution,) = resolve_by_name(rows, DAY)
    assert resolution.location_id is None
    message = resolution.quarantine["message"]
    assert "fits 2 locations" in message and "1-100000001" in message and "1-100000002" in message


def test_a_care_home_row_is_never_matched_to_a_community_service_of_the_same_name():
    (resolution,) = resolve_by_name(unmatched([candidate("1-100000003", "Rose Lodge", care_home="N")]), DAY)
    assert resolution.location_id is None
    assert "no care home at 'LS1 4AP'" in resolution.quarantine["message"]


def test_an_unmatched_row_says_what_was_tried_and_how_to_fix_it():
    rows = unmatched(
        [
            {
                "cqc_location_id_raw": " 1-99999999 ",
                "cqc_location_id": "1-99999999",
                "ods_code": "VN4A2",
                "ods_locations": 2,
            }
        ]
    )
    (resolution,) = resolve_by_name(rows, DAY)
    record = resolution.quarantine
    assert (record["rule"], record["stage"], record["severity"], record["value"]) == (
        "match.unmatched",
        "merge",
        "critical",
        " 1-99999999 ",
    )
    message = record["message"]
    for part in (
        "ct_care_homes row 7 (record 10042",
        "'The Rose Lodge'",
        "CQC location id ' 1-99999999 ' (read as '1-99999999') is not in the directory",
        "ODS code 'VN4A2' is carried by 2 directory locations",
        "no directory location at postcode 'LS1 4AP'",
        "`ct_care_homes,10042,<CQC location id>,<reason>` to the crosswalk (include/careshare/data/crosswalk.csv",
    ):
        assert part in message
    assert '"la_name_reported": "Leeds"' in record["raw_record"]


def write_crosswalk(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "crosswalk.csv"
    path.write_text("\n".join(["feed,record_id,location_id,reason,decided_by,decided_on", *lines]) + "\n")
    return path


def test_crosswalk_entries_are_read_with_their_line_and_normalised_location_id(tmp_path):
    path = write_crosswalk(
        tmp_path,
        "ct_care_homes,10042, 123456789 ,typo in the CT registration,a.person,2020-12-02",
        "cqc_update,1-987654321,1-111111111,form link reused,a.person,2020-12-02",
    )
    first, second = read_crosswalk(path)
    assert (first.line, first.feed, first.record_id, first.location_id) == (2, "ct_care_homes", "10042", "1-123456789")
    assert (second.line, second.location_id) == (3, "1-111111111")


def test_a_bad_crosswalk_is_refused_naming_every_line_and_rule(tmp_path):
    path = write_crosswalk(
        tmp_path,
        "ct_care_homes,10042,1-123456789,first,a,2020-12-02",
        "ct_care_homes,10042,1-123456780,again,a,2020-12-02",
        "capacity_tracker,1,1-123456789,x,a,2020-12-02",
        "ct_home_care,5,XX-1,x,a,2020-12-02",
        "ct_home_care,6,1-123456789,,a,2020-12-02",
    )
    with pytest.raises(CrosswalkError) as raised:
        read_crosswalk(path)
    message = str(raised.value)
    for part in (
        "line 3: ct_care_homes record 10042 is already on line 2 [rule crosswalk.duplicate]",
        "line 4: feed 'capacity_tracker' is not one of",
        "line 5: 'XX-1' is not a CQC location id [rule crosswalk.location_id]",
        "line 6: reason is empty",
    ):
        assert part in message


def test_a_crosswalk_without_its_columns_is_refused(tmp_path):
    path = tmp_path / "crosswalk.csv"
    path.write_text("feed,record,location\n")
    with pytest.raises(CrosswalkError, match=r"header lacks record_id, location_id, reason \[rule crosswalk.header\]"):
        read_crosswalk(path)


def test_the_packaged_crosswalk_is_valid():
    from careshare.config import CROSSWALK_CSV

    read_crosswalk(CROSSWALK_CSV)
