"""Which kafka-python errors are transient faults, and their translation into the domain's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

from inventory_sync.domain.errors import TransientError


def is_transient(exc: BaseException) -> bool:
    """Broker away, timeouts, leader or coordinator moving: faults that clear by themselves."""
    return bool(getattr(exc, "retriable", False)) or isinstance(
        exc, KafkaConnectionError | KafkaTimeoutError
    )


@contextmanager
def transient_faults(doing: str) -> Iterator[None]:
    """Raise a transient KafkaError as TransientError("{doing}: ..."); let the others through."""
    try:
        yield
    except KafkaError as exc:
        if is_transient(exc):
            raise TransientError(f"{doing}: {exc}") from exc
        raise
