"""What `dlq replay` sends and remembers, and what `dlq show` lists, decided from the dead
letters and the replay group's positions alone (no broker)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from inventory_sync.adapters.kafka.dead_letter_headers import (
    ERROR,
    ORIGINAL_OFFSET,
    ORIGINAL_PARTITION,
    ORIGINAL_TIMESTAMP,
    ORIGINAL_TOPIC,
    REASON,
    TRUNCATED,
)
from inventory_sync.adapters.kafka.dead_letter_replay import (
    FIXABLE_REASONS,
    METADATA_LIMIT,
    ReplayChoice,
    ReplayPositions,
    ReplayReport,
    TooManyProductPositions,
    shown,
    sort_out,
)
from inventory_sync.adapters.kafka.kafka_python.dead_letter_reader import _check_remembered
from inventory_sync.adapters.kafka.stored_letter import StoredLetter, product_code_of
from inventory_sync.entrypoints.cli.dead_letters import _reasons, replay_lines
from inventory_sync.entrypoints.cli.errors import BadUsage

T0_MS = 1_767_268_800_000  # 2026-01-01T12:00:00Z


def letter(
    offset: int,
    reason: str,
    product: str | None = "SKU-1",
    *,
    partition: int = 0,
    at_ms: int | None = None,
    truncated: bool = False,
) -> StoredLetter:
    """A dead letter at `offset` of dead-letter partition `partition`, rejected at `at_ms`."""
    value = json.dumps({"product_code": product, "inventory_count": 1}).encode()
    headers: list[tuple[str, bytes | None]] = [
        ("trace", b"t-1"),
        (REASON, reason.encode()),
        (ERROR, b"what was wrong"),
        (ORIGINAL_TOPIC, b"updates"),
        (ORIGINAL_PARTITION, b"0"),
        (ORIGINAL_OFFSET, str(100 + offset).encode()),
        (ORIGINAL_TIMESTAMP, b"2026-01-01T11:00:00.250+00:00"),
    ]
    if truncated:
        headers.append((TRUNCATED, b"value"))
    key = product.encode() if product else None
    stamp = T0_MS + offset if at_ms is None else at_ms
    return StoredLetter(partition, offset, stamp, key, value, headers)


EVERY_REASON = [
    letter(0, "malformed_json"),
    letter(1, "invalid_payload"),
    letter(2, "unknown_product", "GHOST-1"),
    letter(3, "too_large"),
    letter(4, "storage_rejected", "SKU-2"),
    letter(5, "from_the_future", "SKU-3"),
    letter(6, "unknown_product", "GHOST-2"),
]


def replay(
    letters: Sequence[StoredLetter], positions: ReplayPositions, choice: ReplayChoice
) -> tuple[list[int], ReplayReport, ReplayPositions]:
    """What replay does on one partition: (offsets sent, report, positions after)."""
    report = ReplayReport()
    start = positions.start(choice)
    due = sort_out([d for d in letters if d.offset >= start], positions, choice, report)
    report.replayed.extend(due)
    end = letters[-1].offset + 1
    return [d.offset for d in due], report, positions.passed(choice, end)


def test_by_default_replay_chooses_only_the_reasons_that_can_succeed_after_a_fix() -> None:
    assert ReplayChoice.of() == ReplayChoice(FIXABLE_REASONS, frozenset())
    assert {
        "unknown_product",
        "storage_rejected",
        "delta_needs_database_offsets",
    } == FIXABLE_REASONS
    assert ReplayChoice.of(["from_the_future"]).reasons == {"from_the_future"}


def test_a_default_replay_sends_the_fixable_ones_and_counts_the_others_per_reason() -> None:
    sent, report, _ = replay(EVERY_REASON, ReplayPositions(), ReplayChoice())

    assert sent == [2, 4, 6]
    assert report.not_chosen == {
        "malformed_json": 1,
        "invalid_payload": 1,
        "too_large": 1,
        "from_the_future": 1,
    }
    assert not report.other_products
    assert not report.truncated


def test_replaying_twice_sends_nothing_and_reconsiders_nothing_the_second_time() -> None:
    _, _, after = replay(EVERY_REASON, ReplayPositions(), ReplayChoice())

    sent, report, again = replay(EVERY_REASON, after, ReplayChoice())

    assert sent == []
    assert not report.not_chosen
    assert after.start(ReplayChoice()) == 7
    assert again == after


def test_a_letter_passed_over_by_default_is_still_sent_when_its_reason_is_named() -> None:
    _, _, after_default = replay(EVERY_REASON, ReplayPositions(), ReplayChoice())
    future = ReplayChoice.of(["from_the_future"])

    sent, report, after_future = replay(EVERY_REASON, after_default, future)
    sent_again, _, _ = replay(EVERY_REASON, after_future, future)

    assert sent == [5]
    assert sent_again == []
    assert report.not_chosen == {"malformed_json": 1, "invalid_payload": 1, "too_large": 1}
    assert replay(EVERY_REASON, after_future, ReplayChoice())[0] == []


def test_a_replay_of_some_products_leaves_the_others_pending_for_a_later_replay() -> None:
    only_ghost_2 = ReplayChoice.of((), ["GHOST-2"])

    sent, report, after = replay(EVERY_REASON, ReplayPositions(), only_ghost_2)
    sent_again, _, _ = replay(EVERY_REASON, after, only_ghost_2)
    sent_then, _, settled = replay(EVERY_REASON, after, ReplayChoice())

    assert sent == [6]
    assert report.other_products == {"unknown_product": 1, "storage_rejected": 1}
    assert sent_again == []
    assert sent_then == [2, 4]  # GHOST-2 went already
    assert settled.products == {}
    assert settled.metadata() == replay(EVERY_REASON, settled, ReplayChoice())[2].metadata()


def test_a_reason_wide_replay_cut_short_keeps_a_product_position_that_is_further() -> None:
    _, _, after = replay(EVERY_REASON, ReplayPositions(), ReplayChoice.of((), ["GHOST-2"]))

    halfway = after.passed(ReplayChoice(), 3)  # a replay that committed its first batch only
    report = ReplayReport()
    due = sort_out(EVERY_REASON[3:], halfway, ReplayChoice(), report)

    assert [d.offset for d in due] == [4]  # not GHOST-2's letter at 6 again
    assert halfway.products == {
        "unknown_product": {"GHOST-2": 7},
        "storage_rejected": {"GHOST-2": 7},
        "delta_needs_database_offsets": {"GHOST-2": 7},
    }


def test_a_truncated_letter_is_never_sent_but_passed_and_shown_as_skipped() -> None:
    cut = letter(0, "unknown_product", "GHOST-1", truncated=True)
    whole = letter(1, "unknown_product", "GHOST-1")

    sent, report, after = replay([cut, whole], ReplayPositions(), ReplayChoice())

    assert sent == [1]
    assert [d.offset for d in report.truncated] == [0]
    assert replay([cut, whole], after, ReplayChoice())[1].truncated == []
    assert [after.status(d) for d in (cut, whole)] == ["skipped", "replayed"]
    assert ReplayPositions().status(cut) == "pending"


def test_status_is_replayed_only_for_letters_below_the_position_of_their_reason() -> None:
    _, _, after = replay(EVERY_REASON, ReplayPositions(), ReplayChoice())

    statuses = {d.offset: after.status(d) for d in EVERY_REASON}

    assert statuses == {
        0: "pending",
        1: "pending",
        2: "replayed",
        3: "pending",
        4: "replayed",
        5: "pending",
        6: "replayed",
    }


def test_positions_survive_the_commit_metadata_round_trip() -> None:
    _, _, after = replay(EVERY_REASON, ReplayPositions(), ReplayChoice.of((), ["GHOST-2"]))

    restored = ReplayPositions.from_commit(after.read, after.metadata())

    assert restored == after
    assert restored.read == 7


def test_a_commit_without_positions_counts_every_letter_below_it_as_replayed() -> None:
    """An older replay committed a bare offset after sending every letter below it."""
    legacy = ReplayPositions.from_commit(5, "")
    garbled = ReplayPositions.from_commit(5, '{"v": 1, "reasons": 3}')

    assert legacy == garbled == ReplayPositions(read=5, base=5)
    assert [legacy.status(d) for d in EVERY_REASON[3:]] == [
        "replayed",
        "replayed",
        "pending",
        "pending",
    ]
    assert replay(EVERY_REASON, legacy, ReplayChoice.of(["from_the_future"]))[0] == [5]
    assert ReplayPositions.from_commit(None, None) == ReplayPositions()


def test_replay_refuses_before_sending_when_its_positions_would_not_fit_a_commit() -> None:
    many = ReplayChoice.of(["unknown_product"], [f"PRODUCT-{n:04d}" for n in range(200)])

    with pytest.raises(TooManyProductPositions, match="--reason unknown_product without"):
        _check_remembered([ReplayPositions()], many)
    _check_remembered([ReplayPositions()], ReplayChoice.of((), ["SKU-1", "SKU-2"]))
    assert len(ReplayPositions().passed(many, 10**18).metadata()) > METADATA_LIMIT


def test_show_lists_oldest_rejection_first_not_partition_order_and_filters() -> None:
    letters = [
        letter(0, "unknown_product", "A", partition=0, at_ms=T0_MS + 30),
        letter(1, "malformed_json", "B", partition=0, at_ms=T0_MS + 40),
        letter(0, "unknown_product", "B", partition=1, at_ms=T0_MS + 10),
        letter(1, "unknown_product", "A", partition=1, at_ms=T0_MS + 30),
    ]

    def where(chosen: list[StoredLetter]) -> list[tuple[int, int]]:
        return [(d.partition, d.offset) for d in chosen]

    assert where(shown(letters)) == [(1, 0), (0, 0), (1, 1), (0, 1)]
    assert where(shown(letters, reasons=["unknown_product"])) == [(1, 0), (0, 0), (1, 1)]
    assert where(shown(letters, products=["A"])) == [(0, 0), (1, 1)]
    assert where(shown(letters, ["unknown_product"], ["B"])) == [(1, 0)]
    assert where(shown(letters, limit=2)) == [(1, 0), (0, 0)]


def test_a_letter_described_keeps_the_existing_keys_and_adds_when_it_was_rejected() -> None:
    described = letter(3, "unknown_product", "GHOST-1", at_ms=T0_MS + 123).describe()

    assert described == {
        "reason": "unknown_product",
        "error": "what was wrong",
        "original_topic": "updates",
        "original_partition": 0,
        "original_offset": 103,
        "key": "GHOST-1",
        "value": '{"product_code": "GHOST-1", "inventory_count": 1}',
        "rejected_at": "2026-01-01T12:00:00.123+00:00",
    }


def test_a_replayed_letter_goes_back_as_the_original_record() -> None:
    stored = letter(0, "unknown_product")

    assert stored.original_headers() == [("trace", b"t-1")]
    assert stored.original_timestamp_ms == T0_MS - 3_600_000 + 250
    assert letter(0, "x").product == "SKU-1"


def test_a_letter_names_its_product_by_its_value_else_by_its_key() -> None:
    keyed = StoredLetter(0, 0, T0_MS, b"SKU-9", b"[1, 2", [(REASON, b"malformed_json")])

    assert keyed.product == "SKU-9"
    assert StoredLetter(0, 0, T0_MS, None, b"{", []).product is None
    assert product_code_of(b'{"product_code": "A-1"}') == "A-1"
    assert product_code_of(b'{"product_code": 7}') is None
    assert product_code_of(b"\xff") is None
    assert product_code_of(b"[" * 100_000) is None
    assert product_code_of(None) is None


def test_replay_says_how_many_it_replayed_and_what_it_skipped_and_why() -> None:
    cut = letter(7, "unknown_product", "GHOST-3", truncated=True)
    _, report, _ = replay([*EVERY_REASON, cut], ReplayPositions(), ReplayChoice.of((), ["GHOST-1"]))

    lines = replay_lines(report, "updates.dlq", "updates")

    assert lines[0] == "replayed 1 dead letters from updates.dlq to updates"
    assert lines[1:6] == [
        "skipped 1 from_the_future: can succeed only once the producer's clock is right, "
        "so replayed only when named (--reason from_the_future)",
        "skipped 1 invalid_payload: cannot succeed as it is, so replayed only when named "
        "(--reason invalid_payload)",
        "skipped 1 malformed_json: cannot succeed as it is, so replayed only when named "
        "(--reason malformed_json)",
        "skipped 1 too_large: can succeed only once max_message_bytes is raised, so replayed "
        "only when named (--reason too_large)",
        "skipped 1 storage_rejected: of products --product did not name",
    ]
    assert lines[6] == "skipped 2 unknown_product: of products --product did not name"
    assert len(lines) == 7  # the cut GHOST-3 letter is of another product too


def test_a_dry_run_says_what_it_would_send() -> None:
    report = ReplayReport(dry_run=True)
    report.replayed.append(letter(2, "unknown_product", "GHOST-1"))
    report.not_chosen["unknown_product"] = 1

    lines = replay_lines(report, "updates.dlq", "updates")

    assert report.sent == 0
    assert lines == [
        "would replay 1 dead letters from updates.dlq to updates "
        "(dry run: nothing sent, nothing committed)",
        '    updates[0]@102  unknown_product  {"product_code": "GHOST-1", "inventory_count": 1}',
        "skipped 1 unknown_product: not one of the reasons named by --reason",
    ]


def test_a_truncated_letter_of_a_chosen_reason_is_listed_with_what_was_cut() -> None:
    _, report, _ = replay(
        [letter(0, "unknown_product", "GHOST-1", truncated=True)], ReplayPositions(), ReplayChoice()
    )

    [line] = replay_lines(report, "updates.dlq", "updates")[1:]

    assert line.startswith("skipped truncated updates[0]@100  unknown_product (truncated: value)")
    assert line.endswith("replay it from its original offset, or produce it again")


def test_a_reason_that_is_not_a_rejection_reason_is_bad_usage() -> None:
    assert _reasons(["from_the_future", "too_large"]) == ["from_the_future", "too_large"]
    assert _reasons(None) == []
    with pytest.raises(
        BadUsage, match="'unknown' is not a rejection reason: one of malformed_json"
    ):
        _reasons(["unknown"])
