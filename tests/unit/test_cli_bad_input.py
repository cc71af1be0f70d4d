"""Bad settings and bad input, through the real command line: one line on stderr naming the
setting or the input, exit 2 for usage and settings, 1 for a failed operation, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXECUTABLE = str(Path(sys.executable).parent / "inventory-sync")

# (case, environment, arguments, exit code, what the line says)
CASES: list[tuple[str, dict[str, str], list[str], int, str]] = [
    (
        "port not a number",
        {"BOOTSTRAP_SERVERS": "127.0.0.1:abc"},
        ["check"],
        2,
        "error: setting bootstrap_servers: '127.0.0.1:abc': the port must be",
    ),
    (
        "no brokers",
        {"BOOTSTRAP_SERVERS": ""},
        ["check"],
        2,
        "error: setting bootstrap_servers: '' is not a list of host:port",
    ),
    (
        "no port",
        {"BOOTSTRAP_SERVERS": "127.0.0.1"},
        ["config", "show"],
        2,
        "error: setting bootstrap_servers: '127.0.0.1' has no port",
    ),
    (
        "port out of range",
        {"BOOTSTRAP_SERVERS": "h:0"},
        ["config", "show"],
        2,
        "error: setting bootstrap_servers:",
    ),
    (
        "mysql",
        {"DATABASE_URL": "mysql://u@127.0.0.1/x"},
        ["products", "list"],
        2,
        "error: setting database_url: mysql is not supported",
    ),
    (
        "not a URL",
        {"DATABASE_URL": "inventory.db"},
        ["products", "list"],
        2,
        "error: setting database_url: 'inventory.db' is not a database URL",
    ),
    (
        "batch size zero",
        {"BATCH_SIZE": "0"},
        ["config", "show"],
        2,
        "error: setting batch_size: Input should be greater than or equal to 1",
    ),
    (
        "batch size text",
        {"BATCH_SIZE": "lots"},
        ["config", "show"],
        2,
        "error: setting batch_size: Input should be a valid integer",
    ),
    (
        "client",
        {"KAFKA_CLIENT": "rdkafka"},
        ["config", "show"],
        2,
        "error: setting kafka_client: Input should be 'kafka-python' or 'confluent'",
    ),
    ("log level", {"LOG_LEVEL": "LOUD"}, ["config", "show"], 2, "error: setting log_level:"),
    ("log format", {"LOG_FORMAT": "xml"}, ["config", "show"], 2, "error: setting log_format:"),
    (
        "unknown products",
        {"UNKNOWN_PRODUCTS": "ignore"},
        ["config", "show"],
        2,
        "error: setting unknown_products:",
    ),
    (
        "metrics port",
        {"METRICS_PORT": "70000"},
        ["config", "show"],
        2,
        "error: setting metrics_port: Input should be less than or equal to 65535",
    ),
    (
        "negative skew",
        {"MAX_FUTURE_SKEW": "-5"},
        ["config", "show"],
        2,
        "error: setting max_future_skew:",
    ),
    (
        "skew not a duration",
        {"MAX_FUTURE_SKEW": "soon"},
        ["config", "show"],
        2,
        "error: setting max_future_skew:",
    ),
    (
        "threshold",
        {"LOW_STOCK_THRESHOLD": "-1"},
        ["config", "show"],
        2,
        "error: setting low_stock_threshold:",
    ),
    (
        "security protocol",
        {"SECURITY_PROTOCOL": "TLS"},
        ["config", "show"],
        2,
        "error: setting security_protocol:",
    ),
    ("empty topic", {"TOPIC": ""}, ["config", "show"], 2, "error: setting topic:"),
    (
        "missing config file",
        {},
        ["--config", "nowhere.toml", "config", "show"],
        2,
        "error: config file not found: nowhere.toml",
    ),
    (
        "TOML syntax",
        {},
        ["--config", "{broken}", "config", "show"],
        2,
        "error: config file {broken}: Invalid value (at line 2, column 14)",
    ),
    (
        "TOML unknown name",
        {},
        ["--config", "{typo}", "config", "show"],
        2,
        "error: setting batch_siz: Extra inputs are not permitted",
    ),
    (
        "missing events file",
        {},
        ["apply", "nowhere.jsonl"],
        2,
        "error: no such file: nowhere.jsonl",
    ),
    (
        "unreadable database folder",
        {"DATABASE_URL": "sqlite:////nonexistent-dir/x.db"},
        ["products", "list"],
        1,
        "error: cannot reach the database at sqlite:////nonexistent-dir/x.db",
    ),
    ("database not set up", {}, ["status", "SKU-1"], 1, "error: the database at sqlite:///"),
]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "broken.toml").write_text('topic = "x"\nbatch_size = \n')
    (tmp_path / "typo.toml").write_text("batch_siz = 3\n")
    return tmp_path


def run(workdir: Path, env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INVENTORY_SYNC_")}
    environment |= {f"INVENTORY_SYNC_{name}": value for name, value in env.items()}
    environment["INVENTORY_SYNC_DATABASE_URL"] = env.get(
        "DATABASE_URL", f"sqlite:///{workdir / 'shop.db'}"
    )
    args = [arg.format(broken=workdir / "broken.toml", typo=workdir / "typo.toml") for arg in args]
    return subprocess.run(
        [EXECUTABLE, *args],
        env=environment,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("case", "env", "args", "code", "line"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_setting_or_input_is_one_line_and_an_exit_code(  # noqa: PLR0917
    workdir: Path, case: str, env: dict[str, str], args: list[str], code: int, line: str
) -> None:
    result = run(workdir, env, args)

    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    expected = line.format(broken=workdir / "broken.toml", typo=workdir / "typo.toml")
    assert lines[0].startswith(expected), lines[0]
    assert result.returncode == code


def test_a_variable_that_names_no_setting_is_one_warning_naming_the_nearest(workdir: Path) -> None:
    result = run(workdir, {"BATCH_SIZ": "10"}, ["config", "show"])

    assert result.returncode == 0
    assert result.stderr.strip() == (
        "INVENTORY_SYNC_BATCH_SIZ names no setting and is ignored; "
        "did you mean INVENTORY_SYNC_BATCH_SIZE?"
    )
    assert "batch_size = 500" in result.stdout


def test_a_password_in_a_url_that_does_not_parse_is_never_printed(workdir: Path) -> None:
    result = run(workdir, {"DATABASE_URL": "shop:hunter2@db/shop"}, ["products", "list"])

    assert result.returncode == 2
    assert "hunter2" not in result.stderr + result.stdout
