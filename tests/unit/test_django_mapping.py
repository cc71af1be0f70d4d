"""The table and columns from a Django model's meta, and the system check's one-line messages."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.test import override_settings

from inventory_sync.contrib.django.checks import check_configuration
from inventory_sync.contrib.django.conf import inventory_settings
from tests.django_project import SHOP, configure

configure()


def messages(**config: Any) -> list[str]:
    """What `manage.py check` prints for INVENTORY_SYNC = config, one string per issue."""
    with override_settings(INVENTORY_SYNC=config):
        found = check_configuration()
    return [f"{m.obj._meta.label if m.obj else '?'}: ({m.id}) {m.msg}" for m in found]


def test_the_model_gives_the_table_and_the_columns() -> None:
    with override_settings(INVENTORY_SYNC=SHOP):
        settings = inventory_settings()

    assert (
        settings.products_table,
        settings.code_column,
        settings.count_column,
        settings.updated_at_column,
        settings.name_column,
    ) == ("catalog_product", "sku", "stock", "stock_changed_at", "title")
    assert messages(**SHOP) == []


def test_db_table_and_db_column_are_what_the_mapping_uses() -> None:
    config = {
        "model": "catalog.LegacyItem",
        "code_field": "code",
        "count_field": "quantity",
        "updated_at_field": "changed",
    }
    with override_settings(INVENTORY_SYNC=config):
        settings = inventory_settings()

    assert (settings.products_table, settings.code_column, settings.count_column) == (
        "legacy_items",
        "ITEM_CODE",
        "QTY",
    )
    assert settings.updated_at_column == "QTY_CHANGED"
    assert settings.name_column is None  # no name_field: the library writes no name
    assert messages(**config) == []


def test_without_updated_at_field_there_is_no_time_column() -> None:
    config = {"model": "catalog.Product", "code_field": "sku", "count_field": "stock"}
    with override_settings(INVENTORY_SYNC=config):
        assert inventory_settings().updated_at_column is None


def test_a_misnamed_field_is_one_error_naming_the_setting_and_the_field() -> None:
    assert messages(**{**SHOP, "count_field": "stok"}) == [
        "catalog.Product: (inventory_sync.E003) INVENTORY_SYNC['count_field'] = 'stok': "
        "no such field (fields: id, sku, title, stock, stock_changed_at, price, released_on, "
        "weight, description, supplier)"
    ]


@pytest.mark.parametrize(
    ("key", "field", "expected"),
    [
        ("count_field", "price", "price is a DecimalField; the inventory count needs an integer"),
        ("count_field", "weight", "weight is a FloatField; the inventory count needs an integer"),
        ("count_field", "id", "id is a BigAutoField; the inventory count needs an integer"),
        ("count_field", "supplier", "supplier is a ForeignKey; the inventory count needs an"),
        ("code_field", "stock", "stock is a PositiveIntegerField; the product code needs a Char"),
        (
            "updated_at_field",
            "released_on",
            "released_on is a DateField; the time of the last inventory change needs a "
            "DateTimeField",
        ),
        ("name_field", "price", "price is a DecimalField; the product name needs a CharField"),
    ],
)
def test_a_field_of_the_wrong_type_is_one_error_naming_the_setting_the_field_and_the_type(
    key: str, field: str, expected: str
) -> None:
    found = messages(**{**SHOP, key: field})

    assert len(found) == 1
    assert found[0].startswith(
        f"catalog.Product: (inventory_sync.E004) INVENTORY_SYNC[{key!r}] = {field!r}: {expected}"
    )


def test_a_text_field_holds_a_code_and_a_name() -> None:
    assert messages(**{**SHOP, "code_field": "sku", "name_field": "description"}) == []


def test_a_missing_required_field_setting_is_named() -> None:
    config = {k: v for k, v in SHOP.items() if k != "code_field"}

    assert messages(**config) == [
        "catalog.Product: (inventory_sync.E003) INVENTORY_SYNC['code_field'] is missing: "
        "the field of catalog.Product with the product code"
    ]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("catalog.Prodcut", "App 'catalog' doesn't have a 'Prodcut' model."),
        ("shop.Product", "No installed app with label 'shop'."),
        ("Product", "must be of the form 'app_label.ModelName'"),
    ],
)
def test_an_unknown_model_is_one_error_naming_the_setting(model: str, expected: str) -> None:
    found = messages(**{**SHOP, "model": model})

    assert len(found) == 1
    assert found[0].startswith(f"?: (inventory_sync.E002) INVENTORY_SYNC['model'] = {model!r}: ")
    assert expected in found[0]


def test_model_fields_and_column_settings_together_are_refused() -> None:
    assert messages(**{**SHOP, "count_column": "stock"}) == [
        "?: (inventory_sync.E007) INVENTORY_SYNC['count_column']: give the model's fields or "
        "the columns, not both"
    ]


def test_a_field_setting_without_a_model_is_refused() -> None:
    assert messages(code_field="sku") == [
        "?: (inventory_sync.E002) INVENTORY_SYNC['code_field'] needs INVENTORY_SYNC['model']"
    ]


def test_a_parent_models_field_is_refused_as_it_lives_in_another_table() -> None:
    found = messages(**{**SHOP, "model": "catalog.GiftCard"})

    assert found[0] == (
        "catalog.GiftCard: (inventory_sync.E009) INVENTORY_SYNC['code_field'] = 'sku': the field "
        "is stored in catalog.Product's table 'catalog_product'; map that model"
    )


def test_a_model_on_the_owned_products_table_is_refused() -> None:
    config = {
        "model": "catalog.OwnedLookalike",
        "code_field": "code",
        "count_field": "inventory_count",
        "updated_at_field": "inventory_updated_at",
        "name_field": "name",
    }

    found = messages(**config)

    assert len(found) == 1
    assert "(inventory_sync.E008)" in found[0]
    assert "give the model another db_table" in found[0]


def test_a_code_that_is_not_unique_is_a_warning() -> None:
    listing = {"model": "catalog.Listing", "code_field": "code", "count_field": "stock"}
    constrained = {**listing, "model": "catalog.ConstrainedListing"}

    with override_settings(INVENTORY_SYNC=listing):
        found = check_configuration()

    assert [(type(m), m.id) for m in found] == [(checks.Warning, "inventory_sync.W001")]
    assert "INVENTORY_SYNC['code_field'] = 'code': not unique" in found[0].msg
    assert messages(**constrained) == []


def test_a_bad_setting_value_is_one_error_naming_it() -> None:
    assert messages(**{**SHOP, "batch_size": 0, "batchsize": 10}) == [
        "?: (inventory_sync.E005) INVENTORY_SYNC['batch_size'] = 0: Input should be greater "
        "than or equal to 1",
        "?: (inventory_sync.E005) INVENTORY_SYNC['batchsize']: not an inventory-sync setting",
    ]


def test_a_bad_environment_variable_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_SYNC_LOW_STOCK_THRESHOLD", "-1")

    assert messages(**SHOP) == [
        "?: (inventory_sync.E005) environment variable INVENTORY_SYNC_LOW_STOCK_THRESHOLD: "
        "Input should be greater than or equal to 0"
    ]


def test_a_password_in_a_bad_value_is_never_repeated() -> None:
    found = messages(**{**SHOP, "database_url": "mysql://shop:s3cret@db/shop"})

    assert len(found) == 1
    assert found[0].startswith("?: (inventory_sync.E005) INVENTORY_SYNC['database_url']: ")
    assert "s3cret" not in found[0]


def test_the_configuration_must_be_a_dict() -> None:
    with override_settings(INVENTORY_SYNC=["model", "catalog.Product"]):
        found = check_configuration()

    assert [m.msg for m in found] == ["INVENTORY_SYNC is a list: give a dict"]


@override_settings(USE_TZ=False)
def test_naive_datetimes_with_a_time_column_are_a_warning() -> None:
    found = messages(**SHOP)

    assert len(found) == 1
    assert found[0].startswith("?: (inventory_sync.W002) USE_TZ = False")


def test_the_check_is_registered_with_django() -> None:
    from django.core.checks import registry

    assert check_configuration in registry.registry.get_checks()
    assert "inventory_sync" in registry.registry.tags_available()
