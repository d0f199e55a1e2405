"""Rows of any published dataset, made up from its definition, for publication tests: every value
is one its Table Schema allows (answers from the answer set, ids of the right shape, bounds kept)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa

from careshare.datasets import REGION_CODE_PATTERN, Dataset, Field
from careshare.feeds import CQC_LOCATION_ID_PATTERN
from careshare.publish.formats import answer_array, key_columns

SHAPED = {
    CQC_LOCATION_ID_PATTERN: lambda la_code, n: f"1-{la_code[1:]}{n:03d}",
    REGION_CODE_PATTERN: lambda la_code, n: f"E1200000{n % 9 + 1}",
}


def synthetic_table(
    dataset: Dataset, report_date: date, rows_per_council: dict[str, int], *, edition: int = 0
) -> pa.Table:
    """`edition` changes every non-key value, so two editions differ in every row."""
    keys = set(key_columns(dataset))
    columns: dict[str, list] = {f.name: [] for f in dataset.fields}
    for la_code, count in sorted(rows_per_council.items()):
        for i in range(count):
            for f in dataset.fields:
                columns[f.name].append(_value(f, la_code, i, report_date, 0 if f.name in keys else edition))
    arrays = [_array(columns[f.name], f) for f in dataset.fields]
    return pa.table(arrays, schema=dataset.arrow_schema())


def _array(values: list, field: Field) -> pa.Array:
    """Answers indexed into their whole answer set, as the published files hold them."""
    return answer_array(pa.array(values), field) if field.values else pa.array(values, type=field.arrow_type)


def _value(field: Field, la_code: str, i: int, report_date: date, edition: int):
    if field.name == "la_code":
        return la_code
    if field.name == "report_date":
        return report_date
    if field.values:
        return field.values[(i + edition) % len(field.values)]
    if field.pattern:
        return SHAPED[field.pattern](la_code, i + edition)
    return {
        "string": f"s{i}e{edition}",  # fits every warehouse column
        "int32": int(field.minimum) + i + edition,
        "float64": 0.5 / (1 + edition),
        "bool": (i + edition) % 2 == 0,
        "date": report_date,
        "timestamp": datetime(2020, 11, 1, 9, 30, tzinfo=UTC),
    }[field.type]
