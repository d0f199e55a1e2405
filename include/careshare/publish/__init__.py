"""Publish a report date: every dataset in careshare.datasets as a verified, versioned release.

See careshare.publish.release for the protocol and careshare.publish.layout for the keys.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from careshare.datasets import DATASETS, Dataset
from careshare.merge import directory_day
from careshare.platform import Platform
from careshare.publish.completeness import Completeness, feed_completeness, summary
from careshare.publish.docs import publish_docs, schema_reference
from careshare.publish.formats import to_arrow
from careshare.publish.release import ReleaseOutcome, publish_release

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


def publish_day(platform: Platform, report_date: date, datasets: dict[str, Dataset] | None = None) -> PublishResult:
    chosen = DATASETS if datasets is None else datasets
    result = PublishResult(report_date, docs_updated=publish_docs(platform.publication))
    completeness = feed_completeness(platform.warehouse, report_date)
    if not completeness.complete:
        log.warning("%s is published incomplete: %s", report_date, summary(completeness.document()))
    for dataset in chosen.values():
        outcome = publish_dataset(platform, dataset, report_date, completeness)
        result.releases.append(outcome)
        log.info(
            "%s %s: version %d (%s), %d rows in %d files, changes %s",
            dataset.name,
            report_date,
            outcome.version,
            "new" if outcome.new else "unchanged",
            outcome.rows,
            outcome.scopes,
            outcome.changes.as_dict(),
        )
    return result


def publish_dataset(
    platform: Platform, dataset: Dataset, report_date: date, completeness: Completeness
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
    )
    record_release(platform, outcome)
    return outcome


def record_release(platform: Platform, outcome: ReleaseOutcome) -> None:
    changes = outcome.changes
    published_at = datetime.fromisoformat(outcome.published_at.replace("Z", "+00:00")).astimezone(UTC)
    with platform.warehouse.transaction() as connection:
        platform.warehouse.execute(
            connection,
            "publish/releases/record",
            {
                "dataset": outcome.dataset,
                "report_date": outcome.report_date,
                "version": outcome.version,
                "published_at": published_at.replace(tzinfo=None),
                "row_count": outcome.rows,
                "scopes": outcome.scopes,
                "rows_added": changes.added,
                "rows_removed": changes.removed,
                "rows_changed": changes.changed,
                "rows_unchanged": changes.unchanged,
                "fingerprint": outcome.fingerprint,
                "manifest_key": outcome.manifest_key,
            },
        )
