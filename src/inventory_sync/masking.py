"""Secrets kept out of sight: the mask, every password a database URL can carry, secret files."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

SECRET_MASK = "**********"


def read_secret(path: Path) -> str:
    """A secret file's text without its trailing newline; ValueError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ValueError(f"cannot read {path}: {reason}") from None
    return text.removesuffix("\n").removesuffix("\r")


_QUERY_PASSWORD = re.compile(r"(?i)([?&;](?:ssl)?(?:password|passwd|pwd)=)([^&;#]*)")


def mask_url_password(url: str) -> str:
    """Every password a database URL can carry, masked, whether or not the URL parses:
    postgresql://user:secret@host/db -> postgresql://user:**********@host/db, and likewise
    ://:secret@host, user:secret@host (no scheme), a password holding @ ? # or /, and
    ?password=secret (or sslpassword, the client key's)."""
    url = _QUERY_PASSWORD.sub(rf"\g<1>{SECRET_MASK}", url)
    split = _split_userinfo(url)
    if split is None:
        return url
    head, user, _, tail = split
    return f"{head}{user}:{SECRET_MASK}{tail}"


def url_passwords(url: str) -> list[str]:
    """The passwords in a database URL as written and percent-decoded (for the log filter)."""
    found = [match.group(2) for match in _QUERY_PASSWORD.finditer(url)]
    split = _split_userinfo(_QUERY_PASSWORD.sub("", url))
    if split is not None:
        found.append(split[2])
    return [p for p in {*found, *map(unquote, found)} if p]


def _split_userinfo(url: str) -> tuple[str, str, str, str] | None:
    """(scheme://, user, password, @rest) of a URL with a password before its last @; the
    password runs to that @, so one holding ? # / or @ is masked whole (if the query holds an
    @ too, more is masked than need be, never less)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    at = rest.rfind("@")
    if at < 0:
        return None
    user, colon, password = rest[:at].partition(":")
    if not colon or any(c in user for c in "/?#"):
        return None
    return f"{scheme}{sep}", user, password, rest[at:]
