"""Share tokens on PostgreSQL: the same lifecycle as on SQLite (tests/unit/share/test_tokens.py),
and rotations racing each other for one recipient leave exactly one token in force."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from careshare.share.tokens import DEFAULT_LIFETIME, ShareTokens
from careshare.warehouse import Warehouse
from tests.conftest import drop_postgres_database, new_postgres_database

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 2, 9, 30, 15, 654321, tzinfo=UTC)


@pytest.fixture
def tokens(postgres_admin):
    url = new_postgres_database(postgres_admin)
    warehouse = Warehouse(url)
    warehouse.migrate()
    yield ShareTokens(warehouse)
    warehouse.engine.dispose()
    drop_postgres_database(postgres_admin, url)


def test_issue_expire_revoke_and_rotate_on_postgresql(tokens):
    issued = tokens.issue("la-e08000035", timedelta(days=30), now=NOW)
    assert issued.expires_at == datetime(2027, 1, 1, 9, 30, 15, tzinfo=UTC)
    assert tokens.recipient_of(issued.token, now=NOW) == "la-e08000035"
    assert tokens.recipient_of(issued.token, now=issued.expires_at - timedelta(microseconds=1)) == "la-e08000035"
    assert tokens.recipient_of(issued.token, now=issued.expires_at) is None
    assert tokens.recipient_of(issued.token[:-1], now=NOW) is None

    other = tokens.issue("la-e06000001", DEFAULT_LIFETIME, now=NOW)
    rotated = tokens.rotate("la-e08000035", DEFAULT_LIFETIME, now=NOW + timedelta(hours=1))
    later = NOW + timedelta(hours=2)
    assert tokens.recipient_of(issued.token, now=later) is None
    assert tokens.recipient_of(rotated.token, now=later) == "la-e08000035"
    assert tokens.revoke("la-e08000035", now=later) == 1
    assert tokens.recipient_of(rotated.token, now=later) is None
    assert tokens.recipient_of(other.token, now=later) == "la-e06000001"

    with tokens.warehouse.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT token_sha256, expires_at FROM share_token")).all()
    assert len(stored) == 3 and all(issued.token not in row.token_sha256 for row in stored)


def test_concurrent_rotations_leave_one_token_in_force(tokens):
    with ThreadPoolExecutor(max_workers=4) as pool:
        rotated = list(pool.map(lambda _: tokens.rotate("dhsc", DEFAULT_LIFETIME), range(8)))
    in_force = [t for t in rotated if tokens.recipient_of(t.token) == "dhsc"]
    assert len(in_force) == 1
