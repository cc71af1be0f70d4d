"""The repository contract (tests/contracts/repository.py) on SQLite and PostgreSQL.

The in-memory fake passes the same tests with the unit tests (tests/unit/test_contract_memory.py),
so it cannot drift from these adapters.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inventory_sync.adapters.sql.repository import SqlUnitOfWork
from inventory_sync.domain.ports import UnitOfWork
from tests.contracts.repository import RepositoryContract
from tests.integration.sql_support import engine_on


class TestSqliteRepository(RepositoryContract):
    @pytest.fixture
    def uow(self, sqlite_url: str) -> Iterator[UnitOfWork]:
        with engine_on(sqlite_url) as engine:
            yield SqlUnitOfWork(engine)


class TestPostgresRepository(RepositoryContract):
    @pytest.fixture
    def uow(self, fresh_postgres_url: str) -> Iterator[UnitOfWork]:
        with engine_on(fresh_postgres_url) as engine:
            yield SqlUnitOfWork(engine)
