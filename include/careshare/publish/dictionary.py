"""The consumer documentation, generated from careshare.datasets (the one definition).

A Frictionless Table Schema per dataset (machine-readable: names, types, units, sources, keys)
and a data dictionary in Markdown (for people). Both are published under `_docs/` with every
release and kept in the repository under `docs/`; a test fails when the repository copy is stale
(`careshare publish docs` rewrites it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from careshare.datasets import ARROW_TYPES, DATASETS, FEED_STATUSES, Dataset, Field
from careshare.feeds import FEEDS, Feed
from careshare.publish import layout
from careshare.publish.changes import LINEAGE_COLUMNS
from careshare.publish.completeness import Completeness, feed_state, summary
from careshare.publish.formats import CONTROL_STARTS, FORMULA_STARTS, PANDAS_DTYPES, key_columns
from careshare.status import FeedDayStatus
from careshare.storage import ObjectStore

TABLE_SCHEMA_TYPES = {
    "string": "string",
    "category": "string",
    "int32": "integer",
    "float64": "number",
    "bool": "boolean",
    "date": "date",
    "timestamp": "datetime",
}
CSV_FORMATS = {"date": "%Y-%m-%d", "timestamp": "%Y-%m-%d %H:%M:%S%z"}
# What each reader's default call gives (tests/integration/test_publish_readers.py reads real files to check).
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "category": "VARCHAR",
    "int32": "INTEGER",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
}
CSV_CELLS = {
    "string": "the text",
    "category": "the answer",
    "int32": "digits",
    "float64": "a decimal, e.g. `0.75`",
    "bool": "`true` or `false`",
    "date": "`YYYY-MM-DD`",
    "timestamp": "`YYYY-MM-DD HH:MM:SS+00:00` (UTC)",
}
REPO_DOCS = {"dictionary": "docs/data_dictionary.md", "schema": "docs/schema/{dataset}.json"}
EXAMPLE_DAY = date(2020, 12, 5)  # a Saturday: the CQC form is not collected
EXAMPLE_FEEDS = {
    Feed.CT_CARE_HOMES: (FeedDayStatus.LOADED, None),
    Feed.CT_HOME_CARE: (FeedDayStatus.FAILED, "file.truncated"),
}


def table_schema(dataset: Dataset) -> dict:
    return {
        "name": dataset.name,
        "title": dataset.name.replace("_", " "),
        "description": dataset.description,
        "grain": dataset.grain,
        "primaryKey": [name.strip() for name in dataset.grain.split(",")],
        "missingValues": [""],
        "fields": [_schema_field(f, dataset) for f in dataset.fields],
    }


def _schema_field(f: Field, dataset: Dataset) -> dict:
    field: dict = {"name": f.name, "type": TABLE_SCHEMA_TYPES[f.type]}
    if f.type in CSV_FORMATS:
        field["format"] = CSV_FORMATS[f.type]
    if f.type == "bool":
        field |= {"trueValues": ["true"], "falseValues": ["false"]}
    if f.values:  # Table Schema 2's categorical, beside the enum that version 1 validators check
        field |= {"categories": list(f.values), "categoriesOrdered": True}
    field |= {"description": f.description, "constraints": _constraints(f), "arrowType": str(f.arrow_type)}
    field |= {"source": f.source, "since": f.since}
    if f.unit:
        field["unit"] = f.unit
    if f.name in dataset.partition_columns:
        field["partition"] = "in the path of Parquet files (hive), a column of CSV files"
    return field


def _constraints(f: Field) -> dict:
    constraints: dict = {"required": not f.nullable}
    if f.values:
        constraints["enum"] = list(f.values)
    if f.pattern:  # Table Schema patterns are XML Schema expressions: anchored already
        constraints["pattern"] = f.pattern.removeprefix("^").removesuffix("$")
    if f.numeric:
        constraints["minimum"] = f.minimum
    if f.numeric and f.maximum is not None:
        constraints["maximum"] = f.maximum
    return constraints


def schema_bytes(dataset: Dataset) -> bytes:
    return (json.dumps(table_schema(dataset), indent=2, ensure_ascii=False) + "\n").encode()


def schema_reference(dataset: Dataset) -> dict[str, str]:
    """How a manifest names the schema its files follow."""
    return {"key": layout.schema_key(dataset.name), "sha256": hashlib.sha256(schema_bytes(dataset)).hexdigest()}


def data_dictionary(datasets: Mapping[str, Dataset]) -> str:
    lines = [
        "# careshare data dictionary",
        "",
        "Generated from `include/careshare/datasets.py` by `careshare publish docs`; do not edit by hand.",
        "Machine-readable: `_docs/schema/<dataset>.json` (Frictionless Table Schema) beside this file.",
        "",
        "## Files",
        "",
        "Every dataset is published per council (ONS code) and report date, as Parquet and as CSV:",
        "",
        "| what | key |",
        "| --- | --- |",
        "| your index (every release, the latest) | `<dataset>/la_code=<code>/_index.json` |",
        "| your changelog (every release, for people) | `<dataset>/la_code=<code>/_CHANGELOG.md` |",
        "| current Parquet (hive) | `<dataset>/la_code=<code>/report_date=<YYYY-MM-DD>/part-0.parquet` |",
        "| a release's manifest | `<dataset>/la_code=<code>/_releases/report_date=<date>/v<NNNN>.json` |",
        "| a release's files, kept | `<dataset>/la_code=<code>/_releases/report_date=<date>/<sha256>.<parquet, csv>` |",
        "| a release's changed keys | `<dataset>/la_code=<code>/_releases/report_date=<date>/<sha256>.changes.json` |",
        "| a release's changed rows (change data, before and after) | "
        "`<dataset>/la_code=<code>/_releases/report_date=<date>/<sha256>.cdf.parquet` |",
        "",
        "A corrected report date is a new release version; earlier versions stay readable through their",
        "manifests. Your index lists, per report date, the versions that changed your files or the date's feed",
        "completeness (below), each with its `published_at`, and which one is current; `latest` is the newest",
        "report date's current version. A manifest gives each file's SHA-256, size and rows, its `reason` (the",
        "feed deliveries that caused it, an operator's rerun and note, or a rebuild with no feed changed), what",
        "changed since the previous version (rows added, removed, changed, lineage only and unchanged, matched",
        "on the dataset's key, with the first changed keys and their columns; the `changes_detail` file lists",
        "every one) and the date's feed completeness; a version that withdrew your rows has no files. A row",
        "whose only differences are in "
        + ", ".join(f"`{name}`" for name in LINEAGE_COLUMNS)
        + " (its lineage) is lineage only, not changed. From the second version on, the manifest's"
        " `change_data` names a Parquet file of the rows that differ, with the release's columns and"
        " `_change_type` (`insert`, `delete`, `update_preimage`, `update_postimage`): the Delta Sharing"
        " change data feed reads it, and applying it to the previous version gives this one.",
        "",
        "Parquet files hold every column except `la_code` and `report_date`, which are in the path (the hive",
        "convention). CSV files hold every column, UTF-8 with a byte order mark and a header, CRLF line ends;",
        "an empty cell is no value.",
        "",
        *_types_section(),
        *_completeness_section(),
    ]
    for dataset in datasets.values():
        lines += _dataset_section(dataset)
    return "\n".join(lines)


def _types_section() -> list[str]:
    triggers = ", ".join(f"`{c}`" for c in FORMULA_STARTS)
    controls = " or ".join(_visible(c) for c in CONTROL_STARTS)
    return [
        "## Types",
        "",
        "Each column's type is in its dataset's table below and in its Table Schema; this is how each reader",
        "gets it with its default call (`pyarrow.dataset`, `pq.read_table`, `pd.read_parquet`, DuckDB's",
        "`read_parquet`):",
        "",
        "| type | Parquet (Arrow) | pandas | DuckDB | CSV cell | Table Schema |",
        "| --- | --- | --- | --- | --- | --- |",
        *(
            f"| {kind} | `{arrow}` | `{PANDAS_DTYPES[kind]}` | `{DUCKDB_TYPES[kind]}` | {CSV_CELLS[kind]} "
            f"| `{TABLE_SCHEMA_TYPES[kind]}` |"
            for kind, arrow in ARROW_TYPES.items()
        ),
        "",
        "- int32: counts, days and rows, never negative. pandas gets the nullable `Int32` (a missing count is",
        "  `<NA>`, the other counts stay whole numbers) from the pandas metadata in every file.",
        "- category: a closed answer set, listed in the `values` column in its order (PPE from `Red` to `Blue`).",
        "  Every file holds the whole set, so pandas gets an ordered categorical with the same categories from",
        "  every file and day; in the Table Schema, an `enum` and `categories` with `categoriesOrdered`.",
        "- `report_date` and `la_code` are in the path of Parquet files: a reader types them from the path, so",
        '  give pyarrow or pandas the partitioning `pyarrow.dataset.partitioning(pa.schema([("la_code",',
        '  pa.string()), ("report_date", pa.date32())]), flavor="hive")`, or `report_date` comes as a',
        "  category of strings. DuckDB (`hive_partitioning = true`) reads the date as a DATE. A date in pandas",
        "  is a `datetime.date` (dtype `object`).",
        "- CSV readers guess types from the cells. The Table Schema gives them: read a CSV with it, or read the",
        "  Parquet. Unguided, pandas reads a count column with an empty cell as `float64` (pass",
        '  `dtype_backend="numpy_nullable"`) and an id of digits only as a number, and DuckDB\'s `read_csv`',
        "  reads whole numbers as BIGINT and a column holding only `Yes` and `No` as BOOLEAN (`Yes` is true).",
        "  Excel reads `true`/`false` as TRUE/FALSE and the timestamps as text (Power Query: `datetimezone`).",
        f"- A CSV text cell that starts with {triggers} (or a full-width or small form of one), after any",
        f"  spaces, tabs or line breaks, or that starts with a {controls}, is prefixed with `'` so that no",
        "  spreadsheet runs it as a formula; Parquet keeps the original. Numbers are typed cells and are never",
        "  prefixed (`-3` stays `-3`).",
        "",
    ]


def _completeness_section() -> list[str]:
    example = Completeness(
        tuple(feed_state(spec, EXAMPLE_DAY, *EXAMPLE_FEEDS.get(feed, (None, None))) for feed, spec in FEEDS.items())
    ).document()
    return [
        "## Feed completeness",
        "",
        "Every manifest (the release's and your council's) says what the report date's feeds gave, as in this",
        f"`completeness` of {EXAMPLE_DAY.isoformat()}, a Saturday whose home-care file was cut short:",
        "",
        "```json",
        json.dumps(example, indent=2, sort_keys=True),
        "```",
        "",
        "- `complete`: every feed collected on the date loaded. A date published incomplete holds the rows of the",
        "  feeds that loaded only: its completion rates are low because a feed is, not because providers did not",
        "  answer.",
        "- `feeds`: each feed collected on the date, with its `status`, the `rule` that failed and a short `reason`.",
        "- `not_collected`: the feeds the contract does not collect on the date, and why: expected absences, which",
        "  leave the date complete.",
        "",
        "| status | meaning |",
        "| --- | --- |",
        *(f"| `{status}` | {_cell(meaning)} |" for status, meaning in FEED_STATUSES.items()),
        "",
        "Your index gives each version, and `latest` the newest, with the summary of its completeness:",
        "",
        f"    {json.dumps(summary(example), sort_keys=True)}",
        "",
        "When a feed's state changes after publication (a failed or missing feed loads from a corrected or late",
        "file), the date is published again: a new version that states the new completeness, even where your",
        "files are unchanged. `la_daily_summary` carries the same states in its columns, on every council's row",
        "of the date.",
        "",
    ]


def _dataset_section(dataset: Dataset) -> list[str]:
    scope = "national (one file per report date)" if dataset.national else "per council and report date"
    key = ", ".join(f"`{name}`" for name in key_columns(dataset)) or "none (one row per file)"
    lines = [
        f"## `{dataset.name}`",
        "",
        dataset.description,
        "",
        f"- Grain: {dataset.grain}. Key within a file: {key}.",
        f"- Files: {scope}.",
        "",
        "| column | type | values | unit | required | meaning | source | since |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in dataset.fields:
        cells = [
            f"`{f.name}`",
            f.type,
            _allowed(f),
            f.unit,
            "yes" if not f.nullable else "",
            f.description,
            f.source,
            f.since,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return [*lines, ""]


def _allowed(f: Field) -> str:
    if f.values:
        return ", ".join(f"`{v}`" for v in f.values)
    if f.pattern:
        return f"`{f.pattern}`"
    if f.numeric:
        return f"{f.minimum:g} to {f.maximum:g}" if f.maximum is not None else f"{f.minimum:g} or more"
    return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _visible(character: str) -> str:
    return {"\t": "tab", "\r": "carriage return"}.get(character, character)


def generated(datasets: Mapping[str, Dataset] = DATASETS) -> dict[str, bytes]:
    """Repository path -> content."""
    files = {REPO_DOCS["dictionary"]: data_dictionary(datasets).encode()}
    for dataset in datasets.values():
        files[REPO_DOCS["schema"].format(dataset=dataset.name)] = schema_bytes(dataset)
    return files


def write_repo_docs(root: Path) -> list[str]:
    written = []
    for path, content in generated().items():
        target = root / path
        if not target.is_file() or target.read_bytes() != content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            written.append(path)
    return written


def stale_repo_docs(root: Path) -> list[str]:
    return [
        path
        for path, content in generated().items()
        if not (root / path).is_file() or (root / path).read_bytes() != content
    ]


def publish_docs(store: ObjectStore, datasets: Mapping[str, Dataset] = DATASETS) -> list[str]:
    """Upload the dictionary and schemas where they differ from what is published."""
    wanted = {layout.dictionary_key(): data_dictionary(datasets).encode()}
    wanted |= {layout.schema_key(d.name): schema_bytes(d) for d in datasets.values()}
    changed = []
    for key, content in wanted.items():
        found = store.get_tagged(key)
        if found is None or found[0] != content:
            store.put(key, content)
            changed.append(key)
    return changed
