"""The CLI on in-memory services: a container whose providers are fakes, and a runner."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest
from dependency_injector import providers
from typer.testing import CliRunner, Result

from inventory_sync.adapters.health import Health
from inventory_sync.adapters.memory import (
    InMemoryDeadLetterSink,
    InMemoryRecordSource,
    InMemoryRepository,
    InMemoryUnitOfWork,
)
from inventory_sync.container import Container
from inventory_sync.domain.model import Product
from inventory_sync.entrypoints.cli import app
from inventory_sync.settings import Settings


@dataclass
class FakeProbe:
    """What /readyz asks the database and Kafka, answered from `down` (dependency -> why)."""

    down: dict[str, str] = field(default_factory=dict)
    asked: int = 0

    def faults(self) -> dict[str, str]:
        self.asked += 1
        return dict(self.down)


@dataclass
class FakeServices:
    """What the CLI talks to, in memory: the product table, the topic, the dead-letter topic."""

    repository: InMemoryRepository = field(default_factory=InMemoryRepository)
    topic: InMemoryRecordSource = field(default_factory=InMemoryRecordSource)
    dead_letters: InMemoryDeadLetterSink = field(default_factory=InMemoryDeadLetterSink)
    database: Health = field(default_factory=lambda: Health(True, "in memory"))
    kafka: Health = field(default_factory=lambda: Health(True, "in memory"))
    settings: Settings | None = None
    probe: FakeProbe = field(default_factory=FakeProbe)

    def add(self, products: Mapping[str, int]) -> None:
        self.repository.add(
            [Product(code, f"{code} name", count) for code, count in products.items()]
        )

    def send(self, value: object) -> None:
        payload = value if isinstance(value, bytes) else json.dumps(value).encode()
        self.topic.append(payload)

    def container(self, settings: Settings) -> Container:
        """The CLI's container factory: production wiring with every service overridden."""
        self.settings = settings
        container = Container(settings=settings)
        container.unit_of_work.override(providers.Object(InMemoryUnitOfWork(self.repository)))
        container.record_source.override(providers.Object(self.topic))
        container.dead_letter_sink.override(providers.Object(self.dead_letters))
        container.database_health.override(providers.Object(self.database))
        container.kafka_health.override(providers.Object(self.kafka))
        container.dependency_probe.override(providers.Object(self.probe))
        return container

    def invoke(self, *args: str, env: Mapping[str, str] | None = None) -> Result:
        return CliRunner().invoke(app, list(args), obj=self.container, env=dict(env or {}))


def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own INVENTORY_SYNC_* settings out of a test."""
    for name in list(os.environ):
        if name.startswith("INVENTORY_SYNC_"):
            monkeypatch.delenv(name)


def one_error_line(result: Result) -> str:
    """The single line an expected error prints on stderr (and that there is no traceback)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert lines[0].startswith("error: ")
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
