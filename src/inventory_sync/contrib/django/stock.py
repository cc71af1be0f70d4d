"""Stock status from a model instance, without a query: the product page's helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inventory_sync.contrib.django.conf import instance_reading

if TYPE_CHECKING:
    from inventory_sync import StockStatus


def stock_status(product: object) -> StockStatus:
    """The StockStatus of a product (a model instance, or a bare count) by the library's rule
    and the configured low_stock_threshold; the count is the instance's `count_field`."""
    from inventory_sync import StockStatus

    reading = instance_reading()
    if isinstance(product, int) and not isinstance(product, bool):
        return StockStatus.of("", product, reading.low_stock_threshold)
    code = getattr(product, reading.code_attribute, "")
    count = getattr(product, reading.count_attribute)
    return StockStatus.of(str(code or ""), int(count or 0), reading.low_stock_threshold)


class StockStatusMixin:
    """For a product model: `product.stock_status.message`, `product.stock_status.level`.

    class Product(StockStatusMixin, models.Model): ...
    """

    @property
    def stock_status(self) -> StockStatus:
        return stock_status(self)
