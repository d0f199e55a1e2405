"""The roll-up suites (la_daily_summary, provider_daily) on rows typed as published: every council
once, completion numerators within their denominators, provider ids and names."""

from __future__ import annotations

from datetime import date

import pandas as pd

from careshare.config import EXPECTATIONS_DIR as EXPECTATIONS
from careshare.datasets import DATASETS
from careshare.quality.suites import dataset_parameters, load_suite
from careshare.quality.validate import validate_frame

DAY = date(2020, 12, 1)
BLANK = {"int32": 0, "float64": None, "string": None, "category": None, "date": pd.Timestamp(DAY)}


def parameters(local_authorities, **context) -> dict:
    councils = local_authorities.valid_on(DAY)
    return {**dataset_parameters(DAY, [c.code for c in councils], [c.region_code for c in councils]), **context}


def rollup_row(dataset: str, **values) -> dict:
    """A plausible roll-up row: 10 locations registered, 8 expected, 6 of them reporting."""
    row = {}
    for field in DATASETS[dataset].fields:
        row[field.name] = BLANK[field.type]
    row |= {
        "locations_registered": 10,
        "locations_expected": 8,
        "locations_reporting": 6,
        "completion_rate": 0.75,
        "care_homes_expected": 5,
        "care_homes_reporting": 4,
        "beds_total": 120,
        "beds_vacant": 12,
    }
    return row | values


def council_rows(local_authorities, **changes_by_code) -> pd.DataFrame:
    rows = [
        rollup_row(
            "la_daily_summary",
            **{
                "la_code": c.code,
                "la_name": c.name,
                "region_code": c.region_code,
                "region_name": c.region_name,
                **changes_by_code.get(c.code, {}),
            },
        )
        for c in local_authorities.valid_on(DAY)
    ]
    return pd.DataFrame(rows, columns=DATASETS["la_daily_summary"].column_names)


def provider_rows(count: int, **changes_by_row) -> pd.DataFrame:
    rows = [
        rollup_row(
            "provider_daily",
            **{
                "provider_id": f"1-{200_000_000 + n}",
                "provider_name": f"Provider {n}",
                "councils_reporting": 1,
                **changes_by_row.get(f"row{n}", {}),
            },
        )
        for n in range(1, count + 1)
    ]
    return pd.DataFrame(rows, columns=DATASETS["provider_daily"].column_names)


def validate(dataset: str, frame: pd.DataFrame, local_authorities, **context):
    row_key = load_suite(EXPECTATIONS / f"{dataset}.json").document["meta"]["row_key"]
    return validate_frame(
        frame, EXPECTATIONS / f"{dataset}.json", parameters(local_authorities, **context), row_key=row_key
    )


def test_one_row_per_council_valid_on_the_day_passes(local_authorities):
    report = validate("la_daily_summary", council_rows(local_authorities), local_authorities)
    assert report.success and report.blocking == [] and report.warnings == []


def test_a_missing_council_or_a_numerator_over_its_denominator_blocks_the_day(local_authorities):
    leeds, hartlepool = "E08000035", "E06000001"
    frame = council_rows(local_authorities, **{leeds: {"locations_reporting": 9, "completion_rate": 1.125}})
    frame = frame[frame["la_code"] != hartlepool]

    report = validate("la_daily_summary", frame, local_authorities)

    assert not report.success
    assert {b.rule for b in report.blocking} == {
        "ref.la_code.every_council_once",
        "completion.rate.range",
        "bound.locations_reporting_le_expected",
    }
    failures = {(f.rule, f.source_row) for f in report.row_failures}
    assert ("bound.locations_reporting_le_expected", leeds) in failures


def test_providers_pass_and_a_bad_id_blocks_while_missing_names_only_warn(local_authorities):
    assert validate("provider_daily", provider_rows(40), local_authorities).success

    unnamed = {f"row{n}": {"provider_name": None} for n in range(1, 6)}
    report = validate("provider_daily", provider_rows(40, row7={"provider_id": "1-12"}, **unnamed), local_authorities)

    assert [b.rule for b in report.blocking] == ["id.provider_id.pattern"]
    assert [w.rule for w in report.warnings] == ["ref.provider_name.filled"]
