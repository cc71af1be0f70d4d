"""A secured broker of the security tests' own and the CLI run against it.

One broker per test session (scripts/kafka-local with a state folder and ports of its own):
PLAINTEXT (the tests' side channel), SASL_PLAINTEXT (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512),
SSL requiring a client certificate, and SASL_SSL (SCRAM-SHA-512 only), with a throwaway CA.
Its user's password and the client key's password are random per session, so that grepping
the output for them means something.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.chaos_support import REPO, free_port, missing

CLI = [sys.executable, "-c", "from inventory_sync.entrypoints.cli import main; main()"]
USER = "alice"
NEVER_HANGS_S = 60.0


@dataclass
class SecuredBroker:
    state: Path
    ports: dict[str, int]
    password: str
    key_password: str
    other_ca: Path

    @property
    def tls(self) -> Path:
        return self.state / "tls"

    def script_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "INVENTORY_SYNC_KAFKA_STATE": str(self.state),
            "INVENTORY_SYNC_KAFKA_PORT": str(self.ports["plain"]),
            "INVENTORY_SYNC_KAFKA_CONTROLLER_PORT": str(self.ports["controller"]),
            "INVENTORY_SYNC_KAFKA_SASL_PORT": str(self.ports["sasl"]),
            "INVENTORY_SYNC_KAFKA_SSL_PORT": str(self.ports["ssl"]),
            "INVENTORY_SYNC_KAFKA_SASL_SSL_PORT": str(self.ports["sasl_ssl"]),
            "INVENTORY_SYNC_KAFKA_SASL_USERS": f"{USER}:{self.password}",
            "INVENTORY_SYNC_KAFKA_CLIENT_KEY_PASSWORD": self.key_password,
        }

    def script(self, command: str) -> str:
        done = subprocess.run(
            [str(REPO / "scripts" / "kafka-local"), command],
            env=self.script_env(),
            capture_output=True,
            text=True,
            timeout=900,  # the first start may fetch the jars
            check=False,
        )
        assert done.returncode == 0, f"kafka-local {command}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def secrets(self) -> list[str]:
        """What must never be printed: both passwords and every line of the keys' PEM bodies."""
        found = [self.password, self.key_password]
        for key in ("client.key", "client-encrypted.key", "broker.key", "ca.key"):
            text = (self.tls / key).read_text()
            found += [line for line in text.splitlines() if line and "-----" not in line]
        return found

    # -- settings per listener (INVENTORY_SYNC_* variables) ------------------------------

    def sasl_ssl(self, **extra: str) -> dict[str, str]:
        return {
            "BOOTSTRAP_SERVERS": f"127.0.0.1:{self.ports['sasl_ssl']}",
            "SECURITY_PROTOCOL": "SASL_SSL",
            "SASL_MECHANISM": "SCRAM-SHA-512",
            "SASL_USERNAME": USER,
            "SASL_PASSWORD": self.password,
            "SSL_CAFILE": str(self.tls / "ca.pem"),
            **extra,
        }

    def sasl_plaintext(self, mechanism: str = "PLAIN", **extra: str) -> dict[str, str]:
        return {
            "BOOTSTRAP_SERVERS": f"127.0.0.1:{self.ports['sasl']}",
            "SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "SASL_MECHANISM": mechanism,
            "SASL_USERNAME": USER,
            "SASL_PASSWORD": self.password,
            **extra,
        }

    def mutual_tls(self, **extra: str) -> dict[str, str]:
        """Client certificate with an encrypted key, its password in ssl_key_password."""
        return {
            "BOOTSTRAP_SERVERS": f"127.0.0.1:{self.ports['ssl']}",
            "SECURITY_PROTOCOL": "SSL",
            "SSL_CAFILE": str(self.tls / "ca.pem"),
            "SSL_CERTFILE": str(self.tls / "client.pem"),
            "SSL_KEYFILE": str(self.tls / "client-encrypted.key"),
            "SSL_KEY_PASSWORD": self.key_password,
            **extra,
        }


@dataclass
class Ran:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def error_lines(self) -> list[str]:
        """stderr's lines that are not JSON log lines (log_format = json)."""
        return [line for line in self.stderr.splitlines() if not line.startswith("{")]


@dataclass
class Cli:
    """Runs `inventory-sync` with INVENTORY_SYNC_* settings, DEBUG logs as JSON, and checks
    every output for the session's secrets."""

    broker: SecuredBroker
    cwd: Path
    ran: list[Ran] = field(default_factory=list)

    def env(self, settings: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INVENTORY_SYNC_")}
        env |= {"INVENTORY_SYNC_LOG_LEVEL": "DEBUG", "INVENTORY_SYNC_LOG_FORMAT": "json"}
        env |= {f"INVENTORY_SYNC_{name}": value for name, value in settings.items() if value}
        return env

    def start(self, settings: Mapping[str, str], *args: str) -> tuple[subprocess.Popen[str], float]:
        process = subprocess.Popen(
            [*CLI, *args],
            cwd=self.cwd,
            env=self.env(settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return process, time.monotonic()

    def finish(self, started: tuple[subprocess.Popen[str], float]) -> Ran:
        process, t0 = started
        try:
            stdout, stderr = process.communicate(timeout=NEVER_HANGS_S)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            pytest.fail(
                f"{process.args[3:]} did not end within {NEVER_HANGS_S} s:\n{stderr[-2000:]}"
            )
        ran = Ran(list(process.args)[3:], process.returncode, stdout, stderr, time.monotonic() - t0)
        self.ran.append(ran)
        leaked = [s for s in self.broker.secrets() if s in stdout or s in stderr]
        assert not leaked, f"{ran.args} printed a secret ({len(leaked)} of them)"
        return ran

    def __call__(self, settings: Mapping[str, str], *args: str) -> Ran:
        return self.finish(self.start(settings, *args))


@pytest.fixture(scope="session")
def secured_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    """The session's secured broker, started once (about 10 s) and deleted afterwards."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing("Java (for a Kafka broker of the tests' own) is not installed")
    if shutil.which("openssl") is None:
        missing("openssl (for the broker's throwaway CA) is not installed")
    other = tmp_path_factory.mktemp("other-ca")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(other / "ca.key"), "-out", str(other / "ca.pem")),
            *("-subj", "/CN=a CA the broker's certificate is not signed by"),
        ],
        check=True,
        capture_output=True,
    )
    names = ("plain", "controller", "sasl", "ssl", "sasl_ssl")
    broker = SecuredBroker(
        Path(f"/tmp/inventory-sync-kafka-sec-{uuid.uuid4().hex[:8]}"),
        {name: free_port() for name in names},
        f"pw-{secrets.token_hex(12)}",
        f"key-{secrets.token_hex(12)}",
        other / "ca.pem",
    )
    t0 = time.monotonic()
    try:
        broker.script("start")
    except AssertionError as exc:
        shutil.rmtree(broker.state, ignore_errors=True)
        missing(f"a secured Kafka broker of the tests' own did not start: {exc}")
    print(f"\nsecured broker started in {time.monotonic() - t0:.1f} s")
    try:
        yield broker
    finally:
        try:
            broker.script("stop")
        finally:
            shutil.rmtree(broker.state, ignore_errors=True)
