"""The sharing server's own credentials on an S3 endpoint that enforces IAM (moto's server in its
own process, as in test_access_iam.py): the user `careshare access provision` makes for it,
careshare-sharing, reads a release's files, indexes and manifests and lists the publication, and
can neither write, delete nor read staging. (The URLs the server pre-signs carry exactly these
rights; moto's enforcement does not check query-string signatures, so they are not tried here.)"""

from __future__ import annotations

import hashlib
import json
from datetime import date

import boto3
import pytest
import requests
from botocore.config import Config

from careshare.cli import main
from careshare.datasets import LOCATION_DAILY
from careshare.publish.dictionary import publish_docs, schema_reference
from careshare.publish.release import publish_release
from careshare.storage import open_store
from tests.conftest import S3_REGION
from tests.unit.access.moto_process import allowed, moto_server_process, provisioning_environment
from tests.unit.publish.synthetic import synthetic_table

pytestmark = pytest.mark.slow

BUCKET = "careshare-published"
DAY = date(2020, 11, 30)
LEEDS = "E08000035"
STAGED = "_staging/location_daily/report_date=2020-11-30/20201201T060000Z-0000abcd/E08000035/x.parquet"


def client(service: str, endpoint: str, key: str, secret: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def sharing_s3(local_authorities, tmp_path_factory):
    """A published release, the sharing user provisioned by the command; then IAM enforced."""
    config = tmp_path_factory.mktemp("config") / "recipients.toml"
    config.write_text('[councils]\neach = false\n\n[[national]]\nid = "dhsc"\nname = "DHSC"\n')
    with moto_server_process() as endpoint, pytest.MonkeyPatch.context() as env:
        admin = client("s3", endpoint, "testing", "testing")
        admin.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": S3_REGION})
        store = open_store(f"s3://{BUCKET}", admin)
        table = synthetic_table(LOCATION_DAILY, DAY, {LEEDS: 3, "E06000001": 2})
        publish_release(store, LOCATION_DAILY, DAY, table, local_authorities, schema=schema_reference(LOCATION_DAILY))
        publish_docs(store)
        store.put(STAGED, b"x")
        for variable, value in provisioning_environment(endpoint, f"s3://{BUCKET}").items():
            env.setenv(variable, value)
        assert main(["access", "provision", "--config", str(config)]) == 0
        iam = client("iam", endpoint, "testing", "testing")
        key = iam.create_access_key(UserName="careshare-sharing")["AccessKey"]
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
        yield client("s3", endpoint, key["AccessKeyId"], key["SecretAccessKey"])


def get(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_the_server_reads_a_release_through_its_manifests(sharing_s3):
    latest = json.loads(get(sharing_s3, "_manifests/location_daily/latest.json"))
    manifest = json.loads(get(sharing_s3, latest["manifest"]))
    parquet = manifest["parts"][LEEDS]["files"]["parquet"]
    assert hashlib.sha256(get(sharing_s3, parquet["key"])).hexdigest() == parquet["sha256"]
    index = json.loads(get(sharing_s3, f"location_daily/la_code={LEEDS}/_index.json"))
    assert get(sharing_s3, index["latest"]["current_parquet"]).startswith(b"PAR1")
    listed = sharing_s3.list_objects_v2(Bucket=BUCKET, Prefix="_manifests/location_daily/")["Contents"]
    assert any(item["Key"] == latest["manifest"] for item in listed)


def test_the_server_cannot_write_delete_or_read_staging(sharing_s3):
    release_file = f"location_daily/la_code={LEEDS}/_index.json"
    for key in (release_file, "_manifests/location_daily/latest.json", "location_daily/new.parquet", STAGED):
        assert not allowed(lambda key=key: sharing_s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}")), key
        assert not allowed(lambda key=key: sharing_s3.delete_object(Bucket=BUCKET, Key=key)), key
    batch = sharing_s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": release_file}]})
    assert [(e["Key"], e["Code"]) for e in batch.get("Errors", [])] == [(release_file, "AccessDenied")]
    assert not allowed(lambda: get(sharing_s3, STAGED))
    assert not allowed(lambda: get(sharing_s3, "_docs/data_dictionary.md"))
    assert not allowed(lambda: sharing_s3.delete_bucket(Bucket=BUCKET))
    assert json.loads(get(sharing_s3, release_file))["latest"]  # still there, unchanged
