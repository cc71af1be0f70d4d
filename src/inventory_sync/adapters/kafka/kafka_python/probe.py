"""Why a kafka-python client could not connect to a secured listener.

kafka-python retries a refused SASL login or a failed TLS handshake until its bootstrap times
out and then says only "Unable to bootstrap" (the broker closes the connection after refusing
credentials, often before kafka-python reads the refusal). So when a client of a SASL or SSL
listener fails that way, one connection is made here by hand, as the client would make it:
TLS handshake, then SaslHandshake and SaslAuthenticate (v0 requests), and the refusal, if
that is what it was, becomes the domain's one-line error. A broker that does not answer at
all gives None: it is out of reach, not refusing.
"""

from __future__ import annotations

import logging
import socket
import ssl
import struct
from typing import Any

from inventory_sync.adapters.kafka import refusals
from inventory_sync.adapters.kafka.kafka_python.config import CLIENT_ID, client_config
from inventory_sync.domain.errors import PermanentFault
from inventory_sync.settings import Settings

log = logging.getLogger("inventory_sync.kafka")

PROBE_TIMEOUT_S = 5.0
SASL_HANDSHAKE, SASL_AUTHENTICATE, API_VERSIONS = 17, 36, 18
UNSUPPORTED_SASL_MECHANISM = 33


class _Closed(Exception):
    """The broker closed the connection."""


def refusal(settings: Settings) -> PermanentFault | None:
    """The broker's refusal of this client's credentials or certificates, if it refuses."""
    if settings.security_protocol == "PLAINTEXT":
        return None
    server = settings.bootstrap_servers.split(",")[0]
    host, _, port = server.rpartition(":")
    host = host.strip("[]")
    try:
        raw = socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S)
    except OSError:
        return None  # out of reach: not a refusal
    try:
        return _refusal(settings, raw, host)
    except (OSError, _Closed, struct.error) as exc:
        log.debug("probing Kafka at %s found no refusal: %s", server, exc)
        return None
    finally:
        raw.close()


def _refusal(settings: Settings, raw: socket.socket, host: str) -> PermanentFault | None:
    conn: socket.socket = raw
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        try:
            conn = _tls_context(settings).wrap_socket(raw, server_hostname=host)
        except ssl.SSLCertVerificationError as exc:
            return refusals.broker_untrusted(settings, exc.verify_message or "")
        except ssl.SSLError as exc:
            if "CERTIFICATE" in str(exc.reason or exc).upper():
                return refusals.client_certificate_refused(settings)
            raise
    try:
        if settings.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
            return _sasl_refusal(settings, conn)
        _request(conn, API_VERSIONS, 0, b"")  # TLS 1.3: a refused client certificate shows here
        return None
    except ssl.SSLError as exc:
        if "CERTIFICATE" in str(exc.reason or exc).upper():
            return refusals.client_certificate_refused(settings)
        raise


def _tls_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.ssl_cafile)
    if settings.ssl_certfile:
        password = settings.ssl_key_password
        context.load_cert_chain(
            settings.ssl_certfile,
            settings.ssl_keyfile,
            password.get_secret_value() if password is not None else None,
        )
    return context


def _sasl_refusal(settings: Settings, conn: socket.socket) -> PermanentFault | None:
    from kafka.net.sasl import get_sasl_mechanism

    mechanism_name = settings.sasl_mechanism or "PLAIN"
    body = _read_handshake(_request(conn, SASL_HANDSHAKE, 1, _string(mechanism_name)))
    error, offered = body
    if error == UNSUPPORTED_SASL_MECHANISM or mechanism_name not in offered:
        return refusals.mechanism_refused(settings, ",".join(offered) or None)
    config: dict[str, Any] = {**client_config(settings), "sasl_mechanism": mechanism_name}
    mechanism = get_sasl_mechanism(mechanism_name)(host=conn.getpeername()[0], **config)
    try:
        while not mechanism.is_done():
            response = _request(conn, SASL_AUTHENTICATE, 0, _bytes(mechanism.auth_bytes()))
            error, auth_bytes = _read_authenticate(response)
            if error != 0:
                return refusals.credentials_refused(settings)
            mechanism.receive(auth_bytes)
    except _Closed:  # closed right after the credentials: it refused them
        return refusals.credentials_refused(settings)
    except Exception as exc:  # the SCRAM exchange itself failed (a server proof that is wrong)
        log.debug("SASL exchange with Kafka failed: %s", exc)
        return refusals.credentials_refused(settings)
    return None if mechanism.is_authenticated() else refusals.credentials_refused(settings)


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def _bytes(data: bytes) -> bytes:
    return struct.pack(">i", len(data)) + data


def _request(conn: socket.socket, api_key: int, version: int, body: bytes) -> bytes:
    """Send one request (header v1) and return the response body after the correlation id."""
    header = struct.pack(">hhi", api_key, version, 1) + _string(CLIENT_ID)
    message = header + body
    conn.sendall(struct.pack(">i", len(message)) + message)
    size = struct.unpack(">i", _read(conn, 4))[0]
    return _read(conn, size)[4:]


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise _Closed()
        data += chunk
    return data


def _read_handshake(body: bytes) -> tuple[int, list[str]]:
    error, count = struct.unpack(">hi", body[:6])
    offered, at = [], 6
    for _ in range(max(count, 0)):
        (length,) = struct.unpack(">h", body[at : at + 2])
        offered.append(body[at + 2 : at + 2 + length].decode())
        at += 2 + length
    return error, offered


def _read_authenticate(body: bytes) -> tuple[int, bytes]:
    error, length = struct.unpack(">hh", body[:4])
    at = 4 + max(length, 0)
    (size,) = struct.unpack(">i", body[at : at + 4])
    return error, body[at + 4 : at + 4 + max(size, 0)]
