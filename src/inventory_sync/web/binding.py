"""Who may see the status page: anyone on a loopback address, only token holders elsewhere."""

from __future__ import annotations

import ipaddress

from inventory_sync.domain.errors import InventorySyncError


class TokenRequired(InventorySyncError):
    """The page would be served on a non-loopback address without a web_token."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_token_for(host: str, token: str | None, setting: str) -> None:
    """Refuse to serve the page on `host` (the setting `setting`) when it is not loopback and
    no token is set."""
    if not is_loopback(host) and not token:
        raise TokenRequired(
            f"the status page on {host} (setting {setting}) needs a token: set web_token "
            "(INVENTORY_SYNC_WEB_TOKEN), or serve it on 127.0.0.1"
        )
