"""How expected errors read: one line that says where, and the exit code of the contract."""

from __future__ import annotations

import sqlalchemy.exc as sa_exc
from kafka.errors import KafkaConnectionError, KafkaTimeoutError, TopicAuthorizationFailedError

from inventory_sync.domain.errors import TransientError, UnknownProduct
from inventory_sync.entrypoints.cli.errors import describe
from inventory_sync.settings import Settings

SETTINGS = Settings(
    database_url="postgresql+psycopg://shop:hunter2@db.internal:5432/shop",
    bootstrap_servers="kafka-1:9092,kafka-2:9092",
)


def _operational(message: str) -> sa_exc.OperationalError:
    return sa_exc.OperationalError("SELECT 1", {}, Exception(message))


def test_an_unreachable_database_names_it_with_the_password_masked() -> None:
    error = _operational(
        'connection to server at "db.internal" failed: Connection refused\n\tIs it running?'
    )
    code, message = describe(error, SETTINGS) or (0, "")
    assert code == 1
    assert message == (
        "cannot reach the database at postgresql+psycopg://shop:**********@db.internal:5432/shop:"
        ' connection to server at "db.internal" failed: Connection refused'
    )


def wrapped(cause: Exception) -> TransientError:
    """A TransientError raised from `cause`, as the adapters raise them."""
    error = TransientError("unavailable")
    error.__cause__ = cause
    return error


def test_a_database_fault_wrapped_as_transient_still_says_where() -> None:
    described = describe(wrapped(_operational("server closed the connection")), SETTINGS)
    assert described is not None
    assert described[1].startswith("cannot reach the database at postgresql+psycopg://shop:***")


def test_a_missing_table_says_to_upgrade_the_schema() -> None:
    described = describe(_operational("no such table: products"), SETTINGS)
    assert described is not None
    assert described[0] == 1
    assert described[1].endswith(
        "is not set up (no such table: products): run inventory-sync db upgrade"
    )


def test_a_database_url_that_cannot_be_parsed_is_a_bad_setting() -> None:
    described = describe(sa_exc.ArgumentError("Could not parse SQLAlchemy URL from 'x'"), SETTINGS)
    assert described == (2, "setting database_url: Could not parse SQLAlchemy URL from 'x'")


def test_a_broker_out_of_reach_says_which_servers() -> None:
    assert describe(KafkaTimeoutError("bootstrap timed out"), SETTINGS) == (
        1,
        "cannot reach Kafka at kafka-1:9092,kafka-2:9092",
    )


def test_a_kafka_fault_wrapped_as_transient_still_says_where() -> None:
    assert describe(wrapped(KafkaConnectionError("refused")), SETTINGS) == (
        1,
        "cannot reach Kafka at kafka-1:9092,kafka-2:9092",
    )


def test_another_kafka_error_is_named() -> None:
    described = describe(TopicAuthorizationFailedError("denied"), SETTINGS)
    assert described is not None
    assert described[0] == 1
    assert described[1].startswith("Kafka at kafka-1:9092,kafka-2:9092: TopicAuthorizationFailed")


def test_an_error_of_the_product_exits_1() -> None:
    assert describe(UnknownProduct("X"), SETTINGS) == (1, "unknown product 'X'")


def test_a_bug_is_not_described_so_its_traceback_stays() -> None:
    assert describe(KeyError("oops"), SETTINGS) is None
    assert describe(ZeroDivisionError(), None) is None


def test_confluent_errors_are_translated_by_its_adapter() -> None:
    from confluent_kafka import KafkaError, KafkaException

    down = KafkaException(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
    assert describe(down, SETTINGS) == (1, "cannot reach Kafka at kafka-1:9092,kafka-2:9092")
    denied = KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "denied"))
    described = describe(denied, SETTINGS)
    assert described is not None
    assert described[1].startswith("Kafka at kafka-1:9092,kafka-2:9092: TOPIC_AUTHORIZATION")


def test_the_adapters_raise_domain_errors_the_cli_only_reads() -> None:
    """The CLI knows no client library: an adapter's translation gives the domain's error."""
    from inventory_sync.adapters.sql.errors import DatabaseNotReady
    from inventory_sync.container import adapter_error
    from inventory_sync.domain.errors import ServiceUnreachable

    unreachable = adapter_error(wrapped(KafkaConnectionError("refused")), SETTINGS)
    assert isinstance(unreachable, ServiceUnreachable)
    missing = adapter_error(_operational("no such column: shop_product.name"), SETTINGS)
    assert isinstance(missing, DatabaseNotReady)
    assert "lacks a mapped column" in str(missing)
    assert adapter_error(KeyError("x"), SETTINGS) is None


def test_the_cli_error_module_matches_no_client_library_by_name() -> None:
    from pathlib import Path

    import inventory_sync.entrypoints.cli.errors as module

    source = Path(module.__file__).read_text()
    for library in ("kafka", "confluent", "sqlalchemy", "__module__", "__name__"):
        assert library not in source.replace("inventory_sync", ""), library
