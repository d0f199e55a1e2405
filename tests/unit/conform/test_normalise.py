from datetime import UTC, datetime

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from careshare.conform import normalise as n
from careshare_sim.mess import CQC_BAD_TIMESTAMP_FORMATS, CT_BAD_TIMESTAMP_FORMATS, pad_id, restyle_postcode

digits = st.text(alphabet="0123456789", min_size=9, max_size=11)
spaces = st.text(alphabet=" \t", max_size=3)


def one(function, value):
    return function(pd.Series([value], dtype="str")).iloc[0]


@given(digits, spaces, spaces, st.booleans())
def test_location_id_messy_forms_normalise_to_one_id(body, left, right, with_prefix):
    raw = f"{left}{'1-' if with_prefix else ''}{body}{right}"
    assert one(n.normalise_location_id, raw) == f"1-{body}"


@given(digits)
def test_location_id_normalisation_is_idempotent(body):
    once = one(n.normalise_location_id, f" 1-{body} ")
    assert one(n.normalise_location_id, once) == once


@given(st.text(max_size=20))
def test_location_id_never_invents_an_id(raw):
    result = one(n.normalise_location_id, raw)
    digits_in_raw = "".join(ch for ch in raw if ch.isdigit())
    if isinstance(result, str) and result.startswith("1-") and result[2:].isdigit():
        assert result[2:] in digits_in_raw


def test_location_id_blank_is_missing_and_junk_is_kept_for_the_pattern_check():
    values = n.normalise_location_id(pd.Series(["", "  ", "1-12345", "abc"], dtype="str"))
    assert values.isna().tolist() == [True, True, False, False]
    assert values.iloc[2:].tolist() == ["1-12345", "ABC"]


outward = st.sampled_from(["A1", "AB1", "A12", "AB12", "A1B", "AB1C", "SW1A", "M1"])
inward = st.from_regex(r"\A[0-9][A-Z]{2}\Z")


@given(outward, inward, st.sampled_from(["", " ", "  "]), st.booleans())
def test_postcode_any_case_and_spacing(out, inn, gap, lower):
    raw = f" {out}{gap}{inn} "
    assert one(n.normalise_postcode, raw.lower() if lower else raw) == f"{out} {inn}"


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2023, 12, 31)))
def test_uk_wall_time_round_trips_through_utc(wall):
    wall = wall.replace(second=0, microsecond=0)
    text = wall.strftime("%d/%m/%Y %H:%M")
    instants, bad = n.parse_uk_local_timestamp(pd.Series([text], dtype="str"))
    assert not bad.iloc[0]
    back = instants.dt.tz_convert("Europe/London").iloc[0]
    expected = pd.Timestamp(wall).tz_localize("Europe/London", ambiguous=True, nonexistent="shift_forward")
    assert back == expected


def test_uk_wall_time_uses_bst_in_summer_and_gmt_in_winter():
    instants, _ = n.parse_uk_local_timestamp(pd.Series(["02/06/2020 09:14", "01/12/2020 09:14"], dtype="str"))
    assert instants.tolist() == [
        pd.Timestamp("2020-06-02 08:14", tz="UTC"),
        pd.Timestamp("2020-12-01 09:14", tz="UTC"),
    ]


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2023, 12, 31), timezones=st.just(UTC)),
    st.sampled_from(["+00:00", "+01:00", "-05:00", "Z"]),
)
def test_iso_timestamps_with_offset_convert_to_the_same_instant(instant, offset):
    instant = instant.replace(microsecond=0)
    shift = pd.Timedelta(0 if offset == "Z" else int(offset[:3]), "h")
    local = (pd.Timestamp(instant) + shift).tz_localize(None)
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + offset
    parsed, bad = n.parse_iso_timestamp(pd.Series([text], dtype="str"))
    assert not bad.iloc[0]
    assert parsed.iloc[0] == pd.Timestamp(instant)


def test_timestamps_in_the_wrong_format_are_flagged_not_guessed():
    _, bad_uk = n.parse_uk_local_timestamp(pd.Series(["2020-06-02 09:14", "31/02/2020 10:00", ""], dtype="str"))
    _, bad_iso = n.parse_iso_timestamp(pd.Series(["2020-06-02 09:14", "02/06/2020 09:14", ""], dtype="str"))
    assert bad_uk.tolist() == [True, True, False]
    assert bad_iso.tolist() == [True, True, False]


def test_counts_keep_negatives_and_flag_text():
    numbers, bad = n.parse_count(pd.Series(["3", " -2 ", "x", "", "1.5"], dtype="str"))
    assert numbers.tolist()[:2] == [3, -2]
    assert bad.tolist() == [False, False, True, False, True]


def test_ppe_days_map_to_rag_on_ct_scale():
    days = pd.Series([0, 1, 2, 6, 7, 30, None], dtype="Int64")
    assert n.ppe_days_to_rag(days).tolist()[:6] == ["Red", "Red", "Amber", "Amber", "Green", "Green"]
    assert pd.isna(n.ppe_days_to_rag(days).iloc[6])


def test_choices_match_case_insensitively_and_keep_unknown_answers():
    values = n.canonical_choice(pd.Series([" yes", "NO", "Maybe", ""], dtype="str"), ("Yes", "No"))
    assert values.tolist()[:3] == ["Yes", "No", "Maybe"]
    assert pd.isna(values.iloc[3])


ods_codes = st.from_regex(r"\AV[A-Z][A-Z0-9]{3}\Z")


@given(ods_codes, spaces, spaces, st.booleans())
def test_ods_codes_in_any_case_and_padding_normalise_to_one_code(code, left, right, lower):
    raw = f"{left}{code.lower() if lower else code}{right}"
    assert one(n.normalise_ods_code, raw) == code
    assert one(n.normalise_ods_code, one(n.normalise_ods_code, raw)) == code


@given(digits, st.floats(min_value=0, max_value=1, exclude_max=True))
def test_every_padding_the_simulator_produces_normalises_back(body, u):
    assert one(n.normalise_location_id, pad_id(f"1-{body}", u)) == f"1-{body}"
    assert one(n.normalise_location_id, pad_id(body, u)) == f"1-{body}"


@given(outward, inward, st.floats(min_value=0, max_value=1, exclude_max=True))
def test_every_postcode_variant_the_simulator_produces_normalises_back(out, inn, u):

    assert one(n.normalise_postcode, restyle_postcode(f"{out} {inn}", u)) == f"{out} {inn}"


@given(st.text(max_size=12))
def test_postcode_normalisation_is_idempotent_and_never_adds_characters(raw):
    once = one(n.normalise_postcode, raw)
    if isinstance(once, str):
        assert one(n.normalise_postcode, once) == once
        assert set(once.replace(" ", "")) <= set(raw.upper())


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2023, 12, 31)), st.integers(0, 3))
def test_the_simulators_wrong_timestamp_formats_are_never_guessed(wall, which):
    ct = wall.strftime(CT_BAD_TIMESTAMP_FORMATS[which % len(CT_BAD_TIMESTAMP_FORMATS)])
    cqc = wall.replace(tzinfo=UTC).strftime(CQC_BAD_TIMESTAMP_FORMATS[which % len(CQC_BAD_TIMESTAMP_FORMATS)])
    assert n.parse_uk_local_timestamp(pd.Series([ct], dtype="str"))[1].iloc[0]
    assert n.parse_iso_timestamp(pd.Series([cqc], dtype="str"))[1].iloc[0]


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2023, 12, 31)))
def test_a_uk_wall_time_keeps_its_calendar_date_in_uk_time(wall):
    wall = wall.replace(second=0, microsecond=0)
    instants, bad = n.parse_uk_local_timestamp(pd.Series([wall.strftime("%d/%m/%Y %H:%M")], dtype="str"))
    assert not bad.iloc[0]
    assert n.uk_local_date(instants).iloc[0] == pd.Timestamp(wall.date())


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2023, 12, 31)),
    st.sampled_from(["", "Z", "+01:00", "+0100", "-03:30"]),
    st.sampled_from(["T", " "]),
)
def test_iso_timestamps_need_an_offset(moment, offset, separator):
    text = moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S") + offset
    _, bad = n.parse_iso_timestamp(pd.Series([text], dtype="str"))
    assert bad.iloc[0] == (offset == "")
