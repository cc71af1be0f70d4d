"""Reachability: a broker outage while the worker is idle shows in the log, once each way.

The clients reconnect by themselves, quietly (their own loggers are kept at DEBUG or below),
so a worker with nothing to consume would say nothing about a broker that went away. The
sources tell Reachability after each poll whether their client signals trouble; it confirms
with a TCP probe of the bootstrap servers (at most every `every_s`) and logs one WARNING when
none answers, and one INFO line when one answers again.

StallWatch: a consumer that stays stuck while a broker answers (a client that lost its group
coordinator for good after a restart, say) is told apart from one that recovers by itself,
so that its source replaces it.
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


class StallWatch:
    """Tells a consumer that recovers by itself from one that stays stuck.

    check() is told after each poll why the consumer is stuck (the source's reading of its
    client, or the error the poll raised), or None when it is fine. It says to replace the
    consumer once it has been stuck for `bound_s` while a broker answers; while none answers,
    a new consumer could not do better, so it logs that and counts again.
    """

    def __init__(
        self,
        what: str,
        bootstrap_servers: Sequence[str],
        bound_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.bootstrap_servers = list(bootstrap_servers)
        self.bound_s = bound_s
        self.clock = clock
        self._since: float | None = None

    def check(self, reason: str | None) -> bool:
        """True when the consumer must be replaced (logged at WARNING, with the reason)."""
        now = self.clock()
        if reason is None or self._since is None:
            self._since = None if reason is None else now
            return False
        stuck_for = now - self._since
        if stuck_for < self.bound_s:
            return False
        if not broker_answers(self.bootstrap_servers):
            log.warning(
                "no Kafka broker at %s has answered for %.0f s; waiting for one",
                ",".join(self.bootstrap_servers),
                stuck_for,
            )
            self._since = now
            return False
        log.warning(
            "%s has made no progress for %.0f s although the broker answers (%s); "
            "replacing it: the new one re-joins the group and resumes from the committed offsets",
            self.what,
            stuck_for,
            reason,
        )
        self._since = None
        return True
