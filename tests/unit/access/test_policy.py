import json
from dataclasses import replace

import pytest

from careshare.access.policy import (
    MANAGED_POLICY_LIMIT,
    Publication,
    policy_size,
    readable_prefixes,
    recipient_policies,
)
from careshare.access.recipients import load_recipients
from careshare.config import RECIPIENTS_TOML
from careshare.datasets import DATASETS, LOCATION_DAILY, Dataset

PUBLICATION = Publication("careshare-published")


@pytest.fixture(scope="module")
def recipients(local_authorities):
    return {r.id: r for r in load_recipients(local_authorities, RECIPIENTS_TOML)}


def statements(policies) -> list[dict]:
    return [s for p in policies for s in p.document["Statement"]]


def test_a_council_may_only_get_objects_under_its_own_prefixes(recipients, local_authorities):
    policies = recipient_policies(recipients["la-e06000061"], PUBLICATION, DATASETS.values(), local_authorities)
    assert [p.name for p in policies] == ["careshare-read-la-e06000061"]
    (statement,) = statements(policies)
    assert statement["Effect"] == "Allow" and statement["Action"] == "s3:GetObject"
    assert "Condition" not in statement
    expected = {"arn:aws:s3:::careshare-published/_docs/*"} | {
        f"arn:aws:s3:::careshare-published/{name}/la_code={code}/*"
        for name, dataset in DATASETS.items()
        if not dataset.national
        for code in ("E06000061", "E10000021")
    }
    assert set(statement["Resource"]) == expected


def test_no_policy_grants_listing_writing_or_anything_but_reading(recipients, local_authorities):
    for recipient in recipients.values():
        for statement in statements(recipient_policies(recipient, PUBLICATION, DATASETS.values(), local_authorities)):
            assert statement["Action"] == "s3:GetObject" and statement["Effect"] == "Allow"
            for resource in statement["Resource"]:
                key = resource.removeprefix("arn:aws:s3:::careshare-published/")
                assert key.endswith("/*") and "*" not in key[:-2], resource
                assert not key.startswith("_staging")


def test_a_national_recipient_reads_every_dataset_and_the_release_manifests(recipients, local_authorities):
    prefixes = readable_prefixes(recipients["dhsc"], DATASETS.values(), local_authorities)
    assert set(prefixes) == {"_docs/"} | {f"{n}/" for n in DATASETS} | {f"_manifests/{n}/" for n in DATASETS}


def test_the_publication_prefix_is_part_of_every_resource(recipients, local_authorities):
    publication = Publication.from_uri("s3://shared-bucket/careshare/v1/")
    (statement,) = statements(
        recipient_policies(recipients["ccg-leeds"], publication, [LOCATION_DAILY], local_authorities)
    )
    assert "arn:aws:s3:::shared-bucket/careshare/v1/location_daily/la_code=E08000035/*" in statement["Resource"]
    with pytest.raises(ValueError, match="s3://"):
        Publication.from_uri("/tmp/published")


def test_a_grant_too_long_for_one_iam_policy_is_split_without_widening(recipients, local_authorities):
    many = [replace(LOCATION_DAILY, name=f"dataset_number_{i}") for i in range(6)]
    assert all(isinstance(d, Dataset) for d in many)
    london = recipients["lrf-london"]
    policies = recipient_policies(london, PUBLICATION, many, local_authorities)
    assert len(policies) > 1
    assert [p.name for p in policies][:2] == ["careshare-read-lrf-london", "careshare-read-lrf-london-2"]
    assert all(p.size <= MANAGED_POLICY_LIMIT for p in policies)
    granted = [r for s in statements(policies) for r in s["Resource"]]
    assert len(granted) == len(set(granted)) == 1 + 6 * 33


def test_every_configured_recipient_fits_iam_limits(recipients, local_authorities):
    for recipient in recipients.values():
        for policy in recipient_policies(recipient, PUBLICATION, DATASETS.values(), local_authorities):
            assert len(policy.name) <= 128 and policy.size <= MANAGED_POLICY_LIMIT
            assert policy_size(json.loads(json.dumps(policy.document, indent=4))) == policy.size


def test_national_datasets_are_granted_to_national_recipients_only(recipients, local_authorities):
    national = DATASETS["provider_daily"]
    assert national.national
    assert readable_prefixes(recipients["ccg-leeds"], [national], local_authorities) == ["_docs/"]
    assert "provider_daily/" in readable_prefixes(recipients["dhsc"], [national], local_authorities)
