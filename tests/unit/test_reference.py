import itertools
from datetime import date, timedelta

import pytest

from careshare.councils import UnknownLocalAuthority, name_key


@pytest.mark.parametrize(
    ("name", "day", "code"),
    [
        ("North Northamptonshire", date(2021, 3, 31), "E10000021"),
        ("North Northamptonshire", date(2021, 4, 1), "E06000061"),
        ("West Northamptonshire", date(2020, 11, 30), "E10000021"),
        ("West Northamptonshire", date(2021, 4, 1), "E06000062"),
        ("Buckinghamshire", date(2020, 3, 31), "E10000002"),
        ("Buckinghamshire", date(2020, 4, 1), "E06000060"),
        ("North Yorkshire", date(2023, 3, 31), "E10000023"),
        ("North Yorkshire", date(2023, 4, 1), "E06000065"),
        ("Somerset", date(2022, 1, 1), "E10000027"),
        ("Westmorland and Furness", date(2022, 1, 1), "E10000006"),
        ("Cumberland", date(2023, 4, 1), "E06000063"),
        ("kingston upon hull, city of", date(2020, 6, 1), "E06000010"),
        ("  LEEDS ", date(2020, 6, 1), "E08000035"),
    ],
)
def test_today_name_maps_to_the_code_valid_on_the_report_date(local_authorities, name, day, code):
    assert local_authorities.code_for(name, day).code == code


def test_unknown_name_is_an_error(local_authorities):
    with pytest.raises(UnknownLocalAuthority, match="Atlantis"):
        local_authorities.code_for("Atlantis", date(2020, 6, 1))


def test_council_counts_match_the_reference_dates(local_authorities):
    assert len(local_authorities.valid_on(date(2020, 11, 30))) == 151
    assert len(local_authorities.valid_on(date(2021, 4, 1))) == 152
    assert len(local_authorities.valid_on(date(2023, 4, 1))) == 153


def test_name_periods_agree_with_code_for_on_every_boundary(local_authorities):
    periods = local_authorities.name_periods()
    boundaries = sorted({p[1] for p in periods} | {p[2] for p in periods if p[2].year < 9999})
    days = [d + timedelta(days=k) for d in boundaries for k in (-1, 0, 1)]
    for key, start, end, code in periods:
        name = next(la.name for la in local_authorities if name_key(la.name) == key)
        for day in days:
            if start <= day <= end:
                assert local_authorities.code_for(name, day).code == code, (name, day)


def test_name_periods_never_overlap(local_authorities):
    by_name = {}
    for key, start, end, _code in local_authorities.name_periods():
        by_name.setdefault(key, []).append((start, end))
    for spans in by_name.values():
        spans.sort()
        assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
