"""Every DAG file parses quickly in a clean process, with no connections or variables, and
follows the house policy (owner, tags, retries, documentation, no heavy imports at parse time)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

EXPECTED_DAGS = {
    "careshare_ct_care_homes",
    "careshare_ct_home_care",
    "careshare_cqc_update",
    "careshare_publish",
    "careshare_reference",
    "careshare_freshness",
}


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": str(REPO_ROOT / "plugins"),
    }
    output = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("check_dag_files.py")), str(REPO_ROOT / "dags")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def test_every_dag_imports_without_errors(parsed):
    assert parsed["errors"] == {}
    assert set(parsed["dags"]) == EXPECTED_DAGS


def test_each_dag_file_parses_in_under_two_seconds(parsed):
    slow = {name: seconds for name, seconds in parsed["files"].items() if seconds >= 2.0}
    assert not slow, f"DAG files too slow to parse: {slow}"


def test_no_heavy_imports_at_parse_time(parsed):
    assert parsed["heavy_modules"] == []


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_dag_policy(parsed, dag_id):
    dag = parsed["dags"][dag_id]
    assert dag["owners"] == ["careshare-data-engineering"]
    assert dag["retries"] >= 2
    assert "careshare" in dag["tags"] and len(dag["tags"]) >= 2
    assert dag["doc_md"].lstrip().startswith("###") and "Owner" in dag["doc_md"]


@pytest.mark.parametrize("dag_id", ["careshare_ct_care_homes", "careshare_ct_home_care", "careshare_cqc_update"])
def test_a_feed_waits_for_its_file_polling_every_minute_for_up_to_19_hours_without_holding_a_worker(parsed, dag_id):
    assert parsed["dags"][dag_id]["sensors"] == {
        "fetch": {"mode": "reschedule", "poke_seconds": 60.0, "timeout_seconds": 19 * 3600.0}
    }
