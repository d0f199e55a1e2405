from pathlib import Path

import pytest

from careshare.access.recipients import RecipientConfigError, load_recipients, recipients_from
from careshare.config import RECIPIENTS_TOML

SOURCE = Path("recipients.toml")


def test_the_repository_configuration_is_valid_and_covers_every_council(local_authorities):
    recipients = load_recipients(local_authorities, RECIPIENTS_TOML)
    councils = {r.id: r for r in recipients if r.kind == "council"}
    assert set(councils) == {f"la-{la.code.lower()}" for la in local_authorities}
    assert {r.kind for r in recipients} >= {"council", "lrf", "ccg", "national"}
    assert len(recipients) == len({r.id for r in recipients})
    for recipient in recipients:
        assert all(code in local_authorities for code in recipient.la_codes)


def test_a_council_that_replaced_others_reads_their_data(local_authorities):
    recipients = {r.id: r for r in load_recipients(local_authorities, RECIPIENTS_TOML)}
    assert recipients["la-e06000061"].la_codes == {"E06000061", "E10000021"}  # North Northamptonshire
    assert recipients["la-e10000021"].la_codes == {"E10000021"}
    assert recipients["la-e08000035"].la_codes == {"E08000035"}
    assert recipients["lrf-cumbria"].la_codes == {"E10000006", "E06000063", "E06000064"}
    london = recipients["lrf-london"]
    assert len(london.la_codes) == 33 and all(code.startswith("E09") for code in london.la_codes)


def test_reads_is_by_council_and_national_reads_all(local_authorities):
    recipients = {r.id: r for r in load_recipients(local_authorities, RECIPIENTS_TOML)}
    assert recipients["ccg-leeds"].reads("E08000035") and not recipients["ccg-leeds"].reads("E08000036")
    assert recipients["dhsc"].reads("E06000001") and recipients["dhsc"].reads(None)
    assert not recipients["ccg-leeds"].reads(None)


def test_every_problem_is_reported_with_where_it_is(local_authorities):
    config = {
        "councils": {"each": False, "typo": 1},
        "groups": [
            {"id": "lrf-x", "name": "X", "kind": "lrf", "la_codes": ["E06000001", "E06000099", "Leeds"]},
            {"id": "lrf-x", "name": "Y", "kind": "forum", "regions": ["E12000099"]},
            {"id": "Bad Id", "name": "", "kind": "ccg"},
        ],
        "national": [{"id": "dhsc", "name": "DHSC", "scope": "all"}],
        "extra": {},
    }
    with pytest.raises(RecipientConfigError) as raised:
        recipients_from(config, local_authorities, SOURCE)
    problems = "\n".join(raised.value.problems)
    for expected in (
        "unknown sections ['extra']",
        "[councils]: unknown keys ['typo']",
        "[[groups]] #1 (lrf-x): la_code 'E06000099' is not a council in the reference",
        "la_code 'Leeds' is not a council",
        "[[groups]] #2 (lrf-x): kind 'forum'",
        "region 'E12000099' is not a region",
        "[[groups]] #3 (Bad Id): names no la_codes and no regions",
        "recipient id 'lrf-x' is used twice",
        "recipient id 'Bad Id' must match",
        "recipient 'Bad Id' has no name",
        "[[national]] #1: unknown keys ['scope']",
    ):
        assert expected in problems
    assert str(SOURCE) in str(raised.value)


def test_invalid_toml_is_named(tmp_path, local_authorities):
    path = tmp_path / "recipients.toml"
    path.write_text("[[groups]\n")
    with pytest.raises(RecipientConfigError, match="not valid TOML"):
        load_recipients(local_authorities, path)
