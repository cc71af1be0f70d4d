"""Reachability: a broker outage while the worker is idle shows in the log, once each way.

The clients reconnect by themselves, quietly (their own loggers are kept at DEBUG or below),
so a worker with nothing to consume would say nothing about a broker that went away. The
sources tell Reachability after each poll whether their client signals trouble; it confirms
with a TCP probe of the bootstrap servers (at most every `every_s`) and logs one WARNING when
none answers, and one INFO line when one answers again.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Sequence

log = logging.getLogger("inventory_sync.kafka")


def broker_answers(bootstrap_servers: Sequence[str], timeout_s: float = 1.0) -> bool:
    """Whether any bootstrap server accepts a TCP connection."""
    for server in bootstrap_servers:
        host, _, port = server.strip().rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
        except (OSError, ValueError):
            continue
        return True
    return False


class Reachability:
    def __init__(
        self,
        bootstrap_servers: Sequence[str],
        *,
        every_s: float = 2.0,
        probe: Callable[[Sequence[str]], bool] = broker_answers,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bootstrap_servers = [s.strip() for s in bootstrap_servers if s.strip()]
        self.every_s = every_s
        self.probe = probe
        self.clock = clock
        self.down_since: float | None = None
        self._probed_at: float | None = None

    @property
    def reachable(self) -> bool:
        return self.down_since is None

    def observe(self, trouble: bool) -> None:
        """After a poll: `trouble` when the client says it cannot talk to the broker."""
        if not trouble and self.down_since is None:
            return
        now = self.clock()
        if self._probed_at is not None and now - self._probed_at < self.every_s:
            return
        self._probed_at = now
        answers = self.probe(self.bootstrap_servers)
        where = ",".join(self.bootstrap_servers)
        if self.down_since is None and not answers:
            self.down_since = now
            log.warning(
                "Kafka at %s cannot be reached; waiting for it (nothing is lost: "
                "consuming resumes from the committed offsets)",
                where,
            )
        elif self.down_since is not None and answers:
            log.info("Kafka at %s is reachable again after %.0f s", where, now - self.down_since)
            self.down_since = None
