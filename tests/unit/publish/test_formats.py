import csv
import io
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from careshare.datasets import DATASETS, LA_DAILY_SUMMARY, LOCATION_DAILY, PARTITION_COLUMNS
from careshare.publish.formats import (
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
DDE = "cmd|' /C calc'!A0"
FORMULAS = [
    "=1+2",
    "+1",
    "-1+2",
    "@SUM(A1:A9)",
    '=HYPERLINK("http://x")',
    f"={DDE}",
    f"@SUM(1+9)*{DDE}",
    f"-2+3+{DDE}",
    f"+{DDE}",
    "\tplain",
    "\rplain",
    "\t=1+2",
    " =1+2",
    "   @SUM(A1)",
    "\n=1+2",
    "\r\n+1",
    "\xa0=1",
    "\u3000-1",
    "＝1+2",
    "＋1",
    "－1",
    "＠SUM(A1)",
    " ＝1+2",
    "﹦1",
]
TEXT = ["Rose Court", "Smith-Jones = House + Annex", "a=1", "", "O'Brien", " Rose Court", DDE, "1-123456789", "\n"]


def with_column(table: pa.Table, name: str, values: list) -> pa.Table:
    position = table.schema.get_field_index(name)
    return table.set_column(position, table.schema.field(name), pa.array(values, type=table.schema.field(name).type))


def csv_rows(table: pa.Table, dataset=LOCATION_DAILY) -> list[dict]:
    return list(csv.DictReader(io.StringIO(csv_bytes(table, dataset).decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("formula", FORMULAS)
def test_csv_neutralises_what_a_spreadsheet_would_run_as_a_formula(formula):
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 2})
    table = with_column(table, "location_name", [formula, "Rose Court"])
    rows = csv_rows(table)
    assert rows[0]["location_name"] == f"'{formula}"
    assert rows[1]["location_name"] == "Rose Court"
    assert pq.read_table(io.BytesIO(parquet_bytes(table, LOCATION_DAILY))).column("location_name")[0].as_py() == formula


@pytest.mark.parametrize("text", TEXT)
def test_neutralise_leaves_text_a_spreadsheet_shows_as_text(text):
    assert neutralise(text) == text


def test_csv_leaves_numbers_alone_they_are_typed_cells():
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 1})
    table = with_column(table, "match_score", [-0.25])
    table = with_column(table, "beds_vacant", [-3])
    row = csv_rows(table)[0]
    assert row["match_score"] == "-0.25" and row["beds_vacant"] == "-3"


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
    assert frame["last_updated_at"].iloc[0] == "2020-11-01 09:30:00+00:00"
    assert set(frame["stale"]) <= {"true", "false"}
    assert set(frame["ppe_masks"]) <= {"Red", "Amber", "Green", "Blue"}


def test_csv_writes_missing_values_as_empty_cells():
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 1})
    table = with_column(table, "beds_total", [None])
    table = with_column(table, "postcode", [None])
    table = with_column(table, "ppe_masks", [None])
    row = csv_rows(table)[0]
    assert row["beds_total"] == "" and row["postcode"] == "" and row["ppe_masks"] == ""


def test_parquet_carries_partitions_in_the_path_only_and_is_deterministic():
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 5})
    first, second = parquet_bytes(table, LOCATION_DAILY), parquet_bytes(table, LOCATION_DAILY)
    assert first == second
    read = pq.read_table(io.BytesIO(first))
    assert not set(PARTITION_COLUMNS) & set(read.column_names)
    assert read.schema.equals(LOCATION_DAILY.arrow_schema(without_partitions=True))


def test_pandas_reads_nullable_counts_utc_times_and_ordered_categoricals_from_every_file():
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 2})
    table = with_column(table, "beds_total", [None, 4])
    table = with_column(table, "ppe_masks", ["Amber", None])
    frame = pd.read_parquet(io.BytesIO(parquet_bytes(table, LOCATION_DAILY)))
    assert str(frame["beds_total"].dtype) == "Int32" and frame["beds_total"].tolist() == [pd.NA, 4]
    assert str(frame["source_row"].dtype) == "Int32", "a count without a missing value too"
    assert str(frame["last_updated_at"].dtype) == "datetime64[us, UTC]"
    assert frame["stale"].dtype == bool and frame["match_score"].dtype == "float64"
    masks = frame["ppe_masks"]
    assert masks.dtype == pd.CategoricalDtype(["Red", "Amber", "Green", "Blue"], ordered=True)
    assert masks.iloc[0] == "Amber" and pd.isna(masks.iloc[1]) and masks.iloc[0] < "Green"
    summary = pd.read_parquet(
        io.BytesIO(parquet_bytes(synthetic_table(LA_DAILY_SUMMARY, DAY, {"E06000001": 1}), LA_DAILY_SUMMARY))
    )
    assert list(summary["ct_home_care_status"].cat.categories) == ["loaded", "failed", "missing", "not_collected"]


def test_every_file_holds_the_whole_answer_set_in_its_order_however_the_table_held_it():
    table = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 1})
    table = table.set_column(
        table.schema.get_field_index("visiting_status"),
        "visiting_status",
        pa.array(["Closed"]).dictionary_encode().cast(pa.dictionary(pa.int8(), pa.string(), ordered=True)),
    )
    read = pq.read_table(io.BytesIO(parquet_bytes(table, LOCATION_DAILY))).column("visiting_status")
    assert read.type.ordered and read.chunk(0).dictionary.to_pylist() == ["Open", "Restricted", "Closed"]
    assert read.to_pylist() == ["Closed"]


def test_an_answer_outside_its_answer_set_is_refused_not_published_as_missing():
    frame = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 1}).to_pandas()
    frame["ppe_gloves"] = "Purple"
    with pytest.raises(ValueError, match=r"ppe_gloves.*Purple"):
        to_arrow(frame, LOCATION_DAILY)


def test_times_are_published_to_the_second_in_both_files():
    frame = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 1}).to_pandas()
    frame["last_updated_at"] = pd.Timestamp("2020-11-27 23:59:59.750+01:00")
    table = to_arrow(frame, LOCATION_DAILY)
    assert csv_rows(table)[0]["last_updated_at"] == "2020-11-27 22:59:59+00:00"
    read = pq.read_table(io.BytesIO(parquet_bytes(table, LOCATION_DAILY))).column("last_updated_at")[0].as_py()
    assert read.isoformat() == "2020-11-27T22:59:59+00:00"


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
    answers = [f.name for f in LOCATION_DAILY.fields if f.values]
    frame[answers] = frame[answers].astype(object)  # the warehouse returns answers as text
    frame["report_date"] = frame["report_date"].astype(str)  # SQLite returns dates as text
    frame["last_updated_at"] = frame["last_updated_at"].dt.tz_localize(None).astype(str)
    frame["stale"] = frame["stale"].astype(int)  # and booleans as 0/1
    assert to_arrow(frame, LOCATION_DAILY).equals(table)
