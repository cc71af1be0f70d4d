"""How the run loop meets faults: the backoff between retries of a transient one, and the
ERROR line of a permanent one."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from inventory_sync.domain.errors import PermanentFault
from inventory_sync.domain.model import Record

log = logging.getLogger("inventory_sync.worker")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: 0.5 s doubling to 30 s, each delay in [d/2, d]."""

    initial_s: float = 0.5
    maximum_s: float = 30.0
    jitter: Callable[[], float] = random.random
    """A number in [0, 1): where in [d/2, d] a delay falls."""

    def delay(self, attempt: int) -> float:
        ceiling = min(self.maximum_s, self.initial_s * 2.0 ** max(attempt - 1, 0))
        return ceiling * (0.5 + self.jitter() / 2)


@contextmanager
def stopping_on_permanent_faults(batch: Sequence[Record]) -> Iterator[None]:
    """Log a PermanentFault at ERROR, saying which batch is left uncommitted, and re-raise it."""
    try:
        yield
    except PermanentFault as exc:
        first = batch[0]
        log.error(
            "stopping on a fault that retrying cannot clear: %s; the batch from %s[%d]@%d "
            "(%d records) and what follows it are not committed, so a restart replays them",
            exc,
            first.topic,
            first.partition,
            first.offset,
            len(batch),
        )
        raise
