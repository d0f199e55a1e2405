"""Corrections readers can trust, on the package path (SQLite and PostgreSQL, a real S3 endpoint):
a date is published, a corrected ct_care_homes file with two locations edited by hand is loaded,
merged and published again, then an operator fixes the crosswalk and republishes with a note.
Every release names its reason and exactly what it changed, each council's changelog shows every
release, and "as published on" answers through the command line and through the index files
(read with boto3 and json alone)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from careshare.cli import main
from careshare.merge import merge_day
from careshare.publish import publish_day
from careshare.resources import Platform
from careshare_sim import MessRates, World
from tests.conftest import REFERENCE_CSV, create_buckets, migrated_platform, settings_for
from tests.integration.merge_support import load_reference, query, read_csv, stage, warehouse_database, write_csv

pytestmark = pytest.mark.slow

DAY = date(2020, 12, 1)
EMPTY_CROSSWALK = "feed,record_id,location_id,reason\n"
NOTE = "crosswalk fix: Rose Court's rows were unmatched"
DATASETS = ("location_daily", "provider_daily", "la_daily_summary")


@dataclass
class Story:
    platform: Platform
    bucket: str
    original_sha256: str
    corrected_sha256: str
    edited: dict[str, tuple[str, str, str]]  # location -> (published column, council, provider)
    released: str  # the location the crosswalk fix publishes
    published_at: dict[int, str] = field(default_factory=dict)  # version -> location_daily's published_at
    rerun_output: str = ""

    def council(self, location: str) -> str:
        return self.edited[location][1]


def care_homes_with_an_unmatched_row(world: World) -> tuple[list[str], list[list[str]], str]:
    """The day's CT file with its second row matching no directory location (a crosswalk entry fixes it)."""
    header, rows = read_csv(world.rendered("ct_care_homes", DAY).content)
    col = {name: i for i, name in enumerate(header)}
    lost = rows[1]
    lost[col["CQC_Location_ID"]], lost[col["ODS_Code"]], lost[col["Postcode"]] = "1-000000001", "", "ZZ9 9ZZ"
    return header, rows, lost[col["CT_Home_ID"]]


def choose_edits(platform: Platform) -> dict[str, tuple[str, str, str]]:
    """Two published care homes of different councils and providers: one gets another Beds_Vacant,
    the other another Staff_Absent_Other (a column no roll-up sums)."""
    rows = query(
        platform,
        "SELECT location_id, la_code, provider_id, source_row FROM location_daily "
        "WHERE report_date = :d AND source_feed = 'ct_care_homes' AND source_row > 2 ORDER BY source_row",
        d=DAY,
    )
    first = rows[0]
    second = next(r for r in rows if r[1] != first[1] and r[2] != first[2])
    return {first[0]: ("beds_vacant", first[1], first[2]), second[0]: ("staff_absent_other", second[1], second[2])}


def corrected_file(header: list[str], rows: list[list[str]], platform: Platform, edits: dict) -> bytes:
    col = {name: i for i, name in enumerate(header)}
    published = query(platform, "SELECT location_id, source_row FROM location_daily WHERE report_date = :d", d=DAY)
    source_rows = dict(published)
    rows = [list(row) for row in rows]
    for location, (column, _, _) in edits.items():
        row = rows[source_rows[location] - 1]
        if column == "beds_vacant":
            row[col["Beds_Vacant"]] = "0" if int(row[col["Beds_Vacant"]]) else "1"
        else:
            absent = int(row[col["Staff_Absent_Other"]])
            row[col["Staff_Absent_Other"]] = str(absent - 1 if absent else absent + 1)
    return write_csv(header, rows)


def after_a_second(published_at: str) -> None:
    """Versions are stamped to the second: let the next one be later than `published_at`."""
    while datetime.now(UTC) < datetime.fromisoformat(published_at) + timedelta(seconds=1):
        time.sleep(0.05)


def location_version(platform: Platform) -> tuple[int, str]:
    rows = query(
        platform,
        "SELECT version, published_at FROM publish_release WHERE dataset = 'location_daily' AND report_date = :d "
        "ORDER BY version DESC",
        d=DAY,
    )
    moment = rows[0][1] if isinstance(rows[0][1], datetime) else datetime.fromisoformat(str(rows[0][1]))
    return rows[0][0], moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def story(request, tmp_path_factory, s3_endpoint, s3_client, councils):
    home = tmp_path_factory.mktemp(f"revisions-{request.param}")
    names = {kind: f"careshare-rev-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("raw", "published", "quality")}
    create_buckets(s3_client, *names.values())
    world = World(7, 60, 30, councils, date(2024, 6, 30), mess=MessRates.clean())
    with warehouse_database(request.param, home, request) as url, pytest.MonkeyPatch.context() as env:
        settings = settings_for(home, url, names)
        for variable, value in {
            "CARESHARE_HOME": str(home),
            "CARESHARE_WAREHOUSE_URL": url,
            "CARESHARE_RAW_ARCHIVE_URI": settings.raw_archive_uri,
            "CARESHARE_PUBLISH_URI": settings.publish_uri,
            "CARESHARE_QUALITY_URI": settings.quality_uri,
            "CARESHARE_REFERENCE_CSV": str(REFERENCE_CSV),
            "CARESHARE_S3_ENDPOINT_URL": s3_endpoint,
            "AWS_DEFAULT_REGION": "eu-west-2",
        }.items():
            env.setenv(variable, value)
        platform = migrated_platform(settings, s3_client)
        yield tell(platform, world, home, names["published"])
        platform.warehouse.engine.dispose()


def tell(platform: Platform, world: World, home: Path, bucket: str) -> Story:
    crosswalk = home / "crosswalk.csv"
    crosswalk.write_text(EMPTY_CROSSWALK)
    load_reference(platform, world)
    header, rows, lost_record = care_homes_with_an_unmatched_row(world)
    original = write_csv(header, rows)
    stage(platform, "ct_care_homes", DAY, original)
    for feed in ("ct_home_care", "cqc_update"):
        stage(platform, feed, DAY, world.rendered(feed, DAY).content)
    merge_day(platform, DAY, crosswalk)
    publish_day(platform, DAY)
    edits = choose_edits(platform)
    corrected = corrected_file(header, rows, platform, edits)
    lost = world.ground_truth("ct_care_homes", DAY)[1]["location_id"]
    told = Story(
        platform, bucket, hashlib.sha256(original).hexdigest(), hashlib.sha256(corrected).hexdigest(), edits, lost
    )

    version, told.published_at[1] = location_version(platform)
    after_a_second(told.published_at[1])
    stage(platform, "ct_care_homes", DAY, corrected)
    merge_day(platform, DAY, crosswalk)
    publish_day(platform, DAY)
    version, told.published_at[2] = location_version(platform)
    assert version == 2

    after_a_second(told.published_at[2])
    crosswalk.write_text(f"{EMPTY_CROSSWALK}ct_care_homes,{lost_record},{lost},matched by hand\n")
    merge_day(platform, DAY, crosswalk)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(["run", "stage", "publish", "--date", DAY.isoformat(), "--note", NOTE]) == 0
    told.rerun_output = printed.getvalue()
    version, told.published_at[3] = location_version(platform)
    assert version == 3
    return told


def document(story: Story, key: str) -> dict:
    return json.loads(story.platform.publication.get(key))


def release(story: Story, dataset: str, version: int) -> dict:
    return document(story, f"_manifests/{dataset}/report_date={DAY}/v{version:04d}.json")


def changed_by_key(story: Story, manifest: dict) -> dict[str, list[str]]:
    """key -> changed columns, over every scope of the release's list of changed keys."""
    listed = document(story, manifest["changes_detail"]["key"])
    assert all(not scope["added"] and not scope["removed"] for scope in listed["scopes"].values())
    return {key: sorted(columns) for scope in listed["scopes"].values() for key, columns in scope["changed"].items()}


def test_the_correction_names_the_delivery_that_caused_it(story):
    ((received,),) = query(
        story.platform,
        "SELECT received_at FROM delivery_receipt WHERE feed = 'ct_care_homes' AND report_date = :d AND sha256 = :s",
        d=DAY,
        s=story.corrected_sha256,
    )
    moment = received if isinstance(received, datetime) else datetime.fromisoformat(str(received))
    for dataset in DATASETS:
        stated = release(story, dataset, 2)["reason"]
        assert stated["kind"] == "delivery", dataset
        (delivery,) = stated["deliveries"]
        assert delivery == {
            "feed": "ct_care_homes",
            "status": "loaded",
            "sha256": story.corrected_sha256,
            "received_at": moment.replace(tzinfo=UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "previous_status": "loaded",
            "previous_sha256": story.original_sha256,
        }
        assert story.corrected_sha256[:12] in stated["text"] and story.original_sha256[:12] in stated["text"]
    assert release(story, "location_daily", 1)["reason"]["kind"] == "first_release"


def test_the_correction_lists_exactly_the_locations_edited_and_lineage_apart(story):
    manifest = release(story, "location_daily", 2)
    assert changed_by_key(story, manifest) == {location: [column] for location, (column, _, _) in story.edited.items()}
    ((care_homes,),) = query(
        story.platform,
        "SELECT count(*) FROM location_daily WHERE report_date = :d AND source_feed = 'ct_care_homes' "
        "AND location_id <> :released",  # published by the later crosswalk fix
        d=DAY,
        released=story.released,
    )
    changes = manifest["changes"]
    assert (changes["changed"], changes["added"], changes["removed"]) == (2, 0, 0)
    assert changes["lineage_only"] == care_homes - 2, "every other CT row only points at the new file"
    assert changes["unchanged"] == manifest["rows"] - care_homes, "the other feeds' rows are identical"


def test_the_roll_ups_list_only_the_council_and_provider_whose_sums_changed(story):
    (summed, _), (not_summed, _) = sorted(story.edited.items(), key=lambda item: item[1][0])
    assert story.edited[summed][0] == "beds_vacant"
    council, provider = story.edited[summed][1], story.edited[summed][2]
    assert changed_by_key(story, release(story, "la_daily_summary", 2)) == {council: ["beds_vacant"]}
    assert changed_by_key(story, release(story, "provider_daily", 2)) == {provider: ["beds_vacant"]}
    untouched = document(story, f"la_daily_summary/la_code={story.council(not_summed)}/_index.json")
    versions = [v["version"] for v in untouched["report_dates"][DAY.isoformat()]["versions"]]
    assert 2 not in versions, "the correction did not change its summary: no version of it"


def test_each_councils_changelog_shows_every_release(story):
    for location, (column, council, _) in story.edited.items():
        text = story.platform.publication.get(f"location_daily/la_code={council}/_CHANGELOG.md").decode()
        assert text.index("### v0002") < text.index("### v0001"), "newest first"
        assert f"file {story.corrected_sha256[:12]} received" in text
        assert f"`{location}`: {column}" in text
        assert "lineage only" in text
    national = story.platform.publication.get("provider_daily/_CHANGELOG.md").decode()
    assert national.count("### v") == 3 and "operator rerun: " + NOTE in national


def as_of(story: Story, capsys, published_on: str, *options: str) -> tuple[int, str, str]:
    capsys.readouterr()
    asked = ["--dataset", "location_daily", "--date", DAY.isoformat(), "--published-on", published_on]
    status = main(["publish", "as-of", *asked, *options])
    out, err = capsys.readouterr()
    return status, out, err


def a_second_before(published_at: str) -> str:
    return (datetime.fromisoformat(published_at) - timedelta(seconds=1)).isoformat()


def test_as_published_on_through_the_command_line(story, capsys):
    status, _, err = as_of(story, capsys, a_second_before(story.published_at[1]))
    assert status == 1 and "nothing was published by" in err and story.published_at[1] in err
    status, _, err = as_of(story, capsys, (datetime.now(UTC).date() - timedelta(days=1)).isoformat())
    assert status == 1 and "nothing was published by" in err

    for moment, version in (
        (story.published_at[1], 1),
        (a_second_before(story.published_at[2]), 1),
        (story.published_at[2], 2),
        (story.published_at[3], 3),
        (datetime.now(UTC).date().isoformat(), 3),  # a date: up to the end of that day
    ):
        status, out, _ = as_of(story, capsys, moment)
        assert status == 0 and f": version {version}\n" in out, moment
        assert f"_manifests/location_daily/report_date={DAY}/v{version:04d}.json" in out

    council = story.council(next(iter(story.edited)))
    status, out, _ = as_of(story, capsys, story.published_at[1], "--la-code", council)
    assert f"location_daily/la_code={council}/_releases/report_date={DAY}/v0001.json" in out
    assert out.count(".parquet") == 1 and "first release" in out


def in_force(day: dict, moment: datetime) -> dict | None:
    published = [v for v in day["versions"] if datetime.fromisoformat(v["published_at"]) <= moment]
    return max(published, key=lambda v: v["version"], default=None)


def test_as_published_on_through_the_index_files(story, s3_client):
    council = story.council(next(iter(story.edited)))
    index = json.loads(
        s3_client.get_object(Bucket=story.bucket, Key=f"location_daily/la_code={council}/_index.json")["Body"].read()
    )
    day = index["report_dates"][DAY.isoformat()]
    assert [v["version"] for v in day["versions"]][:2] == [1, 2]
    moments = {name: datetime.fromisoformat(text) for name, text in story.published_at.items()}
    assert in_force(day, moments[1] - timedelta(seconds=1)) is None
    assert in_force(day, moments[1])["version"] == 1
    assert in_force(day, moments[2] - timedelta(seconds=1))["version"] == 1
    assert in_force(day, moments[2])["version"] == 2
    chosen = in_force(day, moments[2])
    manifest = json.loads(s3_client.get_object(Bucket=story.bucket, Key=chosen["manifest"])["Body"].read())
    parquet = s3_client.get_object(Bucket=story.bucket, Key=manifest["files"]["parquet"]["key"])["Body"].read()
    assert hashlib.sha256(parquet).hexdigest() == manifest["files"]["parquet"]["sha256"]
    assert manifest["reason"]["kind"] == "delivery"


def test_an_operator_rerun_with_a_note_says_so(story):
    assert f"reason: operator rerun: {NOTE}" in story.rerun_output
    for dataset in DATASETS:
        stated = release(story, dataset, 3)["reason"]
        assert (stated["kind"], stated["note"], stated["deliveries"]) == ("operator_rerun", NOTE, []), dataset
        assert stated["text"] == f"operator rerun: {NOTE}"
    listed = document(story, release(story, "location_daily", 3)["changes_detail"]["key"])
    assert [key for scope in listed["scopes"].values() for key in scope["added"]] == [story.released]
    recorded = query(
        story.platform,
        "SELECT dataset, version, reason_kind, note, rows_changed, rows_lineage_only FROM publish_release "
        "WHERE report_date = :d AND dataset = 'location_daily' ORDER BY version",
        d=DAY,
    )
    assert [(r[2], r[3]) for r in recorded] == [("first_release", None), ("delivery", None), ("operator_rerun", NOTE)]
    assert recorded[1][4] == 2 and recorded[1][5] > 0
    caused = query(
        story.platform,
        "SELECT feed, sha256 FROM publish_release_input WHERE report_date = :d AND dataset = 'location_daily' "
        "AND version = 2 AND caused",
        d=DAY,
    )
    assert caused == [("ct_care_homes", story.corrected_sha256)]


def test_a_note_is_an_option_of_the_publish_stage_and_is_kept_short(story, capsys):
    for argv in (
        ["run", "stage", "merge", "--date", DAY.isoformat(), "--note", NOTE],
        ["run", "stage", "publish", "--date", DAY.isoformat(), "--note", "x" * 501],
    ):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
    assert "--note is an option of the publish stage only" in capsys.readouterr().err
