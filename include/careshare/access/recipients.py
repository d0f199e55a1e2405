"""Who may read what: the recipients configuration (data/recipients.toml), checked against the
ONS reference before anything is granted.

Every council in the reference is a recipient of its own data (and, if it replaced councils, of
theirs: it inherited their services and records). Groups (Local Resilience Forums, CCGs, regional
bodies) name councils or whole regions. National recipients read everything.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from careshare.config import RECIPIENTS_TOML
from careshare.councils import LocalAuthorities

RECIPIENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,46}[a-z0-9]$")  # fits IAM user and policy names
GROUP_KINDS = ("lrf", "ccg", "region", "other")
COUNCIL_KEYS = {"each", "successors_read_predecessors"}
GROUP_KEYS = {"id", "name", "kind", "la_codes", "regions"}
NATIONAL_KEYS = {"id", "name"}


class RecipientConfigError(ValueError):
    def __init__(self, source: Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Recipient:
    id: str
    name: str
    kind: str  # council, national, or one of GROUP_KINDS
    la_codes: frozenset[str]  # every council whose data it reads; empty for a national recipient

    @property
    def national(self) -> bool:
        return self.kind == "national"

    def reads(self, la_code: str | None) -> bool:
        """May read this council's data (None: a national dataset)."""
        return self.national or (la_code is not None and la_code in self.la_codes)


def load_recipients(reference: LocalAuthorities, path: Path = RECIPIENTS_TOML) -> list[Recipient]:
    with path.open("rb") as handle:
        try:
            config = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise RecipientConfigError(path, [f"not valid TOML: {error}"]) from None
    return recipients_from(config, reference, path)


def recipients_from(config: dict[str, Any], reference: LocalAuthorities, source: Path) -> list[Recipient]:
    problems: list[str] = []
    unknown = set(config) - {"councils", "groups", "national"}
    if unknown:
        problems.append(f"unknown sections {sorted(unknown)}")
    councils = config.get("councils", {})
    _unknown_keys("[councils]", councils, COUNCIL_KEYS, problems)
    inherit = bool(councils.get("successors_read_predecessors", True))
    recipients = []
    if councils.get("each", False):
        recipients += [
            Recipient(f"la-{la.code.lower()}", la.name, "council", _with_predecessors({la.code}, reference, inherit))
            for la in reference
        ]
    for position, group in enumerate(config.get("groups", []), start=1):
        where = f"[[groups]] #{position} ({group.get('id', 'no id')})"
        _unknown_keys(where, group, GROUP_KEYS, problems)
        codes = _group_codes(where, group, reference, problems)
        if group.get("kind") not in GROUP_KINDS:
            problems.append(f"{where}: kind {group.get('kind')!r} is not one of {list(GROUP_KINDS)}")
        recipients.append(
            Recipient(
                str(group.get("id", "")),
                str(group.get("name", "")),
                str(group.get("kind")),
                _with_predecessors(codes, reference, inherit),
            )
        )
    for position, entry in enumerate(config.get("national", []), start=1):
        _unknown_keys(f"[[national]] #{position}", entry, NATIONAL_KEYS, problems)
        recipients.append(Recipient(str(entry.get("id", "")), str(entry.get("name", "")), "national", frozenset()))
    problems += _identity_problems(recipients)
    if problems:
        raise RecipientConfigError(source, problems)
    return recipients


def _group_codes(where: str, group: dict[str, Any], reference: LocalAuthorities, problems: list[str]) -> set[str]:
    codes = set()
    for code in group.get("la_codes", []):
        if code in reference:
            codes.add(code)
        else:
            problems.append(f"{where}: la_code {code!r} is not a council in the reference")
    regions = {la.region_code for la in reference}
    for region in group.get("regions", []):
        if region in regions:
            codes |= {la.code for la in reference if la.region_code == region}
        else:
            problems.append(f"{where}: region {region!r} is not a region in the reference")
    if not codes and not group.get("la_codes") and not group.get("regions"):
        problems.append(f"{where}: names no la_codes and no regions")
    return codes


def _with_predecessors(codes: set[str], reference: LocalAuthorities, inherit: bool) -> frozenset[str]:
    return reference.with_predecessors(codes) if inherit else frozenset(codes)


def _identity_problems(recipients: list[Recipient]) -> list[str]:
    problems, seen = [], set()
    for recipient in recipients:
        if not RECIPIENT_ID.match(recipient.id):
            problems.append(f"recipient id {recipient.id!r} must match {RECIPIENT_ID.pattern}")
        if recipient.id in seen:
            problems.append(f"recipient id {recipient.id!r} is used twice")
        if not recipient.name.strip():
            problems.append(f"recipient {recipient.id!r} has no name")
        seen.add(recipient.id)
    return problems


def _unknown_keys(where: str, table: dict[str, Any], allowed: set[str], problems: list[str]) -> None:
    unknown = set(table) - allowed
    if unknown:
        problems.append(f"{where}: unknown keys {sorted(unknown)}")


def recipient(recipients: list[Recipient], recipient_id: str) -> Recipient:
    for found in recipients:
        if found.id == recipient_id:
            return found
    raise KeyError(f"no recipient {recipient_id!r} in the configuration")
