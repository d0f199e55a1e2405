"""The Delta Sharing server against the real `delta_sharing` client 1.4 and moto's S3: tables
listed, a table loaded whole, by date, at an older version and at a timestamp, a correction seen
row by row in the change data feed (and file by file for releases from before change data files),
pagination, and 401 for tokens the server does not know. Every frame is
compared with the release manifests and files (and the hive view) read independently with pyarrow
(tests/integration/sharing_support.py); the councils each recipient reads are written here by hand."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlparse

import delta_sharing
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import requests
from delta_sharing.protocol import DeltaSharingProfile, Share, Table
from delta_sharing.rest_client import DataSharingRestClient

from careshare.datasets import DATASETS
from careshare.publish.changes import LINEAGE_COLUMNS
from tests.conftest import create_buckets
from tests.integration import sharing_support
from tests.integration.sharing_support import (
    AFTER_SPLIT,
    BEFORE_SPLIT,
    CORRECTED_DAY,
    HARTLEPOOL,
    LEEDS,
    NORTH_NORTHANTS,
    NORTHAMPTONSHIRE,
    SPLIT_DAY,
    TOKENS,
    WEST_NORTHANTS,
    files_at,
    hive_view_rows,
    publish_story,
    published_rows,
    start_sharing_server,
    table_url,
    tokens_of,
    write_profile,
)

pytestmark = pytest.mark.slow

# The module's fixtures (assigned, not imported: pytest finds fixtures among the module's names).
sharing_publication = sharing_support.sharing_publication
sharing_recipients = sharing_support.sharing_recipients
story_server = sharing_support.story_server
story_profiles = sharing_support.story_profiles

NATIONAL = "national-dhsc"
READS = {  # by hand: the successor reads its predecessor's files, never its sibling's
    "la-e06000061": [NORTH_NORTHANTS, NORTHAMPTONSHIRE],
    "la-e08000035": [LEEDS],
    NATIONAL: None,  # every council
}
COUNCIL_TABLES = ["la_daily_summary", "location_daily"]
TABLE = "location_daily"


def compare(op: str, column: str, value_type: str, value: str) -> dict:
    """A jsonPredicateHints comparison of a column with a literal."""
    literal = {"op": "literal", "value": value, "valueType": value_type}
    return {"op": op, "children": [{"op": "column", "name": column, "valueType": value_type}, literal]}


def is_null(column: str) -> dict:
    return {"op": "isNull", "children": [{"op": "column", "name": column, "valueType": "string"}]}


def date_hint(day) -> str:
    return json.dumps(compare("equal", "report_date", "date", day.isoformat()))


def rows_of(frame: pd.DataFrame | pa.Table, dataset: str) -> list[tuple]:
    """Every row as plain values in the dataset's column order, sorted: nulls as None, answers as text."""
    if isinstance(frame, pa.Table):
        frame = frame.to_pandas()
    columns = DATASETS[dataset].column_names
    values = [[None if pd.isna(v) else v for v in frame[c].astype(object)] for c in columns]
    return sorted(zip(*values, strict=True), key=repr)


def query(server, token: str, table: str, body: dict) -> requests.Response:
    return requests.post(
        f"{server.endpoint}/shares/careshare/schemas/published/tables/{table}/query",
        headers={"Authorization": f"Bearer {token}"},
        json=body,
        timeout=30,
    )


def file_lines(response: requests.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[0] == {"protocol": {"minReaderVersion": 1}}
    assert "metaData" in lines[1]
    return [line["file"] for line in lines[2:]]


def token_of(recipient: str) -> str:
    return next(token for token, found in TOKENS.items() if found == recipient)


def test_every_table_a_recipient_may_read_is_listed(story_profiles):
    for recipient, profile in story_profiles.items():
        client = delta_sharing.SharingClient(str(profile))
        tables = sorted(t.name for t in client.list_all_tables())
        expected = sorted(DATASETS) if recipient == NATIONAL else COUNCIL_TABLES
        assert tables == expected, recipient
        assert [s.name for s in client.list_shares()] == ["careshare"]
        (schema,) = client.list_schemas(Share("careshare"))
        assert schema.name == "published"
        assert sorted(t.name for t in client.list_tables(schema)) == expected


@pytest.mark.parametrize("recipient", sorted(READS))
@pytest.mark.parametrize("dataset", ["location_daily", "la_daily_summary"])
def test_a_table_is_the_latest_release_of_every_date_of_the_recipients_councils(
    story_profiles, sharing_publication, recipient, dataset
):
    frame = delta_sharing.load_as_pandas(table_url(story_profiles[recipient], dataset))
    expected = published_rows(sharing_publication, dataset, sharing_publication.latest_version, READS[recipient])
    assert len(frame) == expected.num_rows > 0
    assert rows_of(frame, dataset) == rows_of(expected, dataset)
    if READS[recipient] is not None:
        assert rows_of(frame, dataset) == rows_of(
            hive_view_rows(sharing_publication, dataset, READS[recipient]), dataset
        )
        assert set(frame["la_code"]) == set(READS[recipient])


def test_the_national_table_is_for_national_recipients_only(story_profiles, sharing_publication):
    frame = delta_sharing.load_as_pandas(table_url(story_profiles[NATIONAL], "provider_daily"))
    expected = published_rows(sharing_publication, "provider_daily", sharing_publication.latest_version, None)
    assert rows_of(frame, "provider_daily") == rows_of(expected, "provider_daily")
    with pytest.raises(requests.HTTPError) as refused:
        delta_sharing.load_as_pandas(table_url(story_profiles["la-e08000035"], "provider_daily"))
    assert refused.value.response.status_code == 404


def test_a_date_filter_returns_that_dates_files_only(story_profiles, sharing_publication, story_server):
    profile = story_profiles["la-e06000061"]
    frame = delta_sharing.load_as_pandas(table_url(profile, TABLE), jsonPredicateHints=date_hint(SPLIT_DAY))
    everything = published_rows(sharing_publication, TABLE, sharing_publication.latest_version, READS["la-e06000061"])
    expected = everything.filter(pc.equal(everything["report_date"], pa.scalar(SPLIT_DAY)))
    assert set(frame["report_date"]) == {SPLIT_DAY}  # the client does not filter rows: the server did
    assert rows_of(frame, TABLE) == rows_of(expected, TABLE)
    # Before the split this recipient reads its predecessor's files.
    before = delta_sharing.load_as_pandas(table_url(profile, TABLE), jsonPredicateHints=date_hint(BEFORE_SPLIT))
    assert set(before["la_code"]) == {NORTHAMPTONSHIRE}
    # A limit is sent as limitHint: the server answers enough files for it, the client cuts the rows.
    assert len(delta_sharing.load_as_pandas(table_url(profile, TABLE), limit=2)) == 2


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (
            {
                "op": "and",
                "children": [
                    compare("greaterThanOrEqual", "report_date", "date", "2021-04-01"),
                    compare("equal", "la_code", "string", WEST_NORTHANTS),
                ],
            },
            {(WEST_NORTHANTS, SPLIT_DAY), (WEST_NORTHANTS, AFTER_SPLIT)},
        ),
        (
            {
                "op": "or",
                "children": [
                    compare("lessThan", "report_date", "date", "2021-04-01"),
                    compare("equal", "la_code", "string", HARTLEPOOL),
                ],
            },
            {(NORTHAMPTONSHIRE, BEFORE_SPLIT), (LEEDS, BEFORE_SPLIT), (HARTLEPOOL, BEFORE_SPLIT)}
            | {(HARTLEPOOL, SPLIT_DAY), (HARTLEPOOL, AFTER_SPLIT)},
        ),
        (
            {
                "op": "not",
                "children": [is_null("la_code")],
            },
            "all",
        ),
        (is_null("la_code"), set()),
        # Hints the server cannot evaluate keep every file (the client filters again); never an error.
        (
            compare("equal", "beds_vacant", "int", "1"),
            "all",
        ),
        ({"op": "someFutureOp", "children": []}, "all"),
        ("not json at all", "all"),
    ],
)
def test_json_predicate_hints_narrow_files_by_partition(story_server, sharing_publication, hint, expected):
    body = {"jsonPredicateHints": hint if isinstance(hint, str) else json.dumps(hint)}
    files = file_lines(query(story_server, token_of(NATIONAL), TABLE, body))
    found = {
        (f["partitionValues"]["la_code"], datetime.fromisoformat(f["partitionValues"]["report_date"]).date())
        for f in files
    }
    every = set(files_at(sharing_publication, TABLE, sharing_publication.latest_version, None))
    assert found == (every if expected == "all" else expected)


def test_sql_predicate_hints_narrow_files_too(story_server):
    body = {"predicateHints": [f"la_code = '{LEEDS}'", "report_date >= '2021-04-01'", "'2021-04-02' >= report_date"]}
    files = file_lines(query(story_server, token_of(NATIONAL), TABLE, body))
    assert sorted((f["partitionValues"]["la_code"], f["partitionValues"]["report_date"]) for f in files) == [
        (LEEDS, "2021-04-01"),
        (LEEDS, "2021-04-02"),
    ]


def test_an_older_version_and_a_timestamp_give_what_was_published_then(story_profiles, sharing_publication):
    profile = story_profiles["la-e08000035"]
    for version in (1, 2, 3, 4):
        frame = delta_sharing.load_as_pandas(table_url(profile, TABLE), version=version)
        assert rows_of(frame, TABLE) == rows_of(published_rows(sharing_publication, TABLE, version, [LEEDS]), TABLE)
    before_correction = delta_sharing.load_as_pandas(table_url(profile, TABLE), version=3)
    after_correction = delta_sharing.load_as_pandas(table_url(profile, TABLE))
    assert rows_of(before_correction, TABLE) != rows_of(after_correction, TABLE)
    # Between versions 3 (10:00) and 4 (11:00): version 3.
    moment = (sharing_publication.release(3).published_at + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    at_moment = delta_sharing.load_as_pandas(table_url(profile, TABLE), timestamp=moment)
    assert rows_of(at_moment, TABLE) == rows_of(before_correction, TABLE)
    url = table_url(profile, TABLE)
    assert delta_sharing.get_table_version(url) == 4
    assert delta_sharing.get_table_version(url, starting_timestamp=moment) == 4
    assert delta_sharing.get_table_version(url, starting_timestamp="2021-04-02 08:30:00") == 2


CDF_COLUMNS = ["_change_type", "_commit_version", "_commit_timestamp"]
PRE, POST = "update_preimage", "update_postimage"


def by_location(frame: pd.DataFrame | pa.Table) -> dict[str, dict]:
    """location_id -> the row as plain values (`rows_of`'s), for one council's rows of one date."""
    columns = DATASETS[TABLE].column_names
    return {row[columns.index("location_id")]: dict(zip(columns, row, strict=True)) for row in rows_of(frame, TABLE)}


def change_rows(frame: pd.DataFrame, kind: str) -> dict[str, dict]:
    return by_location(frame[frame["_change_type"] == kind].drop(columns=CDF_COLUMNS))


def test_the_change_feed_gives_what_the_correction_added_changed_and_removed(story_profiles, sharing_publication):
    url = table_url(story_profiles["la-e08000035"], TABLE)
    changes = delta_sharing.load_table_changes_as_pandas(url, starting_version=4, ending_version=4)
    correction = sharing_publication.release(4)
    listed = sharing_support.change_list(sharing_publication, TABLE, correction, LEEDS)
    assert set(changes["_commit_version"]) == {4}
    assert set(changes["_commit_timestamp"]) == {int(correction.published_at.timestamp() * 1000)}
    assert set(zip(changes["la_code"], changes["report_date"], strict=True)) == {(LEEDS, CORRECTED_DAY)}

    on_day = lambda rows: rows.filter(pc.equal(rows["report_date"], pa.scalar(CORRECTED_DAY)))  # noqa: E731
    before = by_location(on_day(published_rows(sharing_publication, TABLE, 3, [LEEDS])))
    after = by_location(on_day(published_rows(sharing_publication, TABLE, 4, [LEEDS])))
    inserted, deleted = change_rows(changes, "insert"), change_rows(changes, "delete")
    preimages, postimages = change_rows(changes, PRE), change_rows(changes, POST)
    assert inserted == {key: after[key] for key in listed["added"]}
    assert deleted == {key: before[key] for key in listed["removed"]}
    assert preimages == {key: before[key] for key in preimages} and postimages == {key: after[key] for key in preimages}
    for key, columns in listed["changed"].items():
        for column, values in columns.items():
            assert (preimages[key][column], postimages[key][column]) == (values["before"], values["after"])
    # Lineage-only rows are updates too (the feed must turn version 3 into version 4), and only those.
    lineage_only = set(preimages) - set(listed["changed"])
    assert len(lineage_only) == listed["lineage_only"] == 1 and set(listed["changed"]) <= set(preimages)
    for key in lineage_only:
        differing = {c for c in DATASETS[TABLE].column_names if preimages[key][c] != postimages[key][c]}
        assert differing and differing <= set(LINEAGE_COLUMNS)
    # Nothing of the location the correction kept; one row per key and change type.
    kept = (set(before) & set(after)) - set(preimages)
    assert kept and not kept & set(changes["location_id"])
    assert len(changes) == len(inserted) + len(deleted) + len(preimages) + len(postimages)


def test_applying_a_versions_changes_to_the_table_before_it_gives_the_table_at_it(story_profiles):
    url = table_url(story_profiles["la-e08000035"], TABLE)
    key = ["la_code", "report_date", "location_id"]
    table = delta_sharing.load_as_pandas(url, version=3)
    changes = delta_sharing.load_table_changes_as_pandas(url, starting_version=4, ending_version=4)
    gone = changes[changes["_change_type"].isin(["delete", PRE])][key]
    new = changes[changes["_change_type"].isin(["insert", POST])].drop(columns=CDF_COLUMNS)
    kept = table.merge(gone, on=key, how="left", indicator=True)
    applied = pd.concat([kept[kept["_merge"] == "left_only"].drop(columns="_merge"), new], ignore_index=True)
    assert rows_of(applied, TABLE) == rows_of(delta_sharing.load_as_pandas(url, version=4), TABLE)


def test_the_change_feed_answers_cdf_actions_for_a_correction_and_adds_for_a_first_release(
    story_server, story_profiles, sharing_publication
):
    response = requests.get(
        f"{story_server.endpoint}/shares/careshare/schemas/published/tables/{TABLE}/changes",
        params={"startingVersion": 1},
        headers={"Authorization": f"Bearer {token_of('la-e08000035')}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    actions = [json.loads(line) for line in response.text.splitlines()[2:]]
    assert [(kind, action["version"]) for line in actions for kind, action in line.items()] == [
        ("add", 1),
        ("add", 2),
        ("add", 3),
        ("cdf", 4),
    ]
    (cdf,) = [line["cdf"] for line in actions if "cdf" in line]
    named = sharing_support.read_manifest(sharing_publication, TABLE, CORRECTED_DAY, 2)["parts"][LEEDS]["change_data"]
    assert set(cdf) == {"url", "id", "partitionValues", "size", "version", "timestamp", "expirationTimestamp"}
    assert unquote(urlparse(cdf["url"]).path).endswith(named["key"]) and named["key"].endswith(".cdf.parquet")
    assert cdf["partitionValues"] == {"la_code": LEEDS, "report_date": CORRECTED_DAY.isoformat()}
    assert cdf["size"] == named["bytes"] and cdf["id"].split(".")[0] == named["sha256"]
    assert requests.get(cdf["url"], timeout=30).content == sharing_publication.platform.publication.get(named["key"])


def test_the_change_feed_over_every_version(story_profiles, sharing_publication):
    url = table_url(story_profiles["la-e08000035"], TABLE)
    # A recipient whose files the correction kept sees no change at version 4.
    unchanged = delta_sharing.load_table_changes_as_pandas(
        table_url(story_profiles["la-e06000061"], TABLE), starting_version=4
    )
    assert len(unchanged) == 0
    # From the start, every date's first release inserts its rows; the correction changes a few.
    everything = delta_sharing.load_table_changes_as_pandas(url, starting_version=1, ending_version=4)
    assert sorted(everything.groupby(["_commit_version", "_change_type"]).size().items()) == [
        ((1, "insert"), 4),
        ((2, "insert"), 4),
        ((3, "insert"), 3),
        ((4, "delete"), 1),
        ((4, "insert"), 1),
        ((4, POST), 2),
        ((4, PRE), 2),
    ]
    first = everything[everything["_commit_version"] == 1].drop(columns=CDF_COLUMNS)
    assert rows_of(first, TABLE) == rows_of(published_rows(sharing_publication, TABLE, 1, [LEEDS]), TABLE)
    by_timestamp = delta_sharing.load_table_changes_as_pandas(url, starting_timestamp="2021-04-02T10:30:00Z")
    correction = delta_sharing.load_table_changes_as_pandas(url, starting_version=4)
    assert rows_of(by_timestamp.drop(columns=CDF_COLUMNS), TABLE) == rows_of(
        correction.drop(columns=CDF_COLUMNS), TABLE
    )
    assert sorted(by_timestamp["_change_type"]) == sorted(correction["_change_type"])


def test_a_release_published_before_change_data_files_is_answered_file_by_file(s3_client, sharing_recipients, tmp_path):
    bucket = f"careshare-share-{uuid.uuid4().hex[:10]}"
    create_buckets(s3_client, bucket)
    platform = sharing_support.sharing_platform(tmp_path, bucket, s3_client)
    publication = sharing_support.Publication(platform, bucket, publish_story(platform))
    store = platform.publication
    for key in [k for k in store.keys(f"_manifests/{TABLE}/") if k.endswith("/v0002.json")]:
        manifest = json.loads(store.get(key))  # as the publisher wrote it before change data files
        del manifest["change_data"]
        for entry in [*manifest["parts"].values(), *manifest["withdrawn"].values()]:
            del entry["change_data"]
        store.put(key, json.dumps(manifest).encode())
    with start_sharing_server(platform, sharing_recipients, tokens_of(TOKENS)) as server:
        profile = write_profile(tmp_path / "leeds.share", server.endpoint, "token-leeds")
        changes = delta_sharing.load_table_changes_as_pandas(table_url(profile, TABLE), starting_version=4)
    platform.warehouse.engine.dispose()
    on_day = lambda rows: rows.filter(pc.equal(rows["report_date"], pa.scalar(CORRECTED_DAY)))  # noqa: E731
    assert sorted(changes["_change_type"].value_counts().items()) == [("delete", 4), ("insert", 4)]
    deleted = changes[changes["_change_type"] == "delete"].drop(columns=CDF_COLUMNS)
    inserted = changes[changes["_change_type"] == "insert"].drop(columns=CDF_COLUMNS)
    assert rows_of(deleted, TABLE) == rows_of(on_day(published_rows(publication, TABLE, 3, [LEEDS])), TABLE)
    assert rows_of(inserted, TABLE) == rows_of(on_day(published_rows(publication, TABLE, 4, [LEEDS])), TABLE)


def test_file_entries_are_short_lived_release_files(story_server, sharing_publication):
    started = datetime.now(UTC)
    files = file_lines(query(story_server, token_of("la-e08000035"), TABLE, {}))
    manifests = files_at(sharing_publication, TABLE, sharing_publication.latest_version, [LEEDS])
    assert len(files) == len(manifests) == 3
    for entry in files:
        key = (
            entry["partitionValues"]["la_code"],
            datetime.fromisoformat(entry["partitionValues"]["report_date"]).date(),
        )
        published = manifests[key]
        url = urlparse(entry["url"])
        path = unquote(url.path)
        assert path.endswith(published["key"]) and "/_releases/" in path and "_staging" not in path
        assert parse_qs(url.query)["X-Amz-Expires"] == ["900"]
        assert entry["id"].split(".")[0] == published["sha256"] and entry["size"] == published["bytes"]
        assert (
            json.loads(entry["stats"])["numRecords"]
            == pq.read_metadata(
                pa.BufferReader(sharing_publication.platform.publication.get(published["key"]))
            ).num_rows
        )
        expires = datetime.fromtimestamp(entry["expirationTimestamp"] / 1000, UTC)
        assert started + timedelta(minutes=14) < expires <= datetime.now(UTC) + timedelta(minutes=15)
        assert requests.get(entry["url"], timeout=30).content == sharing_publication.platform.publication.get(
            published["key"]
        )
    assert {f["version"] for f in files} == {1, 3, 4}  # the version that added each file


def test_lists_and_files_page(story_server, story_profiles):
    client = DataSharingRestClient(DeltaSharingProfile.read_from_file(str(story_profiles[NATIONAL])))
    names, token, pages = [], None, 0
    while True:
        page = client.list_all_tables(Share("careshare"), max_results=1, page_token=token)
        names += [t.name for t in page.tables]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert (names, pages) == (sorted(DATASETS), 3)
    first = client.list_tables(delta_sharing.protocol.Schema("published", "careshare"), max_results=2)
    assert len(first.tables) == 2 and first.next_page_token
    rest = client.list_tables(delta_sharing.protocol.Schema("published", "careshare"), page_token=first.next_page_token)
    assert len(rest.tables) == 1 and not rest.next_page_token
    # A query's files page too (maxFiles / pageToken), every page of the same version.
    seen, token = [], None
    while True:
        body = {"maxFiles": 4, **({"pageToken": token} if token else {})}
        response = query(story_server, token_of(NATIONAL), TABLE, body)
        lines = [json.loads(line) for line in response.text.splitlines()]
        seen += [line["file"]["id"] for line in lines if "file" in line]
        token = next((line["endStreamAction"]["nextPageToken"] for line in lines if "endStreamAction" in line), None)
        if token is None:
            break
    assert len(seen) == len(set(seen)) == len(file_lines(query(story_server, token_of(NATIONAL), TABLE, {})))
    bad_token = requests.get(
        f"{story_server.endpoint}/shares?pageToken=garbage",
        headers={"Authorization": f"Bearer {token_of(NATIONAL)}"},
        timeout=30,
    )
    assert bad_token.status_code == 400 and bad_token.json()["errorCode"] == "INVALID_PARAMETER_VALUE"


def test_an_unknown_token_gets_401_and_nothing_else(story_server, tmp_path):
    profile = write_profile(tmp_path / "stranger.share", story_server.endpoint, "not-a-token")
    with pytest.raises(requests.HTTPError) as refused:
        delta_sharing.SharingClient(str(profile)).list_all_tables()
    assert refused.value.response.status_code == 401
    bodies = set()
    for headers in (
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
    ):
        for path in (
            "/shares",
            "/shares/careshare/schemas/published/tables/location_daily/metadata",
            "/shares/nope/all-tables",
        ):
            response = requests.get(story_server.endpoint + path, headers=headers, timeout=30)
            assert response.status_code == 401
            bodies.add(response.text)
    assert len(bodies) == 1 and "location_daily" not in bodies.pop()
    assert requests.get(f"{story_server.base_url}/health", timeout=30).json() == {"status": "ok"}


def test_protocol_errors_are_answered_in_the_protocols_shape(story_server):
    token = token_of("la-e08000035")
    cases = [
        (query(story_server, token, TABLE, {"version": 99}), 400),
        (query(story_server, token, TABLE, {"version": 0}), 400),
        (query(story_server, token, TABLE, {"timestamp": "2021-04-01T00:00:00Z"}), 400),
        (query(story_server, token, TABLE, {"timestamp": "yesterday"}), 400),
        (query(story_server, token, TABLE, {"limitHint": "many"}), 400),
        (query(story_server, token, "provider_daily", {}), 404),
        (query(story_server, token, "no_such_table", {}), 404),
        (
            requests.post(
                f"{story_server.endpoint}/shares/careshare/schemas/published/tables/{TABLE}/query",
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                data=b"{not json",
                timeout=30,
            ),
            400,
        ),
        (
            requests.post(
                f"{story_server.endpoint}/shares/careshare/schemas/published/tables/{TABLE}/query",
                headers={"Authorization": f"Bearer {token}"},
                json={"predicateHints": ["x" * 100_000]},
                timeout=30,
            ),
            400,
        ),
        (
            requests.get(
                f"{story_server.endpoint}/shares/careshare/schemas/published/tables/{TABLE}/changes?startingVersion=5",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ),
            400,
        ),
        (
            requests.get(
                f"{story_server.endpoint}/shares/careshare/schemas/published/tables/{TABLE}/changes",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ),
            400,
        ),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert set(response.json()) == {"errorCode", "message"}
    hidden, missing = cases[5][0].json(), cases[6][0].json()
    assert hidden["errorCode"] == missing["errorCode"] == "RESOURCE_DOES_NOT_EXIST"
    assert query(story_server, token, TABLE, {"limitHint": 1}).text.count('"file"') == 1


def test_the_parquet_format_is_answered_and_a_delta_only_client_is_told(story_server):
    url = f"{story_server.endpoint}/shares/careshare/schemas/published/tables/{TABLE}/metadata"
    auth = {"Authorization": f"Bearer {token_of('la-e08000035')}"}
    either = requests.get(
        url, headers={**auth, "delta-sharing-capabilities": "responseformat=delta,parquet"}, timeout=30
    )
    assert either.status_code == 200 and either.headers["delta-sharing-capabilities"] == "responseformat=parquet"
    delta_only = requests.get(url, headers={**auth, "delta-sharing-capabilities": "responseformat=delta"}, timeout=30)
    assert delta_only.status_code == 400 and "parquet" in delta_only.json()["message"]


def test_versions_and_metadata(story_server, story_profiles):
    url = table_url(story_profiles["la-e08000035"], TABLE)
    metadata = delta_sharing.get_table_metadata(url)
    schema = json.loads(metadata.schema_string)
    assert [f["name"] for f in schema["fields"]] == DATASETS[TABLE].column_names
    assert metadata.partition_columns == ["la_code", "report_date"]
    assert delta_sharing.get_table_protocol(url).min_reader_version == 1
    national = DataSharingRestClient(DeltaSharingProfile.read_from_file(str(story_profiles[NATIONAL])))
    provider = national.query_table_metadata(Table("provider_daily", "careshare", "published"))
    assert provider.metadata.partition_columns == ["report_date"] and provider.delta_table_version == 4
    head = requests.head(
        f"{story_server.endpoint}/shares/careshare/schemas/published/tables/{TABLE}",
        headers={"Authorization": f"Bearer {token_of('la-e08000035')}"},
        timeout=30,
    )
    assert head.status_code == 200 and head.headers["delta-table-version"] == "4"


def test_every_answer_is_logged_without_the_token(story_server, caplog):
    token = token_of("la-e08000035")
    with caplog.at_level(logging.INFO, logger="careshare.share.access"):
        file_lines(query(story_server, token, TABLE, {"version": 2}))
        requests.get(f"{story_server.endpoint}/shares", headers={"Authorization": "Bearer wrong-token"}, timeout=30)
    lines = [r.getMessage() for r in caplog.records if r.name == "careshare.share.access"]
    answered = next(line for line in lines if "/query" in line)
    for part in ("recipient=la-e08000035", "table=location_daily", "version=2", "files=2", "status=200"):
        assert part in answered, answered
    assert any("recipient=- " in line and "status=401" in line for line in lines)
    assert not any(token in line or "wrong-token" in line for line in lines)
