"""The release protocol for one dataset and report date.

1. Build every council's Parquet and CSV in memory (deterministic bytes, content-addressed).
2. If the committed release of the date has the same content (files and the date's feed
   completeness), there is nothing to release.
3. Compare each changed council's rows with the current release's, by key
   (careshare.publish.changes): the counts, and for every scope whose rows differ a change data
   file of those rows (`<sha256>.cdf.parquet`, for the Delta Sharing change data feed; a date's
   first release has none, its files are the inserts). Lineage-only rows are updates in the change
   data and not changes anywhere else: careshare.publish.changes says why.
4. Check each new file's schema and rows, then upload it, change data included, straight to its
   content-addressed release key (under `_releases/`, which hive readers skip, and invisible until
   a manifest names it). The upload carries the file's SHA-256, which S3 checks as the bytes
   arrive; the MD5 the store then reports of what it holds must be the file's. Write the lists of
   changed keys, content-addressed too.
5. Commit: write the release manifest `vNNNN.json` with If-None-Match, so of two runs only one
   commits a version; the loser re-reads the winner and tries the next version if it differs.
6. After the commit: each council's manifest, the current hive view (a copy of the release's
   Parquet whose SHA-256 the store computes), the councils' changelogs and indexes, and the
   dataset's `latest` pointer; then a completion marker. Every step is idempotent, and a rerun
   that finds a committed release without its marker finishes it.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from careshare.councils import LocalAuthorities
from careshare.datasets import Dataset
from careshare.publish import layout
from careshare.publish.catalog import Document, canonical_json, read_json, swap_json, with_latest, with_release
from careshare.publish.changes import (
    LINEAGE_COLUMNS,
    Changes,
    Revision,
    change_data,
    change_data_bytes,
    change_data_problem,
    compare,
    first_release,
    row_key,
    unchanged,
)
from careshare.publish.completeness import summary
from careshare.publish.formats import csv_bytes, parquet_bytes, split_by_council
from careshare.publish.parallel import in_parallel
from careshare.publish.revisions import changelog, reason, utc_text
from careshare.publish.verify import (
    ReleaseFile,
    ReleaseVerificationError,
    check_shapes,
    checksum_problem,
    refuse_if,
    stored_problem,
)
from careshare.storage import ObjectStore

log = logging.getLogger(__name__)

MANIFEST_FORMAT = "careshare-release/1"
CHANGES_FORMAT = "careshare-changes/1"
CHANGE_DATA_FORMAT = "careshare-cdf/1"  # a manifest stating it names the change data of every changed scope
COMMIT_ATTEMPTS = 5


class ReleaseConflict(RuntimeError):
    """Other runs kept committing this report date; try again later."""


@dataclass(frozen=True)
class Part:
    """One scope's rows (a council's, or the national file) and their files."""

    scope: layout.Scope
    table: pa.Table
    files: dict[str, bytes]
    checksums: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "checksums", {f: hashlib.sha256(data).hexdigest() for f, data in self.files.items()})

    @property
    def rows(self) -> int:
        return self.table.num_rows

    def sha256(self, fmt: str) -> str:
        return self.checksums[fmt]


@dataclass(frozen=True)
class ChangeData:
    """One scope's changed rows (careshare.publish.changes.change_data) as its change data file."""

    scope: layout.Scope
    rows: int
    data: bytes
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", hashlib.sha256(self.data).hexdigest())


@dataclass
class ReleaseOutcome:
    dataset: str
    report_date: date
    version: int
    new: bool
    rows: int
    scopes: int
    changes: Changes
    published_at: str
    fingerprint: str
    manifest_key: str
    complete: bool | None  # None: published without a statement of the feeds
    reason: Document | None  # None: published before releases stated one
    inputs: list[Document] = field(default_factory=list)
    changes_detail: Document | None = None
    withdrawn: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "report_date": self.report_date.isoformat(),
            "version": self.version,
            "new_version": self.new,
            "rows": self.rows,
            "scopes": self.scopes,
            "changes": self.changes.as_dict(),
            "withdrawn": self.withdrawn,
            "complete": self.complete,
            "reason": self.reason["text"] if self.reason else None,
            "published_at": self.published_at,
            "manifest": self.manifest_key,
        }


def build_parts(table: pa.Table, dataset: Dataset, reference: LocalAuthorities) -> dict[str, Part]:
    """label -> Part; every council code is checked against the reference before any key is built."""
    parts = {}
    for la_code, rows in split_by_council(table, dataset).items():
        scope = (
            layout.Scope.national(dataset.name)
            if la_code is None
            else layout.Scope.council(dataset.name, la_code, reference)
        )
        files = {layout.PARQUET: parquet_bytes(rows, dataset), layout.CSV: csv_bytes(rows, dataset)}
        parts[scope.label] = Part(scope, rows, files)
    return parts


def fingerprint(parts: dict[str, Part], completeness: Document | None) -> str:
    listing = {label: {fmt: part.sha256(fmt) for fmt in layout.FORMATS} for label, part in sorted(parts.items())}
    return hashlib.sha256(canonical_json({"files": listing, "completeness": completeness})).hexdigest()


def publish_release(
    store: ObjectStore,
    dataset: Dataset,
    report_date: date,
    table: pa.Table,
    reference: LocalAuthorities,
    *,
    schema: Document,
    completeness: Document | None = None,
    inputs: Sequence[Document] = (),
    note: str | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ReleaseOutcome:
    """Publish `table` as the report date's release of `dataset` unless it is already the current one.

    `completeness`: what the date's feeds gave (careshare.publish.completeness), stated in every manifest;
    `inputs` and `note`: what the release was built from and an operator's note, from which its reason
    follows (careshare.publish.revisions). Neither makes a release by itself: unchanged files and
    completeness are no new version.
    """
    parts = build_parts(table, dataset, reference)
    content = fingerprint(parts, completeness)
    for _ in range(COMMIT_ATTEMPTS):
        previous = current_release(store, dataset.name, report_date)
        if previous and previous["fingerprint"] == content:
            if not _complete(store, previous):
                finish(store, previous, refresh_all=True)
            return outcome(previous, new=False)
        revisions, changed_rows = revise(store, dataset, report_date, parts, previous)
        upload(store, dataset, report_date, parts, previous, changed_rows)
        stated = {
            "schema": schema,
            "completeness": completeness,
            "inputs": list(inputs),
            "reason": reason(previous, list(inputs), note),
        }
        manifest = release_manifest(
            store, dataset, report_date, parts, previous, content, revisions, changed_rows, stated, now()
        )
        key = layout.release_manifest(dataset.name, report_date, manifest["version"])
        if store.put(key, canonical_json(manifest), if_absent=True):
            if previous is not None and not _complete(store, previous):
                finish(store, previous, refresh_all=True)
            finish(store, manifest, refresh_all=False)
            log.info("released %s %s %s", dataset.name, report_date, layout.version_name(manifest["version"]))
            return outcome(manifest, new=True)
        log.warning("%s %s: another run committed %s first; retrying", dataset.name, report_date, key)
    raise ReleaseConflict(f"{dataset.name} {report_date}: no version committed after {COMMIT_ATTEMPTS} attempts")


def current_release(store: ObjectStore, dataset: str, report_date: date) -> Document | None:
    versions = layout.committed_versions(store.keys(layout.release_prefix(dataset, report_date)))
    if not versions:
        return None
    return read_json(store, layout.release_manifest(dataset, report_date, versions[-1]))


def upload(
    store: ObjectStore,
    dataset: Dataset,
    report_date: date,
    parts: dict[str, Part],
    previous: Document | None,
    changed_rows: dict[str, ChangeData],
) -> None:
    """Upload the files that the current release does not already hold, and the change data, each
    checked for schema and rows before and for what the store holds after."""
    known = _files_of(previous)
    wanted = [
        ReleaseFile(
            key=part.scope.release_file(report_date, part.sha256(fmt), fmt),
            fmt=fmt,
            sha256=part.sha256(fmt),
            rows=part.rows,
            data=part.files[fmt],
        )
        for part in parts.values()
        for fmt in layout.FORMATS
        if known.get((part.scope.label, fmt)) != part.sha256(fmt)
    ]
    changes = [
        ReleaseFile(
            key=change.scope.change_data_file(report_date, change.sha256),
            fmt=layout.CHANGE_DATA,
            sha256=change.sha256,
            rows=change.rows,
            data=change.data,
        )
        for change in changed_rows.values()
    ]
    check_shapes(wanted, dataset)
    refuse_if(dataset, "built change data files", _change_data_problems(changes, dataset))
    files = wanted + changes
    found = in_parallel(lambda f: store.upload(f.key, f.data, f.sha256), files)
    wrong = [(f, md5, problem) for f, md5 in zip(files, found, strict=True) if (problem := stored_problem(f, md5))]
    # a content address can be an older version's file (a correction reverted): give it its bytes back
    in_parallel(lambda w: store.put(w[0].key, w[0].data), [w for w in wrong if w[1] is not None])
    refuse_if(dataset, "uploaded files", [problem for _, _, problem in wrong])


def _change_data_problems(files: list[ReleaseFile], dataset: Dataset) -> list[str]:
    found = (change_data_problem(f.key, f.data, dataset, f.rows) for f in files)
    return [problem for problem in found if problem]


def revise(
    store: ObjectStore, dataset: Dataset, report_date: date, parts: dict[str, Part], previous: Document | None
) -> tuple[dict[str, Revision], dict[str, ChangeData]]:
    """label -> what changed since the current release, for every scope now published or withdrawn;
    and label -> the change data of every scope whose rows differ (none in a date's first release)."""
    before, known = (previous["parts"] if previous else {}), _files_of(previous)
    labels = sorted(set(parts) | set(before))

    def revision(label: str) -> tuple[Revision, ChangeData | None]:
        part, old = parts.get(label), before.get(label)
        if part is not None and previous is None:
            return first_release(part.rows), None
        if part is not None and known.get((label, layout.PARQUET)) == part.sha256(layout.PARQUET):
            return unchanged(part.rows), None
        old_rows = None if old is None else _published_rows(store, label, old, dataset)
        new_rows = None if part is None else part.table.drop_columns(["report_date"])
        return compare(old_rows, new_rows, row_key(dataset)), _change_data(label, old_rows, new_rows, dataset)

    found = dict(zip(labels, in_parallel(revision, labels), strict=True))
    changed_rows = {label: change for label, (_, change) in found.items() if change is not None}
    return {label: revision for label, (revision, _) in found.items()}, changed_rows


def _change_data(label: str, old: pa.Table | None, new: pa.Table | None, dataset: Dataset) -> ChangeData | None:
    """None when no row differs (other bytes, the same rows)."""
    rows = change_data(old, new, dataset)
    return ChangeData(_scope(dataset.name, label), rows.num_rows, change_data_bytes(rows)) if rows.num_rows else None


def _published_rows(store: ObjectStore, label: str, entry: Document, dataset: Dataset) -> pa.Table:
    """A released file's rows with its council back from the path, as the new rows carry it."""
    rows = pq.read_table(io.BytesIO(store.get(entry["files"][layout.PARQUET]["key"])))
    if dataset.national:
        return rows
    return rows.append_column("la_code", pa.array([label] * rows.num_rows, pa.string()))


def write_change_lists(
    store: ObjectStore, dataset: Dataset, report_date: date, version: int, revisions: dict[str, Revision]
) -> tuple[Document | None, dict[str, Document]]:
    """Every changed key, per scope beside its manifest and for the release beside the commit;
    content-addressed, so a run that loses the commit leaves nothing a reader is pointed to."""
    named = {label: revision for label, revision in revisions.items() if revision.names_keys}
    header = {
        "format": CHANGES_FORMAT,
        "dataset": dataset.name,
        "report_date": report_date.isoformat(),
        "version": version,
        "key": row_key(dataset),
        "lineage_columns": list(LINEAGE_COLUMNS),
    }

    def write(place: Callable[[str], str], document: Document) -> Document:
        data = canonical_json(document)
        sha256 = hashlib.sha256(data).hexdigest()
        store.put(place(sha256), data)
        return {"key": place(sha256), "sha256": sha256}

    def scope_list(label: str) -> Document:
        scope = _scope(dataset.name, label)
        document = {**header, "la_code": scope.la_code, **named[label].listing()}
        return write(lambda sha256: scope.changes_file(report_date, sha256), document)

    if not named:
        return None, {}
    scopes = dict(zip(named, in_parallel(scope_list, list(named)), strict=True))
    everything = {**header, "scopes": {label: revision.listing() for label, revision in named.items()}}
    return write(lambda sha256: layout.release_changes(dataset.name, report_date, sha256), everything), scopes


def release_manifest(
    store: ObjectStore,
    dataset: Dataset,
    report_date: date,
    parts: dict[str, Part],
    previous: Document | None,
    content: str,
    revisions: dict[str, Revision],
    changed_rows: dict[str, ChangeData],
    stated: Document,
    moment: datetime,
) -> Document:
    """The manifest of the next version; first writes the lists of changed keys it points to.
    `revisions` and `changed_rows`: what `revise` found (the change data uploaded already);
    `stated`: the schema, completeness, inputs and reason it carries."""
    version = previous["version"] + 1 if previous else 1
    before = previous["parts"] if previous else {}
    release_list, scope_lists = write_change_lists(store, dataset, report_date, version, revisions)
    known = _files_of(previous)
    refreshed = {
        label for label, part in parts.items() if any(known.get((label, f)) != part.sha256(f) for f in layout.FORMATS)
    }
    restated = set(parts) if previous is None or _completeness(previous) != stated["completeness"] else refreshed

    def changes(label: str) -> Document:
        revision = revisions[label]
        return {
            "changes": revision.counts.as_dict(),
            "changes_detail": scope_lists.get(label),
            "changed_keys": revision.preview() if revision.names_keys else None,
            "change_data": _change_data_entry(changed_rows.get(label), report_date),
        }

    entries = {
        label: {
            "rows": part.rows,
            # a council's own history lists the versions that changed its files or the date's completeness
            "manifest": part.scope.manifest(report_date, version) if label in restated else before[label]["manifest"],
            "files": {
                fmt: {
                    "key": part.scope.release_file(report_date, part.sha256(fmt), fmt),
                    "sha256": part.sha256(fmt),
                    "bytes": len(part.files[fmt]),
                }
                for fmt in layout.FORMATS
            },
            "files_changed": label in refreshed,
            **changes(label),
        }
        for label, part in sorted(parts.items())
    }
    withdrawn = {
        label: {"rows": 0, "manifest": _scope(dataset.name, label).manifest(report_date, version), **changes(label)}
        for label in sorted(before)
        if label not in parts
    }
    return {
        "format": MANIFEST_FORMAT,
        "dataset": dataset.name,
        "report_date": report_date.isoformat(),
        "version": version,
        "previous_version": previous["version"] if previous else None,
        "published_at": utc_text(moment),
        "fingerprint": content,
        **stated,
        "rows": sum(part.rows for part in parts.values()),
        "changes": sum((r.counts for r in revisions.values()), Changes()).as_dict(),
        "changes_detail": release_list,
        "change_data": CHANGE_DATA_FORMAT,
        "parts": entries,
        "withdrawn": withdrawn,
    }


def _change_data_entry(change: ChangeData | None, report_date: date) -> Document | None:
    if change is None:
        return None
    key = change.scope.change_data_file(report_date, change.sha256)
    return {"key": key, "sha256": change.sha256, "bytes": len(change.data), "rows": change.rows}


def finish(store: ObjectStore, manifest: Document, *, refresh_all: bool) -> None:
    """Everything readers see after a commit; safe to repeat."""
    dataset, version = manifest["dataset"], manifest["version"]
    report_date = date.fromisoformat(manifest["report_date"])
    scopes = {label: _scope(dataset, label) for label in [*manifest["parts"], *manifest["withdrawn"]]}
    completeness = _completeness(manifest)

    def entry_of(label: str) -> Document:
        return manifest["parts"].get(label) or manifest["withdrawn"][label]

    def council_manifest(label: str) -> None:
        entry = entry_of(label)
        document = {
            "format": MANIFEST_FORMAT,
            "dataset": dataset,
            "la_code": scopes[label].la_code,
            "report_date": manifest["report_date"],
            "version": version,
            "previous_version": manifest["previous_version"],
            "published_at": manifest["published_at"],
            "schema": manifest["schema"],
            "completeness": completeness,
            "rows": entry["rows"],
            "changes": entry["changes"],
            "changes_detail": entry.get("changes_detail"),
            "change_data": entry.get("change_data"),
            "reason": manifest.get("reason"),
            "files": entry.get("files", {}),
        }
        store.put(entry["manifest"], canonical_json(document), if_absent=True)

    def render(scope: layout.Scope) -> Callable[[Document], None]:
        """The changelog is written just before each attempt to swap the index, from the index
        about to be written; a run whose swap loses renders again from the index it then reads."""

        def write(index: Document) -> None:
            store.put(scope.changelog, changelog(index).encode())

        return write

    def index(label: str) -> None:
        scope = scopes[label]
        entry = entry_of(label)
        version_entry = {
            "report_date": manifest["report_date"],
            "version": version,
            "published_at": manifest["published_at"],
            "manifest": entry["manifest"],
            "rows": entry["rows"],
            "changes": entry["changes"],
            "changes_detail": entry.get("changes_detail"),
            "changed_keys": entry.get("changed_keys"),
            "reason": _reason_line(manifest),
            "completeness": summary(completeness),
        }
        latest = {
            **version_entry,
            "files": {fmt: f["key"] for fmt, f in entry.get("files", {}).items()},
            "current_parquet": scope.current(report_date) if entry["rows"] else None,
        }
        header = {"dataset": dataset, "la_code": scope.la_code}
        swap_json(store, scope.index, with_release(header, version_entry, latest), before_write=render(scope))

    labels = [label for label in scopes if entry_of(label)["manifest"] == scopes[label].manifest(report_date, version)]
    in_parallel(council_manifest, labels)
    sync_current_view(store, manifest, refresh_all=refresh_all)
    in_parallel(index, labels)
    pointer = {
        "report_date": manifest["report_date"],
        "version": version,
        "published_at": manifest["published_at"],
        "manifest": layout.release_manifest(dataset, report_date, version),
        "completeness": summary(completeness),
    }
    swap_json(store, layout.dataset_latest(dataset), with_latest(pointer))
    store.put(layout.release_complete(dataset, report_date, version), canonical_json(pointer), if_absent=True)


def sync_current_view(store: ObjectStore, manifest: Document, *, refresh_all: bool) -> None:
    """Make the hive view show the newest committed version of the date.

    Two corrections of one date can finish concurrently; whichever finishes last re-reads the
    newest commit after writing and repeats until the view it wrote is the newest one's.
    """
    dataset, report_date = manifest["dataset"], date.fromisoformat(manifest["report_date"])
    touched = set(manifest["parts"]) | set(manifest["withdrawn"])
    target = manifest
    while True:
        parts = target["parts"]

        def apply(label: str, parts: Document = parts, full: bool = refresh_all) -> None:
            scope, entry = _scope(dataset, label), parts.get(label)
            if entry is None:
                store.delete([scope.current(report_date)])
            elif full or entry["files_changed"]:
                release_file, view = entry["files"][layout.PARQUET], scope.current(report_date)
                if problem := checksum_problem(view, store.copy(release_file["key"], view), release_file["sha256"]):
                    raise ReleaseVerificationError(problem)

        in_parallel(apply, sorted(touched | set(parts)))
        newest = current_release(store, dataset, report_date)
        if newest is None or newest["version"] == target["version"]:
            return
        touched |= set(parts) | set(target["withdrawn"])
        target, refresh_all = newest, True


def outcome(manifest: Document, *, new: bool) -> ReleaseOutcome:
    return ReleaseOutcome(
        dataset=manifest["dataset"],
        report_date=date.fromisoformat(manifest["report_date"]),
        version=manifest["version"],
        new=new,
        rows=manifest["rows"],
        scopes=len(manifest["parts"]),
        changes=Changes.from_dict(manifest["changes"]),
        published_at=manifest["published_at"],
        fingerprint=manifest["fingerprint"],
        manifest_key=layout.release_manifest(
            manifest["dataset"], date.fromisoformat(manifest["report_date"]), manifest["version"]
        ),
        complete=None if (stated := _completeness(manifest)) is None else stated["complete"],
        reason=manifest.get("reason"),
        inputs=manifest.get("inputs") or [],
        changes_detail=manifest.get("changes_detail"),
        withdrawn=sorted(manifest["withdrawn"]),
    )


def _files_of(manifest: Document | None) -> dict[tuple[str, str], str]:
    if manifest is None:
        return {}
    return {
        (label, fmt): entry["files"][fmt]["sha256"]
        for label, entry in manifest["parts"].items()
        for fmt in layout.FORMATS
    }


def _completeness(manifest: Document) -> Document | None:
    """A release committed before manifests stated completeness has none."""
    return manifest.get("completeness")


def _reason_line(manifest: Document) -> Document | None:
    """What an index says of a release's reason; the deliveries are in its manifest."""
    stated = manifest.get("reason")
    return None if stated is None else {name: stated[name] for name in ("kind", "text", "note")}


def _complete(store: ObjectStore, manifest: Document) -> bool:
    return store.exists(
        layout.release_complete(manifest["dataset"], date.fromisoformat(manifest["report_date"]), manifest["version"])
    )


def _scope(dataset: str, label: str) -> layout.Scope:
    """A scope named in a committed manifest (its code was checked against the reference then)."""
    return layout.Scope(dataset, None if label == "national" else label)
