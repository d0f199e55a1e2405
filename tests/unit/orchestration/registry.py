"""Feed-day states and a directory load written straight into the warehouse, as the loads leave them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa

from careshare.resources import Platform


def settle(platform: Platform, day: date, statuses: dict[str, str]) -> None:
    """Record feed-day states as the loads do, replacing the date's."""
    rows = pd.DataFrame(
        {
            "feed": list(statuses),
            "report_date": [day] * len(statuses),
            "status": list(statuses.values()),
            "sha256": [f"{feed}-{status}" for feed, status in statuses.items()],
            "updated_at": [datetime(2020, 12, 10)] * len(statuses),
        }
    )
    with platform.warehouse.transaction() as connection:
        connection.execute(sa.text("DELETE FROM feed_day WHERE report_date = :day"), {"day": day})
        platform.warehouse.insert_frame(connection, "feed_day", rows)


def load_directory_once(platform: Platform) -> None:
    at = datetime(2020, 12, 1, tzinfo=UTC).replace(tzinfo=None)
    with platform.warehouse.transaction() as connection:
        platform.warehouse.execute(
            connection,
            "reference/record_directory_load",
            {"as_of": at, "mode": "full", "locations_fetched": 1, "versions_added": 1, "completed_at": at},
        )
