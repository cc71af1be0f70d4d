"""Which dead letters `dlq show` lists and `dlq replay` sends, decided from the letters and
the replay's remembered positions alone: no client, no I/O (the kafka-python reader does that).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from inventory_sync.adapters.kafka.stored_letter import StoredLetter
from inventory_sync.domain.errors import InventorySyncError
from inventory_sync.domain.rejections import RejectionReason

FIXABLE_REASONS = frozenset(
    {
        RejectionReason.UNKNOWN_PRODUCT.value,
        RejectionReason.STORAGE_REJECTED.value,
        RejectionReason.DELTA_NEEDS_DATABASE_OFFSETS.value,
    }
)
"""What replay sends when no reason is named: the rejections that can succeed once their cause
is fixed (the product added, the table or the data put right, offset_storage = database set).
The others cannot succeed as they are (malformed_json, invalid_payload), or only after a
setting or a clock is changed (too_large, from_the_future), or need a person to decide
(negative_stock: a sale the stock did not cover; sent again once the stock is put right, it
would count the sale twice if the correction already did): replay sends them only when
named."""

METADATA_LIMIT = 4_000
"""Bytes of positions a commit may carry: under the broker's default offset.metadata.max.bytes
(4,096)."""

Status = Literal["pending", "replayed", "skipped"]


class TooManyProductPositions(InventorySyncError):
    """Replay would have to remember more per-product positions than a commit can carry."""


# -- what replay and show decide, from the letters and the positions alone -----------------


@dataclass(frozen=True, slots=True)
class ReplayChoice:
    """Which dead letters a replay sends: those of `reasons`, and only of `products` if any."""

    reasons: frozenset[str] = FIXABLE_REASONS
    products: frozenset[str] = frozenset()

    @classmethod
    def of(cls, reasons: Iterable[str] = (), products: Iterable[str] = ()) -> ReplayChoice:
        """The reasons named (FIXABLE_REASONS when none) and the products named (all if none)."""
        named = frozenset(reasons)
        return cls(named or FIXABLE_REASONS, frozenset(products))

    def takes_reason(self, reason: str | None) -> bool:
        return reason in self.reasons

    def takes_product(self, product: str | None) -> bool:
        return not self.products or product in self.products


@dataclass(frozen=True, slots=True)
class ReplayPositions:
    """How far replay got in one partition of the dead-letter topic.

    A letter of reason R and product P at offset o is replayed when o < position(R, P): the
    larger of R's own position (`reasons`, else `base`) and that of R and P (`products`).
    `read` is how far any replay has read: the offset the group commits.
    """

    read: int = 0
    base: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)
    products: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def position(self, reason: str | None, product: str | None) -> int:
        own = self.reasons.get(reason, self.base) if reason is not None else self.base
        if reason is None or product is None:
            return own
        return max(own, self.products.get(reason, {}).get(product, 0))

    def status(self, letter: StoredLetter) -> Status:
        """replayed (sent back), skipped (cut to fit, passed by a replay), else pending."""
        if letter.offset >= self.position(letter.reason, letter.product):
            return "pending"
        return "skipped" if letter.truncated else "replayed"

    def start(self, choice: ReplayChoice) -> int:
        """The first offset a replay of `choice` must look at."""
        if not choice.products:
            return min(self.position(reason, None) for reason in choice.reasons)
        return min(self.position(r, p) for r in choice.reasons for p in choice.products)

    def passed(self, choice: ReplayChoice, offset: int) -> ReplayPositions:
        """The positions once a replay of `choice` has dealt with every letter below `offset`."""
        reasons = dict(self.reasons)
        products = {reason: dict(codes) for reason, codes in self.products.items()}
        for reason in choice.reasons:
            if not choice.products:
                reasons[reason] = max(offset, self.position(reason, None))
                ahead = {p: o for p, o in products.pop(reason, {}).items() if o > reasons[reason]}
                if ahead:  # a replay narrowed to these products got further
                    products[reason] = ahead
                continue
            for product in choice.products:
                if offset > self.position(reason, product):
                    products.setdefault(reason, {})[product] = offset
        return replace(self, read=max(self.read, offset), reasons=reasons, products=products)

    def metadata(self) -> str:
        """The positions as the commit's metadata (JSON)."""
        data: dict[str, Any] = {"v": 1, "base": self.base, "reasons": dict(self.reasons)}
        if self.products:
            data["products"] = {reason: dict(codes) for reason, codes in self.products.items()}
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_commit(cls, offset: int | None, metadata: str | None) -> ReplayPositions:
        """The positions a commit says; a commit without them (an older replay, which sent
        every letter below its offset) is the position of every reason."""
        if offset is None or offset < 0:
            return cls()
        try:
            data = json.loads(metadata or "")
            positions = cls(
                read=offset,
                base=int(data["base"]),
                reasons={str(r): int(o) for r, o in data["reasons"].items()},
                products={
                    str(r): {str(p): int(o) for p, o in codes.items()}
                    for r, codes in data.get("products", {}).items()
                },
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls(read=offset, base=offset)
        return positions


@dataclass
class ReplayReport:
    """What a replay sent (or would send, in a dry run) and what it passed over, and why."""

    dry_run: bool = False
    replayed: list[StoredLetter] = field(default_factory=list)
    not_chosen: Counter[str] = field(default_factory=Counter)
    """Per reason, letters whose reason was not chosen: pending still."""
    other_products: Counter[str] = field(default_factory=Counter)
    """Per reason, letters of a chosen reason but of a product not chosen: pending still."""
    truncated: list[StoredLetter] = field(default_factory=list)
    """Chosen letters that were cut to fit: never sent, passed."""

    @property
    def sent(self) -> int:
        return 0 if self.dry_run else len(self.replayed)


def sort_out(
    letters: Iterable[StoredLetter],
    positions: ReplayPositions,
    choice: ReplayChoice,
    report: ReplayReport,
) -> list[StoredLetter]:
    """The letters (of one partition, in offset order) a replay of `choice` sends; those it
    passes over are counted in `report`, those replayed already are left out silently."""
    due = []
    for letter in letters:
        reason, product = letter.reason, letter.product
        if letter.offset < positions.position(reason, product):
            continue
        if not choice.takes_reason(reason):
            report.not_chosen[str(reason)] += 1
        elif not choice.takes_product(product):
            report.other_products[str(reason)] += 1
        elif letter.truncated:
            report.truncated.append(letter)
        else:
            due.append(letter)
    return due


def shown(
    letters: Iterable[StoredLetter],
    reasons: Collection[str] = (),
    products: Collection[str] = (),
    limit: int | None = None,
) -> list[StoredLetter]:
    """The letters of `reasons` and `products` (all when empty), oldest rejection first (then
    by partition and offset), at most `limit`."""
    chosen = [
        letter
        for letter in letters
        if (not reasons or letter.reason in reasons)
        and (not products or letter.product in products)
    ]
    chosen.sort(key=lambda letter: (letter.timestamp_ms, letter.partition, letter.offset))
    return chosen if limit is None else chosen[:limit]
