"""The daily report page from figures: every feed state renders, the verdict names what was held
back, values are escaped, and the three trend charts are embedded PNGs."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta

from careshare.quality.charts import TRENDS, trend_charts
from careshare.quality.page import render_report

PNG = b"\x89PNG\r\n\x1a\n"
LINKS = {"data_docs": "../../data_docs/report_date=2020-11-30/index.html", "quarantine": "s3://pub/quarantine/"}


def figures(**changes) -> dict:
    dates = [(date(2020, 11, 1) + timedelta(days=n)).isoformat() for n in range(30)]
    loaded = {
        "feed": "ct_care_homes",
        "status": "loaded",
        "rule": None,
        "message": None,
        "sha256": "a" * 64,
        "quarantined_by_rule": {"count.beds_vacant.non_negative": 3},
        "rows_delivered": 15500,
        "rows_valid": 15497,
        "rows_quarantined": 3,
        "rows_superseded": 10,
        "rows_published": 15487,
        "rows_held_back": 0,
        "rows_awaiting_merge": 0,
    }
    base = {
        "report_date": "2020-11-30",
        "generated_at": "2020-12-01T07:00:00+00:00",
        "feeds": [
            loaded,
            {
                "feed": "ct_home_care",
                "status": "not received",
                "rule": None,
                "message": None,
                "sha256": None,
                "quarantined_by_rule": {},
            },
            {
                "feed": "cqc_update",
                "status": "absent",
                "rule": None,
                "message": "collected Monday to Friday only",
                "sha256": None,
                "quarantined_by_rule": {},
            },
        ],
        "datasets": [{"dataset": "location_daily", "passed": True, "rows": 15487, "blocking": [], "warnings": []}],
        "completion": {
            "national": 0.6789,
            "expected": 22000,
            "published": 15487,
            "stale": 12,
            "by_region": [],
            "by_council": [],
        },
        "rechecks": {
            "checked": 8,
            "unchanged": 6,
            "found": [
                {
                    "feed": "ct_care_homes",
                    "report_date": "2020-11-27",
                    "outcome": "corrected",
                    "needs_attention": False,
                    "sha256": "c" * 64,
                    "message": None,
                },
                {
                    "feed": "ct_care_homes",
                    "report_date": "2020-11-26",
                    "outcome": "unavailable",
                    "needs_attention": True,
                    "sha256": None,
                    "message": "GET <exports> gave up after 6 attempts",
                },
            ],
        },
        "top_rules": [
            {
                "suite": "ct_care_homes",
                "rule": "count.beds_vacant.non_negative",
                "severity": "critical",
                "outcome": "quarantined",
                "rows": 3,
                "message": "<b>Vacant beds</b> are zero or more.",
            }
        ],
        "trend": {
            "dates": dates,
            "completion": [None] * 29 + [0.6789],
            "quarantine_rate": [None] * 30,
            "stale_share": [0.01] * 30,
        },
    }
    return {**base, **changes}


def render(data: dict) -> str:
    return render_report(data, trend_charts(data["trend"]), LINKS)


def test_a_published_day_shows_every_feed_and_its_figures():
    html = render(figures())

    assert "Every feed that arrived passed its critical checks" in html
    assert "15,500" in html and "15,487" in html and "67.9%" in html
    assert "not received" in html and "collected Monday to Friday only" in html
    assert "&lt;b&gt;Vacant beds&lt;/b&gt;" in html, "values from data are escaped"
    images = re.findall(r'<img id="chart-(\w+)"[^>]*src="data:image/png;base64,([^"]+)"', html)
    assert [name for name, _ in images] == [name for name, _ in TRENDS]
    assert all(base64.b64decode(data).startswith(PNG) for _, data in images)
    assert "<script" not in html


def test_a_held_back_feed_and_a_blocked_dataset_are_named_in_the_verdict():
    data = figures()
    failed = {**data["feeds"][0], "status": "failed", "rule": "answer.ppe_masks.allowed", "rows_held_back": 15000}
    blocked = {**data["datasets"][0], "passed": False, "blocking": ["key.location_id.unique"]}
    html = render({**data, "feeds": [failed, *data["feeds"][1:]], "datasets": [blocked]})

    assert (
        "Held back from publication: ct_care_homes (answer.ppe_masks.allowed); "
        "location_daily (key.location_id.unique)" in html
    )
    assert "failed: not published" in html


def test_past_dates_looked_at_again_are_listed_and_an_unreachable_source_stands_out():
    html = render(figures())

    assert "looked again at 8 past report dates" in html and "6 unchanged" in html
    rows = re.findall(r'<tr class="([^"]*)"><td>ct_care_homes</td><td>(2020-11-2\d)</td>\s*<td>(\w+)</td>', html)
    assert rows == [("", "2020-11-27", "corrected"), ("blocked", "2020-11-26", "unavailable")]
    assert "GET &lt;exports&gt; gave up after 6 attempts" in html


def test_a_day_not_merged_yet_is_pending():
    assert "Not published yet" in render(figures(datasets=[]))


def test_charts_say_when_there_is_no_data():
    charts = trend_charts(figures()["trend"])
    assert set(charts) == {name for name, _ in TRENDS} and all(png.startswith(PNG) for png in charts.values())
