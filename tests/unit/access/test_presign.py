import hashlib
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from careshare.access.presign import NoSuchRelease, presign_release
from careshare.access.recipients import load_recipients
from careshare.config import RECIPIENTS_TOML
from careshare.datasets import LOCATION_DAILY
from careshare.publish.docs import schema_reference
from careshare.publish.release import publish_release
from careshare.storage import open_store
from tests.unit.publish.synthetic import synthetic_table

DAY = date(2020, 11, 30)


@pytest.fixture
def published(s3_client, buckets, local_authorities):
    store = open_store(f"s3://{buckets['published']}", s3_client)
    for edition in (0, 1):
        table = synthetic_table(LOCATION_DAILY, DAY, {"E08000035": 3, "E08000036": 2, "E06000001": 1}, edition=edition)
        publish_release(store, LOCATION_DAILY, DAY, table, local_authorities, schema=schema_reference(LOCATION_DAILY))
    return store


@pytest.fixture(scope="module")
def recipients(local_authorities):
    return {r.id: r for r in load_recipients(local_authorities, RECIPIENTS_TOML)}


def test_links_cover_exactly_the_recipients_councils_and_download_the_published_bytes(published, recipients):
    now = datetime(2020, 12, 1, 9, 0, tzinfo=UTC)
    links = presign_release(
        published, recipients["lrf-west-yorkshire"], "location_daily", DAY, expires_in=timedelta(hours=2), now=now
    )
    assert (links["version"], links["expires_at"]) == (2, "2020-12-01T11:00:00Z")
    assert sorted(links["files"]) == ["E08000035", "E08000036"]
    leeds = links["files"]["E08000035"]
    for fmt in ("parquet", "csv"):
        query = parse_qs(urlparse(leeds[fmt]).query)
        assert query["X-Amz-Expires"] == ["7200"]
        response = requests.get(leeds[fmt], timeout=10)
        assert response.status_code == 200
        assert hashlib.sha256(response.content).hexdigest() == leeds["sha256"][fmt]
        assert f'filename="location_daily_E08000035_2020-11-30_v0002.{fmt}"' in response.headers["Content-Disposition"]
    assert requests.get(leeds["manifest"], timeout=10).json()["version"] == 2


def test_an_earlier_version_can_be_linked_and_a_missing_one_is_named(published, recipients):
    links = presign_release(
        published, recipients["ccg-leeds"], "location_daily", DAY, expires_in=timedelta(days=7), version=1
    )
    assert links["version"] == 1 and list(links["files"]) == ["E08000035"]
    with pytest.raises(NoSuchRelease, match="version 9"):
        presign_release(
            published, recipients["ccg-leeds"], "location_daily", DAY, expires_in=timedelta(hours=1), version=9
        )


@pytest.mark.parametrize("expires", [timedelta(0), timedelta(days=7, seconds=1)])
def test_links_last_at_most_seven_days(published, recipients, expires):
    with pytest.raises(ValueError, match="between 1 second and 7 days"):
        presign_release(published, recipients["ccg-leeds"], "location_daily", DAY, expires_in=expires)
