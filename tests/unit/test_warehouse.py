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
