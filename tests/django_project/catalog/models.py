"""Models shaped to exercise the mapping: a good one, and fields of every wrong kind."""

from __future__ import annotations

from django.db import models

from inventory_sync.contrib.django.stock import StockStatusMixin


class Product(StockStatusMixin, models.Model):
    sku = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    stock = models.PositiveIntegerField(default=0)
    stock_changed_at = models.DateTimeField(null=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    released_on = models.DateField(null=True)
    weight = models.FloatField(default=0)
    description = models.TextField(default="")
    supplier = models.ForeignKey("Supplier", null=True, on_delete=models.SET_NULL)

    class Meta:
        app_label = "catalog"


class Supplier(models.Model):
    name = models.CharField(max_length=100)

    class Meta:
        app_label = "catalog"


class LegacyItem(models.Model):
    """Its own table and column names: the mapping must use them, not the field names."""

    code = models.CharField(max_length=64, db_column="ITEM_CODE", unique=True)
    quantity = models.IntegerField(db_column="QTY")
    changed = models.DateTimeField(db_column="QTY_CHANGED", null=True)

    class Meta:
        app_label = "catalog"
        db_table = "legacy_items"


class Listing(models.Model):
    """A code that is not unique: every row with it would be updated."""

    code = models.CharField(max_length=64)
    stock = models.IntegerField()

    class Meta:
        app_label = "catalog"


class ConstrainedListing(models.Model):
    """Unique through a constraint rather than unique=True."""

    code = models.CharField(max_length=64)
    stock = models.IntegerField()

    class Meta:
        app_label = "catalog"
        constraints = [models.UniqueConstraint(fields=["code"], name="constrained_code_unique")]


class GiftCard(Product):
    """Multi-table inheritance: its parent's fields live in the parent's table."""

    message = models.CharField(max_length=200, default="")

    class Meta:
        app_label = "catalog"


class OwnedLookalike(models.Model):
    """The very table inventory-sync owns and migrates."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    inventory_count = models.IntegerField()
    inventory_updated_at = models.DateTimeField(null=True)

    class Meta:
        app_label = "catalog"
        db_table = "products"
