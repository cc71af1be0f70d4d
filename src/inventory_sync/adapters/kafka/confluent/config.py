"""Settings -> the librdkafka properties every confluent-kafka client shares, and its logging.

The same settings as client_config.py, under librdkafka's names: connection and security.
Only the settings that are set are passed, so librdkafka's own defaults stay in force.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaError

from inventory_sync.adapters.kafka.kafka_python.config import CLIENT_ID
from inventory_sync.settings import Settings

log = logging.getLogger("inventory_sync.kafka")
librdkafka_log = logging.getLogger("inventory_sync.kafka.librdkafka")

# Setting name -> librdkafka property, for the settings passed only when they are set.
OPTIONAL_PROPERTIES = {
    "sasl_mechanism": "sasl.mechanism",
    "sasl_username": "sasl.username",
    "ssl_cafile": "ssl.ca.location",
    "ssl_certfile": "ssl.certificate.location",
    "ssl_keyfile": "ssl.key.location",
}
# While a broker is away librdkafka reports every reconnection attempt, many a second: those
# go to DEBUG, and "1/1 brokers are down" (every ~10 s) says it at WARNING.
_RECONNECTING = frozenset(
    {KafkaError._TRANSPORT, KafkaError._RESOLVE, KafkaError._ALL_BROKERS_DOWN}
)
"""Logged at DEBUG: librdkafka reconnects by itself, and the source's Reachability says
once that the broker went and once that it came back."""


def confluent_config(settings: Settings) -> dict[str, Any]:
    """Properties for confluent_kafka's Consumer and Producer alike (secrets in clear)."""
    config: dict[str, Any] = {
        "bootstrap.servers": ",".join(
            s.strip() for s in settings.bootstrap_servers.split(",") if s.strip()
        ),
        "client.id": CLIENT_ID,
        "security.protocol": settings.security_protocol,
    }
    for name, prop in OPTIONAL_PROPERTIES.items():
        value = getattr(settings, name)
        if value is not None:
            config[prop] = value
    if settings.sasl_password is not None:
        config["sasl.password"] = settings.sasl_password.get_secret_value()
    if settings.ssl_key_password is not None:
        config["ssl.key.password"] = settings.ssl_key_password.get_secret_value()
    return config


def client_logging() -> dict[str, Any]:
    """librdkafka's own log lines go through Python logging instead of stderr."""
    return {"logger": _LibrdkafkaLog()}


def log_client_error(error: KafkaError) -> None:
    """An error of the client as a whole (broker away, authentication); librdkafka retries."""
    if error.fatal():
        level = logging.ERROR
    elif error.code() in _RECONNECTING:
        level = logging.DEBUG
    else:
        level = logging.WARNING
    log.log(level, "Kafka client: %s", error.str())


class _LibrdkafkaLog:
    """What confluent-kafka calls as `logger`: its connection failures (facility FAIL, repeated
    on every reconnection attempt) go to DEBUG, as they reach log_client_error too."""

    def log(self, level: int, fmt: str, facility: str, name: str, message: str) -> None:
        if facility == "FAIL":
            level = logging.DEBUG
        librdkafka_log.log(level, fmt, facility, name, message)
