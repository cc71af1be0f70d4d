"""The composition root: the one place where adapters are chosen from the settings.

The CLI, the library facade and InventoryHarness all build their worker here; tests override
providers (`container.unit_of_work.override(providers.Object(fake))`) instead of patching
modules. Adapters are imported when first provided, so importing this is cheap.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from inventory_sync.application.worker import Worker
from inventory_sync.domain.errors import InventorySyncError
from inventory_sync.domain.services import InventoryService
from inventory_sync.settings import Settings, SettingsError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from inventory_sync.adapters.health import DependencyProbe, Health
    from inventory_sync.adapters.sql.repository import SqlUnitOfWork
    from inventory_sync.adapters.sql.tables import TableMapping
    from inventory_sync.domain.ports import DeadLetterSink, RecordSource, StoredPositions

KAFKA_CLIENTS = {
    "kafka-python": "inventory_sync.adapters.kafka.kafka_python",
    "confluent": "inventory_sync.adapters.kafka.confluent",
}
"""kafka_client -> the package of its adapters; each has record_source() and dead_letter_sink()."""


class ConfluentNotInstalled(SettingsError):
    def __init__(self) -> None:
        super().__init__(
            "kafka_client = confluent needs the confluent-kafka package: "
            "pip install 'inventory-sync[confluent]'"
        )


def adapter_error(exc: BaseException, settings: Settings) -> InventorySyncError | None:
    """The domain's error for an error an adapter's library raised (along `exc`'s chain of
    causes), None when none is one: the entrypoints report it without knowing any client
    library. A library not imported yet cannot have raised, so none is imported here."""
    for cause in _causes(exc):
        translated = _translated(cause, settings)
        if translated is not None:
            return translated
    return None


def _translated(exc: BaseException, settings: Settings) -> InventorySyncError | None:
    servers = settings.bootstrap_servers
    if "sqlalchemy" in sys.modules:
        import sqlalchemy.exc as sa_exc

        if isinstance(exc, sa_exc.SQLAlchemyError):
            from inventory_sync.adapters.sql.errors import database_error

            return database_error(exc, settings)
    if "kafka" in sys.modules:
        from kafka.errors import KafkaError

        if isinstance(exc, KafkaError):
            from inventory_sync.adapters.kafka.kafka_python.faults import kafka_error

            return kafka_error(exc, servers)
    if "confluent_kafka" in sys.modules:
        from confluent_kafka import KafkaException

        if isinstance(exc, KafkaException):
            from inventory_sync.adapters.kafka.confluent.faults import kafka_error as confluent

            return confluent(exc, servers)
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def require_client(settings: Settings) -> None:
    """Fail with one clear line when the chosen Kafka client is not installed."""
    if settings.kafka_client == "confluent" and importlib.util.find_spec("confluent_kafka") is None:
        raise ConfluentNotInstalled


def kafka_client(settings: Settings) -> ModuleType:
    """The adapters of the Kafka client the settings choose."""
    require_client(settings)
    return importlib.import_module(KAFKA_CLIENTS[settings.kafka_client])


def make_record_source(settings: Settings, engine: Engine) -> RecordSource:
    """With offset_storage = database, the source seeks assigned partitions to the positions
    stored with the writes."""
    kwargs = {}
    if settings.offset_storage == "database":
        kwargs["stored_positions"] = positions_reader(engine, settings.group_id)
    source: RecordSource = kafka_client(settings).record_source(settings, **kwargs)
    return source


def positions_reader(engine: Engine, group_id: str) -> StoredPositions:
    from inventory_sync.adapters.sql.offsets import stored_positions

    return functools.partial(stored_positions, engine, group_id)


def offsets_group(settings: Settings) -> str | None:
    """The group whose offsets the service stores with its writes, if they are stored so."""
    return settings.group_id if settings.offset_storage == "database" else None


def make_dead_letter_sink(settings: Settings) -> DeadLetterSink:
    sink: DeadLetterSink = kafka_client(settings).dead_letter_sink(settings)
    return sink


def make_engine(settings: Settings) -> Engine:
    from inventory_sync.adapters.sql.engine import create_engine_from_url

    return create_engine_from_url(settings.database_url, sqlite_wal=settings.sqlite_wal)


def make_mapping(settings: Settings) -> TableMapping:
    from inventory_sync.adapters.sql.tables import TableMapping

    return TableMapping.from_settings(settings)


def make_unit_of_work(engine: Engine, mapping: TableMapping) -> SqlUnitOfWork:
    from inventory_sync.adapters.sql.repository import SqlUnitOfWork

    return SqlUnitOfWork(engine, mapping)


def database_health(engine: Engine, mapping: TableMapping, settings: Settings) -> Health:
    from inventory_sync.adapters import health

    return health.database_health(engine, mapping, settings)


def kafka_health(settings: Settings) -> Health:
    from inventory_sync.adapters import health

    return health.kafka_health(settings)


def make_dependency_probe(engine: Engine, settings: Settings) -> DependencyProbe:
    from inventory_sync.adapters.health import DependencyProbe

    return DependencyProbe(engine, settings)


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    engine = providers.Singleton(make_engine, settings)
    mapping = providers.Singleton(make_mapping, settings)
    unit_of_work = providers.Factory(make_unit_of_work, engine, mapping)
    service = providers.Factory(
        InventoryService,
        unit_of_work,
        unknown_products=settings.provided.unknown_products,
        max_message_bytes=settings.provided.max_message_bytes,
        low_stock_threshold=settings.provided.low_stock_threshold,
        max_future_skew=settings.provided.max_future_skew,
        offsets_group=providers.Callable(offsets_group, settings),
    )
    record_source = providers.Factory(make_record_source, settings, engine)
    dead_letter_sink = providers.Factory(make_dead_letter_sink, settings)
    worker = providers.Factory(
        Worker,
        source=record_source,
        service=service,
        dead_letters=dead_letter_sink,
        batch_size=settings.provided.batch_size,
        poll_timeout_s=providers.Callable(lambda ms: ms / 1000, settings.provided.poll_timeout_ms),
        write_max_records=settings.provided.write_max_records,
        write_max_gather_s=providers.Callable(
            lambda ms: ms / 1000, settings.provided.write_max_gather_ms
        ),
        log_each_rejection=providers.Callable(
            lambda mode: mode == "each", settings.provided.log_rejections
        ),
        gc_threshold=settings.provided.gc_threshold,
    )
    """`container.worker(source=...)` runs another source (a file) through the same wiring."""
    database_health = providers.Callable(database_health, engine, mapping, settings)
    kafka_health = providers.Callable(kafka_health, settings)
    dependency_probe = providers.Singleton(make_dependency_probe, engine, settings)
    """What /readyz asks: do the database and Kafka answer now."""
