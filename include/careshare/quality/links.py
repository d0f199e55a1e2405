"""Addresses of quality outputs: object keys under the quality root, and the URLs people open.

The report of a date lives at `reports/report_date=<D>/index.html`; the Data Docs are one site
under `data_docs/` with a page per date (`data_docs/report_date=<D>/index.html`). Pages link to
each other relatively, so the links work wherever the quality root is served. A URL is
`CARESHARE_QUALITY_BASE_URL` + key when a deployment serves the quality root over HTTPS (a static
website or CDN in front of the bucket); otherwise the object's own S3 address over HTTP (the
endpoint's path-style URL for MinIO or a local endpoint, the bucket's virtual-hosted URL on AWS),
or a file URL for a local folder.
"""

from __future__ import annotations

import posixpath
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlparse

from careshare.config import Settings

if TYPE_CHECKING:
    from careshare.resources import Platform

REPORTS_PREFIX = "reports"
DATA_DOCS_PREFIX = "data_docs"
DATA_DOCS_INDEX = f"{DATA_DOCS_PREFIX}/index.html"


def report_prefix(report_date: date) -> str:
    return f"{REPORTS_PREFIX}/report_date={report_date.isoformat()}/"


def report_key(report_date: date) -> str:
    return report_prefix(report_date) + "index.html"


def data_docs_prefix(report_date: date) -> str:
    return f"{DATA_DOCS_PREFIX}/report_date={report_date.isoformat()}/"


def data_docs_key(report_date: date) -> str:
    """The Data Docs page of the date: its validation runs."""
    return data_docs_prefix(report_date) + "index.html"


def relative_link(page: str, target: str) -> str:
    """The href from the object `page` to the object `target`, both keys under the quality root."""
    return posixpath.relpath(f"/{target}", f"/{posixpath.dirname(page)}")


def data_docs_link(report_date: date) -> str:
    """The date's Data Docs page as the daily report of the date links to it."""
    return relative_link(report_key(report_date), data_docs_key(report_date))


def object_url(settings: Settings, key: str, *, endpoint_url: str | None = None, region: str | None = None) -> str:
    """The URL of `key` under the quality root."""
    if settings.quality_base_url:
        return f"{settings.quality_base_url.rstrip('/')}/{quote(key, safe='/=')}"
    parsed = urlparse(settings.quality_uri)
    if parsed.scheme != "s3":
        root = Path(parsed.path if parsed.scheme == "file" else settings.quality_uri).resolve()
        return (root / key).as_uri()
    path = "/".join(p for p in (parsed.path.strip("/"), key) if p)
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/{parsed.netloc}/{quote(path, safe='/=')}"
    return f"https://{parsed.netloc}.s3.{region or 'eu-west-2'}.amazonaws.com/{quote(path, safe='/=')}"


def quality_report_url(
    settings: Settings, report_date: date, *, endpoint_url: str | None = None, region: str | None = None
) -> str:
    """The daily quality report of `report_date`, as people open it."""
    return object_url(settings, report_key(report_date), endpoint_url=endpoint_url, region=region)


def report_url(platform: Platform, report_date: date) -> str:
    """Where the daily report of `report_date` is (or will be, once built)."""
    return stored_url(platform, report_key(report_date))


def stored_url(platform: Platform, key: str) -> str:
    """`key` under the quality root, addressed through the quality store's own S3 endpoint and region."""
    client = getattr(platform.quality, "client", None)
    if client is None:
        return object_url(platform.settings, key)
    endpoint = client.meta.endpoint_url
    custom = None if endpoint.endswith(".amazonaws.com") else endpoint
    return object_url(platform.settings, key, endpoint_url=custom, region=client.meta.region_name)
