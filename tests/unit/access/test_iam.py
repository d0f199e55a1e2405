"""`careshare access provision` against moto's IAM: a recipient removed from the configuration loses
its user, keys and policies; the other recipients and every IAM user careshare did not create are
left exactly as they were; `--dry-run` lists the same plan and calls nothing but IAM's reads."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from careshare.cli import main
from tests.unit.access.moto_process import moto_server_process, provisioning_environment

CUMBRIA = """
[[groups]]
id = "lrf-cumbria"
name = "Cumbria Local Resilience Forum"
kind = "lrf"
la_codes = ["E10000006", "E06000063", "E06000064"]
"""
MERSEYSIDE = """
[[groups]]
id = "lrf-merseyside"
name = "Merseyside Resilience Forum"
kind = "lrf"
la_codes = ["E06000006", "E08000011", "E08000012", "E08000013", "E08000014", "E08000015"]
"""
NATIONAL = """
[[national]]
id = "dhsc"
name = "Department of Health and Social Care"
"""
REMOVED = "careshare-lrf-merseyside"
KEPT = ("careshare-lrf-cumbria", "careshare-dhsc")
INLINE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::elsewhere/*"}],
}
UNRELATED = {"alice": "/", "careshare-ops": "/", "careshare-lrf-legacy": "/careshare/old/"}


@pytest.fixture
def iam(monkeypatch):
    with moto_server_process() as endpoint:
        for variable, value in provisioning_environment(endpoint).items():
            monkeypatch.setenv(variable, value)
        yield boto3.client("iam")


@pytest.fixture
def iam_calls(monkeypatch) -> list[str]:
    """The names of the IAM operations the command calls."""
    calls: list[str] = []
    client = boto3.client

    def recording(*args, **kwargs):
        made = client(*args, **kwargs)
        made.meta.events.register("before-call.iam.*", lambda model, **_: calls.append(model.name))
        return made

    monkeypatch.setattr(boto3, "client", recording)
    return calls


def configuration(folder: Path, *recipients: str) -> Path:
    path = folder / "recipients.toml"
    path.write_text("[councils]\neach = false\n" + "".join(recipients))
    return path


def provision(config: Path, capsys, *options: str) -> list[str]:
    assert main(["access", "provision", "--config", str(config), *options]) == 0
    return capsys.readouterr().out.splitlines()


def user_state(iam, name: str) -> dict:
    return {
        "path": iam.get_user(UserName=name)["User"]["Path"],
        "keys": sorted(k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]),
        "inline": sorted(iam.list_user_policies(UserName=name)["PolicyNames"]),
        "groups": sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]),
        "attached": sorted(p["PolicyName"] for p in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]),
    }


def iam_state(iam) -> dict:
    policies = iam.list_policies(Scope="Local")["Policies"]
    return {
        "users": {u["UserName"]: user_state(iam, u["UserName"]) for u in iam.list_users()["Users"]},
        "policies": {p["PolicyName"]: p["DefaultVersionId"] for p in policies},
    }


def with_operators_additions(iam) -> None:
    """What operators add by hand: keys for every recipient, an inline policy and a group for one,
    and IAM users careshare has nothing to do with (one with a careshare-like name, one on a path
    below careshare's)."""
    for user in (REMOVED, *KEPT):
        iam.create_access_key(UserName=user)
    iam.put_user_policy(UserName=REMOVED, PolicyName="extra", PolicyDocument=json.dumps(INLINE_POLICY))
    iam.create_group(GroupName="data-readers")
    iam.add_user_to_group(GroupName="data-readers", UserName=REMOVED)
    for user, path in UNRELATED.items():
        iam.create_user(UserName=user, Path=path)
        iam.create_access_key(UserName=user)


def test_removing_a_recipient_deletes_its_user_keys_and_policies_and_nothing_else(iam, iam_calls, tmp_path, capsys):
    first = provision(configuration(tmp_path, CUMBRIA, MERSEYSIDE, NATIONAL), capsys)
    assert sorted(first) == sorted(
        [f"create user {user}" for user in (REMOVED, *KEPT)]
        + [f"create policy {user.replace('careshare-', 'careshare-read-')}" for user in (REMOVED, *KEPT)]
        + [f"attach policy {user.replace('careshare-', 'careshare-read-')} to user {user}" for user in (REMOVED, *KEPT)]
        + [
            "create user careshare-sharing",  # the Delta Sharing server's read-only user
            "create policy careshare-sharing-server",
            "attach policy careshare-sharing-server to user careshare-sharing",
        ]
    )
    with_operators_additions(iam)
    before = iam_state(iam)
    removed_key = before["users"][REMOVED]["keys"][0]
    config = configuration(tmp_path, CUMBRIA, NATIONAL)

    iam_calls.clear()
    planned = provision(config, capsys, "--dry-run")
    assert iam_state(iam) == before
    assert iam_calls and all(call.startswith(("List", "Get")) for call in iam_calls), iam_calls

    applied = provision(config, capsys)
    assert applied == planned
    assert planned == [
        f"delete access key {removed_key} of user {REMOVED}",
        f"delete inline policy extra of user {REMOVED}",
        f"remove user {REMOVED} from group data-readers",
        f"detach policy careshare-read-lrf-merseyside from user {REMOVED}",
        f"delete user {REMOVED}",
        "delete policy careshare-read-lrf-merseyside",
    ]
    after = iam_state(iam)
    assert REMOVED not in after["users"] and "careshare-read-lrf-merseyside" not in after["policies"]
    assert after["users"] == {user: state for user, state in before["users"].items() if user != REMOVED}
    assert after["policies"] == {name: v for name, v in before["policies"].items() if not name.endswith("merseyside")}
    assert iam.get_group(GroupName="data-readers")["Users"] == []

    assert provision(config, capsys) == []
