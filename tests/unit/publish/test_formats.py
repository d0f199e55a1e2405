import csv
import io
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from careshare.datasets import DATASETS, LOCATION_DAILY, PARTITION_COLUMNS
from careshare.publish.formats import (
    FORMULA_TRIGGERS,
    DuplicateRows,
    csv_bytes,
    key_columns,
    neutralise,
    parquet_bytes,
    split_by_council,
    to_arrow,
)
from tests.unit.publish.synthetic import synthetic_table

DAY = date(2020, 11, 28)


def with_column(table: pa.Table, name: str, values: list) -> pa.Table:
    position = table.schema.get_field_index(name)
    return table.set_column(position, table.schema.field(name), pa.array(values, type=table.schema.field(name).type))


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_csv_neutralises_every_formula_trigger_in_text_cells(trigger):
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 2})
    table = with_column(table, "location_name", [f'{trigger}HYPERLINK("http://x")', "Rose Court"])
    rows = list(csv.DictReader(io.StringIO(csv_bytes(table, LOCATION_DAILY).decode("utf-8-sig"), newline="")))
    assert rows[0]["location_name"] == f'\'{trigger}HYPERLINK("http://x")'
    assert rows[1]["location_name"] == "Rose Court"


def test_csv_leaves_numbers_and_inner_signs_alone():
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 1})
    table = with_column(table, "match_score", [-0.25])
    table = with_column(table, "location_name", ["Smith-Jones = House + Annex"])
    row = next(csv.DictReader(io.StringIO(csv_bytes(table, LOCATION_DAILY).decode("utf-8-sig"), newline="")))
    assert row["match_score"] == "-0.25"
    assert row["location_name"] == "Smith-Jones = House + Annex"


def test_neutralise_only_prefixes_leading_triggers():
    assert neutralise("=1+2") == "'=1+2"
    assert neutralise("a=1") == "a=1"
    assert neutralise("") == ""


def test_csv_is_utf8_with_bom_header_crlf_and_every_column():
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 2})
    table = with_column(table, "location_name", ['Café Émile, "Home"', "Line\nbreak"])
    data = csv_bytes(table, LOCATION_DAILY)
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.split(b"\r\n")[0].decode("utf-8-sig").split(",") == LOCATION_DAILY.column_names
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(frame.columns) == LOCATION_DAILY.column_names
    assert frame["location_name"].tolist() == ['Café Émile, "Home"', "Line\nbreak"]
    assert frame["la_code"].tolist() == ["E06000001", "E06000001"]
    assert frame["last_updated_at"].iloc[0] == "2020-11-01 09:30:00"
    assert set(frame["stale"]) <= {"true", "false"}


def test_csv_writes_missing_values_as_empty_cells():
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 1})
    table = with_column(table, "beds_total", [None])
    table = with_column(table, "postcode", [None])
    row = next(csv.DictReader(io.StringIO(csv_bytes(table, LOCATION_DAILY).decode("utf-8-sig"), newline="")))
    assert row["beds_total"] == "" and row["postcode"] == ""


def test_parquet_carries_partitions_in_the_path_only_and_is_deterministic():
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 5})
    first, second = parquet_bytes(table, LOCATION_DAILY), parquet_bytes(table, LOCATION_DAILY)
    assert first == second
    read = pq.read_table(io.BytesIO(first))
    assert not set(PARTITION_COLUMNS) & set(read.column_names)
    assert read.schema.equals(LOCATION_DAILY.arrow_schema(without_partitions=True))


def test_split_by_council_orders_rows_by_key_whatever_the_input_order():
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 4, "E08000035": 3})
    shuffled = table.take(pa.array([6, 0, 3, 5, 1, 4, 2]))
    parts = split_by_council(shuffled, LOCATION_DAILY)
    assert list(parts) == ["E06000001", "E08000035"]
    for part in parts.values():
        ids = part.column("location_id").to_pylist()
        assert ids == sorted(ids)
    assert parquet_bytes(parts["E06000001"], LOCATION_DAILY) == parquet_bytes(
        split_by_council(table, LOCATION_DAILY)["E06000001"], LOCATION_DAILY
    )


def test_rows_sharing_the_grain_are_refused():
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 2})
    table = with_column(table, "location_id", ["1-000000001", "1-000000001"])
    with pytest.raises(DuplicateRows, match=r"location_daily.*1-000000001"):
        split_by_council(table, LOCATION_DAILY)


@pytest.mark.parametrize("dataset", list(DATASETS.values()), ids=list(DATASETS))
def test_every_dataset_has_a_grain_of_its_own_columns(dataset):
    assert set(key_columns(dataset)) <= set(dataset.column_names)


def test_to_arrow_reads_warehouse_types_of_both_backends():
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 2})
    frame = table.to_pandas()
    frame["report_date"] = frame["report_date"].astype(str)  # SQLite returns dates as text
    frame["last_updated_at"] = frame["last_updated_at"].dt.tz_localize(None).astype(str)
    frame["stale"] = frame["stale"].astype(int)  # and booleans as 0/1
    assert to_arrow(frame, LOCATION_DAILY).equals(table)
