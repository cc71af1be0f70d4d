"""A Django project configured in-process for the unit tests of inventory_sync.contrib.django.

`configure()` sets Django up once per test process (settings.configure, no database used);
tests vary INVENTORY_SYNC with django.test.override_settings.
"""

from __future__ import annotations

from typing import Any

SHOP = {
    "model": "catalog.Product",
    "code_field": "sku",
    "count_field": "stock",
    "updated_at_field": "stock_changed_at",
    "name_field": "title",
}
"""The mapping of catalog.Product, which the unit tests start from."""


def configure(**overrides: Any) -> None:
    import django
    from django.conf import settings

    if settings.configured:
        return
    settings.configure(
        INSTALLED_APPS=["tests.django_project.catalog", "inventory_sync.contrib.django"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
        INVENTORY_SYNC=SHOP,
        **overrides,
    )
    django.setup()
