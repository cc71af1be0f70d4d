"""Settings: precedence flag > environment > file > default, and secrets never shown."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from inventory_sync.settings import Settings, SettingsError


def test_defaults_are_the_contracts() -> None:
    settings = Settings.load()
    assert settings.topic == "product_inventory_updates"
    assert settings.dlq_topic == "product_inventory_updates.dlq"
    assert settings.group_id == "inventory-sync"
    assert settings.database_url == "sqlite:///inventory_sync.db"
    assert (settings.batch_size, settings.low_stock_threshold) == (500, 5)
    assert settings.unknown_products == "reject"
    assert settings.kafka_client == "kafka-python"


def test_a_flag_beats_the_environment_which_beats_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "inventory-sync.toml"
    config.write_text('topic = "from-file"\ngroup_id = "from-file"\nbatch_size = 7\n')
    monkeypatch.setenv("INVENTORY_SYNC_TOPIC", "from-env")
    monkeypatch.setenv("INVENTORY_SYNC_GROUP_ID", "from-env")
    settings = Settings.load(config, group_id="from-flag", batch_size=None)
    assert (settings.topic, settings.group_id, settings.batch_size) == ("from-env", "from-flag", 7)


def test_the_config_file_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text("low_stock_threshold = 2\n")
    monkeypatch.setenv("INVENTORY_SYNC_CONFIG", str(config))
    assert Settings.load().low_stock_threshold == 2


def test_a_missing_config_file_is_an_error() -> None:
    with pytest.raises(FileNotFoundError):
        Settings.load("/nonexistent/inventory-sync.toml")


def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_SYNC_BATCH_SIZE", "0")
    with pytest.raises(SettingsError, match=r"^setting batch_size: ") as caught:
        Settings.load()
    assert isinstance(caught.value.__cause__, ValidationError)
    assert caught.value.__cause__.errors()[0]["loc"] == ("batch_size",)


def test_an_unknown_setting_in_the_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("bath_size = 3\n")
    with pytest.raises(SettingsError, match="bath_size"):
        Settings.load(config)


def test_secrets_are_masked_in_what_config_show_prints() -> None:
    settings = Settings.load(
        sasl_password="hunter2", database_url="postgresql://shop:s3cret@db/shop"
    )
    shown = settings.masked()
    assert "hunter2" not in str(shown)
    assert "s3cret" not in str(shown)
    assert "hunter2" not in repr(settings)
    assert shown["database_url"] == "postgresql://shop:**********@db/shop"


def test_an_empty_updated_at_column_turns_the_stale_guard_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INVENTORY_SYNC_UPDATED_AT_COLUMN", "")
    assert Settings.load().updated_at_column is None


@pytest.mark.parametrize(("given", "seconds"), [("300", 300), ("PT10M", 600), ("0", 0)])
def test_max_future_skew_takes_seconds_or_an_iso_duration(
    monkeypatch: pytest.MonkeyPatch, given: str, seconds: int
) -> None:
    assert Settings.load().max_future_skew.total_seconds() == 300
    monkeypatch.setenv("INVENTORY_SYNC_MAX_FUTURE_SKEW", given)
    assert Settings.load().max_future_skew.total_seconds() == seconds


def test_a_negative_max_future_skew_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_SYNC_MAX_FUTURE_SKEW", "-1")
    with pytest.raises(SettingsError, match=r"^setting max_future_skew: "):
        Settings.load()
