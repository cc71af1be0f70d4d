"""The products table from a Django model: db_table and each mapped field's column.

INVENTORY_SYNC = {"model": "shop.Product", "code_field": "sku", "count_field": "stock",
"updated_at_field": "stock_changed_at", "name_field": "name"} gives the settings
products_table, code_column, count_column, updated_at_column and name_column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inventory_sync.contrib.django.problems import Problem, setting


@dataclass(frozen=True, slots=True)
class Role:
    """What a mapped field is for, and which Django fields can hold it."""

    key: str
    column_setting: str
    holds: str
    required: bool
    wanted: str

    def accepts(self, field: Any) -> bool:
        from django.db import models
        from django.db.models.fields import AutoFieldMixin

        if self.column_setting == "count_column":
            return isinstance(field, models.IntegerField) and not isinstance(field, AutoFieldMixin)
        if self.column_setting == "updated_at_column":
            return isinstance(field, models.DateTimeField)
        return isinstance(field, models.CharField | models.TextField)


ROLES = (
    Role("code_field", "code_column", "the product code", True, "a CharField or TextField"),
    Role(
        "count_field",
        "count_column",
        "the inventory count",
        True,
        "an integer field (IntegerField, PositiveIntegerField, ...)",
    ),
    Role(
        "updated_at_field",
        "updated_at_column",
        "the time of the last inventory change",
        False,
        "a DateTimeField",
    ),
    Role("name_field", "name_column", "the product name", False, "a CharField or TextField"),
)
FIELD_KEYS = tuple(role.key for role in ROLES)
COLUMN_SETTINGS = ("products_table", *(role.column_setting for role in ROLES))
OWNED_TABLE = {
    "products_table": "products",
    "code_column": "code",
    "count_column": "inventory_count",
    "updated_at_column": "inventory_updated_at",
    "name_column": "name",
}
"""The table inventory-sync creates and migrates itself (Settings' defaults)."""


def model_columns(config: Mapping[str, Any]) -> tuple[dict[str, str | None], list[Problem]]:
    """The column settings the model gives, and what stands in the way of giving them."""
    label = config.get("model")
    if label is None:
        stray = [key for key in FIELD_KEYS if key in config]
        return {}, [Problem(2, f"{setting(key)} needs {setting('model')}") for key in stray]
    clashing = [name for name in COLUMN_SETTINGS if name in config]
    if clashing:
        given = ", ".join(setting(name) for name in clashing)
        return {}, [Problem(7, f"{given}: give the model's fields or the columns, not both")]
    model, problem = _model(label)
    if model is None:
        return {}, [problem] if problem else []
    columns: dict[str, str | None] = {"products_table": model._meta.db_table}
    problems: list[Problem] = []
    for role in ROLES:
        name = config.get(role.key)
        if name is None:
            if role.required:
                missing = f"{setting(role.key)} is missing: the field of {label} with {role.holds}"
                problems.append(Problem(3, missing, model))
            else:
                columns[role.column_setting] = None  # no such column: Settings' None
            continue
        column, found = _column(model, role, name)
        if column is not None:  # else the problem says why, and no column is guessed
            columns[role.column_setting] = column
        problems.extend(found)
    if columns == OWNED_TABLE:
        problems.append(Problem(8, _owned_table_message(label), model))
    return columns, problems


def _model(label: Any) -> tuple[Any, Problem | None]:
    from django.apps import apps

    if not isinstance(label, str) or label.count(".") != 1:
        return None, Problem(
            2, f"{setting('model', label)}: must be of the form 'app_label.ModelName'"
        )
    try:
        return apps.get_model(label), None
    except (LookupError, ValueError) as exc:
        return None, Problem(2, f"{setting('model', label)}: {exc}")


def _column(model: Any, role: Role, name: Any) -> tuple[str | None, list[Problem]]:
    from django.core.exceptions import FieldDoesNotExist

    named = setting(role.key, name)
    if not isinstance(name, str):
        return None, [Problem(3, f"{named}: give a field name", model)]
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None, [Problem(3, f"{named}: no such field (fields: {_fields(model)})", model)]
    if not role.accepts(field):
        kind = type(field).__name__
        wanted = f"{role.holds} needs {role.wanted}"
        return None, [Problem(4, f"{named}: {name} is a {kind}; {wanted}", model)]
    owner = field.model._meta
    if owner.db_table != model._meta.db_table:
        where = f"{owner.label}'s table {owner.db_table!r}"
        return None, [Problem(9, f"{named}: the field is stored in {where}; map that model", model)]
    problems = []
    if role.key == "code_field" and not _unique(model, field):
        problems.append(
            Problem(
                1,
                f"{named}: not unique, so an event updates every product with its code; "
                "give the field unique=True",
                model,
                warning=True,
            )
        )
    column: str = field.column
    return column, problems


def _fields(model: Any) -> str:
    return ", ".join(f.name for f in model._meta.get_fields() if getattr(f, "concrete", False))


def _unique(model: Any, field: Any) -> bool:
    if field.unique:
        return True
    return any(
        tuple(constraint.fields) == (field.name,)
        for constraint in model._meta.total_unique_constraints
    )


def _owned_table_message(label: str) -> str:
    return (
        f"{setting('model', label)}: its table and columns are those of the 'products' table "
        "that inventory-sync creates and migrates itself; give the model another db_table"
    )
