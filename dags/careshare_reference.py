"""
### careshare_reference

**Purpose.** Keep the reference data the merge relies on: the ONS councils valid by date
(`local_authorities.csv`, with the code each name maps to in each period) and the CQC directory
of locations, loaded in full the first time and then through `changes/location`, with history
(`dim_location.valid_from` / `valid_to`).

**Inputs.** `CARESHARE_REFERENCE_CSV`; connection `careshare_cqc_directory` (host = API base URL,
password = subscription key).

**Outputs.** Warehouse `ref_local_authority`, `ref_la_name_period`, `dim_location`,
`directory_load`; the `careshare_cqc_directory` Asset.

**Owner.** careshare data engineering. The directory is stamped with the run's data interval end.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from careshare_airflow.assets import DIRECTORY
from careshare_airflow.runtime import UK, default_args


@dag(
    dag_id="careshare_reference",
    description="Councils by date and the CQC directory with history",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 5 * * *", timezone=UK),
    start_date=datetime(2020, 4, 13),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["careshare", "reference"],
)
def careshare_reference():
    @task
    def load_councils() -> int:
        from careshare.reference_load import load_local_authority_reference
        from careshare_airflow.runtime import platform

        return load_local_authority_reference(platform())

    @task(outlets=[DIRECTORY])
    def load_directory(councils: int, **context) -> dict:
        from careshare.reference_load import load_directory as load
        from careshare_airflow.runtime import directory_client, platform

        return load(platform(), directory_client(), context["data_interval_end"])

    load_directory(load_councils())


careshare_reference()
