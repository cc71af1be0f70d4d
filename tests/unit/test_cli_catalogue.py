"""`products add|import|list` and `status` on an in-memory product table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.cli_support import FakeServices, clean_environment, one_error_line


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> FakeServices:
    clean_environment(monkeypatch)
    return FakeServices()


def test_status_gives_the_message_a_product_page_shows(services: FakeServices) -> None:
    services.add({"SKU-1": 3})
    result = services.invoke("status", "SKU-1")
    assert result.exit_code == 0, result.output
    assert result.stdout == "SKU-1: Only 3 left in stock! (inventory count 3)\n"


def test_status_json_has_the_documented_shape(services: FakeServices) -> None:
    services.add({"SKU-1": 3})
    result = services.invoke("status", "SKU-1", "--json")
    assert json.loads(result.stdout) == {
        "product_code": "SKU-1",
        "inventory_count": 3,
        "level": "low_stock",
        "message": "Only 3 left in stock!",
    }


def test_status_of_an_unknown_product_exits_1_with_one_line(services: FakeServices) -> None:
    result = services.invoke("status", "NOPE")
    assert result.exit_code == 1
    assert one_error_line(result) == "error: unknown product 'NOPE'"


def test_the_low_stock_threshold_setting_decides_the_level(services: FakeServices) -> None:
    services.add({"SKU-1": 3})
    result = services.invoke("status", "SKU-1", env={"INVENTORY_SYNC_LOW_STOCK_THRESHOLD": "2"})
    assert "SKU-1: In stock" in result.stdout


def test_products_add_creates_a_product_and_leaves_an_existing_one_alone(
    services: FakeServices,
) -> None:
    first = services.invoke("products", "add", "SKU-1", "--name", "Blue mug", "--count", "12")
    second = services.invoke("products", "add", "SKU-1", "--name", "Other", "--count", "1")
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert "already exists" in second.stdout
    product = services.repository.get("SKU-1")
    assert product is not None
    assert (product.name, product.inventory_count) == ("Blue mug", 12)


def test_products_add_refuses_a_code_outside_the_contract(services: FakeServices) -> None:
    result = services.invoke("products", "add", "no spaces", "--name", "x")
    assert result.exit_code == 2
    assert "is not 1 to 64 characters" in one_error_line(result)
    assert services.repository.list() == []


def test_products_list_json_gives_every_status_with_its_name(services: FakeServices) -> None:
    services.add({"A": 0, "B": 9})
    result = services.invoke("products", "list", "--json")
    assert json.loads(result.stdout) == [
        {
            "name": "A name",
            "product_code": "A",
            "inventory_count": 0,
            "level": "out_of_stock",
            "message": "Out of stock",
        },
        {
            "name": "B name",
            "product_code": "B",
            "inventory_count": 9,
            "level": "in_stock",
            "message": "In stock",
        },
    ]


def test_products_list_prints_a_table_with_the_messages(services: FakeServices) -> None:
    services.add({"A": 0, "B": 2})
    lines = services.invoke("products", "list").stdout.splitlines()
    assert lines[0].split() == ["code", "name", "count", "status"]
    assert lines[1].endswith("Out of stock")
    assert lines[2].endswith("Only 2 left in stock!")


def test_products_import_adds_every_row(services: FakeServices, tmp_path: Path) -> None:
    csv = tmp_path / "catalogue.csv"
    csv.write_text('code,name,inventory_count\nA,"Mug, blue",4\nB,Lamp,\n')
    result = services.invoke("products", "import", str(csv))
    assert result.exit_code == 0, result.output
    assert "imported 2 products" in result.stdout
    assert [(p.code, p.name, p.inventory_count) for p in services.repository.list()] == [
        ("A", "Mug, blue", 4),
        ("B", "Lamp", 0),
    ]


def test_products_import_leaves_existing_codes_alone(
    services: FakeServices, tmp_path: Path
) -> None:
    services.add({"A": 7})
    csv = tmp_path / "catalogue.csv"
    csv.write_text("code,name\nA,New name\nB,Lamp\n")
    result = services.invoke("products", "import", str(csv))
    assert "imported 1 products" in result.stdout
    assert "1 already existed" in result.stdout
    product = services.repository.get("A")
    assert product is not None
    assert (product.name, product.inventory_count) == ("A name", 7)


@pytest.mark.parametrize(
    ("rows", "line", "says"),
    [
        ("A,Mug,1\nB,Lamp,-1\n", 3, "inventory_count '-1'"),
        ("A,Mug,1\nB,Lamp,many\n", 3, "inventory_count 'many'"),
        ("A,Mug,1\nB,Lamp,2147483648\n", 3, "inventory_count '2147483648'"),
        ("A,Mug,1\n\nbad code,Lamp,1\n", 4, "code 'bad code'"),
        ("A,Mug,1\nB,,1\n", 3, "has no name"),
        ("A,Mug,1\nA,Mug again,1\n", 3, "appears twice"),
        ("A,Mug,1,extra\n", 2, "4 columns"),
    ],
)
def test_products_import_names_the_line_of_a_bad_row_and_writes_nothing(
    services: FakeServices, tmp_path: Path, rows: str, line: int, says: str
) -> None:
    csv = tmp_path / "catalogue.csv"
    csv.write_text("code,name,inventory_count\n" + rows)
    result = services.invoke("products", "import", str(csv))
    assert result.exit_code == 1
    message = one_error_line(result)
    assert f"line {line}:" in message
    assert says in message
    assert services.repository.list() == []


def test_products_import_wants_the_documented_header(
    services: FakeServices, tmp_path: Path
) -> None:
    csv = tmp_path / "catalogue.csv"
    csv.write_text("sku,title\nA,Mug\n")
    result = services.invoke("products", "import", str(csv))
    assert result.exit_code == 1
    assert "line 1: the header must be code,name" in one_error_line(result)


def test_products_import_of_a_missing_file_exits_2_naming_it(
    services: FakeServices, tmp_path: Path
) -> None:
    result = services.invoke("products", "import", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2
    assert one_error_line(result) == f"error: no such file: {tmp_path / 'nope.csv'}"
