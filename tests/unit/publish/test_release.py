"""The release protocol against a local folder and a real S3 endpoint (moto's server)."""

import hashlib
import io
import json
import re
import threading
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from careshare.datasets import LOCATION_DAILY
from careshare.publish import layout
from careshare.publish.changes import Changes
from careshare.publish.dictionary import schema_reference
from careshare.publish.release import build_parts, publish_release
from careshare.publish.revisions import changelog
from careshare.publish.verify import ReleaseFile, ReleaseVerificationError, check_shapes
from careshare.storage import LocalStore
from tests.unit.publish.synthetic import synthetic_table

DAY = date(2020, 11, 28)
COUNCILS = {"E06000001": 3, "E08000035": 4, "E09000001": 2}


def snapshot(store) -> dict[str, bytes]:
    return {key: store.get(key) for key in store.keys("")}


def read_json(store, key):
    return json.loads(store.get(key))


def council_rows(store, la_code: str, day: date = DAY) -> pa.Table:
    key = f"location_daily/la_code={la_code}/report_date={day.isoformat()}/part-0.parquet"
    return pq.read_table(io.BytesIO(store.get(key)))


def unnamed_release_files(store) -> list[str]:
    """Files under `_releases/` that no committed release manifest names."""
    named = set()
    for key in store.keys("_manifests/"):
        if layout.committed_versions([key]):
            named |= set(re.findall(r'"key": "([^"]+)"', store.get(key).decode()))
    return [k for k in store.keys("") if "/_releases/" in k and k not in named and not k.endswith(".json")]


def test_first_release_commits_version_1_with_every_council_discoverable(store, release):
    table = synthetic_table(LOCATION_DAILY, DAY, COUNCILS)
    outcome = release(table, DAY)

    assert (outcome.version, outcome.new, outcome.rows, outcome.scopes) == (1, True, 9, 3)
    assert outcome.changes == Changes(added=9)
    manifest = read_json(store, "_manifests/location_daily/report_date=2020-11-28/v0001.json")
    assert manifest["previous_version"] is None and manifest["rows"] == 9
    assert manifest["schema"] == schema_reference(LOCATION_DAILY)
    for la_code, rows in COUNCILS.items():
        index = read_json(store, f"location_daily/la_code={la_code}/_index.json")
        assert index["latest"]["report_date"] == "2020-11-28" and index["latest"]["version"] == 1
        mine = read_json(store, index["latest"]["manifest"])
        assert (mine["la_code"], mine["rows"], mine["changes"]["added"]) == (la_code, rows, rows)
        for fmt, file in mine["files"].items():
            assert file["key"].startswith(f"location_daily/la_code={la_code}/_releases/")
            assert index["latest"]["files"][fmt] == file["key"]
            data = store.get(file["key"])
            assert len(data) == file["bytes"]
        assert council_rows(store, la_code).num_rows == rows
    assert read_json(store, "_manifests/location_daily/latest.json")["version"] == 1
    assert unnamed_release_files(store) == []


def test_the_hive_view_ignores_release_history_and_indexes(tmp_path, local_authorities):
    store = LocalStore(tmp_path / "pub")
    table = synthetic_table(LOCATION_DAILY, DAY, COUNCILS)
    for edition in (0, 1):  # two versions: history holds two Parquet files per council
        publish_release(
            store,
            LOCATION_DAILY,
            DAY,
            synthetic_table(LOCATION_DAILY, DAY, COUNCILS, edition=edition),
            local_authorities,
            schema=schema_reference(LOCATION_DAILY),
        )
    read = ds.dataset(tmp_path / "pub" / "location_daily", format="parquet", partitioning="hive").to_table()
    assert read.num_rows == table.num_rows
    assert pc.all(pc.equal(read.column("beds_total"), pc.add(read.column("days_since_update"), 0))).as_py()
    assert sorted(set(read.column("la_code").to_pylist())) == sorted(COUNCILS)


def test_a_rerun_with_the_same_rows_writes_nothing(store, release):
    table = synthetic_table(LOCATION_DAILY, DAY, COUNCILS)
    release(table, DAY)
    before = snapshot(store)
    again = release(table.take(pa.array(list(reversed(range(table.num_rows))))), DAY)
    assert (again.version, again.new) == (1, False)
    assert snapshot(store) == before


def test_a_correction_is_a_new_version_that_says_what_changed(store, release):
    original = synthetic_table(LOCATION_DAILY, DAY, COUNCILS)
    release(original, DAY)
    v1_files = read_json(store, "location_daily/la_code=E08000035/_releases/report_date=2020-11-28/v0001.json")["files"]
    v1_bytes = {fmt: store.get(f["key"]) for fmt, f in v1_files.items()}

    corrected = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 3, "E08000035": 5})
    beds = corrected.column("beds_total").to_pylist()
    beds[3] = 99  # E08000035's first row
    corrected = corrected.set_column(
        corrected.schema.get_field_index("beds_total"), "beds_total", pa.array(beds, pa.int32())
    )
    outcome = release(corrected, DAY)

    assert (outcome.version, outcome.new, outcome.withdrawn) == (2, True, ["E09000001"])
    assert outcome.changes == Changes(added=1, removed=2, changed=1, unchanged=6)
    manifest = read_json(store, outcome.manifest_key)
    assert manifest["previous_version"] == 1
    assert manifest["parts"]["E06000001"]["changes"] == Changes(unchanged=3).as_dict()
    assert manifest["parts"]["E08000035"]["changes"] == Changes(added=1, changed=1, unchanged=3).as_dict()
    assert manifest["withdrawn"]["E09000001"]["changes"] == Changes(removed=2).as_dict()

    assert {fmt: store.get(f["key"]) for fmt, f in v1_files.items()} == v1_bytes, "version 1 stays readable"
    assert council_rows(store, "E08000035").column("beds_total")[0].as_py() == 99
    assert not store.exists("location_daily/la_code=E09000001/report_date=2020-11-28/part-0.parquet")
    withdrawn = read_json(store, "location_daily/la_code=E09000001/_index.json")
    assert withdrawn["report_dates"]["2020-11-28"]["current_version"] == 2
    assert [v["rows"] for v in withdrawn["report_dates"]["2020-11-28"]["versions"]] == [2, 0]
    index = read_json(store, "location_daily/la_code=E08000035/_index.json")
    assert [v["version"] for v in index["report_dates"]["2020-11-28"]["versions"]] == [1, 2]
    assert index["latest"]["version"] == 2
    untouched = read_json(store, "location_daily/la_code=E06000001/_index.json")
    assert [v["version"] for v in untouched["report_dates"]["2020-11-28"]["versions"]] == [1], (
        "its files did not change"
    )
    assert manifest["parts"]["E06000001"]["manifest"].endswith("/report_date=2020-11-28/v0001.json")


def test_latest_pointers_never_move_back_to_an_older_date(store, release):
    later, earlier = date(2020, 12, 1), date(2020, 11, 30)
    release(synthetic_table(LOCATION_DAILY, later, COUNCILS), later)
    release(synthetic_table(LOCATION_DAILY, earlier, COUNCILS), earlier)
    assert read_json(store, "_manifests/location_daily/latest.json")["report_date"] == "2020-12-01"
    index = read_json(store, "location_daily/la_code=E06000001/_index.json")
    assert index["latest"]["report_date"] == "2020-12-01"
    assert sorted(index["report_dates"]) == ["2020-11-30", "2020-12-01"]


def test_a_rerun_finishes_a_release_whose_run_died_after_the_commit(store, release):
    table = synthetic_table(LOCATION_DAILY, DAY, COUNCILS)
    release(table, DAY)
    complete = snapshot(store)
    lost = [
        "_manifests/location_daily/report_date=2020-11-28/v0001.complete.json",
        "_manifests/location_daily/latest.json",
        "location_daily/la_code=E06000001/_index.json",
        "location_daily/la_code=E06000001/_CHANGELOG.md",
        "location_daily/la_code=E06000001/report_date=2020-11-28/part-0.parquet",
    ]
    store.delete(lost)
    outcome = release(table, DAY)
    assert (outcome.version, outcome.new) == (1, False)
    assert snapshot(store) == complete


class CorruptingStore(LocalStore):
    """A store whose uploads of files ending in `suffix` land with one byte changed."""

    def __init__(self, root, suffix: str) -> None:
        super().__init__(root)
        self.suffix = suffix

    def upload(self, key, data, sha256):
        if key.endswith(self.suffix):
            data = data[:-9] + b"x" + data[-8:]
        return super().upload(key, data, sha256)


def test_a_file_that_lands_wrong_is_never_committed_and_its_release_key_gets_its_bytes(tmp_path, local_authorities):
    store = CorruptingStore(tmp_path / "pub", ".parquet")
    table = synthetic_table(LOCATION_DAILY, DAY, COUNCILS)
    with pytest.raises(ReleaseVerificationError, match=r"3 uploaded files failed.*stored md5"):
        publish_release(store, LOCATION_DAILY, DAY, table, local_authorities, schema=schema_reference(LOCATION_DAILY))
    release_files = [k for k in store.keys("") if "/_releases/" in k]
    assert len(release_files) == 2 * len(COUNCILS)
    assert [k for k in store.keys("") if k not in release_files] == []
    for key in release_files:  # unnamed, but a content address always holds its content
        assert hashlib.sha256(store.get(key)).hexdigest() == key.rsplit("/", 1)[1].split(".")[0]


def test_a_built_file_with_other_rows_or_unreadable_bytes_is_never_uploaded(local_authorities):
    part = build_parts(synthetic_table(LOCATION_DAILY, DAY, COUNCILS), LOCATION_DAILY, local_authorities)["E08000035"]

    def built(fmt: str, rows: int, data: bytes) -> ReleaseFile:
        return ReleaseFile(f"x.{fmt}", fmt, part.sha256(fmt), rows, data)

    check_shapes([built(fmt, 4, part.files[fmt]) for fmt in layout.FORMATS], LOCATION_DAILY)
    with pytest.raises(ReleaseVerificationError, match=r"2 built files failed: x.parquet: 4 rows, expected 5; x.csv: "):
        check_shapes([built(fmt, 5, part.files[fmt]) for fmt in layout.FORMATS], LOCATION_DAILY)
    with pytest.raises(ReleaseVerificationError, match=r"x.parquet: unreadable parquet"):
        check_shapes([built(layout.PARQUET, 4, b"PAR1 not really")], LOCATION_DAILY)


def test_concurrent_runs_with_the_same_rows_commit_one_version(store, release):
    table = synthetic_table(LOCATION_DAILY, DAY, COUNCILS)
    outcomes, errors = [], []

    def run():
        try:
            outcomes.append(release(table, DAY))
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert {o.version for o in outcomes} == {1}
    assert sum(o.new for o in outcomes) == 1
    assert layout.committed_versions(store.keys("_manifests/location_daily/report_date=2020-11-28/")) == [1]


def test_concurrent_runs_with_different_rows_commit_one_version_each(store, release):
    tables = [synthetic_table(LOCATION_DAILY, DAY, COUNCILS, edition=e) for e in range(3)]
    outcomes = []
    threads = [threading.Thread(target=lambda t=t: outcomes.append(release(t, DAY))) for t in tables]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.version for o in outcomes) == [1, 2, 3]
    manifests = [read_json(store, layout.release_manifest("location_daily", DAY, v)) for v in (1, 2, 3)]
    assert [m["previous_version"] for m in manifests] == [None, 1, 2]
    assert len({m["fingerprint"] for m in manifests}) == 3
    for la_code in COUNCILS:
        index = read_json(store, f"location_daily/la_code={la_code}/_index.json")
        assert store.get(f"location_daily/la_code={la_code}/_CHANGELOG.md").decode() == changelog(index), (
            "the changelog shows the index as the last release left it"
        )
    final = manifests[-1]
    current = council_rows(store, "E06000001")
    assert current.column("beds_total").to_pylist() == [
        r["beds_total"]
        for r in pq.read_table(
            io.BytesIO(store.get(final["parts"]["E06000001"]["files"]["parquet"]["key"]))
        ).to_pylist()
    ]


def test_a_dataset_without_councils_is_published_nationally(store, local_authorities):
    from careshare.datasets import NATIONAL_PARTITION_COLUMNS, Dataset, Field

    national = Dataset(
        name="england_daily",
        description="One row per report date.",
        key=("report_date",),
        partition_columns=NATIONAL_PARTITION_COLUMNS,
        fields=(
            Field("report_date", "date", "The day.", "pipeline", nullable=False),
            Field("locations", "int32", "Locations reporting.", "pipeline", unit="count"),
        ),
    )
    table = pa.table({"report_date": [DAY], "locations": [25_500]}, schema=national.arrow_schema())
    outcome = publish_release(store, national, DAY, table, local_authorities, schema={"key": "_docs/x", "sha256": "0"})
    assert (outcome.version, outcome.scopes) == (1, 1)
    assert pq.read_table(io.BytesIO(store.get("england_daily/report_date=2020-11-28/part-0.parquet"))).num_rows == 1
    assert read_json(store, "england_daily/_index.json")["latest"]["rows"] == 1


def test_a_correction_writes_change_data_for_each_scope_whose_rows_differ_named_in_both_manifests(store, release):
    first = release(synthetic_table(LOCATION_DAILY, DAY, COUNCILS), DAY)
    manifest = read_json(store, first.manifest_key)
    assert manifest["change_data"] == "careshare-cdf/1"
    assert all(part["change_data"] is None for part in manifest["parts"].values()), "a first release: its files"

    corrected = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 3, "E08000035": 4}, edition=1)
    kept = synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 3})
    leeds = corrected.filter(pc.equal(corrected["la_code"], "E08000035"))
    outcome = release(pa.concat_tables([kept, leeds]), DAY)  # Hartlepool kept, Leeds corrected, City withdrawn

    manifest = read_json(store, outcome.manifest_key)
    assert manifest["parts"]["E06000001"]["change_data"] is None, "no change data where no row differs"
    prefix = "location_daily/la_code={}/_releases/report_date=2020-11-28/"
    for label, entry, kinds in [
        ("E08000035", manifest["parts"]["E08000035"], ["update_preimage", "update_postimage"] * 4),
        ("E09000001", manifest["withdrawn"]["E09000001"], ["delete", "delete"]),
    ]:
        named = entry["change_data"]
        data = store.get(named["key"])
        assert named["key"] == f"{prefix.format(label)}{named['sha256']}.cdf.parquet"
        assert hashlib.sha256(data).hexdigest() == named["sha256"] and named["bytes"] == len(data)
        rows = pq.read_table(io.BytesIO(data))
        assert rows.column("_change_type").to_pylist() == kinds and named["rows"] == len(kinds)
        assert read_json(store, entry["manifest"])["change_data"] == named, "the council's manifest names it too"
    assert unnamed_release_files(store) == []


def test_change_data_that_lands_wrong_is_never_committed(tmp_path, local_authorities):
    store = CorruptingStore(tmp_path / "pub", ".cdf.parquet")

    def publish(edition: int):
        table = synthetic_table(LOCATION_DAILY, DAY, COUNCILS, edition=edition)
        return publish_release(
            store, LOCATION_DAILY, DAY, table, local_authorities, schema=schema_reference(LOCATION_DAILY)
        )

    publish(0)
    with pytest.raises(ReleaseVerificationError, match=r"3 uploaded files failed.*cdf\.parquet: stored md5"):
        publish(1)
    assert layout.committed_versions(store.keys("_manifests/location_daily/report_date=2020-11-28/")) == [1]
