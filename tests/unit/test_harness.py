"""InventoryHarness as a shop developer uses it in their own tests."""

import pytest

from inventory_sync import UnknownProduct
from inventory_sync.testing import InventoryHarness


def test_a_purchase_makes_the_product_page_say_only_three_left() -> None:
    h = InventoryHarness(products={"SKU-1": 10}, low_stock_threshold=5)
    h.send({"product_code": "SKU-1", "inventory_count": 3})
    report = h.drain()
    assert report.applied == 1
    assert h.stock_status("SKU-1").message == "Only 3 left in stock!"


def test_selling_the_last_one_says_out_of_stock_and_a_restock_says_in_stock() -> None:
    h = InventoryHarness(products={"SKU-1": 1})
    h.send({"product_code": "SKU-1", "inventory_count": 0, "reason": "purchase"})
    h.drain()
    assert h.stock_status("SKU-1").message == "Out of stock"
    h.send({"product_code": "SKU-1", "inventory_count": 40, "reason": "restock"})
    h.drain()
    assert h.stock_status("SKU-1").message == "In stock"


def test_bad_events_end_up_as_dead_letters_with_their_reason() -> None:
    h = InventoryHarness(products={"SKU-1": 10})
    h.send(b"\x00not json")
    h.send({"product_code": "SKU-1", "inventory_count": -2})
    h.send({"product_code": "GHOST", "inventory_count": 2})
    report = h.drain()
    assert report.to_dict()["by_reason"] == {
        "invalid_payload": 1,
        "malformed_json": 1,
        "unknown_product": 1,
    }
    assert [letter.reason for letter in h.dead_letters] == [
        "malformed_json",
        "invalid_payload",
        "unknown_product",
    ]
    assert h.dead_letters[0].record.value == b"\x00not json"
    assert h.stock_status("SKU-1").inventory_count == 10


def test_an_unknown_code_raises_unknown_product() -> None:
    h = InventoryHarness()
    with pytest.raises(UnknownProduct):
        h.stock_status("NOPE")


def test_drain_reports_the_same_counts_as_apply_json() -> None:
    h = InventoryHarness(products={"SKU-1": 10})
    h.send({"product_code": "SKU-1", "inventory_count": 4})
    h.send({"product_code": "SKU-1", "inventory_count": 5})
    assert h.drain().to_dict() == {
        "records": 2,
        "applied": 1,
        "stale": 0,
        "superseded": 1,
        "rejected": 0,
        "duplicate": 0,
        "by_reason": {},
    }
