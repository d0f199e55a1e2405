"""Where the feed DAGs take files from: the export API when its connection exists, the landing
folder or bucket when CARESHARE_LANDING_URI is set, or both. Imported at parse time: imports stay
inside the function."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from careshare.resources import Platform
    from careshare.sources.delivery import FeedEndpoint
    from careshare.storage import ObjectStore


def feed_sources(platform: Platform) -> tuple[FeedEndpoint | None, ObjectStore | None]:
    """The export API from its connection and the platform's landing area: at least one."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

    from careshare_airflow.runtime import FEEDS_CONN_ID, feed_endpoint

    try:
        endpoint = feed_endpoint()
    except AirflowNotFoundException:
        endpoint = None  # a landing-only deployment
    landing = platform.landing
    if endpoint is None and landing is None:
        raise AirflowFailException(
            f"no feed source: define the {FEEDS_CONN_ID} connection or set CARESHARE_LANDING_URI (or both)"
        )
    return endpoint, landing
