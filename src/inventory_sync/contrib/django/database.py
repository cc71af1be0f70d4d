"""The SQLAlchemy URL of a Django database: what inventory-sync makes of DATABASES[alias]."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SQLITE_ENGINES = frozenset(
    {"django.db.backends.sqlite3", "django.contrib.gis.db.backends.spatialite"}
)
POSTGRESQL_ENGINES = frozenset(
    {
        "django.db.backends.postgresql",
        "django.db.backends.postgresql_psycopg2",
        "django.contrib.gis.db.backends.postgis",
    }
)
LIBPQ_OPTIONS = frozenset(
    {
        "application_name",
        "channel_binding",
        "connect_timeout",
        "gssencmode",
        "keepalives",
        "keepalives_count",
        "keepalives_idle",
        "keepalives_interval",
        "options",
        "passfile",
        "service",
        "sslcert",
        "sslcrl",
        "sslkey",
        "sslmode",
        "sslpassword",
        "sslrootcert",
        "target_session_attrs",
    }
)
"""The OPTIONS that are libpq connection parameters; Django's own (pool, isolation_level,
server_side_binding, ...) mean nothing to another connection and are left out."""


class UnsupportedDatabase(ValueError):
    """The entry is not one inventory-sync can write to; the message names the setting."""


def database_url(alias: str, entry: Mapping[str, Any]) -> str:
    """postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME?OPTIONS, or sqlite:///NAME."""
    from sqlalchemy import URL

    engine = entry.get("ENGINE", "")
    if engine in SQLITE_ENGINES:
        name = str(entry.get("NAME") or ":memory:")
        return URL.create("sqlite", database=name).render_as_string(hide_password=False)
    if engine not in POSTGRESQL_ENGINES:
        raise UnsupportedDatabase(
            f"DATABASES[{alias!r}]['ENGINE'] = {engine!r}: inventory-sync works with "
            "SQLite and PostgreSQL (django.db.backends.sqlite3, django.db.backends.postgresql)"
        )
    options = entry.get("OPTIONS") or {}
    query = {key: str(value) for key, value in options.items() if key in LIBPQ_OPTIONS}
    host = str(entry.get("HOST") or "") or None
    if host is not None and host.startswith("/"):  # a socket directory, as libpq takes it
        query["host"], host = host, None
    url = URL.create(
        "postgresql+psycopg",
        username=entry.get("USER") or None,
        password=entry.get("PASSWORD") or None,
        host=host,
        port=_port(alias, entry.get("PORT")),
        database=entry.get("NAME") or None,
        query=query,
    )
    return url.render_as_string(hide_password=False)


def _port(alias: str, port: Any) -> int | None:
    if port in (None, ""):
        return None
    try:
        return int(port)
    except (TypeError, ValueError):
        raise UnsupportedDatabase(
            f"DATABASES[{alias!r}]['PORT'] = {port!r}: not a port number"
        ) from None
