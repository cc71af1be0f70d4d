"""Settings of the example shop: one app, SQLite, and inventory-sync keeping its stock."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-shop-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "shop",
    "inventory_sync.contrib.django",
]
ROOT_URLCONF = "shop_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # SHOP_DATABASE lets the demo start from a fresh file each time.
        "NAME": os.environ.get("SHOP_DATABASE", BASE_DIR / "db.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# inventory-sync: the table and columns come from the model; the database from DATABASES.
# Any other name of inventory_sync.Settings goes here too; INVENTORY_SYNC_* variables win.
INVENTORY_SYNC = {
    "model": "shop.Product",
    "code_field": "sku",
    "count_field": "stock",
    "updated_at_field": "stock_changed_at",
    "name_field": "name",
    "bootstrap_servers": "localhost:9092",
    "low_stock_threshold": 5,
}
