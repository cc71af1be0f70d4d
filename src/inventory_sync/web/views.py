"""What each page shows, read from the group's offsets, the worker's status, the dead-letter
topic and the products table; every failure to read becomes a line on the page, not an error.

Dead letters are read and replayed by the very code of `dlq show` and `dlq replay`."""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inventory_sync.domain.errors import UnknownProduct
from inventory_sync.domain.rejections import RejectionReason

if TYPE_CHECKING:
    from inventory_sync.settings import Settings
    from inventory_sync.web.app import PageServices

log = logging.getLogger("inventory_sync.web")

LETTERS_SHOWN = 200
CHART_WIDTH, CHART_HEIGHT = 600, 120
REMOTE_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Choice:
    """The dead letters chosen: by reason and by product code (all when none)."""

    reasons: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    problem: str | None = None

    @classmethod
    def of(cls, reasons: Iterable[str], products: Iterable[str]) -> Choice:
        known = [reason.value for reason in RejectionReason]
        named = [reason for reason in reasons if reason]
        unknown = [reason for reason in named if reason not in known]
        codes = [code for text in products for code in re.split(r"[\s,]+", text) if code]
        problem = None
        if unknown:
            problem = f"not a rejection reason: {', '.join(unknown)} (one of {', '.join(known)})"
        return cls(tuple(r for r in named if r in known), tuple(dict.fromkeys(codes)), problem)


def overview(services: PageServices) -> dict[str, Any]:
    status, where = services.run_status()
    seconds = (status or {}).get("lag_seconds", {})
    partitions, offsets_problem = [], None
    try:
        for p in services.offsets.read():
            partitions.append(
                {
                    "partition": p.partition,
                    "committed": p.committed,
                    "end": p.end,
                    "lag": p.lag,
                    "lag_seconds": seconds.get(str(p.partition)),
                }
            )
    except Exception as exc:
        offsets_problem = f"cannot read the offsets of group {services.settings.group_id}: {exc}"
    return {
        "page": "overview",
        "status": status,
        "where": where,
        "partitions": partitions,
        "total_lag": sum(p["lag"] for p in partitions),
        "offsets_problem": offsets_problem,
        "chart": chart(status["history"]) if status else None,
        "by_reason": sorted((status or {}).get("totals", {}).get("by_reason", {}).items()),
    }


def dead_letters(services: PageServices, choice: Choice) -> dict[str, Any]:
    from inventory_sync.adapters.kafka.dead_letter_replay import FIXABLE_REASONS

    context: dict[str, Any] = {
        "page": "dead_letters",
        "choice": choice,
        "all_reasons": [reason.value for reason in RejectionReason],
        "fixable": sorted(FIXABLE_REASONS),
        "letters": [],
        "total": 0,
        "counts": [],
        "problem": choice.problem,
    }
    try:
        letters = services.dead_letters.read_dead_letters(
            services.settings, reasons=choice.reasons, products=choice.products, with_headers=True
        )
    except Exception as exc:
        context["problem"] = f"cannot read {services.settings.dlq_topic}: {exc}"
        return context
    for letter in letters:
        letter["payload"] = pretty(letter["value"])
    counts = Counter((str(letter["reason"]), str(letter["status"])) for letter in letters)
    context.update(letters=letters[-LETTERS_SHOWN:], total=len(letters))
    context["counts"] = [(r, s, n) for (r, s), n in sorted(counts.items())]
    return context


def replay(services: PageServices, choice: Choice, dry_run: bool) -> dict[str, Any]:
    """Replay the chosen letters with `dlq replay`'s own code, then show them again."""
    from inventory_sync.adapters.kafka.dead_letter_replay import ReplayChoice
    from inventory_sync.entrypoints.cli.dead_letters import replay_lines

    settings = services.settings
    lines: list[str] = []
    problem = choice.problem
    if problem is None:
        try:
            report = services.dead_letters.replay_dead_letters(
                settings, ReplayChoice.of(choice.reasons, choice.products), dry_run=dry_run
            )
            lines = replay_lines(report, settings.dlq_topic, settings.topic)
            log.info("replay from the status page: %s", lines[0])
        except Exception as exc:
            problem = f"replay failed: {exc}"
    context = dead_letters(services, choice)
    context["replay_lines"] = lines
    context["problem"] = problem or context["problem"]
    return context


def product(services: PageServices, code: str) -> dict[str, Any]:
    context: dict[str, Any] = {"page": "products", "code": code, "stock": None, "problem": None}
    if not code:
        return context
    try:
        context["stock"] = services.container().service().stock_status(code)
    except UnknownProduct:
        context["problem"] = f"no product {code}"
    except Exception as exc:
        context["problem"] = f"cannot read the products: {exc}"
    return context


def worker_status_over_http(settings: Settings) -> tuple[dict[str, Any] | None, str]:
    """The worker's /status.json, at metrics_host:metrics_port (`inventory-sync web`)."""
    if settings.metrics_port is None:
        return None, "the worker's own figures need metrics_port (where the worker serves them)"
    host = settings.metrics_host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "[::]") else host
    url = f"http://{host}:{settings.metrics_port}/status.json"
    try:
        with urllib.request.urlopen(url, timeout=REMOTE_TIMEOUT_S) as response:
            status: dict[str, Any] = json.loads(response.read())
    except (OSError, ValueError) as exc:
        return None, f"no worker answers at {url}: {exc}"
    return status, f"the worker at {url}"


def chart(history: list[dict[str, float]]) -> dict[str, Any]:
    """The points of an SVG polyline of records/s, oldest on the left."""
    rates = [point["rate"] for point in history] or [0.0]
    peak = max(rates)
    step = CHART_WIDTH / max(len(rates) - 1, 1)
    scale = (CHART_HEIGHT - 4) / peak if peak > 0 else 0.0
    points = " ".join(
        f"{i * step:.1f},{CHART_HEIGHT - 2 - rate * scale:.1f}" for i, rate in enumerate(rates)
    )
    minutes = round(len(rates) * 10 / 60)
    return {
        "points": points,
        "peak": peak,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "minutes": minutes,
    }


def pretty(value: str | None) -> str:
    """A JSON value spaced out (so that it wraps), anything else as it is."""
    if value is None:
        return "(null)"
    try:
        return json.dumps(json.loads(value), ensure_ascii=False)
    except (ValueError, RecursionError):
        return value


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "\N{EN DASH}"
    if seconds < 90:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def number(value: float | None) -> str:
    if value is None:
        return "\N{EN DASH}"
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"
