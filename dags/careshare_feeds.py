"""
### careshare feed DAGs: `careshare_ct_care_homes`, `careshare_ct_home_care`, `careshare_cqc_update`

**Purpose.** For one report date, take the feed's daily file (landing area or export API), keep
the bytes unchanged in the raw archive with a registry row, then parse, conform, validate (GX
suite `expectations/<feed>.json`) and stage it, replacing the feed's day in one transaction.

**Inputs.** Connection `careshare_feeds` (host = export API base URL, password = API key);
optional landing area `CARESHARE_LANDING_URI`; connection `careshare_s3` for the archive.

**Outputs.** Warehouse `stg_submission` and `quarantine_row` for the day; registry rows in
`raw_delivery` and `feed_day`; an event on the feed's staged Asset (extra: report date, status),
which schedules `careshare_publish`.

**Behaviour.** A file not yet published is waited for (sensor in reschedule mode). A day the feed
is not collected (CQC weekends, outside its dates) is recorded as an expected absence. A file
that cannot be used, or fails a critical rule, is kept and its feed-day recorded as failed: the
`quality_gate` task then fails the run with the feed, date, rule and the quality report's link
(no retries: a rerun only helps once the file or the suite is corrected). `quality_gate` builds
the date's GX Data Docs and daily quality report under `CARESHARE_QUALITY_URI` on every run that
had a file, and links the report from the task ("Quality report" extra link).

**Owner.** careshare data engineering. Report date = the run's logical date in UK time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import PokeReturnValue, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from careshare.feeds import FEEDS, Feed
from careshare_airflow.assets import FEED_NAMES, STAGED_FEED
from careshare_airflow.quality import quality_task
from careshare_airflow.runtime import UK, default_args


def feed_dag(feed: str):
    spec = FEEDS[Feed(feed)]

    @dag(
        dag_id=f"careshare_{feed}",
        description=spec.description,
        doc_md=__doc__,
        schedule=CronDataIntervalTimetable("0 6 * * *", timezone=UK),
        start_date=datetime(2020, 4, 13),
        catchup=False,
        max_active_runs=4,
        default_args=default_args(),
        tags=["careshare", "feed", feed],
    )
    def ingest_feed():
        @task.sensor(poke_interval=timedelta(minutes=10), timeout=timedelta(hours=18), mode="reschedule")
        def fetch(**context) -> PokeReturnValue:
            from careshare.pipeline import WAITING, fetch_feed_day
            from careshare_airflow.runtime import feed_endpoint, landing_store, platform, report_date

            outcome = fetch_feed_day(
                platform(), feed, report_date(context), endpoint=feed_endpoint(), landing=landing_store()
            )
            return PokeReturnValue(is_done=outcome.status != WAITING, xcom_value=outcome.__dict__)

        @task(outlets=[STAGED_FEED[feed]])
        def load(fetched: dict, **context) -> dict:
            from careshare.ingest import ABSENT, FAILED, FeedDayFailed, FeedDayResult, load_feed_day
            from careshare_airflow.runtime import platform, report_date

            day = report_date(context)
            if fetched["status"] == ABSENT:
                result = FeedDayResult(feed, day, ABSENT, message=fetched["message"])
            else:
                try:
                    result = load_feed_day(platform(), feed, day)
                except FeedDayFailed as failure:
                    result = FeedDayResult(feed, day, FAILED, message=str(failure))
            context["outlet_events"][STAGED_FEED[feed]].extra = {
                "report_date": day.isoformat(),
                "status": result.status,
            }
            return result.as_dict()

        @quality_task
        def quality_gate(loaded: dict, **context) -> dict | None:
            from airflow.sdk.exceptions import AirflowFailException

            from careshare.ingest import ABSENT, FAILED
            from careshare.quality.publication import publish_quality
            from careshare_airflow.quality import announce_report
            from careshare_airflow.runtime import platform, report_date

            if loaded["status"] == ABSENT:
                return None
            publication = publish_quality(platform(), report_date(context), quarantine=False)
            announce_report(context, publication.report_url)
            if loaded["status"] == FAILED:
                raise AirflowFailException(
                    f"{loaded['message']}: this feed's day is held back from publication. "
                    f"Quality report: {publication.report_url}"
                )
            return publication.as_dict()

        quality_gate(load(fetch()))

    return ingest_feed()


for _feed in FEED_NAMES:
    feed_dag(_feed)
