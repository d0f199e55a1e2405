"""Fixtures shared by every suite: the reference data, a real S3 endpoint (moto's server over
HTTP), and warehouses on SQLite and on the local PostgreSQL server."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from careshare.config import REFERENCE_CSV, Settings
from careshare.councils import LocalAuthorities, load_local_authorities

REPO_ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = os.environ.get("CARESHARE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
S3_REGION = "eu-west-2"

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
# A shared 2-core machine makes per-example timings meaningless: no deadline, fixed examples.
hypothesis_settings.register_profile("careshare", deadline=None, derandomize=True)
hypothesis_settings.load_profile("careshare")


@pytest.fixture(scope="session")
def local_authorities() -> LocalAuthorities:
    return load_local_authorities(REFERENCE_CSV)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from careshare_dev.local_s3 import threaded_moto_server

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    server = threaded_moto_server()
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def make_s3_client(endpoint: str):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str):
    return make_s3_client(s3_endpoint)


def create_buckets(client, *names: str) -> None:
    for name in names:
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": S3_REGION})


@pytest.fixture
def buckets(s3_client) -> dict[str, str]:
    """Fresh raw, publication and quality buckets for one test."""
    suffix = uuid.uuid4().hex[:10]
    names = {kind: f"careshare-{kind}-{suffix}" for kind in ("raw", "published", "quality")}
    create_buckets(s3_client, *names.values())
    return names


@pytest.fixture(scope="session")
def postgres_admin():
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} (run scripts/ensure_services.sh): {error}")
    yield engine
    engine.dispose()


def new_postgres_database(admin) -> str:
    import sqlalchemy as sa

    name = f"careshare_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin, url: str) -> None:
    import sqlalchemy as sa

    name = sa.engine.make_url(url).database
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def migrate_warehouse(url: str) -> None:
    """What `careshare db migrate` does before a deployment's first task."""
    from careshare.warehouse import Warehouse

    warehouse = Warehouse(url)
    warehouse.migrate()
    warehouse.engine.dispose()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def fresh_warehouse(request, folder: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{folder / 'warehouse.db'}"
        return
    admin = request.getfixturevalue("postgres_admin")
    url = new_postgres_database(admin)
    yield url
    drop_postgres_database(admin, url)


@pytest.fixture(params=BACKENDS)
def warehouse_url(request, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty warehouse on each backend."""
    yield from fresh_warehouse(request, tmp_path)


@pytest.fixture(scope="module", params=BACKENDS)
def module_warehouse_url(request, tmp_path_factory) -> Iterator[str]:
    """A fresh warehouse on each backend, shared by one module's tests."""
    yield from fresh_warehouse(request, tmp_path_factory.mktemp("warehouse"))


def settings_for(home: Path, warehouse_url: str, buckets: dict[str, str] | None = None) -> Settings:
    """A deployment's Settings with the packaged reference and suites: its stores are the `raw`,
    `published` and `quality` buckets when given, else folders under `home`."""
    if buckets:
        stores = {setting: f"s3://{buckets[name]}" for setting, name in STORES.items()}
    else:
        stores = {setting: str(home / name) for setting, name in STORES.items()}
    return Settings(home=home, warehouse_url=warehouse_url, **stores)


def migrated_platform(settings: Settings, s3_client=None):
    """The platform as every deployment builds it (Platform.from_settings), its warehouse migrated."""
    from careshare.resources import Platform

    built = Platform.from_settings(settings, s3_client)
    built.warehouse.migrate()
    return built


STORES = {"raw_archive_uri": "raw", "publish_uri": "published", "quality_uri": "quality"}  # setting: bucket or folder


@pytest.fixture
def settings(tmp_path: Path, warehouse_url: str, buckets: dict[str, str]) -> Settings:
    return settings_for(tmp_path, warehouse_url, buckets)


@pytest.fixture
def platform(settings: Settings, s3_client):
    built = migrated_platform(settings, s3_client)
    yield built
    built.warehouse.engine.dispose()
