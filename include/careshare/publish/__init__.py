"""Publish a report date: every dataset in careshare.datasets as a verified, versioned release.

See careshare.publish.release for the protocol, careshare.publish.layout for the keys and
careshare.publish.revisions for what each release says caused it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from careshare.datasets import DATASETS, Dataset
from careshare.merge import directory_day
from careshare.publish.completeness import Completeness, feed_completeness, summary
from careshare.publish.dictionary import publish_docs, schema_reference
from careshare.publish.formats import to_arrow
from careshare.publish.release import ReleaseOutcome, publish_release
from careshare.publish.revisions import checked_note, instant, release_inputs
from careshare.resources import Platform

log = logging.getLogger(__name__)


@dataclass
class PublishResult:
    report_date: date
    releases: list[ReleaseOutcome] = field(default_factory=list)
    docs_updated: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "report_date": self.report_date.isoformat(),
            "releases": [r.as_dict() for r in self.releases],
            "docs_updated": self.docs_updated,
        }


def publish_day(
    platform: Platform, report_date: date, datasets: dict[str, Dataset] | None = None, *, note: str | None = None
) -> PublishResult:
    """`note`: an operator's word on why the date is published again, stated by every new release."""
    chosen = DATASETS if datasets is None else datasets
    note = checked_note(note)
    result = PublishResult(report_date, docs_updated=publish_docs(platform.publication))
    completeness = feed_completeness(platform.warehouse, report_date)
    if not completeness.complete:
        log.warning("%s is published incomplete: %s", report_date, summary(completeness.document()))
    inputs = release_inputs(platform.warehouse, report_date, completeness)
    for dataset in chosen.values():
        outcome = publish_dataset(platform, dataset, report_date, completeness, inputs, note)
        result.releases.append(outcome)
        log.info(
            "%s %s: version %d (%s), %d rows in %d files, changes %s, reason %s",
            dataset.name,
            report_date,
            outcome.version,
            "new" if outcome.new else "unchanged",
            outcome.rows,
            outcome.scopes,
            outcome.changes.as_dict(),
            outcome.reason["text"] if outcome.reason else None,
        )
    return result


def publish_dataset(
    platform: Platform,
    dataset: Dataset,
    report_date: date,
    completeness: Completeness,
    inputs: list[dict[str, Any]],
    note: str | None,
) -> ReleaseOutcome:
    frame = platform.warehouse.query_frame(f"publish/{dataset.name}", directory_day(platform.warehouse, report_date))
    outcome = publish_release(
        platform.publication,
        dataset,
        report_date,
        to_arrow(frame, dataset),
        platform.local_authorities,
        schema=schema_reference(dataset),
        completeness=completeness.document(),
        inputs=inputs,
        note=note,
    )
    record_release(platform, outcome)
    return outcome


def record_release(platform: Platform, outcome: ReleaseOutcome) -> None:
    """The release and what it was built from, as its manifest states them; the reason's deliveries
    are the inputs that caused it."""
    changes, stated = outcome.changes, outcome.reason or {}
    caused = {entry["feed"] for entry in stated.get("deliveries", [])}
    release = {"dataset": outcome.dataset, "report_date": outcome.report_date, "version": outcome.version}
    with platform.warehouse.transaction() as connection:
        platform.warehouse.execute(
            connection,
            "publish/releases/record",
            {
                **release,
                "published_at": _naive_utc(outcome.published_at),
                "row_count": outcome.rows,
                "scopes": outcome.scopes,
                "rows_added": changes.added,
                "rows_removed": changes.removed,
                "rows_changed": changes.changed,
                "rows_unchanged": changes.unchanged,
                "rows_lineage_only": changes.lineage_only,
                "fingerprint": outcome.fingerprint,
                "manifest_key": outcome.manifest_key,
                "reason_kind": stated.get("kind"),
                "reason": stated.get("text"),
                "note": stated.get("note"),
                "changes_key": (outcome.changes_detail or {}).get("key"),
            },
        )
        inputs = [
            {
                **release,
                "feed": entry["feed"],
                "status": entry["status"],
                "sha256": entry["sha256"],
                "received_at": entry["received_at"] and _naive_utc(entry["received_at"]),
                "caused": entry["feed"] in caused,
            }
            for entry in outcome.inputs
        ]
        if inputs:
            platform.warehouse.execute(connection, "publish/releases/record_input", inputs)


def _naive_utc(text: str) -> datetime:
    """The warehouse keeps UTC instants without a zone."""
    return instant(text).replace(tzinfo=None)
