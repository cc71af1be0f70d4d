"""Make kafka-python read a header key that is not UTF-8 instead of failing the whole fetch.

Kafka's protocol says a header key is a UTF-8 string, but the broker does not check it, so a
buggy producer can write any bytes. kafka-python 3.0 decodes keys strictly while it parses a
fetch: one such record raises CorruptRecordError from every poll() of its partition, for
ever, and no later record of that partition is ever read. librdkafka hands such keys over
(confluent's Message.headers() fails on them instead; its records module copes with that).

The fix recompiles kafka-python's own record parser with the key decoded as
`decode("utf-8", "replace")` (an undecodable byte becomes U+FFFD), so it follows whatever
kafka-python version is installed. If that version no longer has the strict decode, nothing
is changed; tests/unit/test_kafka_python_conversion.py tells whether the fix is still in place.
"""

from __future__ import annotations

import inspect
import logging
import textwrap
from typing import Any

log = logging.getLogger("inventory_sync.kafka")

_STRICT = 'h_key = buffer[pos: pos + h_key_len].decode("utf-8")'
_TOLERANT = 'h_key = buffer[pos: pos + h_key_len].decode("utf-8", "replace")'


def tolerate_undecodable_header_keys() -> bool:
    """Patch kafka-python's record parser once; True if its header keys are now tolerant."""
    from kafka.record import default_records

    batch: Any = default_records.DefaultRecordBatch
    if getattr(batch._read_msg, "_tolerant_header_keys", False):
        return True
    source = textwrap.dedent(inspect.getsource(batch._read_msg))
    if _STRICT not in source:
        log.debug("kafka-python's record parser has no strict header-key decode: not patched")
        return False
    code = compile(source.replace(_STRICT, _TOLERANT), default_records.__file__, "exec")
    namespace: dict[str, Any] = {}
    exec(code, vars(default_records), namespace)
    read_msg = namespace["_read_msg"]
    read_msg._tolerant_header_keys = True
    batch._read_msg = read_msg
    return True
