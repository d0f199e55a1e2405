"""`careshare run` and `careshare registry show` without servers: argument handling, and the
fetch stage and the registry on a local landing folder, a local archive and a SQLite warehouse."""

from __future__ import annotations

import json
import os
from datetime import date

import pytest

from careshare.cli import build_parser, main
from careshare.cli.stages import FAILED, OK, LocalRun
from careshare.config import EXPECTATIONS_DIR
from tests.conftest import REFERENCE_CSV, migrate_warehouse

MONDAY, SATURDAY = date(2020, 12, 7), date(2020, 11, 28)  # a Saturday before CT home care opened


def dates(*argv: str) -> list[date]:
    from careshare.cli.run import report_dates

    return report_dates(build_parser().parse_args(argv))


def test_one_date_or_an_inclusive_range():
    assert dates("run", "stage", "merge", "--date", "2020-11-30") == [date(2020, 11, 30)]
    assert dates("run", "day", "--from", "2020-11-29", "--to", "2020-12-01") == [
        date(2020, 11, 29),
        date(2020, 11, 30),
        date(2020, 12, 1),
    ]


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["run", "day"], "give --date D, or --from D1 --to D2"),
        (["run", "day", "--from", "2020-11-29"], "give --date D, or --from D1 --to D2"),
        (["run", "day", "--date", "2020-11-29", "--to", "2020-11-30"], "give --date D, or --from D1 --to D2"),
        (["run", "day", "--from", "2020-12-01", "--to", "2020-11-30"], "--to is before --from"),
    ],
)
def test_dates_that_do_not_make_sense_are_a_usage_error(argv, problem, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == f"careshare: {problem}"


def test_an_unknown_stage_or_feed_is_refused_by_the_parser(capsys):
    for argv in (["run", "stage", "validate", "--date", "2020-11-30"], ["registry", "show", "--feed", "ct"]):
        with pytest.raises(SystemExit) as stopped:
            build_parser().parse_args(argv)
        assert stopped.value.code == 2
    assert "invalid choice: 'ct'" in capsys.readouterr().err


@pytest.fixture
def local_env(tmp_path, monkeypatch):
    """Everything local: a landing folder with two feeds' Monday files, archive and outputs in folders."""
    landing = tmp_path / "landing"
    for feed in ("ct_care_homes", "cqc_update"):
        (landing / feed).mkdir(parents=True)
        (landing / feed / f"{MONDAY.isoformat()}.csv").write_bytes(f"{feed} file\n".encode())
    (landing / "ct_care_homes" / f"{SATURDAY.isoformat()}.csv").write_bytes(b"saturday\n")
    for name in list(os.environ):
        if name.startswith("CARESHARE_"):
            monkeypatch.delenv(name)
    values = {
        "CARESHARE_HOME": tmp_path,
        "CARESHARE_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'warehouse.db'}",
        "CARESHARE_RAW_ARCHIVE_URI": tmp_path / "raw",
        "CARESHARE_PUBLISH_URI": tmp_path / "published",
        "CARESHARE_QUALITY_URI": tmp_path / "quality",
        "CARESHARE_REFERENCE_CSV": REFERENCE_CSV,
        "CARESHARE_EXPECTATIONS_DIR": EXPECTATIONS_DIR,
        "CARESHARE_LANDING_URI": landing,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, str(value))
    migrate_warehouse(values["CARESHARE_WAREHOUSE_URL"])
    return tmp_path


def test_fetch_archives_what_landed_and_stops_the_day_on_a_file_still_due(local_env, capsys):
    assert main(["run", "stage", "fetch", "--date", MONDAY.isoformat()]) == 1
    line = capsys.readouterr().out.strip()
    assert line.startswith("2020-12-07 fetch     FAIL ct_care_homes archived ")
    assert "ct_home_care waiting (file not published yet); cqc_update archived " in line
    assert main(["run", "stage", "fetch", "--date", SATURDAY.isoformat()]) == 0
    assert "cqc_update absent (cqc_update is collected Monday to Friday only)" in capsys.readouterr().out


def test_registry_show_lists_deliveries_newest_date_first_with_short_hashes(local_env, capsys):
    main(["run", "stage", "fetch", "--from", SATURDAY.isoformat(), "--to", MONDAY.isoformat()])
    capsys.readouterr()
    assert main(["registry", "show"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split()[:5] == ["report_date", "feed", "status", "sha256", "rows"]
    assert [row.split()[:3] for row in rows] == [
        ["2020-12-07", "cqc_update", "received"],
        ["2020-12-07", "ct_care_homes", "received"],
        ["2020-11-28", "ct_care_homes", "received"],
    ]
    assert all(len(row.split()[3]) == 12 and row.split()[5] == "landing" for row in rows)
    assert main(["registry", "show", "--feed", "ct_care_homes", "--date", MONDAY.isoformat(), "--json"]) == 0
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (record["feed"], record["report_date"][:10], len(record["sha256"])) == ("ct_care_homes", "2020-12-07", 64)
    assert record["bytes"] == len(b"ct_care_homes file\n")


def test_an_empty_registry_says_so(local_env, capsys):
    assert main(["registry", "show", "--date", "2021-01-01"]) == 0
    assert capsys.readouterr().out.strip() == "no deliveries"


def test_a_stage_without_the_setting_it_needs_fails_naming_the_variables(local_env, monkeypatch):
    monkeypatch.delenv("CARESHARE_LANDING_URI")
    run = LocalRun.from_env()
    fetched = run.stage("fetch", MONDAY)
    assert (fetched.status, fetched.summary) == (
        FAILED,
        "no feed source: set CARESHARE_FEEDS_URL and CARESHARE_FEEDS_KEY, or CARESHARE_LANDING_URI",
    )
    reference = run.stage("reference", MONDAY)
    assert reference.status == FAILED and "CARESHARE_DIRECTORY_URL" in reference.summary
    assert run.stage("load", SATURDAY).status != OK  # nothing fetched: CT care homes is due every day


def test_commands_stop_on_an_unmigrated_warehouse_naming_the_migration_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CARESHARE_HOME", str(tmp_path))
    monkeypatch.setenv("CARESHARE_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    assert main(["registry", "show"]) == 1
    assert "lacks" in (error := capsys.readouterr().err) and "run `careshare db migrate`" in error
    assert main(["db", "migrate"]) == 0
    assert "applied 001_foundation" in capsys.readouterr().out
    assert main(["db", "migrate"]) == 0
    assert capsys.readouterr().out.strip().endswith(": up to date")
    assert main(["registry", "show"]) == 0
