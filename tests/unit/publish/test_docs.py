import json
import re

import pytest
from frictionless import Schema

from careshare.datasets import ARROW_TYPES, DATASETS, LOCATION_DAILY
from careshare.publish.docs import DUCKDB_TYPES, data_dictionary, generated, stale_repo_docs, table_schema
from careshare.publish.formats import PANDAS_DTYPES
from tests.conftest import REPO_ROOT


def test_the_repository_copy_of_the_docs_is_up_to_date():
    assert stale_repo_docs(REPO_ROOT) == [], "run `careshare publish docs` and commit docs/"


@pytest.mark.parametrize("dataset", list(DATASETS.values()), ids=list(DATASETS))
def test_every_column_is_documented_with_type_unit_source_and_since(dataset):
    schema = table_schema(dataset)
    assert [f["name"] for f in schema["fields"]] == dataset.column_names
    for documented, field in zip(schema["fields"], dataset.fields, strict=True):
        assert documented["description"] == field.description
        assert documented["source"] == field.source and documented["since"] == field.since
        assert documented["constraints"]["required"] is not field.nullable
        assert documented.get("unit", "") == field.unit
    dictionary = data_dictionary(DATASETS)
    for field in dataset.fields:
        assert f"| `{field.name}` |" in dictionary


def test_generated_files_are_the_published_ones():
    files = generated()
    assert set(files) == {"docs/data_dictionary.md"} | {f"docs/schema/{name}.json" for name in DATASETS}
    for name in DATASETS:
        assert json.loads(files[f"docs/schema/{name}.json"])["name"] == name


@pytest.mark.parametrize("dataset", list(DATASETS.values()), ids=list(DATASETS))
def test_every_table_schema_is_a_valid_frictionless_schema(dataset):
    descriptor = table_schema(dataset)
    assert Schema.validate_descriptor(descriptor).valid
    assert Schema.from_descriptor(descriptor).field_names == dataset.column_names


def field(name: str) -> dict:
    return next(f for f in table_schema(LOCATION_DAILY)["fields"] if f["name"] == name)


def test_answers_are_enums_and_ordered_categories_in_the_contracts_order():
    for documented in (field("ppe_masks"), field("icf_funding_received")):
        assert documented["type"] == "string" and documented["categoriesOrdered"] is True
        assert documented["constraints"]["enum"] == documented["categories"]
    assert field("ppe_masks")["categories"] == ["Red", "Amber", "Green", "Blue"]
    assert field("accepting_admissions")["categories"] == ["Yes", "No"]
    assert field("service_type")["categories"] == [
        "Care home",
        "Domiciliary care",
        "Extra care housing",
        "Supported living",
    ]


def test_dates_and_times_have_a_format_a_parser_can_use_and_numbers_their_bounds():
    assert field("report_date")["format"] == "%Y-%m-%d"
    assert field("last_updated_at")["format"] == "%Y-%m-%d %H:%M:%S%z"
    assert field("stale")["trueValues"] == ["true"] and field("stale")["falseValues"] == ["false"]
    assert field("beds_total")["constraints"] == {"required": False, "minimum": 0}
    assert field("source_row")["constraints"]["minimum"] == 1
    assert field("match_score")["constraints"] == {"required": True, "minimum": 0, "maximum": 1}


def test_ids_carry_their_shape_as_an_anchored_pattern():
    pattern = field("location_id")["constraints"]["pattern"]
    assert re.fullmatch(pattern, "1-123456789") and not re.fullmatch(pattern, "1-12345")
    assert not pattern.startswith("^"), "Table Schema patterns are anchored already"
    assert re.fullmatch(field("la_code")["constraints"]["pattern"], "E08000035")
    assert re.fullmatch(field("region_code")["constraints"]["pattern"], "E12000001")


def test_the_dictionary_has_a_reader_type_for_every_kind_and_every_columns_values():
    dictionary = data_dictionary(DATASETS)
    for kind in ARROW_TYPES:
        assert f"| {kind} | `{ARROW_TYPES[kind]}` | `{PANDAS_DTYPES[kind]}` | `{DUCKDB_TYPES[kind]}` |" in dictionary
    assert "| `ppe_masks` | category | `Red`, `Amber`, `Green`, `Blue` |" in dictionary
