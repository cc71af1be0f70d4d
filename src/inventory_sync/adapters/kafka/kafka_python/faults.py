"""Which kafka-python errors are transient faults, their translation into the domain's, and
how their repeated warnings are kept to a few lines."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    MetadataEmptyBrokerList,
    NodeNotReadyError,
    SaslAuthenticationFailedError,
    UnsupportedSaslMechanismError,
)

from inventory_sync.adapters.kafka import refusals
from inventory_sync.domain.errors import (
    InventorySyncError,
    PermanentFault,
    ServiceUnreachable,
    TransientError,
)
from inventory_sync.settings import Settings

log = logging.getLogger("inventory_sync.kafka")


def is_transient(exc: BaseException) -> bool:
    """Broker away, timeouts, leader or coordinator moving: faults that clear by themselves."""
    return bool(getattr(exc, "retriable", False)) or isinstance(
        exc, KafkaConnectionError | KafkaTimeoutError
    )


@contextmanager
def transient_faults(doing: str, settings: Settings | None = None) -> Iterator[None]:
    """Raise a transient KafkaError as TransientError("{doing}: ..."); let the others through.

    Given the settings, a broker that refuses the credentials or a certificate raises the
    domain's AuthenticationFailed or TlsHandshakeFailed instead (see refusal_behind)."""
    try:
        yield
    except KafkaError as exc:
        refused = refusal_behind(exc, settings) if settings is not None else None
        if refused is not None:
            raise refused from exc
        if is_transient(exc):
            raise TransientError(f"{doing}: {exc}") from exc
        raise


_NOT_CONNECTED = (KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError)


def refusal_behind(exc: BaseException, settings: Settings) -> PermanentFault | None:
    """The refusal a kafka-python error stands for: its own SASL errors, or, for a client of a
    secured listener that never connected, what probe.refusal finds on a connection of its own
    (kafka-python reports a refused login as a bootstrap timeout)."""
    if isinstance(exc, UnsupportedSaslMechanismError):
        return refusals.mechanism_refused(settings)
    if isinstance(exc, SaslAuthenticationFailedError):
        return refusals.credentials_refused(settings)
    if settings.security_protocol != "PLAINTEXT" and isinstance(exc, _NOT_CONNECTED):
        from inventory_sync.adapters.kafka.kafka_python.probe import refusal

        return refusal(settings)
    return None


class Complaints:
    """The warnings of one kind of failure, repeated while a broker is away: the first of a
    streak at WARNING, then one every `every_s` with the count, the rest at DEBUG, and an
    INFO line when it works again. A minute's outage is a few lines, not one per poll."""

    def __init__(
        self, what: str, every_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.what = what
        self.every_s = every_s
        self.clock = clock
        self.failures = 0
        self._warned_at = 0.0

    def failed(self, message: str, *args: object) -> None:
        self.failures += 1
        now = self.clock()
        if self.failures == 1 or now - self._warned_at >= self.every_s:
            self._warned_at = now
            suffix = "" if self.failures == 1 else f" ({self.failures} failures so far)"
            log.warning(message + suffix, *args)
        else:
            log.debug(message, *args)

    def succeeded(self) -> None:
        if self.failures:
            log.info("%s works again after %d failure(s)", self.what, self.failures)
            self.failures = 0


UNREACHABLE: tuple[type[KafkaError], ...] = (
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    MetadataEmptyBrokerList,
)


def kafka_error(exc: KafkaError, where: str) -> InventorySyncError:
    """The domain's error for a kafka-python error met by a command (`where`: the servers)."""
    if isinstance(exc, UNREACHABLE):
        return ServiceUnreachable(f"cannot reach Kafka at {where}")
    return InventorySyncError(f"Kafka at {where}: {type(exc).__name__}: {_first_line(str(exc))}")


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else text.strip()
