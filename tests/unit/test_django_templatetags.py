"""{% load inventory_sync %} and the model helper: the library's stock rule on a model
instance, with the configured threshold, and no query."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.test import override_settings

from inventory_sync import StockLevel
from inventory_sync.contrib.django import conf
from inventory_sync.contrib.django.stock import stock_status
from tests.django_project import SHOP, configure

configure()

from tests.django_project.catalog.models import Product  # noqa: E402 - needs Django set up

PAGE = Template(
    "{% load inventory_sync %}"
    '<p class="stock stock--{{ product|stock_level }}">{{ product|stock_message }}</p>'
)


def page(product: object) -> str:
    return PAGE.render(Context({"product": product}))


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, '<p class="stock stock--out_of_stock">Out of stock</p>'),
        (1, '<p class="stock stock--low_stock">Only 1 left in stock!</p>'),
        (3, '<p class="stock stock--low_stock">Only 3 left in stock!</p>'),
        (5, '<p class="stock stock--low_stock">Only 5 left in stock!</p>'),
        (6, '<p class="stock stock--in_stock">In stock</p>'),
    ],
)
def test_the_filters_show_the_stock_of_a_model_instance(count: int, expected: str) -> None:
    assert page(Product(sku="MUG-RED", stock=count)) == expected


@override_settings(INVENTORY_SYNC={**SHOP, "low_stock_threshold": 2})
def test_the_configured_threshold_decides_what_is_low() -> None:
    assert page(Product(sku="MUG-RED", stock=3)).endswith(">In stock</p>")
    assert page(Product(sku="MUG-RED", stock=2)).endswith(">Only 2 left in stock!</p>")


@override_settings(INVENTORY_SYNC={**SHOP, "low_stock_threshold": 2})
def test_the_environment_wins_over_the_threshold_in_the_dict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INVENTORY_SYNC_LOW_STOCK_THRESHOLD", "10")
    conf.clear_cache()  # an environment change needs this; a settings change does it itself
    try:
        assert page(Product(sku="MUG-RED", stock=8)).endswith(">Only 8 left in stock!</p>")
    finally:
        monkeypatch.undo()
        conf.clear_cache()


def test_the_count_comes_from_the_configured_field() -> None:
    legacy = {"model": "catalog.LegacyItem", "code_field": "code", "count_field": "quantity"}
    from tests.django_project.catalog.models import LegacyItem

    with override_settings(INVENTORY_SYNC=legacy):
        status = stock_status(LegacyItem(code="OLD-1", quantity=0))

    assert (status.product_code, status.inventory_count, status.level) == (
        "OLD-1",
        0,
        StockLevel.OUT_OF_STOCK,
    )


def test_the_model_helper_is_the_same_status() -> None:
    product = Product(sku="TEE-S", stock=1)

    assert product.stock_status == stock_status(product)
    assert product.stock_status.to_dict() == {
        "product_code": "TEE-S",
        "inventory_count": 1,
        "level": "low_stock",
        "message": "Only 1 left in stock!",
    }


def test_the_whole_status_and_a_bare_count_work_in_templates_too() -> None:
    template = Template(
        "{% load inventory_sync %}{% with s=product|stock_status %}{{ s.level }} "
        "{{ s.inventory_count }}{% endwith %} / {{ 0|stock_message }}"
    )

    rendered = template.render(Context({"product": Product(sku="LAMP-1", stock=24)}))

    assert rendered == "in_stock 24 / Out of stock"


def test_the_helpers_never_query_the_database(django_assert_no_queries: None) -> None:
    assert page(Product(sku="MUG-RED", stock=3)).endswith(">Only 3 left in stock!</p>")


@pytest.fixture
def django_assert_no_queries() -> object:
    """Any query fails: the in-memory test database has no tables at all."""
    from django.db import connection

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a query was made")

    with connection.execute_wrapper(lambda execute, *a: refuse()):
        yield None
