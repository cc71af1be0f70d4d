"""Secrets stay secret: database URL passwords masked in every shape, every known secret
masked in the CLI's log lines, passwords read from files, and a refusal named as one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError
from pydantic import ValidationError

from inventory_sync.adapters.kafka.confluent.config import confluent_config
from inventory_sync.adapters.kafka.confluent.faults import refusal_of
from inventory_sync.adapters.kafka.kafka_python.config import client_config
from inventory_sync.domain.errors import AuthenticationFailed, TlsHandshakeFailed
from inventory_sync.entrypoints.logs import configure_logging
from inventory_sync.settings import SECRET_MASK, Settings, mask_url_password, url_passwords
from tests.unit.cli_support import clean_environment

SECRET = "hunter2x"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://:hunter2x@db/shop",  # no user
        "postgresql://shop@db/shop?password=hunter2x",  # as a query parameter
        "postgresql://shop@db/shop?sslmode=require&sslpassword=hunter2x",  # the key's
        "postgresql://shop:hunter2x?@db/shop",  # ? in it: urlsplit would end the host there
        "postgresql://shop:hun#ter2x@db/shop",  # a fragment mark
        "postgresql://shop:hun/ter2x@db/shop",  # a path mark
        "postgresql://shop:hunter2x@db:notaport/shop",  # fails to parse (the port)
        "postgresql://shop:hunter2x@[::1/shop",  # fails to parse (the bracket)
    ],
)
def test_every_shape_of_database_url_has_its_password_masked(url: str) -> None:
    masked = mask_url_password(url)

    assert "ter2x" not in masked
    assert SECRET_MASK in masked
    assert any("ter2x" in p for p in url_passwords(url))


def test_a_url_without_a_password_is_shown_as_it_is() -> None:
    for url in ("sqlite:///inventory.db", "postgresql://shop@db/shop?options=a:b@c"):
        assert mask_url_password(url) == url


@pytest.fixture
def handlers_removed() -> Iterator[None]:
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if type(h).__name__ == "StderrHandler"]:
        root.removeHandler(handler)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_known_secret_is_masked_in_every_log_line_whoever_logs_it(
    handlers_removed: None, capsys: pytest.CaptureFixture[str], tmp_path: Path, log_format: str
) -> None:
    key = tmp_path / "client.key"
    key.write_text(
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END PRIVATE KEY-----\n"
    )
    settings = Settings(
        sasl_password='pa"ss\\word',
        ssl_key_password="key-secret",
        ssl_keyfile=str(key),
        database_url="postgresql://shop:db-secret@db/shop",
    )
    configure_logging("DEBUG", log_format, settings.secret_values())

    logging.getLogger("kafka.conn").debug("config: %s", client_config(settings))
    logging.getLogger("inventory_sync.kafka").warning("%s", confluent_config(settings))
    logging.getLogger("inventory_sync.x").info(
        "url %s", settings.database_url, extra={"k": "key-secret"}
    )
    logging.getLogger("kafka").debug("key %s", key.read_text())

    output = capsys.readouterr().err
    for secret in (
        'pa"ss\\word',
        'pa\\"ss\\\\word',
        "key-secret",
        "db-secret",
        "MIIEvQIBADANBgkqhkiG9w0B",
    ):
        assert secret not in output
    assert output.count("**********") >= 6


def test_sasl_password_file_gives_its_content_without_the_trailing_newline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_environment(monkeypatch)
    secret = tmp_path / "sasl_password"
    secret.write_text("from a file\n")
    monkeypatch.setenv("INVENTORY_SYNC_SASL_PASSWORD_FILE", str(secret))

    settings = Settings.load()

    assert settings.sasl_password is not None
    assert settings.sasl_password.get_secret_value() == "from a file"
    assert settings.masked()["sasl_password"] == SECRET_MASK


def test_an_unreadable_sasl_password_file_is_an_error_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(sasl_password_file=tmp_path / "missing")

    error = raised.value.errors()[0]
    assert error["loc"] == ("sasl_password_file",)
    assert "cannot read" in error["msg"]


def test_sasl_password_and_its_file_together_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("x")

    with pytest.raises(ValidationError, match="not both"):
        Settings(sasl_password="y", sasl_password_file=secret)


def test_the_secrets_directory_gives_one_setting_per_file_below_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_environment(monkeypatch)
    (tmp_path / "sasl_password").write_text("mounted\n")
    (tmp_path / "sasl_username").write_text("shop")
    (tmp_path / "ssl_key_password").write_text("key-pw")
    monkeypatch.setenv("INVENTORY_SYNC_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("INVENTORY_SYNC_SASL_USERNAME", "from-env")

    settings = Settings.load()

    assert settings.sasl_password is not None
    assert settings.sasl_password.get_secret_value() == "mounted"
    assert settings.ssl_key_password is not None
    assert settings.ssl_key_password.get_secret_value() == "key-pw"
    assert settings.sasl_username == "from-env"


def test_a_secrets_directory_that_is_not_one_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_environment(monkeypatch)
    monkeypatch.setenv("INVENTORY_SYNC_SECRETS_DIR", str(tmp_path / "nope"))

    with pytest.raises(Exception, match="INVENTORY_SYNC_SECRETS_DIR"):
        Settings.load()


def test_the_key_password_goes_to_both_clients() -> None:
    settings = Settings(ssl_key_password="kp")

    assert client_config(settings)["ssl_password"] == "kp"
    assert confluent_config(settings)["ssl.key.password"] == "kp"


SASL = Settings(
    bootstrap_servers="b:9093",
    security_protocol="SASL_SSL",
    sasl_mechanism="SCRAM-SHA-256",
    sasl_username="alice",
    sasl_password="s3cret",
    ssl_cafile="/etc/ca.pem",
)


@pytest.mark.parametrize(
    ("code", "text", "kind", "message"),
    [
        (
            KafkaError._AUTHENTICATION,
            "SASL authentication error: Authentication failed during authentication due to "
            "invalid credentials with SASL mechanism SCRAM-SHA-256",
            AuthenticationFailed,
            "Kafka at b:9093 refused the credentials: SASL SCRAM-SHA-256 authentication failed "
            "for user 'alice'",
        ),
        (
            KafkaError._AUTHENTICATION,
            "SASL SCRAM-SHA-256 mechanism handshake failed: Broker: Unsupported SASL mechanism: "
            "broker's supported mechanisms: PLAIN,SCRAM-SHA-512",
            AuthenticationFailed,
            "refused SASL mechanism SCRAM-SHA-256 for user 'alice': it offers PLAIN,SCRAM-SHA-512",
        ),
        (
            KafkaError._SSL,
            "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed",
            TlsHandshakeFailed,
            "its certificate is not signed by the CA in ssl_cafile /etc/ca.pem",
        ),
        (
            KafkaError._TRANSPORT,
            "Receive failed: error:0A000412:SSL routines::ssl/tls alert bad certificate",
            TlsHandshakeFailed,
            "it requires a client certificate: set ssl_certfile and ssl_keyfile",
        ),
    ],
)
def test_a_confluent_client_error_that_is_a_refusal_is_named_as_one(
    code: int, text: str, kind: type[Exception], message: str
) -> None:
    refused = refusal_of(KafkaError(code, text), SASL)

    assert isinstance(refused, kind)
    assert message in str(refused)
    assert "s3cret" not in str(refused)


def test_a_broker_away_is_no_refusal() -> None:
    for code in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
        assert refusal_of(KafkaError(code, "Connection refused"), SASL) is None
