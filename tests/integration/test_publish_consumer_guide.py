"""The consumer guide (docs/reading-the-data.md) runs as written, against published releases on a local S3 endpoint
(only the bucket name and the endpoint are substituted), and every reader in it gets the types the
data dictionary documents."""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from careshare.datasets import LOCATION_DAILY
from careshare.publish.dictionary import DUCKDB_TYPES, publish_docs, schema_reference
from careshare.publish.formats import pandas_dtype
from careshare.publish.release import publish_release
from careshare.storage import open_store
from tests.conftest import REPO_ROOT, create_buckets
from tests.unit.publish.synthetic import synthetic_table

pytestmark = pytest.mark.slow

FIRST, CORRECTED, WITHDRAWN = date(2020, 11, 30), date(2020, 12, 1), date(2020, 12, 2)


def guide_snippets() -> list[str]:
    guide = (REPO_ROOT / "docs" / "reading-the-data.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", guide, flags=re.DOTALL)


def duckdb_types(relation: duckdb.DuckDBPyRelation) -> dict[str, str]:
    return {name: str(kind) for name, kind in zip(relation.columns, relation.types, strict=True)}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Where the snippets run (the DuckDB one makes its local copy there)."""
    return tmp_path_factory.mktemp("guide")


@pytest.fixture(scope="module")
def guide(s3_endpoint, s3_client, local_authorities, folder) -> dict:
    """The namespace the guide's snippets leave."""
    bucket = f"careshare-guide-{uuid.uuid4().hex[:10]}"
    create_buckets(s3_client, bucket)
    store = open_store(f"s3://{bucket}", s3_client)
    publish_docs(store)

    def release(day: date, councils: dict[str, int], edition: int = 0) -> None:
        table = synthetic_table(LOCATION_DAILY, day, councils, edition=edition)
        publish_release(store, LOCATION_DAILY, day, table, local_authorities, schema=schema_reference(LOCATION_DAILY))

    release(FIRST, {"E08000035": 3})
    release(CORRECTED, {"E08000035": 4, "E06000001": 2})
    release(CORRECTED, {"E08000035": 4, "E06000001": 2}, edition=1)
    release(WITHDRAWN, {"E08000035": 2, "E06000001": 1})
    release(WITHDRAWN, {"E06000001": 1})

    snippets = guide_snippets()
    assert len(snippets) >= 3
    code = "\n".join(snippets)
    local = {
        '"careshare-published", "E08000035"': f'"{bucket}", "E08000035"',
        'pyarrow.fs.S3FileSystem(region="eu-west-2")': (
            f'pyarrow.fs.S3FileSystem(region="eu-west-2", endpoint_override="{s3_endpoint.removeprefix("http://")}",'
            ' scheme="http")'
        ),
    }
    for written, substitute in local.items():
        assert written in code
        code = code.replace(written, substitute)

    namespace: dict = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        exec(compile(code, "docs/reading-the-data.md", "exec"), namespace)
    return namespace


def test_the_consumer_guide_snippets_run(guide, folder):
    assert guide["table"].num_rows == 3 + 4, "the withdrawn day has no current file"
    assert sorted(set(guide["table"].column("report_date").to_pylist())) == [FIRST, CORRECTED]
    assert len(guide["frame"]) == 7
    assert guide["manifest"]["version"] == 1 and len(guide["as_first_published"]) == 2
    assert len(list((folder / "careshare" / "location_daily").glob("*/*/*.parquet"))) == 2


def test_pyarrow_gets_the_published_schema_with_the_partitions_typed_from_the_path(guide):
    schema = guide["table"].schema
    for field in LOCATION_DAILY.fields:
        assert schema.field(field.name).type == field.arrow_type, field.name
    masks = guide["table"].column("ppe_masks").chunk(0)
    assert masks.type.ordered and masks.dictionary.to_pylist() == ["Red", "Amber", "Green", "Blue"]


def test_pandas_gets_nullable_counts_utc_times_dates_and_ordered_categoricals(guide):
    frame = guide["frame"]
    assert {f.name: frame[f.name].dtype for f in LOCATION_DAILY.fields} == {
        f.name: pandas_dtype(f) for f in LOCATION_DAILY.fields
    }
    assert all(isinstance(day, date) for day in frame["report_date"])
    assert (frame["ppe_masks"] < "Green").any()


def test_the_csv_read_with_its_table_schema_has_the_parquet_types(guide):
    csv = guide["as_first_published"]
    for field in LOCATION_DAILY.fields:
        expected = {"date": "datetime64[us]"}.get(field.type, pandas_dtype(field))
        assert csv[field.name].dtype == expected, field.name
    assert csv["ppe_masks"].dtype == guide["frame"]["ppe_masks"].dtype


def test_duckdb_reads_the_local_copy_and_the_csv_with_the_same_types(guide, folder):
    local_copy = os.fspath(folder / "careshare" / "location_daily" / "*" / "*" / "*.parquet")
    view = duckdb.read_parquet(local_copy, hive_partitioning=True)
    documented = {f.name: DUCKDB_TYPES[f.type] for f in LOCATION_DAILY.fields}
    assert duckdb_types(view) == documented
    assert duckdb_types(guide["first_csv"]) == documented
    assert view.filter("report_date = DATE '2020-11-30'").count("*").fetchall() == [(3,)]


def test_as_published_on_picks_from_the_index_the_version_in_force(guide):
    assert guide["in_force"](guide["history"], datetime(2020, 12, 2, 9, tzinfo=UTC)) is None, "published since"
    assert guide["then"]["version"] == 2 and guide["then"]["published_at"] == guide["history"][-1]["published_at"]
    assert sorted(guide["every_change"]["changed"]) == [f"1-08000035{n:03d}" for n in range(4)]
    assert guide["then_files"]["parquet"]["key"].startswith("location_daily/la_code=E08000035/_releases/")
