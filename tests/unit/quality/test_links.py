"""Where the quality report of a date is, as a key and as the URL people open."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from careshare.config import Settings
from careshare.quality.links import (
    DATA_DOCS_INDEX,
    data_docs_key,
    data_docs_link,
    quality_report_url,
    relative_link,
    report_key,
)

DAY = date(2020, 11, 30)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"CARESHARE_HOME": str(tmp_path), "CARESHARE_QUALITY_URI": "s3://cs-quality/prod"})


def test_report_sits_beside_the_data_docs_of_its_date():
    assert report_key(DAY) == "reports/report_date=2020-11-30/index.html"
    assert data_docs_key(DAY) == "data_docs/report_date=2020-11-30/index.html"


def test_the_report_links_to_its_dates_data_docs_relatively():
    assert data_docs_link(DAY) == "../../data_docs/report_date=2020-11-30/index.html"


def test_relative_links_between_keys():
    assert relative_link(DATA_DOCS_INDEX, data_docs_key(DAY)) == "report_date=2020-11-30/index.html"
    assert relative_link(data_docs_key(DAY), DATA_DOCS_INDEX) == "../index.html"
    assert relative_link("data_docs/report_date=2020-11-30/ct_care_homes/t.html", "validations/x.json") == (
        "../../../validations/x.json"
    )


def test_a_configured_base_url_wins(settings):
    served = replace(settings, quality_base_url="https://quality.example.org/")
    url = quality_report_url(served, DAY, endpoint_url="http://127.0.0.1:9000")
    assert url == "https://quality.example.org/reports/report_date=2020-11-30/index.html"


def test_a_custom_s3_endpoint_gives_a_path_style_url(settings):
    url = quality_report_url(settings, DAY, endpoint_url="http://127.0.0.1:9000/")
    assert url == "http://127.0.0.1:9000/cs-quality/prod/reports/report_date=2020-11-30/index.html"


def test_aws_gives_the_bucket_url_in_its_region(settings):
    url = quality_report_url(settings, DAY, region="eu-west-2")
    assert url == "https://cs-quality.s3.eu-west-2.amazonaws.com/prod/reports/report_date=2020-11-30/index.html"


def test_a_local_quality_folder_gives_a_file_url(tmp_path):
    local = Settings.from_env({"CARESHARE_HOME": str(tmp_path), "CARESHARE_QUALITY_URI": str(tmp_path / "q")})
    assert quality_report_url(local, DAY) == (tmp_path / "q" / report_key(DAY)).as_uri()


def test_the_base_url_comes_from_the_environment(tmp_path):
    env = {"CARESHARE_HOME": str(tmp_path), "CARESHARE_QUALITY_BASE_URL": "https://q.example.org"}
    assert Settings.from_env(env).quality_base_url == "https://q.example.org"
