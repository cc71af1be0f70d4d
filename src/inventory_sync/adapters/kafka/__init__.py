"""The Kafka adapters: what both clients share here, and one package per client
(kafka_python, confluent) with mirrored modules: config, faults, records, source, sink."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

Overrides: TypeAlias = Mapping[str, Any] | None
"""Extra client settings over the ones the adapters derive (tests use short timeouts)."""
