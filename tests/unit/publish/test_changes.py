import pyarrow as pa

from careshare.publish.changes import Changes, compare


def table(rows: dict[str, int]) -> pa.Table:
    return pa.table({"location_id": list(rows), "beds": list(rows.values())})


def test_rows_are_matched_by_key():
    old = table({"a": 1, "b": 2, "c": 3})
    new = table({"b": 2, "c": 30, "d": 4})
    assert compare(old, new, ["location_id"]) == Changes(added=1, removed=1, changed=1, unchanged=1)


def test_a_first_release_adds_everything_and_a_withdrawal_removes_everything():
    rows = table({"a": 1, "b": 2})
    assert compare(None, rows, ["location_id"]) == Changes(added=2)
    assert compare(rows, None, ["location_id"]) == Changes(removed=2)


def test_files_without_a_key_compare_by_position():
    assert compare(pa.table({"n": [1]}), pa.table({"n": [2]}), []) == Changes(changed=1)


def test_changes_add_up():
    assert Changes(1, 2, 3, 4) + Changes(1, 1, 1, 1) == Changes(2, 3, 4, 5)
    assert not Changes(unchanged=5).any and Changes(removed=1).any
