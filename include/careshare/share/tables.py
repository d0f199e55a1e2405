"""Shared tables as the publication store already holds them: a dataset's committed releases are
its table versions, and a version's files are the release files its manifests name.

**Versions.** Every committed release manifest of a dataset, `_manifests/<dataset>/report_date=<D>/
vNNNN.json` over all report dates, is one table version; they are ordered by `published_at` (then
report date, then release version, for releases stamped in the same second) and numbered from 1.
The table at version N holds, for every report date, the files of the newest release of that date
among versions 1..N. A manifest is written once, with If-None-Match, as the release's commit, after
every file it names is in place: so a listed manifest is a committed release and its files exist.
Manifests never change once written, so each is read once
and kept (its files and change data only).

A release committed late (a run that stamped `published_at` before another run's, but committed
after it) lands among the existing versions and renumbers the ones after it; the publish runs of
one date never overlap (the per-day lock), so this needs two dates committed within the same
seconds, read in between.

**Changes** (the change data feed) are what each release added, changed and removed, row by row,
from the change data files the publisher writes beside every release after a date's first
(careshare.publish.changes: `insert`, `delete`, `update_preimage` and `update_postimage` rows, one
file per council whose rows differ, named in the release manifest): version k, the release R of
date D, answers one `cdf` action per change data file of R, and nothing for a council whose rows R
kept. A date's first release answers its files as `add` actions: every row an insert. Releases
committed before change data files existed (a manifest without `change_data`) are answered file by
file, as they were then: a `remove` of each file of D's previous release that R does not keep and
an `add` of each file of R the previous release did not have, so a corrected council's rows come
twice, as `delete` and `insert`. Lineage-only rows are updates in the feed (applying a version's
changes must give the table at it); the release's `changes_detail` list counts them apart.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from careshare.access.recipients import Recipient
from careshare.datasets import DATASETS, Dataset
from careshare.publish import layout
from careshare.publish.catalog import read_json
from careshare.publish.parallel import in_parallel
from careshare.publish.revisions import instant
from careshare.storage import ObjectStore

MANIFEST_KEY = re.compile(r"report_date=(\d{4}-\d{2}-\d{2})/v(\d{4,})\.json")
NATIONAL = "national"  # a national dataset's only scope label in its manifests
ADD, REMOVE, CDF = "add", "remove", "cdf"  # the change feed's actions


@dataclass(frozen=True)
class ReleaseFile:
    """One Parquet file of a release, as its manifest names it: its data, or its change data."""

    la_code: str | None  # None: a national dataset's file
    report_date: date
    key: str
    sha256: str
    size: int
    rows: int


@dataclass(frozen=True)
class Commit:
    """One table version: a committed release of one report date."""

    version: int
    report_date: date
    release: int  # the report date's release version (vNNNN)
    published_at: datetime
    files: tuple[ReleaseFile, ...]
    change_data: tuple[ReleaseFile, ...] | None  # None: committed before change data files existed

    @property
    def timestamp_ms(self) -> int:
        return int(self.published_at.timestamp() * 1000)


@dataclass(frozen=True)
class FileAt:
    """A file as a version answers it: the version (and its commit time) that added it."""

    file: ReleaseFile
    commit: Commit


@dataclass(frozen=True)
class Change:
    action: str  # ADD, REMOVE or CDF
    file: ReleaseFile
    commit: Commit  # the version that made the change


def shared_datasets(recipient: Recipient) -> list[Dataset]:
    """The tables a recipient may see: council-partitioned datasets for all, national ones for national
    recipients only."""
    return [d for name, d in sorted(DATASETS.items()) if recipient.national or not d.national]


class History:
    """Every table version of one dataset in a store; `refresh` lists the manifests again."""

    def __init__(self, store: ObjectStore, dataset: Dataset, cache: ManifestCache) -> None:
        self.store, self.dataset, self.cache = store, dataset, cache
        self.commits: list[Commit] = []

    def refresh(self) -> History:
        prefix = f"{layout.MANIFESTS}/{self.dataset.name}/"
        found = [(key, MANIFEST_KEY.fullmatch(key[len(prefix) :])) for key in self.store.keys(prefix)]
        releases = [(key, date.fromisoformat(m.group(1)), int(m.group(2))) for key, m in found if m]
        read = self.cache.read(self.store, self.dataset, releases)
        ordered = sorted(read, key=lambda c: (c.published_at, c.report_date, c.release))
        self.commits = [replace(c, version=n) for n, c in enumerate(ordered, start=1)]
        return self

    @property
    def latest(self) -> int:
        """0 while nothing is published."""
        return len(self.commits)

    def version_at(self, moment: datetime) -> int | None:
        """The newest version committed at or before `moment`."""
        found = [c.version for c in self.commits if c.published_at <= moment]
        return found[-1] if found else None

    def version_from(self, moment: datetime) -> int | None:
        """The earliest version committed at or after `moment`."""
        return next((c.version for c in self.commits if c.published_at >= moment), None)

    def snapshot(self, version: int) -> list[FileAt]:
        """Every file of the table at `version`, each with the version that added it (a file a
        correction kept keeps the version that first published it)."""
        current: dict[date, dict[str | None, FileAt]] = {}
        for commit in self.commits[:version]:
            before = current.get(commit.report_date, {})
            current[commit.report_date] = {
                f.la_code: prior if (prior := before.get(f.la_code)) and _kept(f, prior.file) else FileAt(f, commit)
                for f in commit.files
            }
        return sorted(
            (at for day in current.values() for at in day.values()),
            key=lambda at: (at.file.report_date, at.file.la_code or ""),
        )

    def changes(self, starting: int, ending: int) -> list[Change]:
        """What versions `starting`..`ending` (inclusive) added, changed and removed (module docstring)."""
        previous: dict[date, dict[str | None, ReleaseFile]] = {}
        found: list[Change] = []
        for commit in self.commits[:ending]:
            before = previous.get(commit.report_date, {})
            after = {f.la_code: f for f in commit.files}
            if commit.version >= starting:
                found += _changes_of(commit, before, after)
            previous[commit.report_date] = after
        return found


def _changes_of(
    commit: Commit, before: dict[str | None, ReleaseFile], after: dict[str | None, ReleaseFile]
) -> list[Change]:
    """A date's first release adds its files; a later one gives its change data, or, committed before
    change data files existed, removes the files it replaced and adds their replacements."""
    if commit.release > 1 and commit.change_data is not None:
        return [Change(CDF, f, commit) for f in commit.change_data]
    removed = [
        Change(REMOVE, f, commit) for code, f in sorted(before.items(), key=_code) if not _kept(f, after.get(code))
    ]
    return removed + [
        Change(ADD, f, commit) for code, f in sorted(after.items(), key=_code) if not _kept(f, before.get(code))
    ]


def readable(files: Iterable[FileAt], recipient: Recipient) -> list[FileAt]:
    return [at for at in files if recipient.reads(at.file.la_code)]


def readable_changes(changes: Sequence[Change], recipient: Recipient) -> list[Change]:
    return [change for change in changes if recipient.reads(change.file.la_code)]


class ManifestCache:
    """Release manifests by key, reduced to what a table version needs. Committed manifests never
    change, so nothing is ever evicted or read twice."""

    def __init__(self) -> None:
        self._found: dict[str, Commit] = {}
        self._lock = threading.Lock()

    def read(self, store: ObjectStore, dataset: Dataset, releases: list[tuple[str, date, int]]) -> list[Commit]:
        missing = [entry for entry in releases if entry[0] not in self._found]
        for key, commit in zip(
            [key for key, _, _ in missing], in_parallel(lambda e: _commit_of(store, dataset, *e), missing), strict=True
        ):
            if commit is not None:
                with self._lock:
                    self._found[key] = commit
        return [self._found[key] for key, _, _ in releases if key in self._found]


def _commit_of(store: ObjectStore, dataset: Dataset, key: str, report_date: date, release: int) -> Commit | None:
    manifest = read_json(store, key)
    if manifest is None:  # listed, then gone: not a release to answer
        return None
    files = tuple(
        _release_file(label, report_date, part["files"][layout.PARQUET], part["rows"])
        for label, part in sorted(manifest["parts"].items())
        if part.get("files")
    )
    scopes = {**manifest["parts"], **manifest["withdrawn"]}
    change_data = tuple(
        _release_file(label, report_date, entry["change_data"], entry["change_data"]["rows"])
        for label, entry in sorted(scopes.items())
        if entry.get("change_data")
    )
    published_at = instant(manifest["published_at"]).astimezone(UTC)
    return Commit(0, report_date, release, published_at, files, change_data if manifest.get("change_data") else None)


def _release_file(label: str, report_date: date, file: dict[str, Any], rows: int) -> ReleaseFile:
    """`file`: a manifest's entry of one file (`key`, `sha256`, `bytes`)."""
    return ReleaseFile(
        la_code=None if label == NATIONAL else label,
        report_date=report_date,
        key=file["key"],
        sha256=file["sha256"],
        size=int(file["bytes"]),
        rows=int(rows),
    )


def _kept(file: ReleaseFile, other: ReleaseFile | None) -> bool:
    return other is not None and other.sha256 == file.sha256


def _code(item: tuple[str | None, ReleaseFile]) -> str:
    return item[0] or ""
