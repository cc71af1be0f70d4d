"""Shared fixtures: the real services for integration tests.

Integration tests get PostgreSQL from INVENTORY_SYNC_TEST_POSTGRES_URL and Kafka from
INVENTORY_SYNC_TEST_KAFKA (scripts/test starts both). Outside CI a missing service skips
those tests with the reason; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# The contract suites live outside test_*.py modules: have pytest explain their failures too.
pytest.register_assert_rewrite("tests.contracts")

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _missing(what: str) -> None:
    message = f"{what} is not available; scripts/test starts it"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The server URL (SQLAlchemy form) of a real PostgreSQL; each test makes its own database."""
    url = os.environ.get("INVENTORY_SYNC_TEST_POSTGRES_URL")
    if not url:
        _missing("PostgreSQL (INVENTORY_SYNC_TEST_POSTGRES_URL)")
    assert url is not None
    return url


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A new SQLite file for one test."""
    return f"sqlite:///{tmp_path / 'inventory.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs once on a fresh SQLite file and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "fresh_postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """host:port of a real Kafka broker."""
    servers = os.environ.get("INVENTORY_SYNC_TEST_KAFKA")
    if not servers:
        _missing("Kafka (INVENTORY_SYNC_TEST_KAFKA)")
    assert servers is not None
    host, _, port = servers.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        _missing(f"Kafka at {servers} ({exc})")
    return servers


@pytest.fixture
def topic_name() -> str:
    """A fresh topic name per test; its dead-letter topic is f"{topic_name}.dlq"."""
    return f"inventory-test-{uuid.uuid4().hex[:10]}"
