"""The Django app: registers the system check and forgets cached settings when they change."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.signals import setting_changed


class InventorySyncConfig(AppConfig):  # type: ignore[misc]  # Django ships no type hints
    name = "inventory_sync.contrib.django"
    label = "inventory_sync"
    verbose_name = "inventory-sync"

    def ready(self) -> None:
        from inventory_sync.contrib.django.checks import check_configuration

        checks.register(check_configuration, "inventory_sync")
        setting_changed.connect(_forget_settings, dispatch_uid="inventory_sync_settings")


def _forget_settings(*, setting: str, **kwargs: Any) -> None:
    from inventory_sync.contrib.django import conf

    if setting in ("INVENTORY_SYNC", "DATABASES", "USE_TZ"):
        conf.clear_cache()
