"""Rows of any published dataset, made up from its definition, for publication tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa

from careshare.datasets import Dataset
from careshare.publish.formats import key_columns


def synthetic_table(
    dataset: Dataset, report_date: date, rows_per_council: dict[str, int], *, edition: int = 0
) -> pa.Table:
    """`edition` changes every non-key value, so two editions differ in every row."""
    keys = set(key_columns(dataset))
    columns: dict[str, list] = {f.name: [] for f in dataset.fields}
    for la_code, count in sorted(rows_per_council.items()):
        for i in range(count):
            for f in dataset.fields:
                columns[f.name].append(_value(f.name, f.type, la_code, i, report_date, edition, f.name in keys))
    return pa.table(columns, schema=dataset.arrow_schema())


def _value(name: str, kind: str, la_code: str, i: int, report_date: date, edition: int, key: bool):
    if name == "la_code":
        return la_code
    if name == "report_date":
        return report_date
    if name == "location_id":
        return f"1-{la_code[1:]}{i:03d}"
    if key:
        return f"{name}-{la_code}-{i:04d}"
    return {
        "string": f"s{i}e{edition}",  # fits every warehouse column
        "int32": i + edition,
        "float64": 0.5 + edition,
        "bool": (i + edition) % 2 == 0,
        "date": report_date,
        "timestamp": datetime(2020, 11, 1, 9, 30, tzinfo=UTC),
    }[kind]
