"""The files the package reads beside its modules are package data: pyproject.toml ships every one,
and the council reference is the copy of the ONS file the project was given."""

from __future__ import annotations

import hashlib
import re
import tomllib

import pytest

from careshare.config import (
    CROSSWALK_CSV,
    EXPECTATIONS_DIR,
    PACKAGE_DIR,
    RECIPIENTS_TOML,
    REFERENCE_CSV,
    SQL_DIR,
    Settings,
)
from tests.conftest import REPO_ROOT

GIVEN_REFERENCE = REPO_ROOT.parent / "shared" / "reference" / "local_authorities.csv"


def test_the_packaged_reference_is_the_given_ons_file():
    if not GIVEN_REFERENCE.is_file():
        pytest.skip(f"{GIVEN_REFERENCE} is not beside this clone: nothing to compare the packaged copy with")
    assert REFERENCE_CSV.read_bytes() == GIVEN_REFERENCE.read_bytes(), "copy it into include/careshare/data/"


def test_the_data_readme_states_the_packaged_references_sha256():
    readme = (PACKAGE_DIR / "data" / "README.md").read_text(encoding="utf-8")
    (stated,) = re.findall(r"\*\*sha256\*\*: `([0-9a-f]{64})`", readme)
    assert stated == hashlib.sha256(REFERENCE_CSV.read_bytes()).hexdigest()


def test_the_defaults_are_the_packaged_files():
    settings = Settings.from_env({})
    assert (settings.reference_csv, settings.expectations_dir) == (REFERENCE_CSV, EXPECTATIONS_DIR)
    overridden = Settings.from_env({"CARESHARE_REFERENCE_CSV": "/elsewhere/la.csv", "CARESHARE_EXPECTATIONS_DIR": "/x"})
    assert (str(overridden.reference_csv), str(overridden.expectations_dir)) == ("/elsewhere/la.csv", "/x")
    for path in (REFERENCE_CSV, CROSSWALK_CSV, RECIPIENTS_TOML, SQL_DIR / "schema" / "001_foundation.sql"):
        assert path.is_file() and path.is_relative_to(PACKAGE_DIR), path
    assert sorted(EXPECTATIONS_DIR.glob("*.json")), "the GX suites"


def test_pyproject_ships_every_file_of_the_package_that_is_not_python():
    package_data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = set()
    for package, patterns in package_data.items():
        folder = REPO_ROOT / "include" / package.replace(".", "/")
        shipped |= {path for pattern in patterns for path in folder.glob(pattern) if path.is_file()}
    data_files = {
        path
        for path in PACKAGE_DIR.rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    }
    assert data_files - shipped == set()
