"""{% load inventory_sync %}: {{ product|stock_message }}, {{ product|stock_level }} (for CSS:
out_of_stock, low_stock, in_stock) and {{ product|stock_status }} (the whole StockStatus)."""

from __future__ import annotations

from django import template

from inventory_sync.contrib.django.stock import stock_status

register = template.Library()


def stock_message(product: object) -> str:
    """ "In stock", "Only 3 left in stock!" or "Out of stock"."""
    return stock_status(product).message


def stock_level(product: object) -> str:
    """ "in_stock", "low_stock" or "out_of_stock"."""
    return stock_status(product).level.value


register.filter("stock_status", stock_status)
register.filter("stock_message", stock_message)
register.filter("stock_level", stock_level)
