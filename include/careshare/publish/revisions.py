"""Why a release was made, the changelog readers see, and which version was in force when.

Every manifest states what it was published from, `inputs`: each feed's state on the report date
(as its completeness states it) with the file's SHA-256 and when that file was received, from the
delivery registry (`feed_day`, `delivery_receipt`). Its `reason` compares them with the previous
version's inputs:

- `first_release`: version 1, with the files it was built from;
- `delivery`: a feed's file or state differs (a corrected or late file, a feed now failed): those
  deliveries, each with what it replaced;
- `operator_rerun`: nothing upstream differs and an operator gave a note;
- `rebuilt`: nothing upstream differs and no note: the code, the crosswalk or the directory pin did;
- `unrecorded`: the previous version was published before manifests stated their inputs.

An operator's note (`careshare run stage publish --note`, the publish DAG's `note` param) is kept
with any of them and is published: it is written for readers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from careshare.publish import layout
from careshare.publish.catalog import Document, read_json
from careshare.publish.changes import LINEAGE_COLUMNS, Changes
from careshare.publish.completeness import Completeness
from careshare.storage import ObjectStore
from careshare.warehouse import Warehouse

FIRST_RELEASE, DELIVERY, OPERATOR_RERUN, REBUILT, UNRECORDED = (
    "first_release",
    "delivery",
    "operator_rerun",
    "rebuilt",
    "unrecorded",
)
REBUILT_TEXT = "rebuilt, no feed changed (the code, the crosswalk or the CQC directory pin did)"
UNRECORDED_TEXT = "the previous version did not record the files it was built from"
NOTE_LIMIT = 500
UK = ZoneInfo("Europe/London")


class BadNote(ValueError):
    """An operator's note that cannot be published as given."""


def utc_text(moment: datetime) -> str:
    """An instant as every manifest writes it: UTC, to the second, `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def release_inputs(warehouse: Warehouse, report_date: date, completeness: Completeness) -> list[Document]:
    """Each feed's state on the date, with the file it holds and that file's latest receipt."""
    rows = warehouse.query_frame("publish/releases/inputs", {"report_date": report_date})
    files = {row.feed: (row.sha256, _received(row.received_at)) for row in rows.itertuples()}
    return [
        {
            "feed": state.feed,
            "status": state.status,
            "sha256": files.get(state.feed, (None, None))[0],
            "received_at": files.get(state.feed, (None, None))[1],
        }
        for state in completeness.feeds
    ]


def _received(value: object) -> str | None:
    """The warehouse keeps UTC instants without a zone (SQLite gives text, PostgreSQL datetimes)."""
    return None if pd.isna(value) else utc_text(pd.Timestamp(value).tz_localize(UTC).to_pydatetime())


def checked_note(note: str | None) -> str | None:
    """One line of at most NOTE_LIMIT characters; blank is no note."""
    text = " ".join((note or "").split())
    if len(text) > NOTE_LIMIT:
        raise BadNote(f"a release note is published and kept short: {len(text)} characters, at most {NOTE_LIMIT}")
    return text or None


def note_for(report_date: date, asked: str | None, note: str | None) -> str | None:
    """A manual publish run's note belongs to the date it asked for, or to every date it publishes."""
    return note if not asked or asked == report_date.isoformat() else None


def reason(previous: Document | None, inputs: list[Document], note: str | None) -> Document:
    if previous is None:
        kind = FIRST_RELEASE
        deliveries = changed_inputs([], [entry for entry in inputs if entry["sha256"]])
    elif previous.get("inputs") is None:
        kind, deliveries = UNRECORDED, []
    else:
        deliveries = changed_inputs(previous["inputs"], inputs)
        kind = DELIVERY if deliveries else OPERATOR_RERUN if note else REBUILT
    return {"kind": kind, "text": reason_text(kind, deliveries, note), "note": note, "deliveries": deliveries}


def changed_inputs(before: list[Document], after: list[Document]) -> list[Document]:
    """The feeds whose state or file differs from `before`, each with what it was."""
    was = {entry["feed"]: (entry["status"], entry["sha256"]) for entry in before}
    return [
        {**entry, "previous_status": old[0], "previous_sha256": old[1]}
        for entry in after
        if (old := was.get(entry["feed"], (None, None))) != (entry["status"], entry["sha256"])
    ]


def reason_text(kind: str, deliveries: list[Document], note: str | None) -> str:
    text = {
        FIRST_RELEASE: "first release" + (f": {'; '.join(map(_delivery_text, deliveries))}" if deliveries else ""),
        DELIVERY: "; ".join(map(_delivery_text, deliveries)),
        OPERATOR_RERUN: f"operator rerun: {note}",
        REBUILT: REBUILT_TEXT,
        UNRECORDED: UNRECORDED_TEXT,
    }[kind]
    return text if kind == OPERATOR_RERUN or not note else f"{text}; note: {note}"


def _delivery_text(entry: Document) -> str:
    text = f"{entry['feed']} {entry['status']}"
    if entry["sha256"]:
        text += f", file {entry['sha256'][:12]} received {entry['received_at']}"
    if entry["previous_sha256"] and entry["previous_sha256"] != entry["sha256"]:
        text += f", replacing {entry['previous_sha256'][:12]}"
    if entry["previous_status"] and entry["previous_status"] != entry["status"]:
        text += f" (was {entry['previous_status']})"
    return text


def published_on(text: str) -> datetime:
    """When "as published on" means: a date is the end of that day in UK time; a timestamp without
    an offset is UTC, as every `published_at` is."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return datetime.combine(day + timedelta(days=1), time(), UK).astimezone(UTC) - timedelta(microseconds=1)


def in_force(versions: Iterable[Document], moment: datetime) -> Document | None:
    """The newest version published by `moment` (documents with `version` and `published_at`)."""
    published = [v for v in versions if instant(v["published_at"]) <= moment]
    return max(published, key=lambda v: v["version"], default=None)


def release_history(store: ObjectStore, dataset: str, report_date: date) -> list[Document]:
    """Every committed release manifest of the date, oldest first."""
    versions = layout.committed_versions(store.keys(layout.release_prefix(dataset, report_date)))
    manifests = (read_json(store, layout.release_manifest(dataset, report_date, v)) for v in versions)
    return [manifest for manifest in manifests if manifest is not None]


def changelog(index: Document) -> str:
    """A scope's index as Markdown for people: every version, newest report date first."""
    whose = f"council {index['la_code']}" if index["la_code"] else "national"
    lines = [
        f"# {index['dataset']}, {whose}: changelog",
        "",
        "Every version of these files, newest report date first: what caused it (a feed's corrected or late",
        "file, with its SHA-256 and when it was received; an operator's rerun and its note; a rebuild with no",
        "feed changed) and what it changed, by key. Rows that differ only in their lineage are counted apart,",
        "as no published value changed; the lineage columns:",
        ", ".join(f"`{column}`" for column in LINEAGE_COLUMNS) + ".",
        "`_index.json` beside this file holds the same, with each version's `published_at`, to pick the",
        "version in force at a time.",
        "",
    ]
    for report_date, day in sorted(index["report_dates"].items(), reverse=True):
        lines += [f"## {report_date}", ""]
        for entry in sorted(day["versions"], key=lambda v: v["version"], reverse=True):
            lines += _entry_lines(entry, current=entry["version"] == day["current_version"])
    return "\n".join(lines)


def _entry_lines(entry: Document, *, current: bool) -> list[str]:
    reason = entry.get("reason")
    lines = [
        f"### {layout.version_name(entry['version'])}{' (current)' if current else ''}, "
        f"published {entry['published_at']}",
        "",
        f"- Reason: {reason['text'] if reason else 'not recorded (published before releases stated one)'}",
        f"- What changed: {_changes_text(Changes.from_dict(entry['changes']), first=entry['version'] == 1)}",
        *_key_lines(entry.get("changed_keys")),
        f"- Feeds: {_completeness_text(entry['completeness'])}",
    ]
    if entry.get("changes_detail"):
        lines.append(f"- Every key: `{entry['changes_detail']['key']}`")
    return [*lines, ""]


def _changes_text(changes: Changes, *, first: bool) -> str:
    if first:
        return f"first release, {changes.added} rows"
    counted = [(changes.changed, "changed"), (changes.added, "added"), (changes.removed, "removed")]
    text = ", ".join(f"{n} {what}" for n, what in counted if n) or "no published value"
    if changes.lineage_only:
        text += f"; lineage only: {changes.lineage_only} rows (same values, from a new file or row)"
    return text


def _key_lines(preview: Document | None) -> list[str]:
    if not preview:
        return []
    lines = [f"  - `{key}`: {', '.join(columns)}" for key, columns in preview["changed"].items()]
    for kind in ("added", "removed"):
        lines += [f"  - {kind}: {', '.join(f'`{key}`' for key in preview[kind])}"] if preview[kind] else []
    if preview["not_listed"]:
        lines.append(f"  - and {preview['not_listed']} more (every key below)")
    return lines


def _completeness_text(summary: Document | None) -> str:
    if summary is None:
        return "not stated"
    if summary["complete"]:
        return "complete"
    problems = [f"{status} {', '.join(summary[status])}" for status in ("failed", "missing") if summary[status]]
    return f"incomplete: {'; '.join(problems)}"
