"""Settings are validated up front: a bad value fails with the setting's name, a typo warns."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from inventory_sync.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("bootstrap_servers", "127.0.0.1:abc", "the port must be a number from 1 to 65535"),
        ("bootstrap_servers", "127.0.0.1:70000", "the port must be a number from 1 to 65535"),
        ("bootstrap_servers", "", "is not a list of host:port"),
        ("bootstrap_servers", "a:9092,,b:9092", "is not a list of host:port"),
        ("bootstrap_servers", "127.0.0.1", "has no port: write host:port, e.g. 127.0.0.1:9092"),
        ("database_url", "mysql://u@127.0.0.1/x", "mysql is not supported"),
        ("database_url", "inventory.db", "is not a database URL"),
        ("batch_size", "0", "greater than or equal to 1"),
        ("kafka_client", "rdkafka", "'kafka-python' or 'confluent'"),
        ("metrics_port", "99999", "less than or equal to 65535"),
    ],
)
def test_a_bad_value_fails_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(f"INVENTORY_SYNC_{name.upper()}", value)

    with pytest.raises(SettingsError) as caught:
        Settings.load()

    assert str(caught.value).startswith(f"setting {name}: ")
    assert isinstance(caught.value.__cause__, ValidationError)
    [error] = caught.value.__cause__.errors()
    assert error["loc"] == (name,)
    assert message in error["msg"]


def test_a_database_url_password_never_shows_in_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_SYNC_DATABASE_URL", "nonsense-user:hunter2@host/db")

    with pytest.raises(SettingsError) as caught:
        Settings.load()

    assert "hunter2" not in str(caught.value)


def test_several_brokers_with_spaces_are_accepted_and_normalised() -> None:
    assert Settings(bootstrap_servers="a:9092, b:9093").bootstrap_servers == "a:9092,b:9093"


def test_a_config_file_that_is_not_toml_fails_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text('topic = "x"\nbatch_size = \n')

    with pytest.raises(SettingsError, match=r"broken.toml: .*line 2"):
        Settings.load(config)


def test_a_variable_that_names_no_setting_warns_with_the_nearest_name(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("INVENTORY_SYNC_BATCH_SIZ", "10")
    monkeypatch.setenv("INVENTORY_SYNC_TEST_KAFKA", "127.0.0.1:9092")  # the tests' own

    with caplog.at_level(logging.WARNING, "inventory_sync.settings"):
        settings = Settings.load()

    assert settings.batch_size == 500
    assert [r.getMessage() for r in caplog.records] == [
        "INVENTORY_SYNC_BATCH_SIZ names no setting and is ignored; "
        "did you mean INVENTORY_SYNC_BATCH_SIZE?"
    ]


def test_settings_type_check_in_strict_mypy_without_the_pydantic_plugin(tmp_path: Path) -> None:
    """A shop's own project need not enable pydantic's mypy plugin to build Settings."""
    user_code = tmp_path / "shop.py"
    user_code.write_text(
        textwrap.dedent(
            """
            from datetime import timedelta
            from inventory_sync import Settings

            settings = Settings(topic="x", batch_size=100, max_future_skew=timedelta(1))
            topic: str = settings.topic
            """
        )
    )
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(tmp_path / "mypy.ini"),
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            str(user_code),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://shop:hunter2@db/shop",
        "postgresql://:hunter2@db/shop",
        "postgresql://shop@db/shop?password=hunter2&sslmode=require",
        "postgresql+psycopg://shop:hun@ter2@db:5432/shop",
        "shop:hunter2@db/shop",
        "postgresql://shop:hunter2@[::1/shop",
    ],
)
def test_a_database_url_password_is_masked_in_every_shape(url: str) -> None:
    from inventory_sync.settings import SECRET_MASK, mask_url_password

    masked = mask_url_password(url)

    assert "hunter2" not in masked
    assert "ter2" not in masked
    assert SECRET_MASK in masked


def test_a_postgresql_url_without_psycopg_installed_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a)
    )

    with pytest.raises(ValidationError, match=r"pip install 'inventory-sync\[postgres\]'"):
        Settings(database_url="postgresql://shop@db/shop")
