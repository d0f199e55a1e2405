"""The warehouse: SQLAlchemy over SQLite (embedded default) or PostgreSQL.

Every statement lives in the package's sql/ folder; schema changes are numbered files under
sql/schema applied once each, in order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from careshare.config import SQL_DIR

INSERT_BATCH_ROWS = 5000


class NotMigrated(RuntimeError):
    """The warehouse lacks schema changes this package needs; `careshare db migrate` applies them."""


@cache
def sql_text(name: str) -> str:
    """The statement in sql/<name>.sql."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def sql(name: str) -> sa.TextClause:
    return sa.text(sql_text(name))


def split_statements(script: str) -> list[str]:
    without_comments = re.sub(r"--[^\n]*", "", script)
    return [s.strip() for s in without_comments.split(";") if s.strip()]


class Warehouse:
    def __init__(self, url: str, *, engine: Engine | None = None):
        self.url = url
        self.engine = engine or make_engine(url)
        self._tables: dict[str, sa.Table] = {}

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def migrate(self) -> list[str]:
        """Apply the schema files not yet applied; returns the names applied now."""
        applied_now: list[str] = []
        with self.transaction() as connection:
            self.lock(connection, "migrate")
            for statement in split_statements(sql_text("schema/000_migrations")):
                connection.execute(sa.text(statement))
        for path in migration_files():
            with self.transaction() as connection:
                self.lock(connection, "migrate")
                done = connection.execute(sql("schema/applied"), {"name": path.stem}).first()
                if done:
                    continue
                for statement in split_statements(path.read_text(encoding="utf-8")):
                    connection.execute(sa.text(statement))
                connection.execute(sql("schema/record_applied"), {"name": path.stem})
                applied_now.append(path.stem)
        self._tables.clear()
        return applied_now

    def pending_migrations(self) -> list[str]:
        """The schema files not yet applied, in order (all of them on an empty database)."""
        wanted = [path.stem for path in migration_files()]
        if not sa.inspect(self.engine).has_table("schema_migration"):
            return wanted
        with self.engine.connect() as connection:
            applied = set(connection.execute(sql("schema/applied_names")).scalars())
        return [name for name in wanted if name not in applied]

    def require_migrated(self) -> None:
        """Tasks and commands never change the schema: migration is a deployment step."""
        pending = self.pending_migrations()
        if pending:
            where = sa.engine.make_url(self.url).render_as_string(hide_password=True)
            raise NotMigrated(
                f"the warehouse {where} lacks {len(pending)} schema change(s) ({', '.join(pending)}): "
                "run `careshare db migrate` (compose: the airflow-init service does)"
            )

    def lock(self, connection: Connection, *thing: object) -> None:
        """Serialise the transactions that rewrite one thing (the schema, a feed's day, a merge day)
        until this transaction ends. Two deployments may migrate one warehouse at once, and
        PostgreSQL's CREATE ... IF NOT EXISTS is not safe against a concurrent create. SQLite needs
        nothing: its database lock already admits one writer."""
        if self.dialect == "postgresql":
            digest = hashlib.sha256(":".join(map(str, thing)).encode()).digest()
            connection.execute(sql("locks/advisory"), {"key": int.from_bytes(digest[:8], "big", signed=True)})

    def table(self, name: str) -> sa.Table:
        if name not in self._tables:
            self._tables[name] = sa.Table(name, sa.MetaData(), autoload_with=self.engine)
        return self._tables[name]

    def insert_frame(self, connection: Connection, table_name: str, frame: pd.DataFrame) -> int:
        """Bulk insert; the frame's columns must be the table's columns."""
        table = self.table(table_name)
        unknown = set(frame.columns) - set(table.columns.keys())
        if unknown:
            raise ValueError(f"{table_name} has no columns {sorted(unknown)}")
        records = to_records(frame)
        for start in range(0, len(records), INSERT_BATCH_ROWS):
            connection.execute(table.insert(), records[start : start + INSERT_BATCH_ROWS])
        return len(records)

    def fit_text(self, table_name: str, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame with every text cell clipped to its column's length (see `clip`): for records
        about data (quarantine, messages), never for the data itself, which is quarantined instead."""
        fitted = frame.copy()
        for column in self.table(table_name).columns:
            limit = getattr(column.type, "length", None)
            if limit and column.name in fitted:
                values = fitted[column.name].astype(object)
                fitted[column.name] = [v if not isinstance(v, str) else clip(v, limit) for v in values]
        return fitted

    def query_frame(
        self, name: str, params: Mapping[str, Any] | None = None, connection: Connection | None = None
    ) -> pd.DataFrame:
        """The statement's rows; inside `connection`'s transaction when given (e.g. under a lock)."""
        if connection is not None:
            return _frame(connection.execute(sql(name), dict(params or {})))
        with self.engine.connect() as own:
            return _frame(own.execute(sql(name), dict(params or {})))

    def execute(self, connection: Connection, name: str, params: Mapping[str, Any] | Sequence = ()) -> int:
        result = connection.execute(sql(name), params if params else {})
        return result.rowcount

    def execute_script(self, connection: Connection, name: str, params: Mapping[str, Any]) -> None:
        for statement in split_statements(sql_text(name)):
            connection.execute(sa.text(statement), dict(params))


def migration_files() -> list[Path]:
    """The numbered schema files, in the order they apply (000_migrations is the ledger itself)."""
    return [
        path for path in sorted((SQL_DIR / "schema").glob("[0-9][0-9][0-9]_*.sql")) if path.stem != "000_migrations"
    ]


def _frame(result: sa.CursorResult) -> pd.DataFrame:
    """Rows as plain tuples: pandas makes tuples of them anyway, after asking every row for a `dtype`,
    which a SQLAlchemy Row answers through its slow missing-attribute path."""
    return pd.DataFrame([tuple(row) for row in result.fetchall()], columns=list(result.keys()))


def make_engine(url: str) -> Engine:
    """An engine whose errors never carry bound parameters (raw records, keys) into logs or alerts."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60}, hide_parameters=True)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)


def clip(text: str | None, limit: int) -> str | None:
    """`text` as a bounded column of `limit` characters keeps it: NUL shown as \\x00 (PostgreSQL
    refuses NUL in text), and anything past the limit cut with a note of how much was cut."""
    if text is None:
        return None
    text = text.replace("\x00", "\\x00")
    if len(text) <= limit:
        return text
    kept = limit - 40  # room for the note
    return f"{text[:kept]}… [{len(text) - kept:,} more characters]"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain Python values (None for missing, datetime for timestamps) for the DB driver."""
    converted = {}
    for name, column in frame.items():
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            values = [None if pd.isna(v) else v.to_pydatetime() for v in column]
        else:
            values = column.astype(object).where(column.notna(), None).tolist()
        converted[name] = values
    names = list(converted)
    return [dict(zip(names, row, strict=True)) for row in zip(*converted.values(), strict=True)]
