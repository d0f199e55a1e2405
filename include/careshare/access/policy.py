"""Least-privilege IAM policies, generated from the recipients configuration.

A recipient may `s3:GetObject` under its own councils' prefixes of every published dataset and
the data dictionary; nothing else: no listing (it finds its files through the `_index.json` and
manifests under its own prefixes, so no grant depends on a ListBucket condition), no writes, no
staging, no other council. A national recipient reads every dataset and the release manifests.
IAM caps a managed policy at 6,144 characters (whitespace excluded): a recipient whose grant is
longer (a forum of 30-odd councils across several datasets) gets it split over numbered
policies, each as narrow as the first.

The Delta Sharing server (careshare.share) has a user of its own, read-only on the publication
root: it reads every dataset's files, indexes and the release manifests, and lists them; it never
writes, deletes or reads staging, and the pre-signed URLs it hands out can do no more than it can.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlparse

from careshare.access.recipients import Recipient
from careshare.councils import LocalAuthorities
from careshare.datasets import Dataset
from careshare.publish import layout

POLICY_VERSION = "2012-10-17"
MANAGED_POLICY_LIMIT = 6144
IAM_PATH = "/careshare/"  # careshare's IAM users and policies, and nothing else, live here
USER_PREFIX = "careshare-"
SHARING_USER = f"{USER_PREFIX}sharing"
SHARING_POLICY = "careshare-sharing-server"  # never a recipient's name: those are careshare-read-<id>


@dataclass(frozen=True)
class Publication:
    """The bucket and key prefix that CARESHARE_PUBLISH_URI names."""

    bucket: str
    prefix: str = ""

    @classmethod
    def from_uri(cls, uri: str) -> Publication:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"IAM policies need an s3:// publication URI, not {uri!r}")
        return cls(parsed.netloc, parsed.path.strip("/"))

    def arn(self, key_pattern: str) -> str:
        return f"arn:aws:s3:::{self.bucket}/{self.key(key_pattern)}"

    def key(self, key_pattern: str) -> str:
        return f"{self.prefix}/{key_pattern}" if self.prefix else key_pattern

    @property
    def bucket_arn(self) -> str:
        return f"arn:aws:s3:::{self.bucket}"


@dataclass(frozen=True)
class NamedPolicy:
    name: str
    document: dict

    @property
    def size(self) -> int:
        return policy_size(self.document)


def policy_name(recipient: Recipient, part: int = 1) -> str:
    return f"careshare-read-{recipient.id}" + (f"-{part}" if part > 1 else "")


def user_name(recipient: Recipient) -> str:
    return f"{USER_PREFIX}{recipient.id}"


def readable_prefixes(recipient: Recipient, datasets: Iterable[Dataset], reference: LocalAuthorities) -> list[str]:
    """Key prefixes (ending in `/`) the recipient may read, data dictionary included."""
    prefixes = [f"{layout.DOCS}/"]
    for dataset in datasets:
        if recipient.national:
            prefixes += [layout.Scope.national(dataset.name).root, f"{layout.MANIFESTS}/{dataset.name}/"]
        elif not dataset.national:
            prefixes += [
                layout.Scope.council(dataset.name, code, reference).root for code in sorted(recipient.la_codes)
            ]
    return prefixes


def recipient_policies(
    recipient: Recipient, publication: Publication, datasets: Iterable[Dataset], reference: LocalAuthorities
) -> list[NamedPolicy]:
    resources = [publication.arn(f"{prefix}*") for prefix in readable_prefixes(recipient, datasets, reference)]
    chunks: list[list[str]] = [[]]
    for resource in resources:
        if chunks[-1] and policy_size(_document([*chunks[-1], resource], 1)) > MANAGED_POLICY_LIMIT:
            chunks.append([])
        chunks[-1].append(resource)
    return [
        NamedPolicy(policy_name(recipient, part), _document(chunk, part)) for part, chunk in enumerate(chunks, start=1)
    ]


def sharing_server_policy(publication: Publication, datasets: Iterable[Dataset]) -> NamedPolicy:
    """The sharing server's grant: GetObject on each dataset's tree and the release manifests, and
    ListBucket, narrowed to the publication prefix when the bucket holds more than the publication."""
    prefixes = [f"{dataset.name}/" for dataset in datasets] + [f"{layout.MANIFESTS}/"]
    listing: dict = {
        "Sid": "CareshareSharingList",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": publication.bucket_arn,
    }
    if publication.prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": [publication.key("*")]}}
    reading = {
        "Sid": "CareshareSharingRead",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": [publication.arn(f"{prefix}*") for prefix in prefixes],
    }
    return NamedPolicy(SHARING_POLICY, {"Version": POLICY_VERSION, "Statement": [reading, listing]})


def _document(resources: list[str], part: int) -> dict:
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": f"CareshareRead{part}",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": resources,
            }
        ],
    }


def policy_size(document: dict) -> int:
    """What IAM counts against its limit: the JSON without whitespace."""
    return len(json.dumps(document, separators=(",", ":")))
