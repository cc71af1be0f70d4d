"""Global options, `config show`, bad settings and `--help` of every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from inventory_sync.entrypoints.cli import app
from tests.unit.cli_support import FakeServices, clean_environment, one_error_line


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> FakeServices:
    clean_environment(monkeypatch)
    return FakeServices()


def test_a_flag_beats_the_environment_which_beats_the_config_file(
    services: FakeServices, tmp_path: Path
) -> None:
    config = tmp_path / "sync.toml"
    config.write_text('topic = "file"\ngroup_id = "file"\ndlq_topic = "file"\n')
    result = services.invoke(
        "--config",
        str(config),
        "--topic",
        "flag",
        "config",
        "show",
        "--json",
        env={"INVENTORY_SYNC_TOPIC": "env", "INVENTORY_SYNC_GROUP_ID": "env"},
    )
    shown = json.loads(result.stdout)
    assert (shown["topic"], shown["group_id"], shown["dlq_topic"]) == ("flag", "env", "file")


def test_the_config_file_can_come_from_the_environment(
    services: FakeServices, tmp_path: Path
) -> None:
    config = tmp_path / "sync.toml"
    config.write_text("batch_size = 7\n")
    result = services.invoke("config", "show", env={"INVENTORY_SYNC_CONFIG": str(config)})
    assert "batch_size = 7" in result.stdout.splitlines()


def test_config_show_masks_every_secret(services: FakeServices) -> None:
    result = services.invoke(
        "--database-url",
        "postgresql+psycopg://shop:hunter2@db/shop",
        "config",
        "show",
        env={"INVENTORY_SYNC_SASL_PASSWORD": "hunter2"},
    )
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert 'sasl_password = "**********"' in result.stdout
    assert 'database_url = "postgresql+psycopg://shop:**********@db/shop"' in result.stdout


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["status", "A"],
            {"INVENTORY_SYNC_BATCH_SIZE": "0"},
            "error: setting batch_size: Input should be greater than or equal to 1",
        ),
        (
            ["--kafka-client", "java", "status", "A"],
            {},
            "error: setting kafka_client: Input should be 'kafka-python' or 'confluent'",
        ),
        (
            ["--metrics-port", "http", "config", "show"],
            {},
            "error: setting metrics_port: Input should be a valid integer,"
            " unable to parse string as an integer",
        ),
        (
            ["--log-level", "LOUD", "config", "show"],
            {},
            "error: setting log_level: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
        ),
    ],
)
def test_a_bad_setting_exits_2_with_one_line_naming_it(
    services: FakeServices, args: list[str], env: dict[str, str], message: str
) -> None:
    result = services.invoke(*args, env=env)
    assert result.exit_code == 2
    assert one_error_line(result) == message


def test_an_unknown_setting_in_the_config_file_is_named(
    services: FakeServices, tmp_path: Path
) -> None:
    config = tmp_path / "sync.toml"
    config.write_text('bootstrap_server = "kafka:9092"\n')
    result = services.invoke("--config", str(config), "config", "show")
    assert result.exit_code == 2
    assert (
        one_error_line(result) == "error: setting bootstrap_server: Extra inputs are not permitted"
    )


def test_a_missing_config_file_exits_2(services: FakeServices, tmp_path: Path) -> None:
    result = services.invoke("--config", str(tmp_path / "nope.toml"), "config", "show")
    assert result.exit_code == 2
    assert one_error_line(result) == f"error: config file not found: {tmp_path / 'nope.toml'}"


def test_a_usage_error_exits_2(services: FakeServices) -> None:
    result = services.invoke("run", "--max-messages", "0")
    assert result.exit_code == 2


def test_produce_wants_code_and_count_or_a_file(services: FakeServices) -> None:
    result = services.invoke("produce", "SKU-1")
    assert result.exit_code == 2
    assert "give CODE COUNT, or --file FILE.jsonl" in one_error_line(result)


def test_produce_wants_an_offset_in_occurred_at(services: FakeServices) -> None:
    result = services.invoke("produce", "SKU-1", "3", "--occurred-at", "2026-01-01T10:00:00")
    assert result.exit_code == 2
    assert "needs an offset" in one_error_line(result)


def _commands(group: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    names = [(*prefix, command.name or "") for command in group.registered_commands]
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        names.append((*prefix, sub.name or ""))
        names += _commands(sub.typer_instance, (*prefix, sub.name or ""))
    return names


COMMANDS = _commands(app)


def test_the_command_table_of_the_design_is_all_there() -> None:
    assert {" ".join(c) for c in COMMANDS} >= {
        "run",
        "apply",
        "db upgrade",
        "products add",
        "products import",
        "products list",
        "status",
        "produce",
        "topics create",
        "dlq show",
        "dlq replay",
        "check",
        "config show",
    }


@pytest.mark.parametrize("command", [(), *COMMANDS], ids=lambda c: " ".join(c) or "top")
def test_every_help_shows_an_example(services: FakeServices, command: tuple[str, ...]) -> None:
    result = services.invoke(*command, "--help")
    assert result.exit_code == 0
    assert "inventory-sync " + " ".join(command) in result.stdout.split("Example")[1]


def test_version_prints_the_package_version(services: FakeServices) -> None:
    from inventory_sync import __version__

    assert services.invoke("--version").stdout == f"inventory-sync {__version__}\n"
