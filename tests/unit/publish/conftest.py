from datetime import date

import pytest

from careshare.datasets import LOCATION_DAILY
from careshare.publish.dictionary import schema_reference
from careshare.publish.release import publish_release
from careshare.storage import LocalStore, open_store


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, s3_client, buckets):
    if request.param == "local":
        return LocalStore(tmp_path / "published")
    return open_store(f"s3://{buckets['published']}", s3_client)


@pytest.fixture
def release(store, local_authorities):
    def run(table, day: date, **options):
        return publish_release(
            store, LOCATION_DAILY, day, table, local_authorities, schema=schema_reference(LOCATION_DAILY), **options
        )

    return run
