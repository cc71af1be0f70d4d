"""The one-line errors of a broker that refuses this client, shared by both clients: the
credentials, the SASL mechanism, or a certificate. They name the mechanism, the user and the
files to check, never a password or a key."""

from __future__ import annotations

from inventory_sync.domain.errors import AuthenticationFailed, TlsHandshakeFailed
from inventory_sync.settings import Settings


def credentials_refused(settings: Settings) -> AuthenticationFailed:
    return AuthenticationFailed(
        f"Kafka at {settings.bootstrap_servers} refused the credentials: SASL "
        f"{settings.sasl_mechanism} authentication failed for user '{settings.sasl_username}'"
    )


def mechanism_refused(settings: Settings, offered: str | None = None) -> AuthenticationFailed:
    offers = f"it offers {offered}" if offered else "it does not offer it"
    return AuthenticationFailed(
        f"Kafka at {settings.bootstrap_servers} refused SASL mechanism "
        f"{settings.sasl_mechanism} for user '{settings.sasl_username}': {offers} "
        "(setting sasl_mechanism)"
    )


def broker_untrusted(settings: Settings, reason: str = "") -> TlsHandshakeFailed:
    where = f"Kafka at {settings.bootstrap_servers}"
    trusted = (
        f"the CA in ssl_cafile {settings.ssl_cafile}"
        if settings.ssl_cafile
        else "a CA this system trusts (set ssl_cafile)"
    )
    detail = f" ({reason})" if reason else ""
    return TlsHandshakeFailed(
        f"TLS handshake with {where} failed: its certificate is not signed by {trusted}{detail}"
    )


def client_certificate_refused(settings: Settings) -> TlsHandshakeFailed:
    where = f"Kafka at {settings.bootstrap_servers}"
    if settings.ssl_certfile:
        problem = f"it refused the client certificate in ssl_certfile {settings.ssl_certfile}"
    else:
        problem = "it requires a client certificate: set ssl_certfile and ssl_keyfile"
    return TlsHandshakeFailed(f"TLS handshake with {where} failed: {problem}")
