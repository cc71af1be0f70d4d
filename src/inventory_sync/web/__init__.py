"""The operator status page (the `web` extra: Starlette, Jinja2, uvicorn), served by
`inventory-sync web` or, with `status_page = true`, by the worker on metrics_port.

Nothing outside this package imports it at module load: the `web` command and the facade
import it when they serve the page. This module and binding.py need no extra (the bind rule
and the extra are checked before the extra is loaded).
"""

from __future__ import annotations

import importlib.util

from inventory_sync.domain.errors import InventorySyncError

EXTRA_MODULES = ("starlette", "jinja2", "uvicorn")


class WebExtraMissing(InventorySyncError):
    def __init__(self) -> None:
        super().__init__("the status page needs the web extra: pip install 'inventory-sync[web]'")


def require_extra() -> None:
    """Fail with one line naming the extra when one of its packages is not installed."""
    if any(importlib.util.find_spec(name) is None for name in EXTRA_MODULES):
        raise WebExtraMissing
