"""INVENTORY_SYNC as inventory-sync's settings: its precedence, and the settings file that
carries it to the command line, which `manage.py inventory_sync` runs in-process."""

from __future__ import annotations

import io
import json
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from inventory_sync import Settings
from inventory_sync.contrib.django.conf import configuration, inventory_settings, toml_text
from inventory_sync.contrib.django.management.commands.inventory_sync import split_arguments
from tests.django_project import SHOP, configure

configure()

pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES:UserWarning")
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/shop.sqlite3"}}


@pytest.fixture(autouse=True)
def _no_inventory_sync_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in __import__("os").environ if n.startswith("INVENTORY_SYNC_")]:
        monkeypatch.delenv(name)


@override_settings(INVENTORY_SYNC={**SHOP, "batch_size": 50, "topic": "shop-stock"})
def test_the_dict_sets_settings_by_their_names() -> None:
    settings = inventory_settings()

    assert (settings.batch_size, settings.topic, settings.group_id) == (
        50,
        "shop-stock",
        "inventory-sync",
    )


@override_settings(INVENTORY_SYNC={**SHOP, "batch_size": 50, "topic": "shop-stock"})
def test_environment_variables_win_over_the_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_SYNC_BATCH_SIZE", "7")
    monkeypatch.setenv("inventory_sync_products_table", "elsewhere")  # names ignore case

    settings = inventory_settings()

    assert (settings.batch_size, settings.topic, settings.products_table) == (
        7,
        "shop-stock",
        "elsewhere",
    )


VARIED: dict[str, Any] = {
    **SHOP,
    "batch_size": 50,
    "low_stock_threshold": 2,
    "unknown_products": "create",
    "max_future_skew": timedelta(minutes=2, seconds=30),
    "sasl_password": 'pa"ss\\word\n\x7f',
    "ssl_cafile": Path("/etc/ssl/ca.pem"),
    "bootstrap_servers": "kafka-1:9092,kafka-2:9092",
    "topic": "stock ünïcode",
    "updated_at_field": None,
}


@override_settings(DATABASES=DATABASES, INVENTORY_SYNC=VARIED)
def test_the_settings_file_gives_the_command_line_the_same_settings(tmp_path: Path) -> None:
    config = configuration()
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text(toml_text(config.values), encoding="utf-8")

    loaded = Settings.load(settings_file)  # what the command line does with --config

    assert loaded == inventory_settings()
    assert loaded.updated_at_column is None
    assert loaded.max_future_skew == timedelta(minutes=2, seconds=30)
    assert loaded.sasl_password is not None
    assert loaded.sasl_password.get_secret_value() == 'pa"ss\\word\n\x7f'
    assert tomllib.loads(settings_file.read_text(encoding="utf-8"))["updated_at_column"] == ""


@override_settings(DATABASES=DATABASES, INVENTORY_SYNC={**SHOP, "batch_size": 50})
def test_the_environment_still_wins_over_the_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text(toml_text(configuration().values), encoding="utf-8")
    monkeypatch.setenv("INVENTORY_SYNC_BATCH_SIZE", "7")

    assert Settings.load(settings_file).batch_size == inventory_settings().batch_size == 7


def test_a_value_no_setting_takes_is_refused_naming_it() -> None:
    with pytest.raises(TypeError, match=r"INVENTORY_SYNC\['topic'\]: a list is no value"):
        toml_text({"topic": ["a", "b"]})


def manage(*args: str) -> tuple[str, str]:
    """`manage.py inventory_sync ARGS` in-process; (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command("inventory_sync", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@override_settings(
    DATABASES={"default": {**DATABASES["default"], "NAME": "/srv/shop.sqlite3"}},
    INVENTORY_SYNC={**SHOP, "sasl_password": "hush", "group_id": "web-shop"},
)
def test_the_command_shows_the_projects_settings_as_the_cli_does() -> None:
    out, _err = manage("config", "show", "--json")

    shown = json.loads(out)
    assert shown["database_url"] == "sqlite:////srv/shop.sqlite3"
    assert (shown["products_table"], shown["count_column"]) == ("catalog_product", "stock")
    assert shown["group_id"] == "web-shop"
    assert shown["sasl_password"] == "**********"


@override_settings(DATABASES=DATABASES, INVENTORY_SYNC=SHOP)
def test_the_command_takes_the_clis_global_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_SYNC_TOPIC", "from-env")

    out, _err = manage("--group-id", "from-flag", "config", "show", "--json")

    assert (json.loads(out)["group_id"], json.loads(out)["topic"]) == ("from-flag", "from-env")


@override_settings(DATABASES=DATABASES, INVENTORY_SYNC=SHOP)
def test_a_usage_error_exits_2_as_the_cli_does() -> None:
    with pytest.raises(SystemExit) as exited:
        manage("status")

    assert exited.value.code == 2


@override_settings(DATABASES=DATABASES, INVENTORY_SYNC=SHOP)
def test_a_config_file_is_refused_as_the_dict_takes_its_place() -> None:
    with pytest.raises(CommandError, match="--config: the INVENTORY_SYNC setting") as raised:
        manage("--config", "x.toml", "config", "show")

    assert raised.value.returncode == 2


@override_settings(INVENTORY_SYNC={**SHOP, "count_field": "stok"})
def test_the_command_refuses_a_broken_mapping_even_without_the_checks() -> None:
    with pytest.raises(CommandError, match=r"INVENTORY_SYNC\['count_field'\] = 'stok'"):
        manage("config", "show")


def test_django_options_are_taken_out_and_the_rest_goes_to_the_cli_as_it_is() -> None:
    args = [
        "--settings=shop.settings",
        "--bootstrap-servers",
        "k:9092",
        "run",
        "--json",
        "--skip-checks",
        "--pythonpath",
        "/srv",
        "--max-messages",
        "3",
        "--",
        "--traceback",
    ]

    django_args, cli_args = split_arguments(args)

    assert django_args == ["--settings=shop.settings", "--skip-checks", "--pythonpath", "/srv"]
    assert cli_args == [
        "--bootstrap-servers",
        "k:9092",
        "run",
        "--json",
        "--max-messages",
        "3",
        "--",
        "--traceback",
    ]
