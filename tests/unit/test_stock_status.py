"""What a product page says for a count: the three stock levels and their messages."""

import pytest

from inventory_sync.domain.model import StockLevel, StockStatus


def test_a_count_of_zero_is_out_of_stock() -> None:
    status = StockStatus.of("SKU-1", 0, low_stock_threshold=5)
    assert status.level is StockLevel.OUT_OF_STOCK
    assert status.message == "Out of stock"


@pytest.mark.parametrize("count", [1, 3, 5])
def test_a_count_up_to_the_threshold_is_low_stock_with_the_number_left(count: int) -> None:
    status = StockStatus.of("SKU-1", count, low_stock_threshold=5)
    assert status.level is StockLevel.LOW_STOCK
    assert status.message == f"Only {count} left in stock!"


def test_a_count_over_the_threshold_is_in_stock() -> None:
    status = StockStatus.of("SKU-1", 6, low_stock_threshold=5)
    assert status.level is StockLevel.IN_STOCK
    assert status.message == "In stock"


def test_a_threshold_of_zero_never_says_low_stock() -> None:
    assert StockStatus.of("SKU-1", 1, low_stock_threshold=0).level is StockLevel.IN_STOCK


def test_the_json_shape_is_the_one_the_contract_gives() -> None:
    assert StockStatus.of("SKU-1", 3, 5).to_dict() == {
        "product_code": "SKU-1",
        "inventory_count": 3,
        "level": "low_stock",
        "message": "Only 3 left in stock!",
    }
