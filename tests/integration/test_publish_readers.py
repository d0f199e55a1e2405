"""A real publication (the simulator's feeds through ingestion, the merge and publish_day, with names
in the directory that a spreadsheet would run as formulas) read the way consumers read it: every CSV
passes its Table Schema, each CSV says what its Parquet says, and pyarrow, pandas and DuckDB get the
types the data dictionary documents."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from frictionless import Check, Checklist, Report, Resource, Row, Schema

from careshare.datasets import DATASETS, Dataset
from careshare.merge import merge_day
from careshare.publish import publish_day
from careshare.publish.dictionary import DUCKDB_TYPES
from careshare.publish.formats import neutralise, pandas_dtype
from careshare_sim import World
from tests.integration.merge_support import FEEDS, load_reference, local_platform, stage

pytestmark = pytest.mark.slow

DAYS = (date(2020, 12, 1), date(2021, 1, 12))  # every feed (the overlap); the ICF answers, the CQC form closed
HOSTILE_NAMES = (' =HYPERLINK("http://x")', "＝1+1", "\n@SUM(A1)", "-2+3+cmd|' /C calc'!A0", "\tRose Court")
PARTITIONS = ds.partitioning(pa.schema([("la_code", pa.string()), ("report_date", pa.date32())]), flavor="hive")


class TypedRows(Check):
    """Keeps the rows a validation reads, typed by the Table Schema (one pass over each file)."""

    type = "typed-rows"

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []

    def validate_row(self, row: Row) -> Iterator:
        self.rows.append(row.to_dict())
        return iter(())


@dataclass
class Release:
    """One council's (or the nation's) files of one version of a report date."""

    root: Path
    dataset: Dataset
    schema: Schema
    parquet: Path
    csv: Path
    partitions: dict

    def validate(self, path: Path | None = None, *checks: Check) -> Report:
        return self._resource(path or self.csv).validate(Checklist(checks=list(checks)))

    @cached_property
    def checked(self) -> tuple[Report, list[dict]]:
        """The CSV validated against its Table Schema, and its rows as the validation typed them."""
        rows = TypedRows()
        return self.validate(None, rows), rows.rows

    @cached_property
    def parquet_rows(self) -> list[dict]:
        return [row | self.partitions for row in pq.read_table(self.parquet).to_pylist()]

    def _resource(self, path: Path) -> Resource:
        return Resource(str(path.relative_to(self.root)), basepath=str(self.root), schema=self.schema)


@pytest.fixture(scope="module")
def publication(tmp_path_factory, councils) -> Path:
    home = tmp_path_factory.mktemp("readers")
    world = World(7, 120, 80, councils, date(2024, 6, 30))
    care_homes = [d["locationId"] for d in world.directory_truth() if d["careHome"] == "Y"]
    for location_id, name in zip(care_homes, HOSTILE_NAMES, strict=False):
        world.directory.amend(location_id, datetime(2020, 1, 1, tzinfo=UTC), name=name)
    platform = local_platform(f"sqlite:///{home / 'warehouse.db'}", home)
    load_reference(platform, world)
    crosswalk = home / "crosswalk.csv"
    crosswalk.write_text("feed,record_id,location_id,reason\n")
    for day in DAYS:
        for feed in FEEDS:
            rendered = world.rendered(feed, day)
            if rendered is not None:
                stage(platform, feed, day, rendered.content)
        merge_day(platform, day, crosswalk)
        publish_day(platform, day)
    platform.warehouse.engine.dispose()
    return home / "published"


@pytest.fixture(scope="module")
def releases(publication) -> list[Release]:
    schemas = {
        name: Schema.from_descriptor(json.loads(schema_path(publication, name).read_text())) for name in DATASETS
    }
    found = []
    for path in sorted(publication.glob("**/_releases/report_date=*/v*.json")):
        manifest = json.loads(path.read_text())
        files = {fmt: publication / file["key"] for fmt, file in manifest["files"].items()}
        partitions = {"report_date": date.fromisoformat(manifest["report_date"])}
        if manifest.get("la_code"):
            partitions["la_code"] = manifest["la_code"]
        name = manifest["dataset"]
        found.append(Release(publication, DATASETS[name], schemas[name], files["parquet"], files["csv"], partitions))
    assert {r.dataset.name for r in found} == set(DATASETS)
    return found


def schema_path(publication: Path, dataset: str) -> Path:
    return publication / "_docs" / "schema" / f"{dataset}.json"


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    return buffer.getvalue().encode("utf-8-sig")


def described(relation: duckdb.DuckDBPyRelation) -> dict[str, str]:
    return dict(zip(relation.columns, map(str, relation.types), strict=True))


def test_every_published_csv_passes_its_table_schema(releases):
    problems = {
        r.csv.name: report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
        for r in releases
        if not (report := r.checked[0]).valid
    }
    assert problems == {}
    assert len(releases) > 2 * 50, "every council's files of both days"


def test_the_table_schema_refuses_what_the_published_files_never_hold(publication, releases):
    release = next(r for r in releases if r.dataset.name == "location_daily")
    header, first, *rest = csv.reader(io.StringIO(release.csv.read_bytes().decode("utf-8-sig"), newline=""))
    broken = dict(zip(header, first, strict=True))
    broken["last_updated_at"] = broken["last_updated_at"].removesuffix("+00:00")
    broken["source_feed"] = "Purple"
    copy = publication / "broken.csv"
    copy.write_bytes(csv_bytes(header, [list(broken.values()), *rest]))
    try:
        errors = release.validate(copy).flatten(["fieldName", "type"])
    finally:
        copy.unlink()
    assert ["last_updated_at", "type-error"] in errors and ["source_feed", "constraint-error"] in errors


def test_each_csv_says_what_its_parquet_says(releases):
    for release in releases:
        for csv_row, parquet_row in zip(release.checked[1], release.parquet_rows, strict=True):
            for field in release.dataset.fields:
                expected, found = parquet_row[field.name], csv_row[field.name]
                if isinstance(expected, str):
                    expected = neutralise(expected)
                if isinstance(found, Decimal):
                    found = float(found)
                assert found == expected, (release.csv.name, field.name)


def test_names_a_spreadsheet_would_run_are_neutralised_in_the_csv_only(releases):
    published = {
        row["location_name"]: csv_row["location_name"]
        for release in releases
        if release.dataset.name == "location_daily"
        for row, csv_row in zip(release.parquet_rows, release.checked[1], strict=True)
        if row["location_name"] in HOSTILE_NAMES
    }
    assert published, "some of the renamed care homes reported"
    assert published == {name: f"'{name}" for name in published}


@pytest.mark.parametrize("dataset", list(DATASETS.values()), ids=list(DATASETS))
def test_pyarrow_pandas_and_duckdb_read_the_documented_types(publication, dataset):
    files = sorted(str(p) for p in (publication / dataset.name).glob("**/report_date=*/part-0.parquet"))
    partitioning = (
        PARTITIONS
        if not dataset.national
        else ds.partitioning(pa.schema([("report_date", pa.date32())]), flavor="hive")
    )
    table = ds.dataset(files, format="parquet", partitioning=partitioning).to_table()
    assert {f.name: table.schema.field(f.name).type for f in dataset.fields} == {
        f.name: f.arrow_type for f in dataset.fields
    }
    frame = pd.read_parquet(files, partitioning=partitioning)
    assert {f.name: frame[f.name].dtype for f in dataset.fields} == {f.name: pandas_dtype(f) for f in dataset.fields}
    glob = "*/*/*.parquet" if not dataset.national else "*/*.parquet"
    view = duckdb.read_parquet(str(publication / dataset.name / glob), hive_partitioning=True)
    assert described(view) == {f.name: DUCKDB_TYPES[f.type] for f in dataset.fields}


def test_duckdb_guesses_csv_types_file_by_file_and_the_table_schema_settles_them(releases):
    """The data dictionary's warning: a Yes/No answer sniffed as BOOLEAN, counts as BIGINT, a column
    without answers that day as text; read with the Table Schema's types, every file is typed alike."""
    location_daily = [r for r in releases if r.dataset.name == "location_daily"]
    sniffed = [described(duckdb.read_csv(str(r.csv))) for r in location_daily]
    assert {types["accepting_admissions"] for types in sniffed} >= {"BOOLEAN", "VARCHAR"}
    assert {types["beds_total"] for types in sniffed} >= {"BIGINT", "VARCHAR"}
    documented = {f.name: DUCKDB_TYPES[f.type] for f in DATASETS["location_daily"].fields}
    for release in location_daily:
        typed = duckdb.read_csv(str(release.csv), dtype=documented)
        assert described(typed) == documented
        assert typed.count("*").fetchall() == [(len(release.parquet_rows),)]
