"""inventory-sync: keep a shop's product inventory in sync with inventory events on Kafka.

Importing this package is cheap: the facade, settings and model load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inventory_sync.domain.errors import InventorySyncError, TransientError, UnknownProduct

if TYPE_CHECKING:
    from inventory_sync.domain.model import StockLevel, StockStatus
    from inventory_sync.facade import InventorySync
    from inventory_sync.settings import Settings

__all__ = [
    "InventorySync",
    "InventorySyncError",
    "Settings",
    "StockLevel",
    "StockStatus",
    "TransientError",
    "UnknownProduct",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Load the facade, settings and model (pydantic) on first use, not on import."""
    if name in ("StockLevel", "StockStatus"):
        from inventory_sync.domain import model

        return getattr(model, name)
    if name == "InventorySync":
        from inventory_sync.facade import InventorySync

        return InventorySync
    if name == "Settings":
        from inventory_sync.settings import Settings

        return Settings
    raise AttributeError(f"module 'inventory_sync' has no attribute {name!r}")
