"""Settings: flag, then environment (INVENTORY_SYNC_*), then a TOML file, then the default."""

from __future__ import annotations

import difflib
import importlib.util
import logging
import os
import re
import tomllib
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

__all__ = ["Settings", "SettingsError", "mask_url_password"]

CONFIG_ENV = "INVENTORY_SYNC_CONFIG"
ENV_PREFIX = "INVENTORY_SYNC_"
SECRET_MASK = "**********"
SECRETS_DIR_ENV = "INVENTORY_SYNC_SECRETS_DIR"
NOT_SETTINGS = ("CONFIG", "TEST_", "KAFKA_", "PG_", "DEMO_", "BENCH_", "SECRETS_DIR")
"""Variables with the prefix that are not settings: the config file, the test and local
service scripts' own."""

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
        self.sasl_password = SecretStr(_read_secret(path))
        return self

    @field_validator("sasl_password_file")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None:
            _read_secret(value)
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
            _check_toml(Path(path))
        _warn_unknown_variables()
        _toml_file.path = Path(path) if path else None
        try:
            return cls(**given)
        except ValidationError as exc:
            raise SettingsError(_first_problem(exc)) from exc
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


def _first_problem(exc: ValidationError) -> str:
    """ "setting batch_size: Input should be greater than 0 (and 2 more)": the first of a
    validation's errors, naming the setting."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if not first["loc"]:  # a rule across settings: its message names them
        return f"settings: {message}{more}"
    name = ".".join(str(part) for part in first["loc"])
    return f"setting {name}: {message}{more}"


def _read_secret(path: Path) -> str:
    """A secret file's text without its trailing newline; ValueError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ValueError(f"cannot read {path}: {reason}") from None
    return text.removesuffix("\n").removesuffix("\r")


def _check_toml(path: Path) -> None:
    """A config file that is not TOML fails here with its name, line and column."""
    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {path}: {exc}") from None


def _warn_unknown_variables() -> None:
    """An INVENTORY_SYNC_* variable that names no setting is a typo: say so, with the
    nearest name, instead of ignoring it."""
    names = [name.upper() for name in Settings.model_fields]
    for variable in sorted(os.environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        name = variable[len(ENV_PREFIX) :]
        if name in names or name.startswith(NOT_SETTINGS):
            continue
        nearest = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {ENV_PREFIX}{nearest[0]}?" if nearest else ""
        log.warning("%s names no setting and is ignored%s", variable, hint)


_QUERY_PASSWORD = re.compile(r"(?i)([?&;](?:ssl)?(?:password|passwd|pwd)=)([^&;#]*)")


def mask_url_password(url: str) -> str:
    """Every password a database URL can carry, masked, whether or not the URL parses:
    postgresql://user:secret@host/db -> postgresql://user:**********@host/db, and likewise
    ://:secret@host, user:secret@host (no scheme), a password holding @ ? # or /, and
    ?password=secret (or sslpassword, the client key's)."""
    url = _QUERY_PASSWORD.sub(rf"\g<1>{SECRET_MASK}", url)
    split = _split_userinfo(url)
    if split is None:
        return url
    head, user, _, tail = split
    return f"{head}{user}:{SECRET_MASK}{tail}"


def url_passwords(url: str) -> list[str]:
    """The passwords in a database URL as written and percent-decoded (for the log filter)."""
    from urllib.parse import unquote

    found = [match.group(2) for match in _QUERY_PASSWORD.finditer(url)]
    split = _split_userinfo(_QUERY_PASSWORD.sub("", url))
    if split is not None:
        found.append(split[2])
    return [p for p in {*found, *map(unquote, found)} if p]


def _split_userinfo(url: str) -> tuple[str, str, str, str] | None:
    """(scheme://, user, password, @rest) of a URL with a password before its last @; the
    password runs to that @, so one holding ? # / or @ is masked whole (if the query holds an
    @ too, more is masked than need be, never less)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    at = rest.rfind("@")
    if at < 0:
        return None
    user, colon, password = rest[:at].partition(":")
    if not colon or any(c in user for c in "/?#"):
        return None
    return f"{scheme}{sep}", user, password, rest[at:]


class _TomlFile:
    """The file Settings.load() is reading; a class attribute because sources are classmethods."""

    path: Path | None = None


_toml_file = _TomlFile()
