"""A catalogue CSV file (`code,name[,inventory_count]` with a header row) read into Products.

Every row is checked before any is returned, so an import writes all of a file or nothing.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import TYPE_CHECKING

from inventory_sync.domain.errors import InventorySyncError
from inventory_sync.domain.model import Product
from inventory_sync.domain.rules import MAX_INVENTORY_COUNT, PRODUCT_CODE_PATTERN

if TYPE_CHECKING:
    from _csv import Reader

COLUMNS = ("code", "name", "inventory_count")
_CODE = re.compile(PRODUCT_CODE_PATTERN)
_COUNT = re.compile(r"[0-9]{1,10}")


class BadCatalogue(InventorySyncError):
    """The file cannot be imported; the message names the file and the line."""


def read_catalogue(path: Path) -> list[Product]:
    """Raises BadCatalogue naming the first bad line, FileNotFoundError."""
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        try:
            return _read(path, reader)
        except csv.Error as exc:
            raise BadCatalogue(f"{path}, line {reader.line_num}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise BadCatalogue(f"{path}, after line {reader.line_num}: not UTF-8: {exc}") from exc


def _read(path: Path, reader: Reader) -> list[Product]:
    header = [column.strip().lower() for column in next(reader, [])]
    _check_header(path, header)
    products: dict[str, Product] = {}
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        product = _product(path, reader.line_num, dict(zip(header, row, strict=False)), row)
        if product.code in products:
            raise BadCatalogue(
                f"{path}, line {reader.line_num}: code {product.code!r} appears twice"
            )
        products[product.code] = product
    return list(products.values())


def _check_header(path: Path, header: list[str]) -> None:
    if header[:2] != ["code", "name"] or len(header) > 3 or header[2:] not in ([], [COLUMNS[2]]):
        raise BadCatalogue(
            f"{path}, line 1: the header must be code,name or code,name,inventory_count"
            f" (found {','.join(header) or 'an empty file'})"
        )


def _product(path: Path, line: int, cells: dict[str, str], row: list[str]) -> Product:
    where = f"{path}, line {line}"
    if len(row) > len(cells):
        raise BadCatalogue(f"{where}: {len(row)} columns, the header has {len(cells)}")
    code = cells.get("code", "").strip()
    name = cells.get("name", "").strip()
    count_text = cells.get("inventory_count", "").strip() or "0"
    if not _CODE.fullmatch(code):
        raise BadCatalogue(f"{where}: code {code!r} is not 1 to 64 characters of A-Z a-z 0-9 . _ -")
    if not name:
        raise BadCatalogue(f"{where}: product {code} has no name")
    if not _COUNT.fullmatch(count_text) or int(count_text) > MAX_INVENTORY_COUNT:
        raise BadCatalogue(
            f"{where}: inventory_count {count_text!r} is not a whole number"
            f" from 0 to {MAX_INVENTORY_COUNT:,}"
        )
    return Product(code=code, name=name, inventory_count=int(count_text))
