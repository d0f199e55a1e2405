"""A national-scale care-home day (15,500 rows) validates in well under the 3 s budget."""

from __future__ import annotations

import time
from datetime import date

import pytest

from careshare.feeds import CT_CARE_HOMES
from careshare.quality.validate import suite_parameters_for, validate_frame

NATIONAL_CARE_HOMES = 15_500
REPORT_DATE = date(2020, 9, 1)


def _day(build, bad_every: int):
    """Every `bad_every`-th row breaks a different rule in turn (ids, counts, bounds, answers)."""
    breaks = [
        {"CQC_Location_ID": "X-12"},
        {"Beds_Vacant": "-1"},
        {"Beds_Total": "5", "Beds_Vacant": "9"},
        {"Last_Updated": "03/09/2020 10:00"},
        {"PPE_Masks": "Purple"},
    ]
    changes = [
        breaks[(n // bad_every) % len(breaks)] if n % bad_every == 0 else {"Last_Updated": "28/08/2020 12:00"}
        for n in range(NATIONAL_CARE_HOMES)
    ]
    return build(CT_CARE_HOMES, REPORT_DATE, changes)


def _timed(frame, suite_path, runs: int = 3):
    parameters = suite_parameters_for(CT_CARE_HOMES, REPORT_DATE)
    times, report = [], None
    for _ in range(runs):
        start = time.perf_counter()
        report = validate_frame(frame, suite_path, parameters)
        times.append(time.perf_counter() - start)
    return min(times), report


@pytest.mark.slow
def test_national_scale_day_validates_quickly(build, suite_for, capsys):
    suite_path = suite_for(CT_CARE_HOMES)
    validate_frame(
        build(CT_CARE_HOMES, REPORT_DATE, [{}]), suite_path, suite_parameters_for(CT_CARE_HOMES, REPORT_DATE)
    )

    clean, clean_report = _timed(_day(build, bad_every=1000), suite_path)
    messy, messy_report = _timed(_day(build, bad_every=3), suite_path)  # a third of rows fail a rule

    with capsys.disabled():
        print(
            f"\nvalidate_frame, {NATIONAL_CARE_HOMES} care-home rows (best of 3, GX already imported): "
            f"{clean:.2f}s with {len(clean_report.row_failures)} row failures, "
            f"{messy:.2f}s with {len(messy_report.row_failures)} row failures"
        )
    assert len(clean_report.row_failures) >= 15 and clean_report.success
    assert len(messy_report.row_failures) > 3800 and not messy_report.success
    assert clean < 3 and messy < 3
