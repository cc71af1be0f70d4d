"""Which librdkafka errors of a commit are transient faults, refusals, or real failures, and
which client errors mean the broker refuses this client (credentials, mechanism, certificate)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from inventory_sync.adapters.kafka import refusals
from inventory_sync.domain.errors import (
    InventorySyncError,
    PermanentFault,
    ServiceUnreachable,
    TlsHandshakeFailed,
    TransientError,
)
from inventory_sync.settings import Settings

log = logging.getLogger("inventory_sync.kafka")

# The group refused the commit because this member no longer owns what it commits.
REFUSED_BY_GROUP = frozenset(
    {
        KafkaError.REBALANCE_IN_PROGRESS,
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.FENCED_INSTANCE_ID,
        KafkaError.STALE_MEMBER_EPOCH,
        KafkaError._ASSIGNMENT_LOST,
    }
)
# Faults of the connection or the coordinator that clear by themselves (besides the errors
# librdkafka itself marks retriable).
TRANSIENT = frozenset(
    {
        KafkaError._TRANSPORT,
        KafkaError._TIMED_OUT,
        KafkaError._TIMED_OUT_QUEUE,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._WAIT_COORD,
        KafkaError._RESOLVE,
        KafkaError._DESTROY_BROKER,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.NOT_COORDINATOR,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NETWORK_EXCEPTION,
    }
)


def check_commit(error: KafkaError, offsets: Sequence[TopicPartition]) -> None:
    """Judge a failed commit of `offsets`.

    Refused by the group: a warning only, since the partitions' next owner replays from the
    last committed offset and writes are idempotent. Transport or coordinator: TransientError,
    so the run loop retries. Anything else (authorization, say): KafkaException.
    """
    code = error.code()
    if code == KafkaError._NO_OFFSET:
        return
    if code in REFUSED_BY_GROUP:
        log.warning(
            "commit of %s refused because the group is rebalancing; "
            "the partitions' next owner replays them (writes are idempotent): %s",
            describe(offsets),
            error.str(),
        )
        return
    if code in TRANSIENT or error.retriable():
        raise TransientError(f"committing {describe(offsets)} failed: {error.str()}")
    raise KafkaException(error)


def describe(offsets: Sequence[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]@{tp.offset}" for tp in offsets)


UNREACHABLE = frozenset(
    {
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._TIMED_OUT,
        KafkaError._RESOLVE,
    }
)


_REFUSED_LOGIN = frozenset(
    {
        KafkaError._AUTHENTICATION,
        KafkaError.SASL_AUTHENTICATION_FAILED,
        KafkaError.UNSUPPORTED_SASL_MECHANISM,
        KafkaError.ILLEGAL_SASL_STATE,
    }
)


def kafka_error(exc: KafkaException, where: str) -> InventorySyncError:
    """The domain's error for a confluent-kafka error met by a command (`where`: the servers)."""
    error = exc.args[0] if exc.args else None
    if not isinstance(error, KafkaError):
        return InventorySyncError(f"Kafka at {where}: {exc}")
    if error.code() in UNREACHABLE:
        return ServiceUnreachable(f"cannot reach Kafka at {where}")
    return InventorySyncError(f"Kafka at {where}: {error.name()}: {error.str()}")


def refusal_of(error: KafkaError, settings: Settings) -> PermanentFault | None:
    """The refusal a client error (error_cb) reports, if it is one: librdkafka reports a
    refused login as _AUTHENTICATION and a failed TLS handshake as _SSL, on every retry."""
    code, text = error.code(), error.str()
    if code in _REFUSED_LOGIN:
        if code == KafkaError.UNSUPPORTED_SASL_MECHANISM or "mechanism handshake" in text:
            offered = re.search(r"supported mechanisms: ([\w,-]+)", text)
            return refusals.mechanism_refused(settings, offered.group(1) if offered else None)
        return refusals.credentials_refused(settings)
    lowered = text.lower()
    if code == KafkaError._SSL or (code == KafkaError._TRANSPORT and "ssl" in lowered):
        if "certificate verify failed" in lowered:
            return refusals.broker_untrusted(settings)
        if "alert" in lowered and "certificate" in lowered:
            return refusals.client_certificate_refused(settings)
        if code == KafkaError._SSL:
            where = f"Kafka at {settings.bootstrap_servers}"
            return TlsHandshakeFailed(f"TLS handshake with {where} failed: {text}")
    return None
