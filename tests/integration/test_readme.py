"""Every code block of README.md runs as printed, against the real broker and databases.

The blocks are parsed from the README itself (tests/integration/readme_support.py says how
each kind runs). Python blocks run in a fresh interpreter in a temporary folder, shell blocks
with bash, with INVENTORY_SYNC_* variables naming the local broker, a fresh topic and a fresh
database; the Django blocks become a generated project (its settings, its shop app's
models.py and template), and the shop-table blocks run on the table Django made of that model.
A failure names the block's line in README.md.

The quick scenarios run once per Kafka client; the two slow ones once each, the Django
project on the default client (kafka-python) and the shop-table blocks on confluent.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from inventory_sync.adapters.sql.tables import products
from inventory_sync.settings import Settings
from tests.integration.kafka_support import CLIENTS, send, topic_settings, update
from tests.integration.readme_support import (
    README,
    Block,
    DjangoProject,
    block_environment,
    blocks_of,
    code_blocks,
    fenced_blocks,
    install_lines,
    kafka_variables,
    printed_expectations,
    readme_blocks,
    role,
    run_python,
    run_shell,
    the_block,
)
from tests.integration.sql_support import engine_on

T1 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
T2 = T1 + timedelta(minutes=1)

BLOCKS_BY_KIND = {"python": 6, "bash": 1, "console": 1, "html": 1, "install": 1}
"""What the README holds, by kind: a block added or removed must be looked at here."""
BLOCKS_BY_ROLE = {
    "install": 1,
    "script": 1,
    "django-settings": 1,
    "django-model": 1,
    "django-template": 1,
    "django-commands": 1,
    "shop-table-library": 1,
    "shop-table-worker": 1,
    "fastapi-app": 1,
    "pytest-tests": 1,
}
UNTAGGED_BLOCKS = 2
"""The diagram and the layout tree: not code."""


def line_ids(block: Block) -> str:
    return f"README-line-{block.line}"


# -- the parser and the census ----------------------------------------------------------------


def test_the_parser_skips_untagged_blocks_and_keeps_each_blocks_line() -> None:
    markdown = (
        "intro\n"
        "```\na diagram\n```\n"
        "```python\nprint(1)  # 1\n```\n"
        "````bash install\npip install x\n```\nstill inside\n````\n"
    )

    blocks = code_blocks(markdown)

    assert [(b.line, b.kind, b.language) for b in blocks] == [
        (5, "python", "python"),
        (8, "install", "bash"),
    ]
    assert blocks[1].text == "pip install x\n```\nstill inside\n"
    assert len(fenced_blocks(markdown)) == 3


def test_every_code_block_of_the_readme_is_counted_and_has_a_runner() -> None:
    blocks = readme_blocks()
    untagged = [b for b in fenced_blocks(README.read_text(encoding="utf-8")) if not b.info]
    unrunnable = [block.where for block in blocks if role(block) == "no runner"]

    assert unrunnable == []
    assert dict(Counter(block.kind for block in blocks)) == BLOCKS_BY_KIND, [
        block.where for block in blocks
    ]
    assert dict(Counter(role(block) for block in blocks)) == BLOCKS_BY_ROLE, [
        f"{block.where}: {role(block)}" for block in blocks
    ]
    assert len(untagged) == UNTAGGED_BLOCKS, [block.where for block in untagged]


def test_the_install_block_is_shown_not_run_and_holds_only_pip_install_lines() -> None:
    for block in blocks_of("install"):
        assert install_lines(block) == [], f"{block.where}: only `pip install` lines, not run"
        assert "pip install '.[postgres]'" in block.text, block.where


# -- the world a block finds: a database with SKU-1, an event on a fresh topic ----------------


def owned_schema_with_an_event(
    url: str, kafka_bootstrap: str, topic: str, client: str
) -> dict[str, str]:
    """The owned schema with SKU-1 (10 in stock), an event setting it to 3 on a fresh topic;
    the environment that names them and the Kafka client."""
    with engine_on(url) as engine, engine.begin() as connection:
        connection.execute(sa.insert(products).values(code="SKU-1", name="Mug", inventory_count=10))
    send(topic_settings(kafka_bootstrap, topic, partitions=1), [update("SKU-1", 3, T1)])
    return block_environment(
        INVENTORY_SYNC_DATABASE_URL=url,
        INVENTORY_SYNC_KAFKA_CLIENT=client,
        **kafka_variables(kafka_bootstrap, topic),
    )


@pytest.mark.kafka
@pytest.mark.postgres
@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("block", blocks_of("script"), ids=line_ids)
def test_a_script_block_runs_and_prints_what_its_comments_say(  # noqa: PLR0917
    block: Block,
    client: str,
    fresh_postgres_url: str,
    kafka_bootstrap: str,
    topic_name: str,
    tmp_path: Path,
) -> None:
    env = owned_schema_with_an_event(fresh_postgres_url, kafka_bootstrap, topic_name, client)

    if block.kind == "python":
        printed = run_python(block, tmp_path, env).splitlines()
        assert printed == printed_expectations(block), f"{block.where}: printed {printed}"
    else:
        run_shell(block, tmp_path, env)


FASTAPI_DRIVER = """\
import importlib.util
import json
import sys
import time

from fastapi.testclient import TestClient

spec = importlib.util.spec_from_file_location("shop_api", sys.argv[1])
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)

with TestClient(example.app) as client:  # enters the app's lifespan
    deadline = time.monotonic() + 30
    while True:
        stock = client.get("/products/SKU-1/stock")
        if stock.json().get("inventory_count") == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    running = example.sync.running
    unknown = client.get("/products/NO-SUCH/stock")
print(json.dumps({
    "stock": [stock.status_code, stock.json()],
    "unknown": [unknown.status_code, unknown.json()],
    "running_in_lifespan": running,
    "running_after": example.sync.running,
}))
"""


@pytest.mark.kafka
@pytest.mark.parametrize("client", CLIENTS)
def test_the_fastapi_block_consumes_for_its_lifespan_and_serves_the_stock(
    client: str, sqlite_url: str, kafka_bootstrap: str, topic_name: str, tmp_path: Path
) -> None:
    block = the_block("fastapi-app")
    env = owned_schema_with_an_event(sqlite_url, kafka_bootstrap, topic_name, client)
    driver = tmp_path / "drive_fastapi.py"
    driver.write_text(FASTAPI_DRIVER, encoding="utf-8")

    shown = json.loads(run_python(block, tmp_path, env, lambda app: [str(driver), str(app)]))

    assert shown == {
        "stock": [
            200,
            {
                "product_code": "SKU-1",
                "inventory_count": 3,
                "level": "low_stock",
                "message": "Only 3 left in stock!",
            },
        ],
        "unknown": [404, {"detail": "no product NO-SUCH"}],
        "running_in_lifespan": True,
        "running_after": False,
    }, block.where


def test_the_harness_block_is_a_test_module_that_passes(tmp_path: Path) -> None:
    block = the_block("pytest-tests")
    tests = block.text.count("\ndef test_")

    output = run_python(
        block,
        tmp_path,
        block_environment(),
        lambda module: ["-m", "pytest", "-p", "no:cacheprovider", "-q", str(module)],
    )

    assert tests == 2, block.where
    assert f"{tests} passed" in output, f"{block.where}:\n{output}"


# -- the Django project and the shop's own table ----------------------------------------------


def add_shop_product(url: str) -> None:
    """SKU-1 in the shop's table that the README's model block describes."""
    engine = sa.create_engine(url)
    try:
        table = sa.Table("shop_product", sa.MetaData(), autoload_with=engine)
        with engine.begin() as connection:
            connection.execute(
                sa.insert(table).values(sku="SKU-1", title="Red mug", stock=10, price_cents=1200)
            )
    finally:
        engine.dispose()


def shop_row(url: str) -> dict[str, object]:
    engine = sa.create_engine(url)
    try:
        table = sa.Table("shop_product", sa.MetaData(), autoload_with=engine)
        with engine.connect() as connection:
            row = connection.execute(sa.select(table).where(table.c.sku == "SKU-1")).mappings()
            return dict(row.one())
    finally:
        engine.dispose()


def stock_is(url: str, count: int) -> bool:
    return shop_row(url)["stock"] == count


RENDER_PRODUCT_PAGE = """\
from django.template.loader import render_to_string
from shop.models import Product

print(render_to_string("shop/product.html", {"product": Product.objects.get(sku="SKU-1")}))
"""


@pytest.mark.kafka
@pytest.mark.slow
def test_the_django_blocks_make_a_project_whose_commands_and_template_work(
    sqlite_url: str, kafka_bootstrap: str, topic_name: str, tmp_path: Path
) -> None:
    """settings.py ends with the settings block, shop/models.py is the model block, the
    template is the template block; the console block runs in it, line by line. The
    database is DATABASES["default"] (no INVENTORY_SYNC_DATABASE_URL), and the broker's
    variable wins over the block's "kafka:9092", as the block says."""
    project = DjangoProject.write(tmp_path, sqlite_url, migrations=True)
    env = block_environment(**kafka_variables(kafka_bootstrap, topic_name))
    project.manage(env, "makemigrations", "shop")  # the migration a shop's app already has
    kafka = Settings(bootstrap_servers=kafka_bootstrap, topic=topic_name)

    def a_product_and_its_event() -> None:
        add_shop_product(sqlite_url)
        send(kafka, [update("SKU-1", 3, T1)])

    commands = run_shell(
        the_block("django-commands"),
        tmp_path,
        env,
        before={"inventory_sync run": a_product_and_its_event},
        until={"inventory_sync run": lambda: stock_is(sqlite_url, 3)},
    )
    page = project.manage(env, "shell", "-c", RENDER_PRODUCT_PAGE)

    where = the_block("django-commands").where
    status = next(command for command in commands if "status SKU-1" in command.text)
    assert "Only 3 left in stock!" in status.stdout, f"{where}: {status.stdout}"
    created = next(command for command in commands if "topics create" in command.text)
    assert f"created {topic_name}" in created.stdout, f"{where}: {created.stdout}"
    template = the_block("django-template").where
    assert '<p class="stock stock--low_stock">Only 3 left in stock!</p>' in page, (
        f"{template}: rendered\n{page}"
    )
    row = shop_row(sqlite_url)
    assert (row["title"], row["price_cents"]) == ("Red mug", 1200)


LIBRARY_DRIVER = """\
import json
import runpy
import sys

sync = runpy.run_path(sys.argv[1])["sync"]
summary = sync.run(max_records=1, idle_timeout_s=30)
print(json.dumps({"records": summary.records, "applied": summary.applied}))
"""


@pytest.mark.kafka
@pytest.mark.postgres
@pytest.mark.slow
def test_the_shop_table_blocks_write_only_the_stock_of_the_models_table(
    fresh_postgres_url: str, kafka_bootstrap: str, topic_name: str, tmp_path: Path
) -> None:
    """The model block's table, made by Django's migrate; the library block with the shop's
    engine, then the worker block, each applying one event to it."""
    url = fresh_postgres_url
    shop, library, worker = (tmp_path / name for name in ("shop", "library", "worker"))
    for folder in (shop, library, worker):
        folder.mkdir()
    project = DjangoProject.write(shop, url, migrations=False)
    project.manage(block_environment(), "migrate", "--run-syncdb")  # the model's table
    add_shop_product(url)
    kafka = topic_settings(kafka_bootstrap, topic_name, partitions=1)
    env = block_environment(
        DATABASE_URL=url,
        INVENTORY_SYNC_KAFKA_CLIENT="confluent",  # the Django test has the default client
        **kafka_variables(kafka_bootstrap, topic_name),
    )
    driver = library / "drive_library.py"
    driver.write_text(LIBRARY_DRIVER, encoding="utf-8")

    send(kafka, [update("SKU-1", 3, T1)])
    block = the_block("shop-table-library")
    summary = json.loads(run_python(block, library, env, lambda code: [str(driver), str(code)]))
    after_library = shop_row(url)
    send(kafka, [update("SKU-1", 7, T2)])
    run_shell(
        the_block("shop-table-worker"),
        worker,
        env,
        until={"inventory-sync run": lambda: stock_is(url, 7)},
    )
    after_worker = shop_row(url)

    assert summary == {"records": 1, "applied": 1}, block.where
    assert (after_library["stock"], after_library["stock_changed_at"]) == (3, T1), block.where
    assert after_worker["stock"] == 7
    assert after_worker["stock_changed_at"] == T2
    assert (after_worker["title"], after_worker["price_cents"]) == ("Red mug", 1200)
