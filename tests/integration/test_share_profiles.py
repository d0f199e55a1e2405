"""A profile issued by careshare.share.tokens, read by the real delta-sharing client through the
real server: the recipient sees its own council's rows, the guide's pandas snippet runs as
written; once its token is revoked, rotated out or expired the server answers 401 and the client
reads nothing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import delta_sharing
import pytest

from careshare.share.tokens import ShareTokens, write_profile
from tests.conftest import REPO_ROOT
from tests.integration.sharing_support import (  # noqa: F401  (fixtures)
    LEEDS,
    SPLIT_DAY,
    sharing_publication,
    sharing_recipients,
    start_sharing_server,
    table_url,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(request):
    """The story publication served with the warehouse's tokens as the server's token check."""
    publication = request.getfixturevalue("sharing_publication")
    publication.platform.warehouse.migrate()
    tokens = ShareTokens(publication.platform.warehouse)
    recipients = request.getfixturevalue("sharing_recipients")
    with start_sharing_server(publication.platform, recipients, tokens.recipient_of) as running:
        yield running, tokens


def profile_of(server, tmp_path, issued, name="leeds.share"):
    running, _ = server
    path = tmp_path / name
    write_profile(path, running.endpoint, issued)
    return path


def councils_read(profile) -> set[str]:
    return set(delta_sharing.load_as_pandas(table_url(profile, "location_daily"))["la_code"])


def refused(profile) -> bool:
    try:
        delta_sharing.SharingClient(str(profile)).list_all_tables()
    except Exception as error:  # the client raises requests' HTTPError
        return "401" in str(error)
    return False


def one_day(day: str) -> str:
    """The guide's date filter ("Read through Delta Sharing")."""
    return json.dumps(
        {
            "op": "equal",
            "children": [
                {"op": "column", "name": "report_date", "valueType": "date"},
                {"op": "literal", "value": day, "valueType": "date"},
            ],
        }
    )


def test_an_issued_profile_reads_its_councils_only(server, tmp_path):
    _, tokens = server
    profile = profile_of(server, tmp_path, tokens.issue("la-e08000035", timedelta(days=90)))
    assert councils_read(profile) == {LEEDS}
    table = table_url(profile, "location_daily")
    dated = delta_sharing.load_as_pandas(table, jsonPredicateHints=one_day(SPLIT_DAY.isoformat()))
    assert {str(day)[:10] for day in dated["report_date"]} == {SPLIT_DAY.isoformat()} and len(dated) > 0


def test_revoked_rotated_and_expired_tokens_get_401(server, tmp_path):
    _, tokens = server
    first = profile_of(server, tmp_path, tokens.issue("lrf-test", timedelta(days=1)), "first.share")
    rotated = profile_of(server, tmp_path, tokens.rotate("lrf-test", timedelta(days=1)), "rotated.share")
    assert refused(first) and not refused(rotated)
    tokens.revoke("lrf-test")
    assert refused(rotated)

    long_ago = datetime.now(UTC) - timedelta(days=2)
    expired = profile_of(server, tmp_path, tokens.issue("la-e08000035", timedelta(days=1), now=long_ago), "old.share")
    assert refused(expired)


def guide_pandas_snippet() -> str:
    guide = (REPO_ROOT / "docs" / "access-and-sharing.md").read_text(encoding="utf-8")
    section = guide[guide.index("## Read through Delta Sharing") :]
    return re.search(r"```python\n(.*?)```", section, flags=re.DOTALL).group(1)


def test_the_guides_pandas_snippet_runs_with_an_issued_profile(server, tmp_path, monkeypatch):
    _, tokens = server
    profile_of(server, tmp_path, tokens.issue("la-e08000035", timedelta(days=1)), "profile.share")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(guide_pandas_snippet(), "docs/access-and-sharing.md", "exec"), namespace)
    assert set(namespace["frame"]["la_code"]) == {LEEDS}
    assert namespace["day"].empty  # the story publishes no 2020-11-30
    assert set(namespace["then"]["la_code"]) == {LEEDS}
    assert "_change_type" in namespace["corrections"].columns
