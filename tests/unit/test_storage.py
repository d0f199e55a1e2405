import pytest

from careshare.storage import LocalStore, open_store


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, s3_client, buckets):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    return open_store(f"s3://{buckets['raw']}/archive", s3_client)


def test_put_get_list_delete(store):
    assert store.put("a/x.csv", b"1")
    assert store.put("a/y.parquet", b"2")
    assert store.get("a/x.csv") == b"1"
    assert store.keys("a/") == ["a/x.csv", "a/y.parquet"]
    store.delete(["a/x.csv"])
    assert not store.exists("a/x.csv") and store.exists("a/y.parquet")


def test_if_absent_never_replaces(store):
    assert store.put("k.json", b"first", if_absent=True)
    assert not store.put("k.json", b"second", if_absent=True)
    assert store.get("k.json") == b"first"


def test_s3_objects_are_encrypted_and_typed(s3_client, buckets):
    store = open_store(f"s3://{buckets['published']}", s3_client)
    store.put("d/part-0.parquet", b"PAR1")
    head = s3_client.head_object(Bucket=buckets["published"], Key="d/part-0.parquet")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "application/vnd.apache.parquet"


def test_local_store_refuses_keys_outside_its_root(tmp_path):
    with pytest.raises(ValueError, match="escapes"):
        LocalStore(tmp_path / "root").put("../outside", b"x")
