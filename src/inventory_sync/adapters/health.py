"""Is the database ready, is Kafka ready: what `check` prints and what `run` makes sure of
before it starts. A service that cannot be reached raises; one that is reachable but not
ready gives Health(ok=False) with what to do about it. DependencyProbe asks both, quickly,
for /readyz while the worker runs."""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from inventory_sync.settings import Settings, mask_url_password

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from inventory_sync.adapters.sql.tables import TableMapping


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    detail: str


def database_health(engine: Engine, mapping: TableMapping, settings: Settings) -> Health:
    """The owned schema is at the newest revisions, or the mapped table has its columns (and,
    with offset_storage = database, the offsets table beside it is current)."""
    if mapping.owned:
        return _schema_health(engine, products=True)
    mapped = _mapped_table_health(engine, settings)
    if not mapped.ok or settings.offset_storage != "database":
        return mapped
    offsets = _schema_health(engine, products=False)
    return offsets if not offsets.ok else Health(True, f"{mapped.detail}; {offsets.detail}")


def _schema_health(engine: Engine, *, products: bool) -> Health:
    from inventory_sync.adapters.sql.migrate import current_revisions, head_revisions

    current, heads = current_revisions(engine), head_revisions(products=products)
    shown = ", ".join(sorted(heads))
    what = "schema" if products else "offsets table"
    if heads <= current:
        return Health(True, f"{what} at revision {shown} (current)")
    if not current:
        return Health(False, f"no {what} yet: run `inventory-sync db upgrade`")
    return Health(
        False,
        f"{what} at revision {', '.join(sorted(current))}, {shown} expected: "
        "run `inventory-sync db upgrade`",
    )


def _mapped_table_health(engine: Engine, settings: Settings) -> Health:
    import sqlalchemy as sa

    from inventory_sync.adapters.sql.tables import TableMapping

    inspector = sa.inspect(engine)
    table = settings.products_table
    if not inspector.has_table(table):
        return Health(False, f"table {table!r} (setting products_table) does not exist")
    columns = {column["name"] for column in inspector.get_columns(table)}
    mapping = TableMapping.from_settings(settings)
    wanted = {
        name: column
        for name, column in (
            ("code_column", mapping.code_column),
            ("count_column", mapping.count_column),
            ("updated_at_column", mapping.updated_at_column),
            ("name_column", mapping.name_column),
            *((f"create_defaults.{c}", c) for c, _ in mapping.create_defaults),
        )
        if column is not None
    }
    missing = [
        f"{column!r} (setting {name})" for name, column in wanted.items() if column not in columns
    ]
    if missing:
        return Health(False, f"table {table!r} has no column " + ", ".join(missing))
    return Health(True, f"table {table!r} mapped (the shop's own; no migrations)")


def database_where(settings: Settings) -> str:
    return f"database {mask_url_password(settings.database_url)}"


def kafka_health(settings: Settings) -> Health:
    """Both topics exist; raises when Kafka cannot be reached."""
    from inventory_sync.adapters.kafka.kafka_python.admin import missing_topics

    missing = missing_topics(settings)
    if missing:
        names = " and ".join(missing)
        topics = "topics" if len(missing) > 1 else "topic"
        return Health(False, f"no {topics} {names}: run `inventory-sync topics create`")
    return Health(True, f"topics {settings.topic} and {settings.dlq_topic} present")


def kafka_where(settings: Settings) -> str:
    return f"Kafka at {settings.bootstrap_servers} ({settings.kafka_client} client)"


PROBE_TIMEOUT_S = 2.0
PROBE_EVERY_S = 1.0


class DependencyProbe:
    """Whether the database answers `SELECT 1` and a Kafka bootstrap server accepts a
    connection, each within PROBE_TIMEOUT_S: what /readyz asks while the worker runs, even
    when it is idle and touches neither. Answers are kept for PROBE_EVERY_S, so scrapers and
    probes hitting /readyz often do not multiply the checks."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._lock = threading.Lock()
        self._asked_at = -math.inf
        self._faults: dict[str, str] = {}

    def faults(self) -> dict[str, str]:
        """{"database": why, "kafka": why} for those that do not answer now."""
        with self._lock:
            if time.monotonic() - self._asked_at >= PROBE_EVERY_S:
                answers = _within(
                    PROBE_TIMEOUT_S, {"database": self._database, "kafka": self._kafka}
                )
                self._faults = {name: fault for name, fault in answers.items() if fault}
                self._asked_at = time.monotonic()
            return dict(self._faults)

    def _database(self) -> None:
        import sqlalchemy as sa

        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def _kafka(self) -> None:
        failures = []
        for server in self.settings.bootstrap_servers.split(","):
            host, _, port = server.rpartition(":")
            try:
                socket.create_connection((host.strip("[]"), int(port)), PROBE_TIMEOUT_S).close()
            except OSError as exc:
                failures.append(f"{server}: {exc.strerror or exc}")
            else:
                return
        reasons = "; ".join(failures)
        raise ConnectionError(f"no bootstrap server accepts a connection ({reasons})")


def _within(timeout_s: float, checks: dict[str, Callable[[], None]]) -> dict[str, str | None]:
    """Run the checks side by side: None for each that returned within timeout_s, else why
    not (its error, or the time out)."""
    answers: dict[str, str | None] = {}

    def run(name: str, check: Callable[[], None]) -> None:
        try:
            check()
        except Exception as exc:
            lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            answers[name] = f"{type(exc).__name__}: {lines[0] if lines else ''}"
        else:
            answers[name] = None

    threads = [
        threading.Thread(target=run, args=item, name="inventory-sync-probe", daemon=True)
        for item in checks.items()
    ]
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    return {name: answers.get(name, f"no answer within {timeout_s:.0f} s") for name in checks}
