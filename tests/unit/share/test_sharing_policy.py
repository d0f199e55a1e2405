"""The sharing server's IAM policy: GetObject on every dataset's tree and the release manifests,
ListBucket on the publication; no write, delete, staging or docs; and `careshare access provision`
gives it the user careshare-sharing beside the recipients'."""

from __future__ import annotations

import boto3
import pytest

from careshare.access.iam import plan
from careshare.access.policy import (
    IAM_PATH,
    MANAGED_POLICY_LIMIT,
    SHARING_POLICY,
    SHARING_USER,
    Publication,
    sharing_server_policy,
)
from careshare.access.recipients import Recipient
from careshare.cli import main
from careshare.datasets import DATASETS
from tests.unit.access.moto_process import moto_server_process, provisioning_environment


def test_the_server_reads_every_dataset_and_the_manifests_and_may_list():
    policy = sharing_server_policy(Publication("careshare-published"), DATASETS.values())
    assert policy.name == SHARING_POLICY and policy.size <= MANAGED_POLICY_LIMIT
    reading, listing = policy.document["Statement"]
    assert reading["Effect"] == listing["Effect"] == "Allow"
    assert reading["Action"] == "s3:GetObject"
    assert sorted(reading["Resource"]) == sorted(
        [f"arn:aws:s3:::careshare-published/{name}/*" for name in DATASETS]
        + ["arn:aws:s3:::careshare-published/_manifests/*"]
    )
    assert listing == {
        "Sid": "CareshareSharingList",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::careshare-published",
    }


def test_under_a_prefix_reading_and_listing_stay_inside_it():
    policy = sharing_server_policy(Publication.from_uri("s3://shared-bucket/careshare/v1/"), DATASETS.values())
    reading, listing = policy.document["Statement"]
    assert all(r.startswith("arn:aws:s3:::shared-bucket/careshare/v1/") for r in reading["Resource"])
    assert listing["Resource"] == "arn:aws:s3:::shared-bucket"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["careshare/v1/*"]}}


def test_a_recipient_named_like_the_server_is_refused_rather_than_merged():
    clash = Recipient("sharing", "A forum called sharing", "lrf", frozenset({"E08000035"}))
    with pytest.raises(ValueError, match="careshare-sharing"):
        plan(None, {clash: []}, {SHARING_USER: []})


def test_provision_creates_the_sharing_user_with_its_policy(monkeypatch, tmp_path, capsys):
    config = tmp_path / "recipients.toml"
    config.write_text('[councils]\neach = false\n\n[[national]]\nid = "dhsc"\nname = "DHSC"\n')
    with moto_server_process() as endpoint:
        for variable, value in provisioning_environment(endpoint).items():
            monkeypatch.setenv(variable, value)
        assert main(["access", "provision", "--config", str(config)]) == 0
        created = capsys.readouterr().out.splitlines()
        assert {
            f"create user {SHARING_USER}",
            f"create policy {SHARING_POLICY}",
            f"attach policy {SHARING_POLICY} to user {SHARING_USER}",
        } <= set(created)
        iam = boto3.client("iam")
        assert iam.get_user(UserName=SHARING_USER)["User"]["Path"] == IAM_PATH
        attached = iam.list_attached_user_policies(UserName=SHARING_USER)["AttachedPolicies"]
        assert [p["PolicyName"] for p in attached] == [SHARING_POLICY]
        assert main(["access", "provision", "--config", str(config)]) == 0
        assert capsys.readouterr().out == ""
