"""Where everything lives in the publication store: the one place that builds object keys.

Council first, so that one prefix is one recipient's grant::

    <dataset>/la_code=<code>/report_date=<date>/part-0.parquet          current view (hive)
    <dataset>/la_code=<code>/_releases/report_date=<date>/v0002.json     the council's release manifest
    <dataset>/la_code=<code>/_releases/report_date=<date>/<sha256>.*     every release's Parquet and CSV
    <dataset>/la_code=<code>/_releases/report_date=<date>/<sha256>.changes.json   the council's changed keys
    <dataset>/la_code=<code>/_releases/report_date=<date>/<sha256>.cdf.parquet    its changed rows (change data)
    <dataset>/la_code=<code>/_index.json                                 every release and the latest
    <dataset>/la_code=<code>/_CHANGELOG.md                               the same for people
    _manifests/<dataset>/report_date=<date>/v0002.json                   the commit: the release manifest
    _manifests/<dataset>/report_date=<date>/<sha256>.changes.json        every changed key of a release
    _manifests/<dataset>/latest.json                                     the dataset's latest release
    _docs/...                                                            data dictionary and schemas

A dataset without an `la_code` column is national: the same tree without the council level.
Hive readers (pyarrow, DuckDB, Athena, Spark) skip path components starting with `_`, so release
history sits under the council's prefix without disturbing the current view. A file is uploaded
to its release key before the commit that names it: a listing of `_releases/` may show files no
manifest names yet, and readers start from manifests and indexes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from careshare.councils import LA_CODE_PATTERN, LocalAuthorities

DATASET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
MANIFESTS = "_manifests"
DOCS = "_docs"
PARQUET = "parquet"
CSV = "csv"
FORMATS = (PARQUET, CSV)
CHANGE_DATA = "cdf.parquet"  # a release's changed rows, for the Delta Sharing change data feed


class UncheckedKeyPart(ValueError):
    """A value that would become part of an object key failed its check."""


@dataclass(frozen=True)
class Scope:
    """One recipient-grantable slice of a dataset: a council's prefix, or the national tree."""

    dataset: str
    la_code: str | None  # None: a national dataset

    @classmethod
    def council(cls, dataset: str, la_code: str, reference: LocalAuthorities) -> Scope:
        if not LA_CODE_PATTERN.match(la_code) or la_code not in reference:
            raise UncheckedKeyPart(f"refusing to build an object key from {la_code!r}: not a council in the reference")
        return cls(checked_dataset(dataset), la_code)

    @classmethod
    def national(cls, dataset: str) -> Scope:
        return cls(checked_dataset(dataset), None)

    def __post_init__(self) -> None:
        if self.la_code is not None and not LA_CODE_PATTERN.match(self.la_code):
            raise UncheckedKeyPart(f"refusing to build an object key from {self.la_code!r}")

    @property
    def root(self) -> str:
        return f"{self.dataset}/la_code={self.la_code}/" if self.la_code else f"{self.dataset}/"

    @property
    def label(self) -> str:
        return self.la_code or "national"

    def current(self, report_date: date) -> str:
        """The hive view: the current version's Parquet file."""
        return f"{self.root}report_date={report_date.isoformat()}/part-0.parquet"

    def file_name(self, report_date: date, version: int, fmt: str) -> str:
        """What a downloaded file is called (the stored name is its checksum)."""
        return f"{self.dataset}_{self.label}_{report_date.isoformat()}_{version_name(version)}.{fmt}"

    def release_file(self, report_date: date, sha256: str, fmt: str) -> str:
        if not SHA256.match(sha256) or fmt not in FORMATS:
            raise UncheckedKeyPart(f"not a content address: {sha256!r}.{fmt}")
        return f"{self.root}_releases/report_date={report_date.isoformat()}/{sha256}.{fmt}"

    def manifest(self, report_date: date, version: int) -> str:
        return f"{self.root}_releases/report_date={report_date.isoformat()}/{version_name(version)}.json"

    def change_data_file(self, report_date: date, sha256: str) -> str:
        return f"{self.root}_releases/report_date={report_date.isoformat()}/{content_address(sha256)}.{CHANGE_DATA}"

    def changes_file(self, report_date: date, sha256: str) -> str:
        return f"{self.root}_releases/report_date={report_date.isoformat()}/{content_address(sha256)}.changes.json"

    @property
    def index(self) -> str:
        return f"{self.root}_index.json"

    @property
    def changelog(self) -> str:
        """`_` first, like the index: hive readers skip it."""
        return f"{self.root}_CHANGELOG.md"


def checked_dataset(name: str) -> str:
    if not DATASET_NAME.match(name):
        raise UncheckedKeyPart(f"{name!r} is not a dataset name")
    return name


def content_address(sha256: str) -> str:
    if not SHA256.match(sha256):
        raise UncheckedKeyPart(f"not a content address: {sha256!r}")
    return sha256


def version_name(version: int) -> str:
    if version < 1:
        raise UncheckedKeyPart(f"release versions start at 1, not {version}")
    return f"v{version:04d}"


def release_prefix(dataset: str, report_date: date) -> str:
    return f"{MANIFESTS}/{checked_dataset(dataset)}/report_date={report_date.isoformat()}/"


def release_manifest(dataset: str, report_date: date, version: int) -> str:
    return f"{release_prefix(dataset, report_date)}{version_name(version)}.json"


def release_changes(dataset: str, report_date: date, sha256: str) -> str:
    return f"{release_prefix(dataset, report_date)}{content_address(sha256)}.changes.json"


def release_complete(dataset: str, report_date: date, version: int) -> str:
    """Written once every step after the commit is done; a rerun finding it has nothing to do."""
    return f"{release_prefix(dataset, report_date)}{version_name(version)}.complete.json"


def committed_versions(keys: list[str]) -> list[int]:
    """Versions among the keys under a `release_prefix`."""
    found = (re.fullmatch(r"v(\d{4,})\.json", key.rsplit("/", 1)[-1]) for key in keys)
    return sorted(int(match.group(1)) for match in found if match)


def dataset_latest(dataset: str) -> str:
    return f"{MANIFESTS}/{checked_dataset(dataset)}/latest.json"


def dictionary_key() -> str:
    return f"{DOCS}/data_dictionary.md"


def schema_key(dataset: str) -> str:
    return f"{DOCS}/schema/{checked_dataset(dataset)}.json"
