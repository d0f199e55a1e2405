"""`careshare db migrate`: the deployment step that brings the warehouse's schema up to date.

Tasks and other commands never change the schema; they stop, naming this command, when the
warehouse lacks a migration (warehouse.NotMigrated).
"""

from __future__ import annotations

import argparse
from typing import Any


def register_db(groups: Any) -> None:
    db = groups.add_parser("db", help="the warehouse's schema")
    commands = db.add_subparsers(dest="command", metavar="COMMAND", required=True)
    migrate = commands.add_parser(
        "migrate", help="apply the schema changes not yet applied (CARESHARE_WAREHOUSE_URL); safe to repeat"
    )
    migrate.set_defaults(handler=_migrate)


def _migrate(_args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from careshare.config import Settings
    from careshare.warehouse import Warehouse

    settings = Settings.from_env()
    settings.home.mkdir(parents=True, exist_ok=True)  # the embedded default's SQLite file lives there
    warehouse = Warehouse(settings.warehouse_url)
    applied = warehouse.migrate()
    warehouse.engine.dispose()
    where = sa.engine.make_url(settings.warehouse_url).render_as_string(hide_password=True)
    print(f"{where}: applied {', '.join(applied)}" if applied else f"{where}: up to date")
    return 0
