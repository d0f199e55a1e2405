from datetime import date

import pytest

from careshare.publish import layout

DAY = date(2020, 11, 28)


def test_council_keys_need_a_council_of_the_reference(local_authorities):
    scope = layout.Scope.council("location_daily", "E06000001", local_authorities)
    assert scope.current(DAY) == "location_daily/la_code=E06000001/report_date=2020-11-28/part-0.parquet"
    assert scope.index == "location_daily/la_code=E06000001/_index.json"
    for text in ("E06000099", "e06000001", "E06000001/../E08000035", "", "W06000001"):
        with pytest.raises(layout.UncheckedKeyPart):
            layout.Scope.council("location_daily", text, local_authorities)


def test_no_scope_can_be_made_from_unchecked_text():
    with pytest.raises(layout.UncheckedKeyPart):
        layout.Scope("location_daily", "E06000001/../../x")
    with pytest.raises(layout.UncheckedKeyPart):
        layout.Scope.national("../location_daily")


def test_release_files_are_content_addressed(local_authorities):
    scope = layout.Scope.council("location_daily", "E06000001", local_authorities)
    sha = "a" * 64
    assert (
        scope.release_file(DAY, sha, "csv")
        == f"location_daily/la_code=E06000001/_releases/report_date=2020-11-28/{sha}.csv"
    )
    with pytest.raises(layout.UncheckedKeyPart):
        scope.release_file(DAY, "../../x", "csv")


def test_committed_versions_are_read_from_manifest_keys():
    prefix = layout.release_prefix("location_daily", DAY)
    keys = [f"{prefix}v0001.json", f"{prefix}v0001.complete.json", f"{prefix}v0012.json", f"{prefix}other.json"]
    assert layout.committed_versions(keys) == [1, 12]
    assert layout.release_manifest("location_daily", DAY, 12).endswith("/report_date=2020-11-28/v0012.json")
