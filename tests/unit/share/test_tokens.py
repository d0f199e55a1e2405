"""Share tokens on SQLite: random, stored only as hashes, bounded lifetimes, expiry, revocation and
rotation; and the profile file a recipient gets."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from careshare.share.tokens import DEFAULT_LIFETIME, MAX_LIFETIME, IssuedToken, ShareTokens, write_profile
from careshare.warehouse import Warehouse

NOW = datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def warehouse(tmp_path):
    built = Warehouse(f"sqlite:///{tmp_path / 'warehouse.db'}")
    built.migrate()
    yield built
    built.engine.dispose()


@pytest.fixture
def tokens(warehouse) -> ShareTokens:
    return ShareTokens(warehouse)


def stored(warehouse: Warehouse) -> list[dict]:
    with warehouse.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.text("SELECT * FROM share_token"))]


def test_a_token_is_random_and_only_its_hash_is_stored(tokens, warehouse):
    first = tokens.issue("la-e08000035", DEFAULT_LIFETIME, now=NOW)
    second = tokens.issue("la-e08000035", DEFAULT_LIFETIME, now=NOW)
    assert first.token != second.token and len(first.token) >= 43
    rows = stored(warehouse)
    assert {row["token_sha256"] for row in rows} == {
        hashlib.sha256(issued.token.encode()).hexdigest() for issued in (first, second)
    }
    text = json.dumps(rows, default=str)
    assert first.token not in text and second.token not in text
    assert first.token not in repr(first) and first.token not in str(first)


def test_a_token_names_its_recipient_until_it_expires(tokens):
    issued = tokens.issue("la-e08000035", timedelta(days=30), now=NOW)
    assert issued == IssuedToken(issued.token, "la-e08000035", datetime(2027, 1, 1, 9, 30, 15, tzinfo=UTC))
    assert tokens.recipient_of(issued.token, now=NOW) == "la-e08000035"
    assert tokens.recipient_of(issued.token, now=issued.expires_at - timedelta(seconds=1)) == "la-e08000035"
    assert tokens.recipient_of(issued.token, now=issued.expires_at) is None
    assert tokens.recipient_of(issued.token, now=issued.expires_at + timedelta(days=1)) is None


def test_unknown_and_malformed_bearers_name_nobody(tokens):
    issued = tokens.issue("la-e08000035", DEFAULT_LIFETIME, now=NOW)
    for bearer in (
        "",
        "x",
        issued.token[:-1],
        issued.token + "x",
        issued.token.upper(),
        "' OR 1=1 --",
        "a" * 10_000,
        "é",
        "\udcff",
    ):
        assert tokens.recipient_of(bearer, now=NOW) is None, bearer
    assert tokens.recipient_of(hashlib.sha256(issued.token.encode()).hexdigest(), now=NOW) is None


def test_revoking_ends_every_token_of_that_recipient_only(tokens):
    leeds = [tokens.issue("la-e08000035", DEFAULT_LIFETIME, now=NOW) for _ in range(2)]
    expired = tokens.issue("la-e08000035", timedelta(days=1), now=NOW - timedelta(days=2))
    hartlepool = tokens.issue("la-e06000001", DEFAULT_LIFETIME, now=NOW)
    later = NOW + timedelta(hours=1)
    assert tokens.revoke("la-e08000035", now=later) == 2  # the expired one was not in force
    assert [tokens.recipient_of(t.token, now=later) for t in [*leeds, expired]] == [None, None, None]
    assert tokens.recipient_of(hartlepool.token, now=later) == "la-e06000001"
    assert tokens.revoke("la-e08000035", now=later) == 0
    assert tokens.revoke("nobody", now=later) == 0


def test_a_token_revoked_stays_revoked_and_a_new_one_works(tokens):
    old = tokens.issue("lrf-cumbria", DEFAULT_LIFETIME, now=NOW)
    tokens.revoke("lrf-cumbria", now=NOW)
    new = tokens.issue("lrf-cumbria", DEFAULT_LIFETIME, now=NOW + timedelta(minutes=1))
    later = NOW + timedelta(days=1)
    assert tokens.recipient_of(old.token, now=later) is None
    assert tokens.recipient_of(new.token, now=later) == "lrf-cumbria"


def test_rotating_issues_a_new_token_and_revokes_every_earlier_one(tokens):
    earlier = [tokens.issue("dhsc", DEFAULT_LIFETIME, now=NOW - timedelta(days=n)) for n in range(3)]
    other = tokens.issue("lrf-cumbria", DEFAULT_LIFETIME, now=NOW)
    rotated = tokens.rotate("dhsc", timedelta(days=7), now=NOW)
    assert rotated.expires_at == (NOW + timedelta(days=7)).replace(microsecond=0)
    assert [tokens.recipient_of(t.token, now=NOW) for t in earlier] == [None, None, None]
    assert tokens.recipient_of(rotated.token, now=NOW) == "dhsc"
    assert tokens.recipient_of(other.token, now=NOW) == "lrf-cumbria"


def test_a_lifetime_is_positive_and_at_most_a_year(tokens, warehouse):
    assert (DEFAULT_LIFETIME.days, MAX_LIFETIME.days) == (90, 365)
    for lifetime in (timedelta(0), timedelta(seconds=-1), MAX_LIFETIME + timedelta(seconds=1)):
        with pytest.raises(ValueError):
            tokens.issue("dhsc", lifetime, now=NOW)
        with pytest.raises(ValueError):
            tokens.rotate("dhsc", lifetime, now=NOW)
    assert tokens.issue("dhsc", MAX_LIFETIME, now=NOW).expires_at == datetime(2027, 12, 2, 9, 30, 15, tzinfo=UTC)
    assert len(stored(warehouse)) == 1


def test_times_are_utc_and_naive_ones_are_refused(tokens):
    in_paris = datetime(2026, 12, 2, 10, 30, 15, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    issued = tokens.issue("dhsc", timedelta(days=1), now=in_paris)
    assert issued.expires_at == datetime(2026, 12, 3, 10, 30, 15, tzinfo=UTC)
    assert issued.expires_at.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="zone"):
        tokens.issue("dhsc", timedelta(days=1), now=datetime(2026, 12, 2))
    with pytest.raises(ValueError, match="zone"):
        tokens.recipient_of(issued.token, now=datetime(2026, 12, 2))


def test_without_now_the_clock_decides(tokens):
    issued = tokens.issue("dhsc", timedelta(days=1))
    assert tokens.recipient_of(issued.token) == "dhsc"
    assert timedelta(hours=23) < issued.expires_at - datetime.now(UTC) <= timedelta(days=1)


def test_the_profile_file_is_the_protocols_and_only_its_owner_reads_it(tmp_path):
    issued = IssuedToken("secret-token", "la-e08000035", datetime(2027, 3, 2, 9, 30, 15, tzinfo=UTC))
    path = tmp_path / "profiles" / "leeds.share"
    write_profile(path, "https://share.example.org/delta-sharing", issued)
    assert json.loads(path.read_text()) == {
        "shareCredentialsVersion": 1,
        "endpoint": "https://share.example.org/delta-sharing",
        "bearerToken": "secret-token",
        "expirationTime": "2027-03-02T09:30:15Z",
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    write_profile(path, "https://share.example.org/delta-sharing", issued)  # an existing file is replaced
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["leeds.share"]
