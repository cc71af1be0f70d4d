"""Settings: flag, then environment (INVENTORY_SYNC_*), then a TOML file, then the default."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV = "INVENTORY_SYNC_CONFIG"
SECRET_MASK = "**********"


class Settings(BaseSettings):
    """Every setting of inventory-sync; see the README's "Settings" table."""

    model_config = SettingsConfigDict(
        env_prefix="INVENTORY_SYNC_", extra="forbid", validate_default=True
    )

    kafka_client: Literal["kafka-python", "confluent"] = "kafka-python"
    bootstrap_servers: str = "localhost:9092"
    topic: str = Field("product_inventory_updates", min_length=1)
    dlq_topic: str = Field("product_inventory_updates.dlq", min_length=1)
    group_id: str = Field("inventory-sync", min_length=1)
    database_url: str = "sqlite:///inventory_sync.db"
    batch_size: int = Field(500, ge=1, le=100_000)
    poll_timeout_ms: int = Field(1000, ge=0, le=600_000)
    low_stock_threshold: int = Field(5, ge=0)
    unknown_products: Literal["reject", "create"] = "reject"
    max_message_bytes: int = Field(65_536, ge=1)
    max_future_skew: timedelta = Field(timedelta(minutes=5), ge=timedelta(0))
    """How far ahead of this worker's clock an event's time may be (seconds, or ISO 8601
    such as PT5M); a later one is rejected as from_the_future."""

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    metrics_port: int | None = Field(None, ge=1, le=65_535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    products_table: str = Field("products", min_length=1)
    code_column: str = Field("code", min_length=1)
    count_column: str = Field("inventory_count", min_length=1)
    updated_at_column: str | None = "inventory_updated_at"
    name_column: str | None = "name"

    @field_validator("updated_at_column", "name_column", "sasl_mechanism", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("max_future_skew", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        """A plain number, as an environment variable gives it, is seconds."""
        if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
            return float(value)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def load(cls, config_file: Path | str | None = None, **overrides: Any) -> Settings:
        """Settings from flags (overrides; None means "not given"), environment, file, defaults."""
        given = {name: value for name, value in overrides.items() if value is not None}
        path = config_file or os.environ.get(CONFIG_ENV)
        if path and not Path(path).is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        _toml_file.path = Path(path) if path else None
        try:
            return cls(**given)
        finally:
            _toml_file.path = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if _toml_file.path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=_toml_file.path))
        return tuple(sources)

    def masked(self) -> dict[str, Any]:
        """The effective settings with every secret masked: what `config show` prints."""
        shown = self.model_dump(mode="json")
        for name, field in type(self).model_fields.items():
            if field.annotation is not None and "SecretStr" in str(field.annotation):
                shown[name] = SECRET_MASK if shown[name] is not None else None
        shown["database_url"] = mask_url_password(self.database_url)
        return shown


def mask_url_password(url: str) -> str:
    """postgresql://user:secret@host/db -> postgresql://user:**********@host/db"""
    return re.sub(r"(://[^:/@]+:)[^@]*@", lambda m: f"{m.group(1)}{SECRET_MASK}@", url)


class _TomlFile:
    """The file Settings.load() is reading; a class attribute because sources are classmethods."""

    path: Path | None = None


_toml_file = _TomlFile()
