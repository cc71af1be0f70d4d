"""The fast accept path of decode_update and pydantic alone decode every value the same way:
the fast path accepts only what pydantic accepts, as the same update, and leaves the rest
(every rejection) to pydantic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory_sync.domain.rejections import Rejection
from inventory_sync.domain.rules import (
    MAX_INVENTORY_COUNT,
    InventoryUpdate,
    decode_plainly_valid,
    decode_update,
    decode_update_validated,
)

from .test_properties import json_values, timestamps

MAX = MAX_INVENTORY_COUNT
FIELDS = ("product_code", "inventory_count", "inventory_delta", "occurred_at", "event_id", "reason")


def assert_same(fast: InventoryUpdate | Rejection, slow: InventoryUpdate | Rejection) -> None:
    """The same rejection, or the same update down to its fields set and its time zone."""
    if isinstance(slow, Rejection):
        assert fast == slow
        return
    assert isinstance(fast, InventoryUpdate)
    assert fast == slow
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump() == slow.model_dump()
    assert fast.model_dump_json() == slow.model_dump_json()
    assert repr(fast) == repr(slow)  # the time's tzinfo too
    assert (fast.__pydantic_extra__, fast.__pydantic_private__) == (None, None)


def assert_paths_agree(value: bytes) -> None:
    slow = decode_update_validated(value)
    plain = decode_plainly_valid(value)
    if plain is not None:  # accepted by the fast path: pydantic must accept it, the same
        assert_same(plain, slow)
    assert_same(decode_update(value), slow)


# -- values: JSON text, so that keys can repeat and numbers and strings can be anything ------

INTS = st.one_of(
    st.integers(),
    st.integers(-MAX - 2, MAX + 2),
    st.sampled_from([0, -1, 1, MAX, MAX + 1, -MAX, -MAX - 1, 2**63, -(2**63), 2**64, 10**30]),
)
LITERALS = st.sampled_from(
    [
        *("null", "true", "false", "-0", "0.0", "1.0", "-1.0", "1e2", "1E-400", "1e400"),
        *("NaN", "Infinity", "-Infinity", "-NaN", "01", "2147483647.0", "2147483647e0"),
        *('"\\ud800"', '"\\udc00"', '"\\ud800\\udc00"', '"\\u0000"', '"\\n"', '""', "[]", "{}"),
    ]
)
CODES = st.one_of(
    st.sampled_from(["SKU-1", "a", "A" * 64, "A" * 65, "SKU-1\n", "\nSKU-1", "SKU 1", "SKÜ-1"]),
    st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True),
    st.text(max_size=70),
)


def whole_minutes(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


def mostly(
    usual: st.SearchStrategy[object], *rarely: st.SearchStrategy[object]
) -> st.SearchStrategy[object]:
    """usual about 4 times in 5, else one of rarely."""
    return st.sampled_from([usual] * 4 * len(rarely) + list(rarely)).flatmap(lambda drawn: drawn)


@st.composite
def rfc_3339_texts(draw: st.DrawFn) -> str:
    """RFC 3339 date-times in every spelling the contract's pattern allows, sometimes out of
    range once in UTC; now and then with a field out of range or a digit that is not ASCII."""
    moment = draw(
        st.datetimes(timezones=st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(whole_minutes))
    )
    day, time = moment.date().isoformat(), moment.time().isoformat("seconds")
    text = day + draw(st.sampled_from("Tt ")) + time
    digits = draw(st.integers(0, 9))
    if digits:
        text += "." + f"{moment.microsecond:06d}{draw(st.integers(0, 999)):03d}"[:digits]
    offset = moment.strftime("%z")
    if offset == "+0000" and draw(st.booleans()):
        text += draw(st.sampled_from("Zz"))
    else:
        text += f"{offset[:3]}:{offset[3:]}"
    edit = draw(st.sampled_from([*[""] * 12, "hour 24", "offset 24", "leap second", "digit"]))
    if edit == "hour 24":
        text = text[:11] + "24" + text[13:]
    elif edit == "offset 24":
        text = text[:19] + "+24:00"
    elif edit == "leap second":
        text = text[:17] + "60" + text[19:]
    elif edit == "digit":
        where = draw(st.integers(0, len(text) - 1))
        if text[where].isdigit():
            text = text[:where] + draw(st.sampled_from("٢੩۴")) + text[where + 1 :]
    return text


TIMES = st.one_of(
    timestamps,
    st.sampled_from(["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-05:00", "1700000000"]),
    st.from_regex(
        r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d{1,9})?([Zz]|[+-]\d\d:\d\d)", fullmatch=True
    ),
)
"""Texts for occurred_at that are mostly not what the contract accepts."""
ANYTHING = st.one_of(
    json_values,
    INTS,
    st.floats(),  # NaN and infinities too: json.dumps writes them as NaN, Infinity
    st.text(max_size=20),
    TIMES,
)
TEXTS = st.one_of(st.text(max_size=20), st.sampled_from(["e-1", "purchase", ""]))
VALUES = {
    "product_code": mostly(st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True), CODES),
    "inventory_count": mostly(st.integers(0, MAX), INTS),
    "inventory_delta": mostly(st.integers(-MAX, MAX), INTS),
    "occurred_at": mostly(rfc_3339_texts(), TIMES),
    "event_id": TEXTS,
    "reason": TEXTS,
}
"""Each field's values: mostly right, sometimes at or past an edge."""


@st.composite
def json_text(draw: st.DrawFn, values: st.SearchStrategy[object]) -> str:
    """A value as JSON; now and then anything, null, or a literal json.dumps would not write."""
    kind = draw(st.sampled_from([*["value"] * 15, "literal", "anything", "null"]))
    if kind == "literal":
        return draw(LITERALS)
    value = {"anything": ANYTHING, "null": st.none(), "value": values}[kind]
    return json.dumps(draw(value), ensure_ascii=draw(st.booleans()))


KEYS = st.one_of(
    st.sampled_from(
        [(json.dumps(name), name) for name in (*FIELDS, "colour", "Product_code", "count ", "")]
    ),
    st.sampled_from(
        [
            ('"inventory\\u005fcount"', "inventory_count"),
            ('"product\\u005Fcode"', "product_code"),
            ('"occurred_at\\u0000"', ""),
        ]
    ),
)
"""(a key as JSON, the name it reads as), escapes too."""
AMOUNTS = [("inventory_count",)] * 5 + [("inventory_delta",)] * 4 + [(), FIELDS[1:3]]
"""Mostly one of the count and the delta; sometimes neither, or both."""


@st.composite
def json_objects(draw: st.DrawFn) -> bytes:
    """A JSON object with the contract's fields in any order, each mostly right, then maybe
    extra and repeated keys (the last one counts), sometimes text after it."""
    amounts = draw(st.sampled_from(AMOUNTS))
    present = [name for name in FIELDS[3:] if draw(st.booleans())]
    if draw(st.sampled_from([True] * 19 + [False])):
        present.append("product_code")
    pairs = [f"{json.dumps(name)}:{draw(json_text(VALUES[name]))}" for name in (*amounts, *present)]
    pairs = draw(st.permutations(pairs))
    for key, name in draw(st.lists(KEYS, max_size=2)):
        pairs.append(f"{key}:{draw(json_text(VALUES.get(name, ANYTHING)))}")
    separator = draw(st.sampled_from([",", ", ", " ,\n\t"]))
    text = "{" + separator.join(pairs) + "}" + draw(st.sampled_from(["", "", "", " \n", " x"]))
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate becomes bytes that are no UTF-8


@settings(max_examples=1000, deadline=None)
@given(json_objects())
def test_for_any_json_object_the_fast_path_and_pydantic_give_the_same_result(value: bytes) -> None:
    assert_paths_agree(value)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_for_any_bytes_the_fast_path_and_pydantic_give_the_same_result(value: bytes) -> None:
    assert_paths_agree(value)


@settings(max_examples=500, deadline=None)
@given(json_objects(), st.data())
def test_for_a_json_object_cut_or_with_a_byte_changed_both_paths_give_the_same_result(
    value: bytes, data: st.DataObject
) -> None:
    where = data.draw(st.integers(0, len(value)))
    if data.draw(st.booleans()):
        value = value[:where]
    else:
        value = value[:where] + bytes([data.draw(st.integers(0, 255))]) + value[where + 1 :]
    assert_paths_agree(value)


@st.composite
def common_events(draw: st.DrawFn) -> bytes:
    """Events as producers write them: valid, with or without the optional fields."""
    body: dict[str, object] = {
        "product_code": draw(st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True))
    }
    if draw(st.booleans()):
        body["inventory_count"] = draw(st.integers(0, MAX))
    else:
        body["inventory_delta"] = draw(st.integers(-MAX, MAX))
    moment = draw(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)))
    optional = {
        "occurred_at": moment.replace(
            tzinfo=draw(st.sampled_from([UTC, whole_minutes(60)]))
        ).isoformat(),
        "event_id": draw(st.text(max_size=12)),
        "reason": "purchase",
        "warehouse": "north",
    }
    for name, optional_value in optional.items():
        if draw(st.booleans()):
            body[name] = optional_value if draw(st.integers(0, 4)) else None
    return json.dumps(body).encode()


@settings(max_examples=300, deadline=None)
@given(common_events())
def test_an_event_of_the_common_shape_takes_the_fast_path(value: bytes) -> None:
    plain = decode_plainly_valid(value)

    assert plain is not None
    assert_same(plain, decode_update_validated(value))


def members(*texts: str) -> bytes:
    return ("{" + ", ".join(texts) + "}").encode("utf-8", "surrogatepass")


CODE, COUNT = '"product_code": "A"', '"inventory_count": 1'


def occurred_at(text: str) -> str:
    return f'"occurred_at": "{text}"'


EDGES = {
    "bool count": members(CODE, '"inventory_count": true'),
    "bool delta": members(CODE, '"inventory_delta": false'),
    "float count": members(CODE, '"inventory_count": 1.0'),
    "count over the max": members(CODE, '"inventory_count": 2147483648'),
    "delta under -max": members(CODE, '"inventory_delta": -2147483648'),
    "float overflow": members(CODE, '"inventory_count": 1e400'),
    "repeated key": members(CODE, COUNT, '"inventory_count": -1'),
    "repeated key, valid last": members(CODE, '"inventory_count": -1', COUNT),
    "repeated key escaped": members(CODE, '"inventory\\u005fcount": 1', '"inventory_count": -1'),
    "count and delta": members(CODE, COUNT, '"inventory_delta": 1'),
    "null count": members(CODE, '"inventory_count": null'),
    "newline after code": members('"product_code": "A\\n"', COUNT),
    "NaN in an extra field": members(CODE, COUNT, '"colour": NaN'),
    "lone surrogate escape": members(CODE, COUNT, '"event_id": "\\ud800"'),
    "surrogate bytes": members(CODE, COUNT, '"event_id": "\ud800"'),
    "null optional fields": members(CODE, COUNT, '"event_id": null', '"reason": null'),
    "null time": members(CODE, COUNT, '"occurred_at": null'),
    "space and z": members(CODE, COUNT, occurred_at("2026-01-01 00:00:00z")),
    "nanoseconds": members(CODE, COUNT, occurred_at("2026-01-01t00:00:00.123456789+05:30")),
    "offset of 24 hours": members(CODE, COUNT, occurred_at("2026-01-01T00:00:00+24:00")),
    "year 0 in UTC": members(CODE, COUNT, occurred_at("0001-01-01T00:30:00+01:00")),
    "year 10000 in UTC": members(CODE, COUNT, occurred_at("9999-12-31T23:30:00-05:00")),
    "arabic digit": members(CODE, COUNT, occurred_at("\u0662026-01-01T00:00:00Z")),
    "trailing text": members(CODE, COUNT) + b" x",
    "trailing newline": members(CODE, COUNT) + b"\n",
    "byte order mark": b"\xef\xbb\xbf" + members(CODE, COUNT),
}


@pytest.mark.parametrize("value", list(EDGES.values()), ids=list(EDGES))
def test_an_edge_of_the_contract_decodes_the_same_on_both_paths(value: bytes) -> None:
    assert_paths_agree(value)


def test_a_value_that_is_not_bytes_or_is_too_large_is_left_to_pydantic() -> None:
    body = b'{"product_code": "A", "inventory_count": 1}'
    for value in (bytearray(body), memoryview(body), body.decode(), None):
        assert_same(decode_update(value), decode_update_validated(value))  # type: ignore[arg-type]
    assert_same(decode_update(body, 10), decode_update_validated(body, 10))


def test_an_update_of_the_fast_path_is_frozen_and_hashes_as_pydantics_does() -> None:
    value = b'{"product_code": "A", "inventory_count": 1, "occurred_at": "2026-01-01T00:00:00Z"}'
    plain = decode_plainly_valid(value)

    assert plain is not None
    with pytest.raises(ValueError, match="frozen"):
        plain.inventory_count = 2  # type: ignore[misc]
    assert hash(plain) == hash(decode_update_validated(value))
