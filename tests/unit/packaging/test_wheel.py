"""The product installs from a wheel and runs outside the repository: a fresh SQLite warehouse
migrates, and the council reference, the GX suites, the crosswalk and the recipients load, all from
the wheel's package data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from careshare.access.recipients import load_recipients
from careshare.config import CROSSWALK_CSV, EXPECTATIONS_DIR, SQL_DIR
from careshare.matching import read_crosswalk
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

RUN_FROM_THE_WHEEL = """
import json

import careshare
from careshare.access.recipients import load_recipients
from careshare.config import Settings
from careshare.matching import read_crosswalk
from careshare.platform import Platform
from careshare.quality.suites import load_suite
from careshare.reference_data import load_local_authority_reference

platform = Platform.from_settings(Settings.from_env())
settings = platform.settings
print(json.dumps({
    "package": careshare.__file__,
    "paths": [str(settings.reference_csv), str(settings.expectations_dir), str(settings.crosswalk_csv)],
    "migrations": platform.warehouse.migrate(),
    "councils": load_local_authority_reference(platform),
    "suites": sorted(load_suite(path).name for path in settings.expectations_dir.glob("*.json")),
    "crosswalk": len(read_crosswalk(settings.crosswalk_csv)),
    "recipients": len(load_recipients(platform.local_authorities)),
}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from a copy of what the image copies (pyproject.toml and include/), installed
    into a folder of its own."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    shutil.copy(REPO_ROOT / "pyproject.toml", source)
    shutil.copytree(
        REPO_ROOT / "include", source / "include", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    pip = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(source)], check=True, cwd=root)
    (wheel,) = (root / "dist").glob("careshare-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(root / "site"), str(wheel)], check=True, cwd=root)
    return root / "site"


def run_outside_the_repository(installed: Path, tmp_path: Path, *command: str) -> str:
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(installed),  # before the editable install's path: the wheel's copy wins
        "CARESHARE_HOME": str(tmp_path / "home"),
        "CARESHARE_RAW_ARCHIVE_URI": str(tmp_path / "raw"),
        "CARESHARE_PUBLISH_URI": str(tmp_path / "published"),
        "CARESHARE_QUALITY_URI": str(tmp_path / "quality"),
    }
    done = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_wheel_runs_the_command_line_outside_the_repository(installed, tmp_path, local_authorities):
    assert "GROUP" in run_outside_the_repository(installed, tmp_path, sys.executable, "-m", "careshare.cli", "--help")
    checked = run_outside_the_repository(installed, tmp_path, str(installed / "bin" / "careshare"), "access", "check")
    assert [line.split()[0] for line in checked.splitlines()] == [r.id for r in load_recipients(local_authorities)]


def test_the_wheel_migrates_a_warehouse_and_loads_its_reference_suites_and_configuration(
    installed, tmp_path, local_authorities
):
    shown = json.loads(run_outside_the_repository(installed, tmp_path, sys.executable, "-c", RUN_FROM_THE_WHEEL))
    assert Path(shown["package"]).is_relative_to(installed)
    assert all(Path(path).is_relative_to(installed / "careshare") for path in shown["paths"]), shown["paths"]
    assert shown["migrations"] == sorted(path.stem for path in (SQL_DIR / "schema").glob("[0-9][0-9][0-9]_*.sql"))[1:]
    assert (tmp_path / "home" / "warehouse.db").is_file()
    assert shown["councils"] == len(list(local_authorities))
    assert shown["suites"] == sorted(path.stem for path in EXPECTATIONS_DIR.glob("*.json"))
    assert shown["crosswalk"] == len(read_crosswalk(CROSSWALK_CSV))
    assert shown["recipients"] == len(load_recipients(local_authorities))
