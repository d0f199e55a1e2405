import sqlalchemy as sa

from careshare.conform.conform import STAGING_COLUMNS
from careshare.warehouse import Warehouse


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
