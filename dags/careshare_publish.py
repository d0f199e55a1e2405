"""
### careshare_publish

**Purpose.** Merge and publish report dates once every feed has settled for them: match each
staged row to one CQC location (crosswalk override, CQC id, ODS code, then name within the
postcode), keep one row per location (the system of record, then the latest submission), roll
the day up per provider and per council, check that every delivered row is accounted for exactly
once and that the datasets hold together, run the published datasets' GX suites
(`expectations/<dataset>.json`), and release every dataset (Parquet and CSV per council;
`provider_daily` national) to S3: staged, verified, committed by a manifest written last with
If-None-Match, then the hive view `<dataset>/la_code=<ONS code>/report_date=<date>/`, each
council's `_index.json` and the dataset's `latest` pointer. A rerun with the same data changes
nothing; a corrected day becomes a new release version. Then the quality outputs: quarantined rows
under `quarantine/la_code=<code>/report_date=<date>/`, the GX Data Docs and the daily quality
report (linked from `check_published` and `quality_report`).

**Gate.** `merge` runs the merge checks inside its transaction and `validate` runs them again on
what is about to be published; `check_published` runs the dataset suites. A failed check fails
the run without retries (dataset or rule, date, figures and report link in the message; the task
builds the date's report first and links it as its "Quality report"), and `publish` does not run
for that date.

**Schedule.** On any feed's staged Asset, and a sweep every `CARESHARE_PUBLISH_SWEEP` (cron, UK
time, default every 15 minutes). A run takes the dates of its triggering events (extra
`report_date`) not handed to a run since the event, a manual run's `report_date` param, and every
owed date: settled in a feed-day state no run was handed (Airflow folds Asset events that arrive
while a run is active into one run and orphans the rest; the sweep is what catches their dates).
A manual run's `note` is the reason its new releases state (see careshare.publish.revisions).
A date whose feeds have not all settled (loaded, expected absence, expired or failed; see
careshare.readiness) is left for a later run. This path builds each published date's Data Docs and
daily quality report (the feed DAGs' `quality_gate` links them, building them only when it fails).

**Inputs.** Warehouse staging and the CQC directory (`careshare_reference`); the crosswalk of
manual overrides (`include/careshare/data/crosswalk.csv`, or `CARESHARE_CROSSWALK_CSV`); connection `careshare_s3`.

**Outputs.** Warehouse `location_daily`, `daily_rollup`, `stg_match`, `superseded_row`,
merge-stage `quarantine_row` (rule `match.unmatched` says how to fix a row), `publish_release`;
the publication bucket (datasets, manifests, `_docs/` data dictionary and schemas); the
`careshare_published` Asset (extra: report date and release versions).

**Owner.** careshare data engineering.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from careshare.config import Settings
from careshare_airflow.assets import PUBLISHED, STAGED_FEED
from careshare_airflow.quality import quality_task
from careshare_airflow.runtime import UK, default_args

log = logging.getLogger("careshare_publish")  # the DAG file is imported under a generated module name


@contextmanager
def failing_for_good(platform, day, context) -> Iterator[None]:
    """A broken invariant does not heal on retry: fail the task at once, the rule in the message,
    with the link to the date's quality report, built for it. The task links the report either way
    (on success, `quality_report` builds it once the date is published)."""
    from airflow.sdk.exceptions import AirflowFailException

    from careshare.matching import CrosswalkError
    from careshare.merge import MergeCheckFailed
    from careshare.pipeline import merge_failure
    from careshare.quality.links import report_url
    from careshare_airflow.quality import announce_report

    try:
        yield
    except (MergeCheckFailed, CrosswalkError) as failed:
        gate = merge_failure(platform, day, failed)
        announce_report(context, gate.report_url)
        raise AirflowFailException(gate.failure) from failed
    announce_report(context, report_url(platform, day))


any_feed_staged = STAGED_FEED["ct_care_homes"] | STAGED_FEED["ct_home_care"] | STAGED_FEED["cqc_update"]


@dag(
    dag_id="careshare_publish",
    description="Merge the settled feeds of a report date and publish it to S3",
    doc_md=__doc__,
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(Settings.from_env().publish_sweep, timezone=UK), assets=any_feed_staged
    ),
    start_date=datetime(2020, 4, 13),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params={
        "report_date": Param(None, type=["null", "string"], format="date", description="YYYY-MM-DD"),
        "note": Param(
            None,
            type=["null", "string"],
            maxLength=500,
            description="why a manual run publishes again (a crosswalk fix, say): every new release of its "
            "report_date (of every date it publishes, without one) states it as its reason; published",
        ),
    },
    tags=["careshare", "publish"],
)
def careshare_publish():
    @task
    def ready_dates(**context) -> list[str]:
        from careshare.asset_events import asked_dates, latest_event_per_date
        from careshare.pipeline import dates_to_publish
        from careshare_airflow.runtime import platform

        events = latest_event_per_date(
            (event.extra, event.timestamp)
            for asset_events in context["triggering_asset_events"].values()
            for event in asset_events
        )
        asked = asked_dates(context["params"].get("report_date"))
        ready, waiting = dates_to_publish(platform(), asked, events)
        for note in waiting:
            log.info(note)
        return [day.isoformat() for day in ready]

    @quality_task(map_index_template="{{ task.op_kwargs['report_date'] }}")
    def merge(report_date: str, **context) -> str:
        from datetime import date

        from careshare.merge import merge_day
        from careshare_airflow.runtime import platform

        built, day = platform(), date.fromisoformat(report_date)
        with failing_for_good(built, day, context):
            log.info("merged: %s", merge_day(built, day).as_dict())
        return report_date

    @quality_task(map_index_template="{{ task.op_kwargs['report_date'] }}")
    def validate(report_date: str, **context) -> str:
        from datetime import date

        from careshare.merge import validate_day
        from careshare_airflow.runtime import platform

        built, day = platform(), date.fromisoformat(report_date)
        with failing_for_good(built, day, context):
            accounts = validate_day(built, day)
            log.info("accounted for: %s", [account.__dict__ for account in accounts])
        return report_date

    @task(outlets=[PUBLISHED], map_index_template="{{ task.op_kwargs['report_date'] }}")
    def publish(report_date: str, **context) -> dict:
        from datetime import date

        from careshare.asset_events import published_extra
        from careshare.publish import publish_day
        from careshare.publish.revisions import note_for
        from careshare_airflow.runtime import platform

        day, params = date.fromisoformat(report_date), context["params"]
        result = publish_day(platform(), day, note=note_for(day, params.get("report_date"), params.get("note")))
        versions = {r.dataset: r.version for r in result.releases}
        context["outlet_events"][PUBLISHED].extra = published_extra(report_date, versions)
        return result.as_dict()

    @quality_task(map_index_template="{{ task.op_kwargs['report_date'] }}")
    def check_published(report_date: str, **context) -> str:
        from datetime import date

        from airflow.sdk.exceptions import AirflowFailException

        from careshare.pipeline import check_publication
        from careshare_airflow.quality import announce_report
        from careshare_airflow.runtime import platform

        check = check_publication(platform(), date.fromisoformat(report_date))
        announce_report(context, check.report_url)  # on success, quality_report builds it next
        if check.failure:
            raise AirflowFailException(check.failure)
        return report_date

    @quality_task(map_index_template="{{ task.op_kwargs['published']['report_date'] }}")
    def quality_report(published: dict, **context) -> dict:
        from datetime import date

        from careshare.quality.publication import publish_quality
        from careshare_airflow.quality import announce_report
        from careshare_airflow.runtime import platform

        day = date.fromisoformat(published["report_date"])
        publication = publish_quality(platform(), day, quarantine=True)
        announce_report(context, publication.report_url)
        return publication.as_dict()

    merged = merge.expand(report_date=ready_dates())
    validated = validate.expand(report_date=merged)
    published = publish.expand(report_date=check_published.expand(report_date=validated))
    quality_report.expand(published=published)


careshare_publish()
