"""The log lines of rejected records: one per record with its coordinates as fields, or one
per batch with the counts by reason (log_rejections = batch)."""

from __future__ import annotations

import logging

from inventory_sync.domain.outcomes import BatchReport

log = logging.getLogger("inventory_sync.worker")


def log_rejections(report: BatchReport, *, each: bool) -> None:
    """One INFO line per rejected record, its coordinates, product and event as fields
    (JSON logs show them as keys); or, with `each` off, one line per batch."""
    if not log.isEnabledFor(logging.INFO) or not report.summary.rejected:
        return
    if not each:
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(report.summary.by_reason.items()))
        log.info(
            "rejected %d of %d records (%s)",
            report.summary.rejected,
            report.summary.records,
            reasons,
            extra={
                "rejected": report.summary.rejected,
                "by_reason": dict(report.summary.by_reason),
            },
        )
        return
    for outcome in report.outcomes:
        if outcome.rejection is None:
            continue
        record = outcome.record
        log.info(
            "rejected: %s",
            outcome.rejection.error,
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "product_code": outcome.product_code,
                "event_id": outcome.event_id,
                "reason": outcome.rejection.reason.value,
            },
        )
