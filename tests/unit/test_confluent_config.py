"""The confluent-kafka adapters' pieces that need no broker: settings mapped to librdkafka's
names, the choice of client in the container, messages -> records, and commit faults."""

from __future__ import annotations

import importlib.util
import logging
from datetime import UTC, datetime

import pytest
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from inventory_sync.adapters.kafka.confluent.config import confluent_config
from inventory_sync.adapters.kafka.confluent.faults import check_commit
from inventory_sync.adapters.kafka.confluent.sink import ConfluentDeadLetterSink
from inventory_sync.adapters.kafka.confluent.source import ConfluentRecordSource
from inventory_sync.adapters.kafka.records import records_of_confluent as to_records
from inventory_sync.container import (
    ConfluentNotInstalled,
    Container,
    require_client,
)
from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.model import Record
from inventory_sync.domain.ports import DeadLetter
from inventory_sync.domain.rejections import Rejection, RejectionReason
from inventory_sync.settings import Settings

SECURE = Settings(
    bootstrap_servers="kafka-1:9093, kafka-2:9093",
    security_protocol="SASL_SSL",
    sasl_mechanism="SCRAM-SHA-512",
    sasl_username="shop",
    sasl_password="s3cret",
    ssl_cafile="/etc/kafka/ca.pem",
    ssl_certfile="/etc/kafka/client.pem",
    ssl_keyfile="/etc/kafka/client.key",
)


def test_security_settings_map_to_librdkafka_names() -> None:
    assert confluent_config(SECURE) == {
        "bootstrap.servers": "kafka-1:9093,kafka-2:9093",
        "client.id": "inventory-sync",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "shop",
        "sasl.password": "s3cret",
        "ssl.ca.location": "/etc/kafka/ca.pem",
        "ssl.certificate.location": "/etc/kafka/client.pem",
        "ssl.key.location": "/etc/kafka/client.key",
    }


def test_the_password_comes_from_the_secret_and_stays_out_of_its_repr() -> None:
    assert SECURE.sasl_password is not None
    assert "s3cret" not in repr(SECURE.sasl_password)
    assert confluent_config(SECURE)["sasl.password"] == "s3cret"


def test_settings_left_unset_keep_librdkafkas_defaults() -> None:
    assert confluent_config(Settings()) == {
        "bootstrap.servers": "localhost:9092",
        "client.id": "inventory-sync",
        "security.protocol": "PLAINTEXT",
    }


def test_librdkafka_accepts_every_property_the_source_sets() -> None:
    """No brokers at all: librdkafka checks every property when the consumer is made."""
    source = ConfluentRecordSource(_sasl_without_brokers())
    try:
        assert source.poll(10, 0) == []  # makes the consumer; an unknown property would raise
    finally:
        source.close()


def test_librdkafka_accepts_every_property_the_sink_sets() -> None:
    sink = ConfluentDeadLetterSink(_sasl_without_brokers(), overrides={"message.timeout.ms": 10})
    record = Record(b"k", b"v", "t", 0, 0, datetime.now(UTC))
    letter = DeadLetter(record, Rejection(RejectionReason.UNKNOWN_PRODUCT, "unknown"))
    with pytest.raises(TransientError, match="not acknowledged"):  # not a KafkaException
        sink.send([letter]).wait()
    sink.close()


def _sasl_without_brokers() -> Settings:
    return Settings(
        bootstrap_servers="127.0.0.1:1",  # nothing listens: no broker is reached
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="shop",
        sasl_password="s3cret",
    )


# -- choosing the client -----------------------------------------------------------------


def test_the_container_builds_the_confluent_adapters_when_chosen() -> None:
    container = Container(settings=Settings(kafka_client="confluent"))

    assert isinstance(container.record_source(), ConfluentRecordSource)
    assert isinstance(container.dead_letter_sink(), ConfluentDeadLetterSink)


def test_a_missing_confluent_kafka_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name == "confluent_kafka" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    require_client(Settings())  # kafka-python, the default, needs nothing more
    with pytest.raises(ConfluentNotInstalled) as raised:
        require_client(Settings(kafka_client="confluent"))
    message = str(raised.value)
    assert "\n" not in message
    assert "pip install 'inventory-sync[confluent]'" in message


# -- messages -> records -----------------------------------------------------------------


def test_messages_become_records_with_aware_utc_timestamps_and_byte_headers() -> None:
    message = Message(
        topic="t",
        partition=2,
        offset=41,
        key=b"SKU-1",
        value=b"{}",
        headers=[("trace", b"abc"), ("empty", None)],
        timestamp=(1, 1_764_158_400_123),
    )

    (record,) = to_records([message], on_error=_unexpected)

    assert record == Record(
        b"SKU-1",
        b"{}",
        "t",
        2,
        41,
        datetime(2025, 11, 26, 12, 0, 0, 123000, tzinfo=UTC),
        (("trace", b"abc"), ("empty", b"")),
    )


def test_a_message_without_a_timestamp_is_stamped_when_read() -> None:
    before = datetime.now(UTC)
    message = Message(topic="t", partition=0, offset=0, value=b"{}", timestamp=(0, -1))

    (record,) = to_records([message], on_error=_unexpected)

    assert before <= record.timestamp <= datetime.now(UTC)
    assert record.headers == ()


def test_error_events_are_handed_over_and_never_become_records() -> None:
    eof = KafkaError(KafkaError._PARTITION_EOF)
    messages = [
        Message(topic="t", partition=0, offset=0, value=b"a", timestamp=(1, 0)),
        Message(topic="t", partition=0, offset=1, error=eof),
        Message(topic="t", partition=0, offset=1, value=b"b", timestamp=(1, 0)),
    ]
    errors: list[KafkaError] = []

    records = to_records(messages, on_error=errors.append)

    assert [r.value for r in records] == [b"a", b"b"]
    assert [e.code() for e in errors] == [KafkaError._PARTITION_EOF]


def _unexpected(error: KafkaError) -> None:
    raise AssertionError(error)


# -- commit faults -----------------------------------------------------------------------

OFFSETS = [TopicPartition("t", 0, 10)]


@pytest.mark.parametrize(
    "code",
    [
        KafkaError.REBALANCE_IN_PROGRESS,
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.FENCED_INSTANCE_ID,
        KafkaError.STALE_MEMBER_EPOCH,
        KafkaError._ASSIGNMENT_LOST,
    ],
)
def test_a_commit_the_group_refused_is_left_to_the_next_owner(
    code: int, caplog: pytest.LogCaptureFixture
) -> None:
    offsets = [TopicPartition("t", 0, 10), TopicPartition("t", 3, 7)]

    with caplog.at_level(logging.DEBUG, logger="inventory_sync.kafka"):
        check_commit(KafkaError(code), offsets)  # returns: nothing raised, nothing re-raised

    [warning] = caplog.records
    assert warning.levelno == logging.WARNING
    assert "t[0]@10, t[3]@7" in warning.getMessage()
    assert "next owner replays" in warning.getMessage()


def test_a_commit_with_no_offset_to_store_is_no_fault_at_all(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="inventory_sync.kafka"):
        check_commit(KafkaError(KafkaError._NO_OFFSET), OFFSETS)

    assert caplog.records == []


@pytest.mark.parametrize(
    "error",
    [
        KafkaError(KafkaError._TRANSPORT),
        KafkaError(KafkaError._TIMED_OUT),
        KafkaError(KafkaError.COORDINATOR_NOT_AVAILABLE),
        KafkaError(KafkaError.UNKNOWN, retriable=True),
    ],
)
def test_a_commit_that_failed_in_transit_is_a_transient_fault(error: KafkaError) -> None:
    with pytest.raises(TransientError, match=r"committing t\[0\]@10"):
        check_commit(error, OFFSETS)


def test_a_commit_that_is_not_allowed_fails_for_real() -> None:
    with pytest.raises(KafkaException):
        check_commit(KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED), OFFSETS)
