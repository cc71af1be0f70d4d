"""The catalogue: `products add|import|list` and `status CODE`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from inventory_sync.entrypoints.cli.errors import BadUsage
from inventory_sync.entrypoints.cli.state import state_of

if TYPE_CHECKING:
    from inventory_sync.domain.model import Product

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def add(
    ctx: typer.Context,
    code: Annotated[
        str, typer.Argument(metavar="CODE", help="1 to 64 characters of A-Z a-z 0-9 . _ -")
    ],
    name: Annotated[str, typer.Option(help="The product's name.")],
    count: Annotated[int, typer.Option(min=0, help="Its inventory count.")] = 0,
) -> None:
    """Add one product; an existing code is left as it is.

    \b
    Example:
      inventory-sync products add SKU-1 --name "Blue mug" --count 12
    """
    from inventory_sync.domain.model import Product
    from inventory_sync.domain.rules import MAX_INVENTORY_COUNT, PRODUCT_CODE_PATTERN

    if not re.fullmatch(PRODUCT_CODE_PATTERN, code):
        raise BadUsage(f"product code {code!r} is not 1 to 64 characters of A-Z a-z 0-9 . _ -")
    if count > MAX_INVENTORY_COUNT:
        raise BadUsage(f"--count must be at most {MAX_INVENTORY_COUNT:,}")
    existing = _add_products(ctx, [Product(code, name, count)])
    if existing:
        typer.echo(f"product {code} already exists; left unchanged")
    else:
        typer.echo(f"added product {code} ({name}) with inventory count {count}")


def import_csv(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(metavar="FILE.csv", help="Header row code,name[,inventory_count].")
    ],
) -> None:
    """Import products from a CSV file.

    The header row is code,name[,inventory_count]. Every row is checked first: one bad row
    (its line number is given) and nothing is written. Codes that already exist are left as
    they are.

    \b
    Example:
      inventory-sync products import examples/catalogue.csv
    """
    from inventory_sync.adapters.catalogue_csv import read_catalogue

    products = read_catalogue(file)
    existing = _add_products(ctx, products)
    added = len(products) - len(existing)
    kept = f"; {len(existing)} already existed, left unchanged" if existing else ""
    typer.echo(f"imported {added} products from {file}{kept}")


def list_products(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """List the products with their stock status.

    \b
    Examples:
      inventory-sync products list
      inventory-sync products list --json
    """
    from inventory_sync.domain.model import StockStatus

    state = state_of(ctx)
    threshold = state.settings().low_stock_threshold
    with state.container().unit_of_work() as uow:
        products = uow.products.list()
    rows: list[dict[str, str | int]] = [
        {"name": p.name, **StockStatus.of(p.code, p.inventory_count, threshold).to_dict()}
        for p in products
    ]
    if json_output:
        typer.echo(json.dumps(rows))
        return
    if not rows:
        typer.echo("no products yet: add some with `inventory-sync products import FILE.csv`")
        return
    code_width = max(len("code"), *(len(str(row["product_code"])) for row in rows))
    name_width = max(len("name"), *(len(str(row["name"])) for row in rows))
    typer.echo(f"{'code':<{code_width}}  {'name':<{name_width}}  {'count':>7}  status")
    for row in rows:
        typer.echo(
            f"{row['product_code']!s:<{code_width}}  {row['name']!s:<{name_width}}  "
            f"{row['inventory_count']:>7}  {row['message']}"
        )


def status(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE", help="The product code.")],
    json_output: JsonFlag = False,
) -> None:
    """Show one product's stock status.

    As a product page shows it; exit 1 for an unknown product.

    \b
    Examples:
      inventory-sync status SKU-1
      inventory-sync status SKU-1 --json
    """
    stock = state_of(ctx).container().service().stock_status(code)
    if json_output:
        typer.echo(json.dumps(stock.to_dict()))
    else:
        typer.echo(
            f"{stock.product_code}: {stock.message} (inventory count {stock.inventory_count})"
        )


def _add_products(ctx: typer.Context, products: list[Product]) -> set[str]:
    """Add the products in one transaction; returns the codes that already existed."""
    with state_of(ctx).container().unit_of_work() as uow:
        existing = uow.products.known_codes([product.code for product in products])
        uow.products.add(products)
        uow.commit()
    return existing
