"""Settings: flag, then environment (INVENTORY_SYNC_*), then a TOML file, then the default."""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from inventory_sync.domain.errors import SettingsError
from inventory_sync.masking import SECRET_MASK, mask_url_password, read_secret, url_passwords
from inventory_sync.settings_checks import (
    check_toml,
    first_problem,
    warn_unknown_variables,
)

__all__ = ["SECRET_MASK", "Settings", "SettingsError", "mask_url_password", "url_passwords"]

CONFIG_ENV = "INVENTORY_SYNC_CONFIG"
SECRETS_DIR_ENV = "INVENTORY_SYNC_SECRETS_DIR"

NonEmpty = Annotated[str, Field(min_length=1)]

log = logging.getLogger("inventory_sync.settings")

_DATABASE_SCHEMES = {
    "sqlite": None,
    "sqlite+pysqlite": None,
    "postgresql": "psycopg",
    "postgresql+psycopg": "psycopg",
    "postgres": "psycopg",
}


class Settings(BaseSettings):
    """Every setting of inventory-sync; see the README's "Settings" table."""

    model_config = SettingsConfigDict(
        env_prefix="INVENTORY_SYNC_", extra="forbid", validate_default=True
    )

    kafka_client: Literal["kafka-python", "confluent"] = "kafka-python"
    bootstrap_servers: str = "localhost:9092"
    topic: NonEmpty = "product_inventory_updates"
    dlq_topic: NonEmpty = "product_inventory_updates.dlq"
    group_id: NonEmpty = "inventory-sync"
    database_url: str = "sqlite:///inventory_sync.db"
    sqlite_wal: bool = False
    """Switch a SQLite file to WAL journal mode (it stays so for every user of the file)."""
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 500
    poll_timeout_ms: Annotated[int, Field(ge=0, le=600_000)] = 1000
    write_max_records: Annotated[int, Field(ge=1, le=1_000_000)] = 5000
    """The most records one database write takes: while a write is in progress the worker
    gathers what it polls, up to this many, for the next."""
    write_max_gather_ms: Annotated[int, Field(ge=0, le=600_000)] = 1000
    """How long the worker gathers while a write is in progress before it waits for it."""
    gc_threshold: Annotated[int, Field(ge=0, le=10_000_000)] = 100_000
    """Python's first garbage-collector threshold while the worker runs (the interpreter's
    default is 700), with what existed before it started frozen (gc.freeze); 0 leaves the
    collector as it is."""
    low_stock_threshold: Annotated[int, Field(ge=0)] = 5
    unknown_products: Literal["reject", "create"] = "reject"
    max_message_bytes: Annotated[int, Field(ge=1)] = 65_536
    offset_storage: Literal["kafka", "database"] = "kafka"
    """Where the truth of how far the group got lives: Kafka's committed offsets, or the
    database, in the transaction of the writes (exactly once; needed by inventory_delta)."""
    max_future_skew: Annotated[timedelta, Field(ge=timedelta(0))] = timedelta(minutes=5)
    """How far ahead of this worker's clock an event's time may be (seconds, or ISO 8601
    such as PT5M); a later one is rejected as from_the_future."""

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = None
    """A file holding the SASL password (a mounted secret), read when the settings load; its
    trailing newline is dropped. Not together with sasl_password."""
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_key_password: SecretStr | None = None
    """The password of an encrypted ssl_keyfile."""

    metrics_port: Annotated[int, Field(ge=1, le=65_535)] | None = None
    metrics_host: NonEmpty = "127.0.0.1"
    liveness_ttl_s: Annotated[float, Field(gt=0)] = 60.0
    """/livez fails once the run loop has not polled for this long (a stuck loop)."""
    status_page: bool = False
    """Serve the operator status page beside /metrics on metrics_port (the `web` extra)."""
    web_host: NonEmpty = "127.0.0.1"
    web_port: Annotated[int, Field(ge=1, le=65_535)] = 8321
    """Where `inventory-sync web` serves the status page."""
    web_token: SecretStr | None = None
    """Needed by the status page on an address other than loopback (bearer or ?token=)."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    log_rejections: Literal["each", "batch"] = "each"
    """One INFO line per rejected record, or one per batch with the counts by reason."""

    products_table: NonEmpty = "products"
    code_column: NonEmpty = "code"
    count_column: NonEmpty = "inventory_count"
    updated_at_column: str | None = "inventory_updated_at"
    name_column: str | None = "name"
    create_defaults: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    """Column values for the other NOT NULL columns of a shop's table, used when
    unknown_products = create inserts a product (JSON in the environment)."""

    @field_validator(
        "updated_at_column", "name_column", "sasl_mechanism", "sasl_password_file", mode="before"
    )
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_port_list(cls, value: str) -> str:
        """host:port[,host:port...], each port a number from 1 to 65535."""
        servers = [server.strip() for server in value.split(",")]
        if not value.strip() or not all(servers):
            raise ValueError(f"{value!r} is not a list of host:port")
        for server in servers:
            host, colon, port = server.rpartition(":")
            if not colon or not host:
                raise ValueError(f"{server!r} has no port: write host:port, e.g. {server}:9092")
            if not port.isdigit() or not 1 <= int(port) <= 65_535:
                raise ValueError(f"{server!r}: the port must be a number from 1 to 65535")
        return ",".join(servers)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        """SQLite or PostgreSQL, with its driver installed."""
        scheme, sep, _ = value.partition("://")
        if not sep:
            raise ValueError(f"{mask_url_password(value)!r} is not a database URL")
        if scheme not in _DATABASE_SCHEMES:
            raise ValueError(
                f"{scheme} is not supported: use sqlite:///FILE or postgresql://USER@HOST/DB"
            )
        driver = _DATABASE_SCHEMES[scheme]
        if driver is not None and importlib.util.find_spec(driver) is None:
            raise ValueError(
                f"PostgreSQL needs the {driver} package: pip install 'inventory-sync[postgres]'"
            )
        return value

    @model_validator(mode="after")
    def _password_from_file(self) -> Settings:
        """sasl_password_file read into sasl_password (one setting or the other, not both)."""
        path = self.sasl_password_file
        if path is None:
            return self
        if self.sasl_password is not None:
            raise ValueError("give sasl_password or sasl_password_file, not both")
        self.sasl_password = SecretStr(read_secret(path))
        return self

    @field_validator("sasl_password_file")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None:
            read_secret(value)
        return value

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
        if path:
            check_toml(Path(path))
        warn_unknown_variables([name.upper() for name in Settings.model_fields])
        _toml_file.path = Path(path) if path else None
        try:
            return cls(**given)
        except ValidationError as exc:
            raise SettingsError(first_problem(exc)) from exc
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
        secrets_dir = os.environ.get(SECRETS_DIR_ENV)
        if secrets_dir:
            if not Path(secrets_dir).is_dir():
                raise SettingsError(f"{SECRETS_DIR_ENV}: {secrets_dir} is not a directory")
            # One file per setting, named as the setting: <dir>/sasl_password.
            secrets = SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir, env_prefix="")
            sources.append(secrets)
        return tuple(sources)

    def secret_values(self) -> list[str]:
        """Every secret these settings hold, as it could appear in a log line: the passwords,
        the database URL's password, and the lines of the client key file's PEM body."""
        values = [
            secret.get_secret_value()
            for secret in (self.sasl_password, self.ssl_key_password)
            if secret is not None
        ]
        values += url_passwords(self.database_url)
        if self.ssl_keyfile:
            try:
                key = Path(self.ssl_keyfile).read_text(encoding="utf-8", errors="replace")
            except OSError:
                key = ""
            values += [line.strip() for line in key.splitlines() if "-----" not in line]
        return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)

    def masked(self) -> dict[str, Any]:
        """The effective settings with every secret masked: what `config show` prints."""
        shown = self.model_dump(mode="json")
        for name, field in type(self).model_fields.items():
            if field.annotation is not None and "SecretStr" in str(field.annotation):
                shown[name] = SECRET_MASK if shown[name] is not None else None
        shown["database_url"] = mask_url_password(self.database_url)
        return shown


class _TomlFile:
    """The file Settings.load() is reading; a class attribute because sources are classmethods."""

    path: Path | None = None


_toml_file = _TomlFile()
