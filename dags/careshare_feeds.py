"""
### careshare feed DAGs: `careshare_ct_care_homes`, `careshare_ct_home_care`, `careshare_cqc_update`

**Purpose.** For one report date, take the feed's daily file (landing area or export API), keep
the bytes unchanged in the raw archive with a registry row, then parse, conform, validate (GX
suite `expectations/<feed>.json`) and stage it, replacing the feed's day in one transaction.
Every run also looks again at the feed's files for the previous seven report dates (42 on the
runs for Sundays; `CARESHARE_RECHECK_DAYS`, `CARESHARE_DEEP_RECHECK_DAYS`), so a corrected file
is found within a day and that day rebuilt.

**Inputs.** Connection `careshare_feeds` (host = export API base URL, password = API key) and/or
the landing area `CARESHARE_LANDING_URI` (`{feed}/{YYYY-MM-DD}.csv`); connection `careshare_s3`
for the archive. A landing-only deployment simply has no `careshare_feeds` connection.

**Outputs.** Warehouse `stg_submission` and `quarantine_row` for the day; registry rows in
`raw_delivery` and `feed_day`; an event on the feed's staged Asset (extra: report date, status),
which schedules `careshare_publish`; one more event per corrected past day (through the Asset
alias `careshare_<feed>_corrections`), so `careshare_publish` rebuilds that day too.

**Behaviour.** A file not yet published is waited for (`fetch` is a sensor in reschedule mode,
poking every minute: one request to the export API or one look in the landing area, the worker slot
free between pokes, so a file is taken within a minute of appearing); after 18 hours the day is
recorded as expired, so the date publishes without the feed, and the run fails to alert. A day the
feed is not collected (CQC weekends, outside its dates) is recorded as an expected absence.
`recheck_corrections` also looks at every date of the feed's collection settled without a file
(absent, expired, failed): a file that appears late is loaded then and announced like a correction.
Rate limits, 5xx, timeouts and bodies cut short are retried inside `fetch` (honouring
`Retry-After`); a refused key, and a request the server refuses for good (400, 405, 501), fail at
once. A file that cannot be used, or fails a critical rule, is kept and its feed-day recorded as
failed (a rejected correction leaves the day built from its earlier delivery): `quality_gate` then
fails the run, without retries, naming the feed, date, file and rule, with the link to the daily
quality report. Other feeds are not affected. `quality_gate` links the date's daily quality report
from the task ("Quality report" extra link). The report and GX Data Docs under
`CARESHARE_QUALITY_URI` are built once per date by `careshare_publish` when it publishes the date; a
gate that fails builds them itself first, so its link shows why at once (the publish run waits for
every feed of the date).

**Owner.** careshare data engineering. Report date = the run's logical date in UK time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import AssetAlias, PokeReturnValue, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from careshare.feeds import FEEDS, Feed
from careshare_airflow.assets import FEED_NAMES, STAGED_FEED
from careshare_airflow.quality import quality_task
from careshare_airflow.runtime import UK, default_args

CORRECTIONS = {feed: AssetAlias(f"careshare_{feed}_corrections") for feed in FEED_NAMES}


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
        # The fetch records the day expired after FETCH_PATIENCE (18 h); the sensor's own timeout is
        # only a backstop for a fetch that could not record it.
        @task.sensor(poke_interval=timedelta(minutes=1), timeout=timedelta(hours=19), mode="reschedule")
        def fetch(**context) -> PokeReturnValue:
            from airflow.sdk.exceptions import AirflowFailException
            from airflow.sdk.timezone import utcnow

            from careshare.pipeline import fetch_feed_day
            from careshare.sources.http import SourcePermanent
            from careshare.status import FetchStatus
            from careshare_airflow.feed_sources import feed_sources
            from careshare_airflow.runtime import platform, report_date

            built = platform()
            endpoint, landing = feed_sources(built)
            since = context["ti"].get_first_reschedule_date(context) or utcnow()
            try:
                outcome = fetch_feed_day(
                    built, feed, report_date(context), endpoint=endpoint, landing=landing, waiting_since=since
                )
            except SourcePermanent as refused:
                raise AirflowFailException(str(refused)) from None
            return PokeReturnValue(is_done=outcome.status != FetchStatus.WAITING, xcom_value=outcome.__dict__)

        @task(outlets=[STAGED_FEED[feed]])
        def load(fetched: dict, **context) -> dict:
            from careshare.asset_events import staged_extra
            from careshare.pipeline import settle_feed_day
            from careshare_airflow.runtime import platform, report_date

            day = report_date(context)
            result = settle_feed_day(platform(), feed, day, fetched["status"], fetched["message"])
            context["outlet_events"][STAGED_FEED[feed]].extra = staged_extra(day, result.status)
            return result.as_dict()

        @task(outlets=[CORRECTIONS[feed]])
        def recheck_corrections(**context) -> list[dict]:
            from airflow.sdk.exceptions import AirflowFailException

            from careshare.asset_events import corrected_extra
            from careshare.pipeline import recheck_past_days
            from careshare.sources.http import SourcePermanent
            from careshare.status import FOUND_A_FILE
            from careshare_airflow.feed_sources import feed_sources
            from careshare_airflow.runtime import platform, report_date

            built = platform()
            endpoint, landing = feed_sources(built)
            try:
                checks = recheck_past_days(built, feed, report_date(context), endpoint=endpoint, landing=landing)
            except SourcePermanent as refused:
                raise AirflowFailException(str(refused)) from None
            for check in checks:
                if check.status in FOUND_A_FILE:
                    context["outlet_events"][CORRECTIONS[feed]].add(
                        STAGED_FEED[feed], extra=corrected_extra(check.report_date)
                    )
            return [check.__dict__ for check in checks]

        @quality_task
        def quality_gate(loaded: dict, rechecked: list[dict], **context) -> dict:
            from airflow.sdk.exceptions import AirflowFailException

            from careshare.pipeline import feed_quality_gate
            from careshare_airflow.quality import announce_report
            from careshare_airflow.runtime import platform, report_date

            gate = feed_quality_gate(platform(), report_date(context), loaded, rechecked)
            announce_report(context, gate.report_url)
            if gate.failure:
                raise AirflowFailException(gate.failure)
            return {"report_url": gate.report_url}

        quality_gate(load(fetch()), recheck_corrections())

    return ingest_feed()


for _feed in FEED_NAMES:
    feed_dag(_feed)
