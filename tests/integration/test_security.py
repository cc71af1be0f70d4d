"""Authenticated and encrypted Kafka, with both clients, through the CLI as users run it:
SCRAM-SHA-512 over SASL_SSL, PLAIN over SASL_PLAINTEXT and mutual TLS over SSL run a burst
end to end; refused credentials, an unknown user, a wrong mechanism and an untrusted CA end
with one line naming the problem and exit 1; no command, with DEBUG logs as JSON, prints a
password, a key or a database URL's password (Cli checks every output)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from inventory_sync.adapters.kafka.confluent.source import ConfluentRecordSource
from inventory_sync.domain.errors import AuthenticationFailed
from inventory_sync.settings import Settings
from tests.integration.chaos_support import PRODUCTS, catalogue, stock
from tests.integration.kafka_support import CLIENTS, burst, rejections_in_burst, topic_settings
from tests.integration.security_support import USER, Cli, SecuredBroker, secured_broker

__all__ = ["secured_broker"]

SIZE = 40


@pytest.fixture
def cli(secured_broker: SecuredBroker, tmp_path: Path) -> Cli:
    return Cli(secured_broker, tmp_path)


LISTENERS: dict[str, Callable[[SecuredBroker], dict[str, str]]] = {
    "scram-sha-512-over-sasl-ssl": lambda b: b.sasl_ssl(),
    "plain-over-sasl-plaintext": lambda b: b.sasl_plaintext("PLAIN"),
    "mutual-tls-over-ssl": lambda b: b.mutual_tls(),
}


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("listener", list(LISTENERS))
def test_the_right_credentials_run_a_burst_end_to_end(
    cli: Cli, secured_broker: SecuredBroker, tmp_path: Path, client: str, listener: str
) -> None:
    topic = f"sec-{listener}-{client}-{time.monotonic_ns()}"
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    settings = LISTENERS[listener](secured_broker) | {
        "KAFKA_CLIENT": client,
        "TOPIC": topic,
        "DLQ_TOPIC": f"{topic}.dlq",
        "GROUP_ID": f"{topic}-group",
        "DATABASE_URL": url,
        "POLL_TIMEOUT_MS": "200",
    }
    events, expected = burst(PRODUCTS[:5], SIZE)
    (tmp_path / "burst.jsonl").write_bytes(b"\n".join(e.value for e in events) + b"\n")
    catalogue(url)  # the schema and the products, and the topics over PLAINTEXT: not the point
    topic_settings(f"127.0.0.1:{secured_broker.ports['plain']}", topic, partitions=2)

    produced = cli(settings, "produce", "--file", "burst.jsonl")
    assert produced.returncode == 0, produced.stderr[-2000:]
    ran = cli(settings, "run", "--max-messages", str(SIZE), "--idle-timeout", "15", "--json")
    checking, showing = cli.start(settings, "check"), cli.start(settings, "dlq", "show", "--json")
    checked, letters = cli.finish(checking), cli.finish(showing)

    assert ran.returncode == 0, ran.stderr[-3000:]
    summary = json.loads(ran.stdout.strip().splitlines()[-1])
    assert summary["records"] == SIZE
    assert summary["rejected"] == rejections_in_burst(SIZE)
    assert {code: n for code, n in stock(url).items() if code in expected} == expected
    assert letters.returncode == 0, letters.stderr[-2000:]
    assert len(json.loads(letters.stdout)) == rejections_in_burst(SIZE)
    assert checked.returncode == 0, checked.stdout + checked.stderr[-2000:]
    print(f"\n{client} {listener}: " + ", ".join(f"{r.args[0]} {r.seconds:.1f} s" for r in cli.ran))


REFUSALS: dict[str, tuple[Callable[[SecuredBroker], dict[str, str]], str]] = {
    "wrong password": (
        lambda b: b.sasl_plaintext("SCRAM-SHA-256", SASL_PASSWORD=b.password + "-not"),
        f"refused the credentials: SASL SCRAM-SHA-256 authentication failed for user '{USER}'",
    ),
    "unknown user": (
        lambda b: b.sasl_ssl(SASL_USERNAME="mallory"),
        "refused the credentials: SASL SCRAM-SHA-512 authentication failed for user 'mallory'",
    ),
    "wrong mechanism": (
        lambda b: b.sasl_ssl(SASL_MECHANISM="PLAIN"),
        f"refused SASL mechanism PLAIN for user '{USER}': it offers SCRAM-SHA-512",
    ),
    "untrusted CA": (
        lambda b: b.sasl_ssl(SSL_CAFILE=str(b.other_ca)),
        "TLS handshake with Kafka at 127.0.0.1:{port} failed: its certificate is not signed by "
        "the CA in ssl_cafile {other_ca}",
    ),
    "no client certificate": (
        lambda b: b.mutual_tls(SSL_CERTFILE="", SSL_KEYFILE="", SSL_KEY_PASSWORD=""),
        "failed: it requires a client certificate: set ssl_certfile and ssl_keyfile",
    ),
}


def test_a_refused_login_or_certificate_ends_run_with_one_line_naming_it(
    cli: Cli, secured_broker: SecuredBroker, tmp_path: Path
) -> None:
    """Every refusal, with each client, at once (the workers wait on the broker, not the CPU)."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    catalogue(url)
    started = {
        (client, case): cli.start(
            settings(secured_broker) | {"KAFKA_CLIENT": client, "DATABASE_URL": url},
            "run",
            "--idle-timeout",
            "5",
        )
        for client in CLIENTS
        for case, (settings, _) in REFUSALS.items()
    }
    for (client, case), running in started.items():
        ran = cli.finish(running)
        settings = REFUSALS[case][0](secured_broker)
        port = settings["BOOTSTRAP_SERVERS"].rpartition(":")[2]
        expected = REFUSALS[case][1].format(port=port, other_ca=secured_broker.other_ca)
        last = ran.stderr.splitlines()[-1] if ran.stderr else ""
        print(f"\n{client} {case}: exit {ran.returncode} after {ran.seconds:.1f} s: {last}")

        assert ran.returncode == 1, ran.stderr[-3000:]
        assert ran.error_lines() == [ran.error_lines()[0]], ran.error_lines()
        assert ran.error_lines()[0].startswith("error: ")
        assert expected in ran.error_lines()[0]
        assert "Traceback" not in "\n".join(ran.error_lines())  # DEBUG lines may hold some
        assert "cannot reach" not in ran.stderr.splitlines()[-1]


def test_the_confluent_source_itself_stops_on_refused_credentials(
    secured_broker: SecuredBroker,
) -> None:
    """`run` finds a refusal before it consumes (with kafka-python's admin client); a refusal
    that comes later, to the confluent consumer, ends its polls too, within a second."""
    settings = Settings(
        kafka_client="confluent",
        bootstrap_servers=f"127.0.0.1:{secured_broker.ports['sasl']}",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username=USER,
        sasl_password="not the password",
    )
    source = ConfluentRecordSource(settings)
    t0 = time.monotonic()
    refused: AuthenticationFailed | None = None
    try:
        while refused is None and time.monotonic() - t0 < 30:
            try:
                source.poll(10, 0.2)
            except AuthenticationFailed as exc:
                refused = exc
    finally:
        source.close()
    print(f"\nconfluent source refused after {time.monotonic() - t0:.1f} s: {refused}")

    assert refused is not None, "polling went on for 30 s"
    assert "SCRAM-SHA-512 authentication failed for user 'alice'" in str(refused)
    assert "not the password" not in str(refused)
    assert refused.__cause__ is not None


DATABASE_URLS = [  # the shapes a masking by URL parsing misses (all shapes: tests/unit)
    "postgresql://:{pw}@127.0.0.1:1/shop",
    "postgresql://shop@127.0.0.1:1/shop?password={pw}",
    "postgresql://shop:{pw}?x@127.0.0.1:1/shop",
    "postgresql://shop:{pw}@127.0.0.1:notaport/shop",
]


def test_no_shape_of_database_url_prints_its_password(
    cli: Cli, secured_broker: SecuredBroker
) -> None:
    """products list, check and config show, each URL shape, DEBUG logs as JSON."""
    password = "db-" + secured_broker.password[3:]  # random: the session's
    running = [
        cli.start(
            secured_broker.sasl_plaintext() | {"DATABASE_URL": shape.format(pw=password)}, *args
        )
        for shape in DATABASE_URLS
        for args in (["products", "list"], ["check"], ["config", "show"])
    ]
    for started in running:
        ran = cli.finish(started)
        assert password not in ran.stdout + ran.stderr, ran.args
        assert "Traceback" not in "\n".join(ran.error_lines()), ran.stderr[-2000:]
