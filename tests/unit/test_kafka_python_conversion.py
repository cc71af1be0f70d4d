"""The kafka-python adapter's pure parts: client settings and the record conversion."""

from __future__ import annotations

from datetime import UTC, datetime

from kafka.consumer.fetcher import ConsumerRecord
from pydantic import SecretStr

from inventory_sync.adapters.kafka.dead_letter_headers import dead_letter_headers
from inventory_sync.adapters.kafka.kafka_python.config import client_config
from inventory_sync.adapters.kafka.records import records_of_kafka_python as to_records
from inventory_sync.domain.model import Record
from inventory_sync.domain.ports import DeadLetter
from inventory_sync.domain.rejections import Rejection, RejectionReason
from inventory_sync.settings import Settings


def consumed(offset: int, timestamp_ms: int, headers: list[tuple[str, bytes | None]]) -> object:
    return ConsumerRecord("t", 2, 0, offset, timestamp_ms, 0, b"k", b"v", headers, None, 1, 1, -1)


def test_records_keep_key_value_place_and_headers_with_an_aware_utc_timestamp() -> None:
    [record] = to_records([[consumed(7, 1_714_564_800_123, [("trace", b"abc")])]])

    assert record == Record(
        key=b"k",
        value=b"v",
        topic="t",
        partition=2,
        offset=7,
        timestamp=datetime(2024, 5, 1, 12, 0, 0, 123_000, tzinfo=UTC),
        headers=(("trace", b"abc"),),
    )


def test_records_sharing_a_millisecond_each_get_their_own_offset_and_the_same_time() -> None:
    first, second, third = to_records(
        [[consumed(1, 1_000, []), consumed(2, 1_000, [])], [consumed(3, 2_000, [])]]
    )

    assert [r.offset for r in (first, second, third)] == [1, 2, 3]
    assert first.timestamp == second.timestamp == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert third.timestamp == datetime(1970, 1, 1, 0, 0, 2, tzinfo=UTC)


def test_a_record_without_a_timestamp_is_stamped_with_the_time_it_was_read() -> None:
    before = datetime.now(UTC)
    [record] = to_records([[consumed(0, -1, [])]])

    assert before <= record.timestamp <= datetime.now(UTC)


def test_a_header_with_a_null_value_is_kept_as_an_empty_one() -> None:
    [record] = to_records([[consumed(0, 0, [("a", None), ("b", b"x")])]])

    assert record.headers == (("a", b""), ("b", b"x"))


def test_dead_letter_headers_add_the_reason_and_where_the_record_came_from() -> None:
    record = Record(
        b"k", b"v", "inventory", 3, 41, datetime(2024, 5, 1, tzinfo=UTC), (("h", b"1"),)
    )
    letter = DeadLetter(record, Rejection(RejectionReason.UNKNOWN_PRODUCT, "no product 'é'"))

    assert dead_letter_headers(letter) == [
        ("h", b"1"),
        ("inventory_sync.reason", b"unknown_product"),
        ("inventory_sync.error", "no product 'é'".encode()),
        ("inventory_sync.original_topic", b"inventory"),
        ("inventory_sync.original_partition", b"3"),
        ("inventory_sync.original_offset", b"41"),
        ("inventory_sync.original_timestamp", b"2024-05-01T00:00:00.000+00:00"),
    ]


def test_client_config_passes_only_the_connection_settings_that_are_set() -> None:
    config = client_config(Settings(bootstrap_servers="a:9092, b:9092"))

    assert config == {
        "bootstrap_servers": ["a:9092", "b:9092"],
        "client_id": "inventory-sync",
        "security_protocol": "PLAINTEXT",
    }


def test_client_config_hands_kafka_python_the_sasl_secret_and_tls_files() -> None:
    settings = Settings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="shop",
        sasl_password=SecretStr("s3cret"),
        ssl_cafile="/etc/ca.pem",
    )

    config = client_config(settings)

    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (config["sasl_plain_username"], config["sasl_plain_password"]) == ("shop", "s3cret")
    assert config["ssl_cafile"] == "/etc/ca.pem"
    assert "ssl_certfile" not in config
