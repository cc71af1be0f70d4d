"""Fresh databases for each measurement, seeded through the library's own schema and repository."""

from __future__ import annotations

from pathlib import Path

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:55432/inventory_sync_bench"


class NotABenchDatabase(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"refusing to drop database {name!r}: the benchmark drops and recreates the "
            "database named in --postgres-url, so its name must contain 'bench'"
        )


def fresh_database(kind: str, postgres_url: str, workdir: Path, label: str) -> str:
    """The URL of an empty database: a new SQLite file, or the bench PostgreSQL database
    dropped and created again."""
    if kind == "sqlite":
        path = workdir / f"{label}.db"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    _recreate_postgres(postgres_url, create=True)
    return postgres_url


def drop_postgres(postgres_url: str) -> None:
    _recreate_postgres(postgres_url, create=False)


def _recreate_postgres(postgres_url: str, *, create: bool) -> None:
    import sqlalchemy as sa

    url = sa.make_url(postgres_url)
    name = url.database or ""
    if "bench" not in name:
        raise NotABenchDatabase(name)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def seed(database_url: str, products: list[str]) -> None:
    """Create the owned schema and insert the products (count 0), as a shop would beforehand."""
    from inventory_sync import InventorySync, Settings
    from inventory_sync.domain.model import Product

    sync = InventorySync(Settings(database_url=database_url))
    try:
        sync.upgrade_database()
        with sync.container.unit_of_work() as uow:
            uow.products.add([Product(code=code, name=f"Product {code}") for code in products])
            uow.commit()
    finally:
        sync.close()


def final_counts(database_url: str) -> dict[str, int]:
    from inventory_sync import InventorySync, Settings

    sync = InventorySync(Settings(database_url=database_url))
    try:
        with sync.container.unit_of_work() as uow:
            return {product.code: product.inventory_count for product in uow.products.list()}
    finally:
        sync.close()
