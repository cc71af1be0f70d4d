"""Settings -> the kafka-python keyword arguments every client shares (connection and security)."""

from __future__ import annotations

from typing import Any

from inventory_sync.settings import Settings

CLIENT_ID = "inventory-sync"


def client_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for KafkaConsumer, KafkaProducer and KafkaAdminClient alike.

    Only the settings that are set are passed, so kafka-python's own defaults stay in force.
    """
    config: dict[str, Any] = {
        "bootstrap_servers": [
            s.strip() for s in settings.bootstrap_servers.split(",") if s.strip()
        ],
        "client_id": CLIENT_ID,
        "security_protocol": settings.security_protocol,
    }
    if settings.sasl_mechanism is not None:
        config["sasl_mechanism"] = settings.sasl_mechanism
    if settings.sasl_username is not None:
        config["sasl_plain_username"] = settings.sasl_username
    if settings.sasl_password is not None:
        config["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        value = getattr(settings, name)
        if value is not None:
            config[name] = value
    if settings.ssl_key_password is not None:
        config["ssl_password"] = settings.ssl_key_password.get_secret_value()
    return config
