"""The daily report page from figures: every feed state renders, the verdict names what was held
back, values are escaped, councils under the completion threshold come first and the rest sort,
every quarantined and warned row is a relative download link away, and the three trend charts are
embedded PNGs whose y-axes fit their data."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta

import pytest

from careshare.quality.charts import TRENDS, axis_top, line_chart, percent_ticks, trend_charts
from careshare.quality.report_page import render_report

PNG = b"\x89PNG\r\n\x1a\n"
LINKS = {
    "data_docs": "../../data_docs/report_date=2020-11-30/index.html",
    "quarantine": "../../quarantine/_manifests/report_date=2020-11-30/manifest.json",
}
LEEDS, HARTLEPOOL, RUTLAND = "E08000035", "E06000001", "E06000017"


def council(la_code: str, la_name: str, completion: float | None, below: bool) -> dict:
    return {
        "la_code": la_code,
        "la_name": la_name,
        "region_code": "E12000003",
        "region_name": "Yorkshire and The Humber",
        "care_home_expected": 10,
        "care_home_reported": round(10 * (completion or 0)),
        "community_expected": 0,
        "community_reported": 0,
        "expected": 10,
        "reported": round(10 * (completion or 0)),
        "unexpected": 0,
        "completion": completion,
        "below_threshold": below,
    }


def download(kind: str, la_code: str, rows: int, parquet: bool = False) -> dict:
    return {
        "la_code": la_code,
        "rows": rows,
        "csv": f"{kind}/la_code={la_code}.csv",
        "parquet": f"../../quarantine/la_code={la_code}/report_date=2020-11-30/part-0.parquet" if parquet else None,
    }


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
            "threshold": 0.5,
            "by_region": [],
            "by_council": [
                council(RUTLAND, "Rutland", 0.1, True),
                council(HARTLEPOOL, "Hartlepool", 0.4, True),
                council(LEEDS, "Leeds", 0.9, False),
            ],
        },
        "warned": {
            "rows": 4,
            "published": 3,
            "by_rule": [
                {
                    "feed": "ct_care_homes",
                    "rule": "bound.beds_vacant_le_total",
                    "rows": 4,
                    "published": 3,
                    "example": "Vacant beds are at most the total. Found beds_vacant = 9, beds_total = 5.",
                }
            ],
        },
        "downloads": {
            "quarantined": [download("quarantined", "unknown", 1, True), download("quarantined", LEEDS, 2, True)],
            "warned": [download("warned", LEEDS, 4)],
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


def test_the_page_is_self_contained_and_links_only_within_the_quality_root():
    html = render(figures())

    assert re.findall(r"<script[^>]*>", html) == ["<script>"], "one inline script, nothing loaded"
    assert not re.search(r"https?://", html)
    links = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert {link.split(":")[0] for link in links if ":" in link} == {"data"}
    assert LINKS["data_docs"] in links and LINKS["quarantine"] in links


def test_councils_under_the_threshold_come_first_worst_first_and_every_council_can_be_sorted():
    html = render(figures())

    flagged = html[html.index('id="flagged-councils"') : html.index('id="all-councils"')]
    assert re.findall(r"<td data-sort=\"([^\"]+)\">\1</td><td data-sort=\"E", flagged) == ["Rutland", "Hartlepool"]
    assert "Councils under 50.0% completion, worst first (2)" in html
    assert '<table id="councils" class="sortable">' in html
    assert html.count('<button type="button">') == 9
    assert '<td class="n" data-sort="0.1">10.0%</td>' in html


def test_every_quarantined_and_warned_row_is_downloadable_by_council():
    html = render(figures())

    quarantined = html[html.index('id="quarantine-downloads"') : html.index('id="warned"')]
    councils = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td>", quarantined)
    assert councils == [("Leeds", LEEDS), ("not placed (no council the CQC directory confirms)", "unknown")]
    assert f'href="quarantined/la_code={LEEDS}.csv" download' in quarantined
    assert f'href="../../quarantine/la_code={LEEDS}/report_date=2020-11-30/part-0.parquet"' in quarantined
    assert f'<a href="warned/la_code={LEEDS}.csv" download>4</a>' in html, "the council table links its warned rows"
    assert "3 rows published despite a failed warning rule" in html
    assert "bound.beds_vacant_le_total" in html[html.index('id="warned-rules"') :]


def test_before_the_quarantine_is_exported_the_page_says_so():
    data = figures()
    data["downloads"]["quarantined"] = [download("quarantined", LEEDS, 2)]
    html = render_report(data, trend_charts(data["trend"]), {**LINKS, "quarantine": None})

    assert "exported once the day is merged" in html and "after the merge" in html


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


@pytest.mark.parametrize(
    ("values", "top", "labels"),
    [
        ([None] * 27 + [0.0002, 0.003, 0.0001], 0.0033, ["0.0%", "0.1%", "0.2%", "0.3%"]),
        ([0.6] * 29 + [0.679], 0.7469, ["0%", "20%", "40%", "60%"]),
        ([0.0] * 30, 0.01, ["0.0%", "0.2%", "0.4%", "0.6%", "0.8%", "1.0%"]),
    ],
)
def test_each_charts_y_axis_runs_from_zero_to_a_little_above_its_highest_value(values, top, labels):
    dates = [date(2020, 11, 1) + timedelta(days=n) for n in range(30)]
    chart = line_chart(dates, values, "a trend")
    chart.canvas.draw()
    axes = chart.axes[0]

    assert axis_top(values) == pytest.approx(top)
    assert axes.get_ylim() == pytest.approx((0, top))
    assert [label.get_text() for label in axes.get_yticklabels()] == labels
    assert percent_ticks(top)[0][-1] <= top
