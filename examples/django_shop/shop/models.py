"""The shop's own product table: Django creates and migrates it; inventory-sync writes only
`stock` and `stock_changed_at` (the INVENTORY_SYNC setting maps them)."""

from django.db import models

from inventory_sync.contrib.django.stock import StockStatusMixin


class Product(StockStatusMixin, models.Model):
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    stock = models.PositiveIntegerField(default=0)
    stock_changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
