"""Apply the generated policies to IAM: one user per recipient with its managed policies attached.

Provisioning plans first, with IAM's read calls only, then applies the plan (`--dry-run` prints it
and stops). Idempotent: an unchanged policy is left alone, a changed one gets a new default
version. What no recipient needs any more is deleted: a careshare policy (a recipient removed from
the configuration, or a split that shrank), detached first from whatever holds it, and a removed
recipient's IAM user with its access keys, inline policies, group memberships and attachments.
careshare's users and policies are those on the IAM path /careshare/ (users named careshare-<id>):
no other user or policy is ever changed or deleted; another role, group or user only loses the
careshare policies attached to it. Besides the recipients, careshare's own services get users the
same way (`services`: the Delta Sharing server's read-only `careshare-sharing`). Access keys are not
made here: issuing credentials is an operator's step (README "Access").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from careshare.access.policy import IAM_PATH, USER_PREFIX, NamedPolicy, user_name
from careshare.access.recipients import Recipient

MAX_POLICY_VERSIONS = 5  # IAM's limit per managed policy
DETACH = {  # list_entities_for_policy's key, the entity's name field, the call that detaches it
    "user": ("PolicyUsers", "UserName", "detach_user_policy"),
    "role": ("PolicyRoles", "RoleName", "detach_role_policy"),
    "group": ("PolicyGroups", "GroupName", "detach_group_policy"),
}


@dataclass(frozen=True)
class ArnOf:
    """A careshare policy's ARN, known once it exists (a policy the plan creates has none yet)."""

    policy: str


Call = tuple[str, dict[str, Any]]  # an IAM client method and its parameters


@dataclass(frozen=True)
class Change:
    """One change to IAM: what it does, in words, and the calls that make it."""

    description: str
    calls: tuple[Call, ...]

    def __str__(self) -> str:
        return self.description


@dataclass
class ProvisionPlan:
    """The changes, in the order IAM accepts them, and how to make them."""

    changes: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # policies already as configured
    policy_arns: dict[str, str] = field(default_factory=dict)

    def apply(self, iam: Any, applied: Callable[[Change], None] = lambda change: None) -> None:
        arns = dict(self.policy_arns)
        for change in self.changes:
            for method, params in change.calls:
                response = getattr(iam, method)(**{k: _resolve(v, arns) for k, v in params.items()})
                if method == "create_policy":
                    arns[params["PolicyName"]] = response["Policy"]["Arn"]
            applied(change)


def provision(
    iam: Any, grants: dict[Recipient, list[NamedPolicy]], services: dict[str, list[NamedPolicy]] | None = None
) -> ProvisionPlan:
    planned = plan(iam, grants, services)
    planned.apply(iam)
    return planned


def plan(
    iam: Any, grants: dict[Recipient, list[NamedPolicy]], services: dict[str, list[NamedPolicy]] | None = None
) -> ProvisionPlan:
    """What provisioning `grants` (per recipient) and `services` (per user name) would change,
    found with IAM's read calls only."""
    wanted = {user_name(recipient): policies for recipient, policies in grants.items()}
    clashes = sorted(set(wanted) & set(services or {}))
    if clashes:
        raise ValueError(f"recipient users {clashes} would be careshare's own service users: rename the recipients")
    wanted |= services or {}
    planned = ProvisionPlan(policy_arns=_careshare_policies(iam))
    users = _careshare_users(iam)
    for user, policies in wanted.items():
        planned.changes += _grant(iam, user, policies, planned, user in users)
    removed = sorted(users - set(wanted))
    for user in removed:
        planned.changes += _user_removal(iam, user)
    kept = {policy.name for policies in wanted.values() for policy in policies}
    for name, arn in sorted(planned.policy_arns.items()):
        if name not in kept:
            planned.changes += _policy_removal(iam, name, arn, set(removed))
    return planned


def _change(description: str, *calls: Call) -> Change:
    return Change(description, calls)


def _call(method: str, **params: Any) -> Call:
    return method, params


def _resolve(value: Any, arns: dict[str, str]) -> Any:
    return arns[value.policy] if isinstance(value, ArnOf) else value


def _pages(iam: Any, method: str, key: str, **params: Any) -> Iterator[Any]:
    for page in iam.get_paginator(method).paginate(**params):
        yield from page[key]


def _careshare_policies(iam: Any) -> dict[str, str]:
    policies = _pages(iam, "list_policies", "Policies", Scope="Local", PathPrefix=IAM_PATH)
    return {p["PolicyName"]: p["Arn"] for p in policies}


def _careshare_users(iam: Any) -> set[str]:
    """The users careshare created: on its path, with its names; anyone else's user is never touched."""
    return {
        u["UserName"]
        for u in _pages(iam, "list_users", "Users", PathPrefix=IAM_PATH)
        if u["Path"] == IAM_PATH and u["UserName"].startswith(USER_PREFIX)
    }


def _grant(iam: Any, user: str, policies: list[NamedPolicy], planned: ProvisionPlan, exists: bool) -> list[Change]:
    changes = [] if exists else [_change(f"create user {user}", _call("create_user", UserName=user, Path=IAM_PATH))]
    attached = (
        {p["PolicyName"] for p in _pages(iam, "list_attached_user_policies", "AttachedPolicies", UserName=user)}
        if exists
        else set()
    )
    for policy in policies:
        updates = _policy_changes(iam, policy, planned.policy_arns.get(policy.name))
        if not updates:
            planned.unchanged.append(policy.name)
        changes += updates
        if policy.name not in attached:
            attach = _call("attach_user_policy", UserName=user, PolicyArn=ArnOf(policy.name))
            changes.append(_change(f"attach policy {policy.name} to user {user}", attach))
    return changes


def _policy_changes(iam: Any, policy: NamedPolicy, arn: str | None) -> list[Change]:
    document = json.dumps(policy.document, separators=(",", ":"))
    if arn is None:
        create = _call("create_policy", PolicyName=policy.name, Path=IAM_PATH, PolicyDocument=document)
        return [_change(f"create policy {policy.name}", create)]
    if _stored_document(iam, arn) == policy.document:
        return []
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    old = sorted((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
    room = [
        _call("delete_policy_version", PolicyArn=arn, VersionId=v["VersionId"])
        for v in old[: max(0, len(versions) - MAX_POLICY_VERSIONS + 1)]
    ]
    new_version = _call("create_policy_version", PolicyArn=arn, PolicyDocument=document, SetAsDefault=True)
    return [_change(f"update policy {policy.name}", *room, new_version)]


def _stored_document(iam: Any, arn: str) -> Any:
    current = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    stored = iam.get_policy_version(PolicyArn=arn, VersionId=current)["PolicyVersion"]["Document"]
    return json.loads(stored) if isinstance(stored, str) else stored


def _user_removal(iam: Any, user: str) -> list[Change]:
    """What IAM wants gone before it deletes a user that careshare, or an operator, gave it; then the user."""
    changes = []
    for key in _pages(iam, "list_access_keys", "AccessKeyMetadata", UserName=user):
        delete = _call("delete_access_key", UserName=user, AccessKeyId=key["AccessKeyId"])
        changes.append(_change(f"delete access key {key['AccessKeyId']} of user {user}", delete))
    for name in _pages(iam, "list_user_policies", "PolicyNames", UserName=user):
        delete = _call("delete_user_policy", UserName=user, PolicyName=name)
        changes.append(_change(f"delete inline policy {name} of user {user}", delete))
    for group in _pages(iam, "list_groups_for_user", "Groups", UserName=user):
        leave = _call("remove_user_from_group", GroupName=group["GroupName"], UserName=user)
        changes.append(_change(f"remove user {user} from group {group['GroupName']}", leave))
    for policy in _pages(iam, "list_attached_user_policies", "AttachedPolicies", UserName=user):
        detach = _call("detach_user_policy", UserName=user, PolicyArn=policy["PolicyArn"])
        changes.append(_change(f"detach policy {policy['PolicyName']} from user {user}", detach))
    return [*changes, _change(f"delete user {user}", _call("delete_user", UserName=user))]


def _policy_removal(iam: Any, name: str, arn: str, removed_users: set[str]) -> list[Change]:
    """Detach the policy from whatever still holds it (removed users let it go themselves), then delete it."""
    changes = []
    for page in iam.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn):
        for kind, (key, name_field, method) in DETACH.items():
            for entity in page[key]:
                holder = entity[name_field]
                if not (kind == "user" and holder in removed_users):
                    detach = _call(method, **{name_field: holder, "PolicyArn": arn})
                    changes.append(_change(f"detach policy {name} from {kind} {holder}", detach))
    old_versions = [
        _call("delete_policy_version", PolicyArn=arn, VersionId=v["VersionId"])
        for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]
        if not v["IsDefaultVersion"]
    ]
    return [*changes, _change(f"delete policy {name}", *old_versions, _call("delete_policy", PolicyArn=arn))]
