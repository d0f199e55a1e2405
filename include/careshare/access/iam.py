"""Apply the generated policies to IAM: one user per recipient with its managed policies attached.

Idempotent: an unchanged policy is left alone, a changed one gets a new default version, and a
careshare policy no recipient needs any more (a recipient removed from the configuration, or a
split that shrank) is detached and deleted, so removing a recipient removes its access. Access
keys are not made here: issuing credentials is an operator's step (README "Access").
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from careshare.access.policy import POLICY_PATH, NamedPolicy, user_name
from careshare.access.recipients import Recipient

MAX_POLICY_VERSIONS = 5  # IAM's limit per managed policy


@dataclass
class ProvisionReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def provision(iam: Any, grants: dict[Recipient, list[NamedPolicy]]) -> ProvisionReport:
    report = ProvisionReport()
    existing = _careshare_policies(iam)
    wanted = {policy.name for policies in grants.values() for policy in policies}
    for recipient, policies in grants.items():
        user = _ensure_user(iam, user_name(recipient))
        for policy in policies:
            arn = _upsert_policy(iam, policy, existing.get(policy.name), report)
            iam.attach_user_policy(UserName=user, PolicyArn=arn)
    for name, arn in sorted(existing.items()):
        if name not in wanted:
            _delete_policy(iam, arn)
            report.removed.append(name)
    return report


def _careshare_policies(iam: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for page in iam.get_paginator("list_policies").paginate(Scope="Local", PathPrefix=POLICY_PATH):
        found |= {p["PolicyName"]: p["Arn"] for p in page["Policies"]}
    return found


def _ensure_user(iam: Any, name: str) -> str:
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_user(UserName=name, Path=POLICY_PATH)
    return name


def _upsert_policy(iam: Any, policy: NamedPolicy, arn: str | None, report: ProvisionReport) -> str:
    document = json.dumps(policy.document, separators=(",", ":"))
    if arn is None:
        created = iam.create_policy(PolicyName=policy.name, Path=POLICY_PATH, PolicyDocument=document)
        report.created.append(policy.name)
        return created["Policy"]["Arn"]
    current = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    stored = iam.get_policy_version(PolicyArn=arn, VersionId=current)["PolicyVersion"]["Document"]
    if (json.loads(stored) if isinstance(stored, str) else stored) == policy.document:
        report.unchanged.append(policy.name)
        return arn
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    old = sorted((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
    for version in old[: max(0, len(versions) - MAX_POLICY_VERSIONS + 1)]:
        iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document, SetAsDefault=True)
    report.updated.append(policy.name)
    return arn


def _delete_policy(iam: Any, arn: str) -> None:
    for page in iam.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn):
        for user in page["PolicyUsers"]:
            iam.detach_user_policy(UserName=user["UserName"], PolicyArn=arn)
        for role in page["PolicyRoles"]:
            iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
        for group in page["PolicyGroups"]:
            iam.detach_group_policy(GroupName=group["GroupName"], PolicyArn=arn)
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.delete_policy(PolicyArn=arn)
