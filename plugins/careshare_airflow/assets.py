"""The Assets the careshare DAGs produce and are scheduled on."""

from __future__ import annotations

from airflow.sdk import Asset

from careshare.feeds import Feed

FEED_NAMES = tuple(feed.value for feed in Feed)

# Name-only Assets: a URI scheme would make Airflow load every provider's URI handlers (boto3
# included) at parse time.
STAGED_FEED = {feed: Asset(f"careshare_{feed}_staged") for feed in FEED_NAMES}
DIRECTORY = Asset("careshare_cqc_directory")
PUBLISHED = Asset("careshare_location_daily_published")
