"""Time-limited links to one recipient's files of one release: the alternative to IAM credentials
for recipients without an AWS account (a spreadsheet user pastes the link into Power Query).

Each link is signed for exactly one object, so it cannot be bent to another council's file. It
stops working after `expires_in`, or earlier if the signing credentials expire first (sign with
a long-lived operator role, not a short session, when links must last days).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from careshare.access.recipients import Recipient
from careshare.publish import layout
from careshare.publish.catalog import Document, read_json
from careshare.publish.release import current_release
from careshare.storage import S3Store

MAX_EXPIRY = timedelta(days=7)  # the longest a SigV4 signature can be valid


class NoSuchRelease(LookupError):
    pass


def presign_release(
    store: S3Store,
    recipient: Recipient,
    dataset: str,
    report_date: date,
    *,
    expires_in: timedelta,
    version: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    if not timedelta(seconds=1) <= expires_in <= MAX_EXPIRY:
        raise ValueError(f"links can last between 1 second and {MAX_EXPIRY.days} days, not {expires_in}")
    manifest = _manifest(store, dataset, report_date, version)
    links = {}
    for label, part in sorted(manifest["parts"].items()):
        if not recipient.reads(None if label == "national" else label):
            continue
        scope = layout.Scope(dataset, None if label == "national" else label)
        links[label] = {
            "rows": part["rows"],
            "changes": part["changes"],
            "manifest": _link(store, part["manifest"], None, expires_in),
            **{
                fmt: _link(store, file["key"], scope.file_name(report_date, manifest["version"], fmt), expires_in)
                for fmt, file in part["files"].items()
            },
            "sha256": {fmt: file["sha256"] for fmt, file in part["files"].items()},
        }
    moment = now or datetime.now(UTC)
    return {
        "recipient": recipient.id,
        "dataset": dataset,
        "report_date": report_date.isoformat(),
        "version": manifest["version"],
        "published_at": manifest["published_at"],
        "expires_at": (moment + expires_in).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "files": links,
    }


def _manifest(store: S3Store, dataset: str, report_date: date, version: int | None) -> Document:
    found = (
        current_release(store, dataset, report_date)
        if version is None
        else read_json(store, layout.release_manifest(dataset, report_date, version))
    )
    if found is None:
        raise NoSuchRelease(f"{dataset} {report_date}: no release" + (f" version {version}" if version else ""))
    return found


def _link(store: S3Store, key: str, download_as: str | None, expires_in: timedelta) -> str:
    params = {"Bucket": store.bucket, "Key": store.full_key(key)}
    if download_as:
        params["ResponseContentDisposition"] = f'attachment; filename="{download_as}"'
    return store.client.generate_presigned_url("get_object", Params=params, ExpiresIn=int(expires_in.total_seconds()))
