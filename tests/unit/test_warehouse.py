import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from careshare.config import SQL_DIR
from careshare.conform.conform import STAGING_COLUMNS
from careshare.warehouse import Warehouse
from tests.conftest import drop_postgres_database, new_postgres_database


def test_migrations_apply_once_on_both_backends(warehouse_url):
    warehouse = Warehouse(warehouse_url)
    first = warehouse.migrate()
    assert first and first[0] == "001_foundation"
    assert warehouse.migrate() == []
    names = set(sa.inspect(warehouse.engine).get_table_names())
    assert {"stg_submission", "location_daily", "raw_delivery", "feed_day", "quarantine_row"} <= names


def test_staging_table_has_exactly_the_conformed_columns(warehouse_url):
    warehouse = Warehouse(warehouse_url)
    warehouse.migrate()
    assert list(warehouse.table("stg_submission").columns.keys()) == list(STAGING_COLUMNS)


@pytest.mark.postgres
def test_concurrent_migrations_of_a_fresh_postgres_warehouse_all_succeed(postgres_admin):
    """Celery workers start many tasks at once against a new warehouse: each one migrates."""
    url = new_postgres_database(postgres_admin)
    warehouses = [Warehouse(url) for _ in range(8)]
    try:
        barrier = threading.Barrier(len(warehouses))

        def migrate(warehouse: Warehouse) -> list[str]:
            barrier.wait()
            return warehouse.migrate()

        with ThreadPoolExecutor(len(warehouses)) as pool:
            applied = list(pool.map(migrate, warehouses))
        every_file = sorted(path.stem for path in (SQL_DIR / "schema").glob("[0-9][0-9][0-9]_*.sql"))[1:]
        assert sorted(name for names in applied for name in names) == every_file, "each file applied exactly once"
    finally:
        for warehouse in warehouses:
            warehouse.engine.dispose()
        drop_postgres_database(postgres_admin, url)


def test_a_failing_statement_never_carries_its_bound_values_into_the_error(warehouse_url):
    """Errors reach logs and alerts: they name the statement, never a raw record or a key."""
    warehouse = Warehouse(warehouse_url)
    warehouse.migrate()
    secret = "raw-record-of-a-care-home-0123456789"
    with pytest.raises(sa.exc.DBAPIError) as caught, warehouse.transaction() as connection:
        connection.execute(
            sa.text("INSERT INTO feed_day (feed, report_date, status, updated_at) VALUES (:feed, :day, :s, NULL)"),
            {"feed": secret, "day": "2020-12-01", "s": secret},
        )
    assert secret not in str(caught.value)
    assert "SQL parameters hidden" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "limit", "kept"),
    [
        ("short", 100, "short"),
        ("a\x00b", 100, "a\\x00b"),
        ("x" * 5000, 1000, "x" * 960 + "… [4,040 more characters]"),
    ],
)
def test_clip_keeps_text_within_its_column_and_says_how_much_was_cut(text, limit, kept):
    from careshare.warehouse import clip

    assert clip(text, limit) == kept
    assert len(clip(text, limit)) <= limit


def test_records_about_data_fit_their_columns_on_both_backends(warehouse_url):
    import pandas as pd

    warehouse = Warehouse(warehouse_url)
    warehouse.migrate()
    frame = pd.DataFrame(
        {
            "report_date": [pd.Timestamp("2020-12-01")],
            "feed": ["ct_care_homes"],
            "source_sha256": ["0" * 64],
            "source_row": [1],
            "stage": ["parse"],
            "rule": ["parse.too_long"],
            "column_name": ["Home_Name"],
            "severity": ["critical"],
            "value": ["v\x00" * 3000],
            "message": ["m" * 9000],
            "raw_record": ["r" * 200_000],
            "location_id": [None],
        }
    )
    with warehouse.transaction() as connection:
        warehouse.insert_frame(connection, "quarantine_row", warehouse.fit_text("quarantine_row", frame))
    stored = pd.read_sql_query(sa.text("SELECT value, message, raw_record FROM quarantine_row"), warehouse.engine)
    assert [len(stored.at[0, c]) <= n for c, n in (("value", 1000), ("message", 2000), ("raw_record", 8000))] == [
        True
    ] * 3
    assert "\x00" not in stored.at[0, "value"] and stored.at[0, "raw_record"].endswith("more characters]")
