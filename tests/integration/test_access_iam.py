"""Recipients' IAM policies enforced by an S3 endpoint: moto's server with IAM authentication on.

The server runs in its own process: moto keeps its authentication switch and its backends per
process, so turning enforcement on in-process would change every other test's endpoint too.
Setup (bucket, a published release, the recipients' users and policies) runs before enforcement
is switched on; then every sampled recipient, with its own access key, must read its councils'
files by discovering them through its own `_index.json` and manifests, and must be denied every
other council's files, the release manifests (unless national), staging, listing and any write.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from careshare.access.iam import provision
from careshare.access.policy import Publication, recipient_policies
from careshare.access.recipients import Recipient, load_recipients
from careshare.config import RECIPIENTS_TOML
from careshare.datasets import DATASETS, LOCATION_DAILY
from careshare.publish.docs import publish_docs, schema_reference
from careshare.publish.parallel import in_parallel
from careshare.publish.release import publish_release
from careshare.storage import open_store
from tests.conftest import S3_REGION
from tests.unit.access.moto_process import moto_server_process
from tests.unit.publish.synthetic import synthetic_table

pytestmark = pytest.mark.slow

BUCKET = "careshare-published"
DAY = date(2020, 11, 30)
SAMPLE = (
    "la-e06000001",
    "la-e06000023",
    "la-e06000061",  # North Northamptonshire: also reads its predecessor, Northamptonshire
    "la-e10000021",
    "la-e06000063",
    "la-e08000003",
    "la-e08000035",
    "la-e09000001",
    "la-e09000033",
    "la-e10000016",
    "la-e10000030",
    "la-e06000060",
    "lrf-cumbria",
    "lrf-northamptonshire",
    "lrf-west-yorkshire",
    "lrf-greater-manchester",
    "lrf-london",
    "ccg-leeds",
    "ccg-kent-and-medway",
    "ccg-bristol-north-somerset-south-glos",
    "adass-north-west",
    "dhsc",
)


def client(service: str, endpoint: str, key: str, secret: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, max_pool_connections=10),
    )


@pytest.fixture(scope="module")
def enforcing_endpoint():
    with moto_server_process() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def world(enforcing_endpoint, local_authorities):
    """Published data, and one IAM user per sampled recipient; then IAM enforcement on."""
    recipients = {r.id: r for r in load_recipients(local_authorities, RECIPIENTS_TOML)}
    sample = [recipients[i] for i in SAMPLE]
    admin_s3 = client("s3", enforcing_endpoint, "testing", "testing")
    admin_s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": S3_REGION})
    store = open_store(f"s3://{BUCKET}", admin_s3)
    councils = sorted(set().union(*(r.la_codes for r in sample if not r.national)) | {"E06000002", "E10000034"})
    table = synthetic_table(LOCATION_DAILY, DAY, {code: 2 for code in councils})
    publish_release(store, LOCATION_DAILY, DAY, table, local_authorities, schema=schema_reference(LOCATION_DAILY))
    publish_docs(store)
    store.put("_staging/location_daily/report_date=2020-11-30/20201201T060000Z-0000abcd/E06000001/x.parquet", b"x")

    iam = client("iam", enforcing_endpoint, "testing", "testing")
    publication = Publication(BUCKET)
    grants = {r: recipient_policies(r, publication, DATASETS.values(), local_authorities) for r in sample}
    extra = recipients["lrf-merseyside"]
    first = provision(
        iam, grants | {extra: recipient_policies(extra, publication, DATASETS.values(), local_authorities)}
    )
    again = provision(iam, grants)
    keys = {}
    for recipient in sample:
        created = iam.create_access_key(UserName=f"careshare-{recipient.id}")["AccessKey"]
        keys[recipient.id] = (created["AccessKeyId"], created["SecretAccessKey"])

    requests.post(f"{enforcing_endpoint}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    return {
        "sample": sample,
        "councils": councils,
        "keys": keys,
        "endpoint": enforcing_endpoint,
        "provisioned": (first, again),
    }


def recipient_s3(world, recipient: Recipient):
    return client("s3", world["endpoint"], *world["keys"][recipient.id])


def allowed(call) -> bool:
    try:
        call()
    except ClientError as error:
        assert error.response["Error"]["Code"] in {"AccessDenied", "403"}, error.response
        return False
    return True


def get(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_the_sample_is_large_and_varied(world):
    kinds = {r.kind for r in world["sample"]}
    assert len(world["sample"]) >= 20 and kinds == {"council", "lrf", "ccg", "region", "national"}


def test_provisioning_is_idempotent_and_removes_access_no_longer_configured(world):
    first, again = world["provisioned"]
    created = [str(c).removeprefix("create policy ") for c in first.changes if str(c).startswith("create policy")]
    assert len(created) == len(SAMPLE) + 1
    assert sorted(again.unchanged) == sorted(name for name in created if not name.endswith("merseyside"))
    assert [str(change) for change in again.changes] == [
        "detach policy careshare-read-lrf-merseyside from user careshare-lrf-merseyside",
        "delete user careshare-lrf-merseyside",
        "delete policy careshare-read-lrf-merseyside",
    ]


def test_each_recipient_reads_exactly_its_own_councils(world):
    def check(recipient: Recipient) -> list[str]:
        s3 = recipient_s3(world, recipient)
        wrong = []
        for code in world["councils"]:
            readable = allowed(lambda code=code: get(s3, f"location_daily/la_code={code}/_index.json"))
            if readable != recipient.reads(code):
                wrong.append(f"{recipient.id} {'read' if readable else 'was denied'} {code}")
        return wrong

    problems = [p for found in in_parallel(check, world["sample"]) for p in found]
    assert problems == []


def test_each_recipient_finds_and_verifies_its_files_through_its_own_index(world):
    def discover(recipient: Recipient) -> int:
        s3 = recipient_s3(world, recipient)
        codes = [c for c in world["councils"] if recipient.reads(c)]
        for code in codes:
            index = json.loads(get(s3, f"location_daily/la_code={code}/_index.json"))
            manifest = json.loads(get(s3, index["latest"]["manifest"]))
            assert manifest["report_date"] == DAY.isoformat() and manifest["rows"] == 2
            for file in manifest["files"].values():
                assert hashlib.sha256(get(s3, file["key"])).hexdigest() == file["sha256"]
            assert get(s3, index["latest"]["current_parquet"]).startswith(b"PAR1")
        assert get(s3, "_docs/data_dictionary.md").startswith(b"# careshare data dictionary")
        return len(codes)

    assert all(in_parallel(discover, world["sample"]))


def test_only_national_recipients_read_release_manifests_and_nobody_reads_staging(world):
    for recipient in world["sample"]:
        s3 = recipient_s3(world, recipient)
        assert allowed(lambda s3=s3: get(s3, "_manifests/location_daily/latest.json")) == recipient.national
        staged = "_staging/location_daily/report_date=2020-11-30/20201201T060000Z-0000abcd/E06000001/x.parquet"
        assert not allowed(lambda s3=s3, k=staged: get(s3, k))


def test_no_recipient_can_write_delete_or_list(world):
    for recipient in world["sample"]:
        s3 = recipient_s3(world, recipient)
        own = next(iter(sorted(recipient.la_codes)), "E06000001")
        key = f"location_daily/la_code={own}/_index.json"
        assert not allowed(lambda s3=s3, k=key: s3.put_object(Bucket=BUCKET, Key=k, Body=b"{}"))
        assert not allowed(lambda s3=s3, k=key: s3.delete_object(Bucket=BUCKET, Key=k))
        assert not allowed(
            lambda s3=s3, o=own: s3.list_objects_v2(Bucket=BUCKET, Prefix=f"location_daily/la_code={o}/")
        )
