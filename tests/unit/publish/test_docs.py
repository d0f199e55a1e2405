import json

import pytest

from careshare.config import REPO_ROOT
from careshare.datasets import DATASETS
from careshare.publish.docs import data_dictionary, generated, stale_repo_docs, table_schema


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
