"""The dead letter as it is sent: whole when it fits, cut to fit the dead-letter topic's limit
when not (value, then the original headers, then the key), never without its six headers."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from kafka.record.default_records import DefaultRecordBatchBuilder

from inventory_sync.adapters.kafka.dead_letter_headers import (
    ERROR,
    MAX_ERROR_CHARS,
    ORIGINAL_OFFSET,
    ORIGINAL_PARTITION,
    ORIGINAL_TIMESTAMP,
    ORIGINAL_TOPIC,
    ORIGINAL_VALUE_SHA256,
    ORIGINAL_VALUE_SIZE,
    REASON,
    RECORD_BATCH_OVERHEAD,
    TRUNCATED,
    OutgoingLetter,
    dead_letter_headers,
    encoded_size,
    fitted_dead_letter,
    letter_limit,
)
from inventory_sync.domain.errors import PermanentFault
from inventory_sync.domain.model import Record
from inventory_sync.domain.ports import DeadLetter
from inventory_sync.domain.rejections import Rejection, RejectionReason

OWN = (REASON, ERROR, ORIGINAL_TOPIC, ORIGINAL_PARTITION, ORIGINAL_OFFSET, ORIGINAL_TIMESTAMP)
AT = datetime(2026, 1, 1, tzinfo=UTC)


def letter_of(
    value: bytes | None,
    *,
    key: bytes | None = b"SKU-1",
    headers: tuple[tuple[str, bytes], ...] = (),
    error: str = "value is too large",
    offset: int = 7,
) -> DeadLetter:
    record = Record(key, value, "inventory", 2, offset, AT, headers)
    return DeadLetter(record, Rejection(RejectionReason.TOO_LARGE, error))


def batch_bytes(letter: OutgoingLetter) -> int:
    """The size of a real record batch holding just this letter, as kafka-python builds it."""
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=False,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=2**31 - 1,
    )
    builder.append(0, int(time.time() * 1000), letter.key, letter.value, letter.headers)
    return len(builder.build())


def header(letter: OutgoingLetter, name: str) -> bytes:
    [value] = [value for key, value in letter.headers if key == name]
    return value


def test_a_letter_that_fits_goes_whole_with_the_six_headers_after_the_original_ones() -> None:
    letter = letter_of(b'{"big": "no"}', headers=(("trace", b"abc"),))

    sent = fitted_dead_letter(letter, 10_000)

    assert (sent.key, sent.value, sent.truncated) == (b"SKU-1", b'{"big": "no"}', ())
    assert sent.headers == dead_letter_headers(letter)
    assert [name for name, _ in sent.headers] == ["trace", *OWN]


def test_a_value_over_the_limit_is_cut_and_the_letter_says_its_size_and_digest() -> None:
    value = bytes(range(256)) * 100  # 25,600 bytes
    letter = letter_of(value, headers=(("trace", b"abc"),))

    sent = fitted_dead_letter(letter, 20_000)

    assert sent.truncated == ("value",)
    assert sent.value is not None
    assert value.startswith(sent.value)
    assert 19_000 < len(sent.value) < 20_000
    assert header(sent, TRUNCATED) == b"value"
    assert header(sent, ORIGINAL_VALUE_SIZE) == b"25600"
    assert header(sent, ORIGINAL_VALUE_SHA256) == hashlib.sha256(value).hexdigest().encode()
    assert [name for name, _ in sent.headers][:7] == ["trace", *OWN]
    assert batch_bytes(sent) <= 20_000


def test_original_headers_that_alone_are_too_big_are_dropped_but_the_six_stay() -> None:
    headers = tuple((f"h{i}", b"x" * 100) for i in range(1_000))  # about 100 kB of headers
    letter = letter_of(b"v" * 5_000, headers=headers)

    sent = fitted_dead_letter(letter, 20_000)

    assert sent.truncated == ("headers",)
    assert [name for name, _ in sent.headers] == [*OWN, TRUNCATED]
    assert header(sent, TRUNCATED) == b"headers"
    assert sent.value == b"v" * 5_000  # with the headers gone, all of the value fits again
    assert batch_bytes(sent) <= 20_000


def test_a_value_and_headers_both_too_big_lose_both_and_say_so() -> None:
    headers = tuple((f"h{i}", b"x" * 100) for i in range(1_000))
    value = b"v" * 50_000
    letter = letter_of(value, headers=headers)

    sent = fitted_dead_letter(letter, 20_000)

    assert sent.truncated == ("value", "headers")
    assert [name for name, _ in sent.headers] == [
        *OWN,
        TRUNCATED,
        ORIGINAL_VALUE_SIZE,
        ORIGINAL_VALUE_SHA256,
    ]
    assert header(sent, TRUNCATED) == b"value,headers"
    assert header(sent, ORIGINAL_VALUE_SIZE) == b"50000"
    assert batch_bytes(sent) <= 20_000


def test_the_error_text_is_bounded() -> None:
    sent = fitted_dead_letter(letter_of(b"{}", error="e" * 50_000), 1_048_588)

    error = header(sent, ERROR).decode()
    assert len(error) == MAX_ERROR_CHARS
    assert error.startswith("eee")
    assert error.endswith("…")
    assert sent.truncated == ()


def test_a_limit_too_small_for_the_six_headers_alone_is_a_permanent_fault() -> None:
    with pytest.raises(PermanentFault, match=r"inventory\[2\]@7 needs at least \d+ bytes"):
        fitted_dead_letter(letter_of(b"v" * 1_000), 300)


def test_the_limit_is_the_smaller_of_the_topic_and_the_producer_and_the_broker_default() -> None:
    assert letter_limit(20_000, 1_000_000) == 20_000
    assert letter_limit(5_000_000, 1_000_000) == 1_000_000
    assert letter_limit(None, 2_000_000) == 1_048_588


def sized_bytes(max_size: int) -> st.SearchStrategy[bytes]:
    """Bytes of any length up to max_size, long ones as often as short ones."""
    return st.builds(
        lambda size, pattern: (pattern * (size // len(pattern) + 1))[:size],
        st.integers(min_value=0, max_value=max_size),
        st.binary(min_size=1, max_size=16),
    )


@settings(max_examples=300, deadline=None)
@given(
    key=st.none() | st.binary(max_size=64) | sized_bytes(5_000),
    value=sized_bytes(60_000) | st.none() | st.binary(max_size=200),
    headers=st.lists(
        st.tuples(st.text(max_size=20), st.binary(max_size=50) | sized_bytes(2_000)), max_size=8
    ),
    error=st.text(max_size=30) | st.text(min_size=990, max_size=1_200),
    data=st.data(),
)
def test_any_letter_fits_its_limit_keeps_its_six_headers_and_says_what_was_cut(
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str, bytes]],
    error: str,
    data: st.DataObject,
) -> None:
    offset = data.draw(st.integers(min_value=0, max_value=2**63 - 1), label="offset")
    letter = letter_of(value, key=key, headers=tuple(headers), error=error, offset=offset)
    own = dead_letter_headers(letter)[len(headers) :]
    whole = encoded_size(key, value, dead_letter_headers(letter)) + RECORD_BATCH_OVERHEAD
    enough = encoded_size(None, None, own) + RECORD_BATCH_OVERHEAD + 256
    if data.draw(st.sampled_from([False, False, False, True]), label="too small"):
        limit = data.draw(st.integers(min_value=0, max_value=enough), label="limit")
    else:
        lowest = min(whole, enough)
        limit = data.draw(st.integers(min_value=lowest, max_value=whole + 100), label="limit")
    try:
        sent = fitted_dead_letter(letter, limit)
    except PermanentFault as fault:
        # Only when the limit leaves no room for the six headers and the truncation markers.
        [needed] = re.findall(r"needs at least (\d+) bytes", str(fault))
        event("fault")
        assert limit < int(needed) <= encoded_size(None, None, own) + RECORD_BATCH_OVERHEAD + 256
        return

    event(",".join(sent.truncated) or "whole")  # see them with --hypothesis-show-statistics
    room = limit - RECORD_BATCH_OVERHEAD
    assert encoded_size(sent.key, sent.value, sent.headers) <= room
    assert batch_bytes(sent) <= limit
    names_sent = [name for name, _ in sent.headers]
    for name, own_value in own:
        assert names_sent.count(name) == 1
        assert header(sent, name) == own_value
    assert len(header(sent, ERROR).decode()) <= MAX_ERROR_CHARS
    if not sent.truncated:
        assert (sent.key, sent.value) == (key, value)
        assert sent.headers == dead_letter_headers(letter)
        assert TRUNCATED not in names_sent
        return
    assert_it_says_what_was_cut(sent, letter.record, room)


def assert_it_says_what_was_cut(sent: OutgoingLetter, original: Record, room: int) -> None:
    """Each part cut is named in inventory_sync.truncated, and every other one is intact."""
    key, value, headers = original.key, original.value, list(original.headers)
    names_sent = [name for name, _ in sent.headers]
    assert header(sent, TRUNCATED) == ",".join(sent.truncated).encode()
    assert set(sent.truncated) <= {"value", "headers", "key"}
    if "value" in sent.truncated:
        assert value
        assert sent.value is not None
        assert value.startswith(sent.value)
        assert header(sent, ORIGINAL_VALUE_SIZE) == str(len(value)).encode()
        assert header(sent, ORIGINAL_VALUE_SHA256) == hashlib.sha256(value).hexdigest().encode()
        if "key" not in sent.truncated and sent.value != value:
            assert encoded_size(sent.key, sent.value, sent.headers) == room  # no byte wasted
    else:
        assert sent.value == value
        assert ORIGINAL_VALUE_SIZE not in names_sent
    if "headers" in sent.truncated:
        assert names_sent[:6] == list(OWN)
    else:
        assert sent.headers[: len(headers)] == headers
    if "key" in sent.truncated:
        assert key
        assert sent.key is not None
        assert key.startswith(sent.key)
    else:
        assert sent.key == key
