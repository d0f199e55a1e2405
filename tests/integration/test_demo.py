"""`scripts/demo.py` for one report date, as `make demo` runs it: a quiet console (one line per DAG
run, then the summary), every task's log in the folder it names, and `--serve` serving the copy of
the buckets until interrupted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

DAY = "2020-11-30"
OPTIONS = ["--start", DAY, "--end", DAY, "--care-homes", "300", "--community", "200", "--serve", "--port", "0"]
DAGS = ["careshare_reference", "careshare_ct_care_homes", "careshare_ct_home_care", "careshare_cqc_update"]
RUN_LINE = re.compile(rf"^  (careshare_\w+) +{DAY}  (\w+) +\d+\.\d+s$")
SERVED_LINE = re.compile(r"^  (quality report|Data Docs|published data) +(http://127\.0\.0\.1:\d+/\S+)$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's console, its served pages and its working folder; it is stopped with Ctrl-C."""
    workdir = tmp_path_factory.mktemp("demo") / "work"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CARESHARE_"))}
    process = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "scripts" / "demo.py"), *OPTIONS, "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    deadline = threading.Timer(900, process.kill)
    deadline.start()
    try:
        lines, served = [], {}
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if found := SERVED_LINE.match(lines[-1]):
                served[found.group(1)] = found.group(2)
            if len(served) == 3:
                break
        pages = {name: urllib.request.urlopen(url, timeout=30).read() for name, url in served.items()}
        process.send_signal(signal.SIGINT)
        try:
            out, errors = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGUSR1)  # the demo prints every thread's stack
            time.sleep(2)
            process.kill()
            pytest.fail(f"the demo did not stop on Ctrl-C; its threads:\n{process.communicate()[1][-20000:]}")
    finally:
        deadline.cancel()
        process.kill()
    return {
        "lines": lines + out.splitlines(),
        "errors": errors,
        "pages": pages,
        "code": process.returncode,
        "work": workdir,
    }


def task_logs(workdir: Path) -> dict[tuple[str, str], Path]:
    found = {}
    for path in (workdir / "logs").glob("dag_id=*/run_id=*/task_id=*/**/attempt=*.log"):
        parts = {part.split("=")[0]: part.split("=", 1)[1] for part in path.relative_to(workdir / "logs").parts[:-1]}
        found[parts["dag_id"], parts["task_id"]] = path
    return found


def test_the_console_shows_one_line_per_dag_run_and_a_summary(demo):
    runs = [found.groups() for line in demo["lines"] if (found := RUN_LINE.match(line))]
    assert runs == [(dag, "success") for dag in [*DAGS, "careshare_publish"]]
    assert any(line.startswith("  5 DAG runs in") and line.endswith("5 succeeded") for line in demo["lines"])
    (row,) = [line.split() for line in demo["lines"] if line.startswith(DAY)]
    counts = [int(cell) for cell in row[1:]]
    assert len(counts) == 4 and counts[-1] == sum(counts[:-1]) > 0
    assert len(demo["lines"]) < 35, "\n".join(demo["lines"])
    assert demo["code"] == 0 and demo["errors"] == ""


def test_nothing_from_inside_the_tasks_reaches_the_console(demo):
    console = "\n".join(demo["lines"])
    assert "Quality report:" not in console and "{'" not in console and "[{" not in console
    assert "warning" not in console.lower() and "visibility_timeout" not in console


def test_every_task_logs_to_a_file_in_airflows_layout_in_the_folder_the_demo_names(demo):
    logs = task_logs(demo["work"])
    assert {dag for dag, _ in logs} == {*DAGS, "careshare_publish"}
    assert "merged: " in logs["careshare_publish", "merge"].read_text()
    assert "Quality report: http" in logs["careshare_publish", "quality_report"].read_text()
    (named,) = [line for line in demo["lines"] if line.startswith("  task logs")]
    assert (
        str(demo["work"] / "logs") in named
        and f"({len(list((demo['work'] / 'logs').rglob('attempt=*.log')))} files)" in named
    )
    assert "[DAG TEST] starting" in (demo["work"] / "logs" / "demo.log").read_text()


def test_serve_serves_the_copy_of_the_buckets(demo):
    assert b"<html" in demo["pages"]["quality report"].lower()
    assert b"<html" in demo["pages"]["Data Docs"].lower()
    assert b"la_code=" in demo["pages"]["published data"]
