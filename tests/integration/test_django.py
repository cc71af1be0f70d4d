"""The Django integration end to end: a real Django project (examples/django_shop, its shop
app, Django's own migrations) on SQLite and on PostgreSQL, `manage.py inventory_sync run` as
a subprocess against the real broker, and the product page rendered by Django's test client.

Each test writes a settings module over the example's (DATABASES from the test database,
the test's topic and group) and runs manage.py with it, the environment clear of
INVENTORY_SYNC_* variables.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from inventory_sync.adapters.kafka.kafka_python.dead_letter_reader import read_dead_letters
from inventory_sync.settings import Settings
from tests.integration.kafka_support import (
    burst,
    committed_offsets,
    committed_total,
    end_offsets,
    rejections_in_burst,
    send,
    topic_settings,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "django_shop"
DEADLINE_S = 90.0
T1, T2 = "2026-11-26T09:00:00+00:00", "2026-11-26T10:00:00+00:00"


def django_databases(url: str) -> dict[str, dict[str, Any]]:
    """Django's DATABASES for a test database's SQLAlchemy URL."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": parsed.database}}
    return {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parsed.database,
            "USER": parsed.username or "",
            "PASSWORD": parsed.password or "",
            "HOST": parsed.host or "",
            "PORT": str(parsed.port or ""),
        }
    }


@dataclass
class Project:
    """The example shop with this test's settings module over its own."""

    folder: Path
    database_url: str
    inventory_sync: dict[str, Any]
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        overlay = self.folder / "test_settings.py"
        overlay.write_text(
            "from shop_site.settings import *  # noqa: F403\n"
            f"DATABASES = {django_databases(self.database_url)!r}\n"
            f"INVENTORY_SYNC = {{**INVENTORY_SYNC, **{self.inventory_sync!r}}}  # noqa: F405\n"
        )
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("INVENTORY_SYNC_")}
        inherited = os.environ.get("PYTHONPATH")  # a checkout's src/ first, if one is given
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.folder), inherited]))
        self.env["DJANGO_SETTINGS_MODULE"] = "test_settings"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, str(EXAMPLE / "manage.py"), *args]

    def manage(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.command(*args),
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=DEADLINE_S,
            check=False,
        )
        if expect is not None:
            assert done.returncode == expect, f"{args}: {done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def start(self, *args: str) -> Worker:
        n = len(list(self.folder.glob("worker*.out")))
        stdout, stderr = self.folder / f"worker{n}.out", self.folder / f"worker{n}.log"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                self.command(*args), cwd=self.folder, env=self.env, stdout=out, stderr=err
            )
        return Worker(process, stdout, stderr)

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code).stdout

    def page(self, sku: str) -> dict[str, Any]:
        """The product page through Django's test client, and what the library says."""
        script = f"""
import json
from django.test import Client
from django.test.utils import setup_test_environment
from inventory_sync import InventorySync
from inventory_sync.contrib.django.conf import inventory_settings

setup_test_environment()
response = Client().get("/products/{sku}/")
html = response.content.decode()
library = InventorySync(inventory_settings()).stock_status("{sku}").message
print(json.dumps({{"status": response.status_code, "html": html, "library": library}}))
"""
        shown: dict[str, Any] = json.loads(self.shell(script).strip().splitlines()[-1])
        assert shown["status"] == 200, shown
        found = re.search(r'<p class="stock stock--(\w+)">([^<]*)</p>', shown["html"])
        assert found is not None, shown["html"]
        shown["level"], shown["message"] = found.groups()
        return shown


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")

    def summary(self) -> dict[str, Any]:
        lines = self.stdout.read_text().strip().splitlines()
        assert lines, f"no summary; log:\n{self.log()[-3000:]}"
        summary: dict[str, Any] = json.loads(lines[-1])
        return summary

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.wait()

    def wait(self) -> int:
        try:
            return self.process.wait(DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"manage.py did not exit within {DEADLINE_S} s:\n{self.log()[-3000:]}")


def kafka_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        "topic": settings.topic,
        "dlq_topic": settings.dlq_topic,
        "group_id": settings.group_id,
        "poll_timeout_ms": 200,
        **extra,
    }


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def shop_stock(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT sku, stock FROM shop_product"))
            return {str(sku): int(stock) for sku, stock in rows}
    finally:
        engine.dispose()


@pytest.mark.kafka
@pytest.mark.slow
def test_the_product_page_shows_what_manage_py_inventory_sync_run_applied(
    database_url: str, kafka_bootstrap: str, topic_name: str, tmp_path: Path
) -> None:
    settings = Settings(
        bootstrap_servers=kafka_bootstrap,
        topic=topic_name,
        dlq_topic=f"{topic_name}.dlq",
        group_id=f"{topic_name}-group",
    )
    project = Project(tmp_path, database_url, kafka_config(settings))

    # Before Django's migrations: check names the missing table; db upgrade creates only
    # inventory-sync's own tables (the stored offsets), never the shop's.
    before = project.manage("inventory_sync", "check", expect=1).stdout
    upgraded = project.manage("inventory_sync", "db", "upgrade").stdout
    created_by_inventory_sync = tables(database_url)

    project.manage("migrate")
    project.manage("loaddata", "catalogue")
    project.manage("inventory_sync", "topics", "create", "--partitions", "2")
    ready = project.manage("inventory_sync", "check").stdout
    events = tmp_path / "events.jsonl"
    events.write_text(
        "".join(
            json.dumps({"product_code": code, "inventory_count": count, "occurred_at": T1}) + "\n"
            for code, count in [("MUG-RED", 3), ("TEE-M", 6), ("GHOST-9", 4)]
        )
    )
    project.manage("inventory_sync", "produce", "--file", str(events))
    first = project.manage(
        "inventory_sync", "run", "--max-messages", "3", "--idle-timeout", "30", "--json"
    )
    after_first = project.page("MUG-RED")
    status = project.manage("inventory_sync", "status", "MUG-RED", "--json").stdout
    cli_status = subprocess.run(
        [sys.executable, "-m", "inventory_sync", "status", "MUG-RED", "--json"],
        env={
            **project.env,
            "INVENTORY_SYNC_DATABASE_URL": database_url,
            "INVENTORY_SYNC_PRODUCTS_TABLE": "shop_product",
            "INVENTORY_SYNC_CODE_COLUMN": "sku",
            "INVENTORY_SYNC_COUNT_COLUMN": "stock",
            "INVENTORY_SYNC_UPDATED_AT_COLUMN": "stock_changed_at",
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=DEADLINE_S,
    ).stdout
    letters = json.loads(project.manage("inventory_sync", "dlq", "show", "--json").stdout)

    project.shell(
        "from shop.models import Product; Product.objects.create(sku='GHOST-9', name='Ghost')"
    )
    replayed = project.manage("inventory_sync", "dlq", "replay").stdout
    project.manage("inventory_sync", "produce", "MUG-RED", "0", "--occurred-at", T2)
    second = project.manage(
        "inventory_sync", "run", "--max-messages", "2", "--idle-timeout", "30", "--json"
    )
    after_zero = project.page("MUG-RED")
    ghost = project.page("GHOST-9")

    assert "FAIL  database" in before
    assert "table 'shop_product' (setting products_table) does not exist" in before
    assert "products_table is 'shop_product', the shop's own table: left untouched" in upgraded
    assert created_by_inventory_sync == {"inventory_sync_offsets", "inventory_sync_alembic_version"}
    assert re.search(r"^ok    database .*: table 'shop_product' mapped", ready, re.MULTILINE)
    assert re.search(r"^ok    Kafka at .*: topics .* present$", ready, re.MULTILINE)
    assert json.loads(first.stdout) == {
        "records": 3,
        "applied": 2,
        "stale": 0,
        "superseded": 0,
        "rejected": 1,
        "duplicate": 0,
        "by_reason": {"unknown_product": 1},
    }
    assert (after_first["message"], after_first["level"]) == ("Only 3 left in stock!", "low_stock")
    assert after_first["library"] == "Only 3 left in stock!"
    assert "9.50" in after_first["html"]  # the shop's own columns are left as they were
    assert status == cli_status
    assert json.loads(status)["message"] == "Only 3 left in stock!"
    assert [(d["reason"], d["key"]) for d in letters] == [("unknown_product", "GHOST-9")]
    assert replayed.startswith(f"replayed 1 dead letters from {topic_name}.dlq to {topic_name}")
    assert json.loads(second.stdout)["applied"] == 2
    assert (after_zero["message"], after_zero["level"]) == ("Out of stock", "out_of_stock")
    assert ghost["message"] == "Only 4 left in stock!"
    assert shop_stock(database_url)["TEE-M"] == 6
    assert tables(database_url) == {
        "django_migrations",
        "shop_product",
        "inventory_sync_offsets",  # from db upgrade above, inventory-sync's own
        "inventory_sync_alembic_version",
    }


PRODUCTS = [f"SKU-{n:03d}" for n in range(200)]


@pytest.mark.kafka
@pytest.mark.slow
def test_sigterm_mid_burst_exits_0_and_a_restart_ends_with_the_exact_counts(
    kafka_bootstrap: str, topic_name: str, sqlite_url: str, tmp_path: Path
) -> None:
    settings = topic_settings(kafka_bootstrap, topic_name, partitions=3)
    project = Project(
        tmp_path, sqlite_url, kafka_config(settings, batch_size=10, write_max_records=10)
    )
    project.manage("migrate")
    project.shell(
        "from shop.models import Product; "
        f"Product.objects.bulk_create(Product(sku=c, name=c) for c in {PRODUCTS!r})"
    )
    events, expected = burst(PRODUCTS, 3_000)
    send(settings, events)
    run = ("inventory_sync", "run", "--idle-timeout", "60", "--json")

    first = project.start(*run)
    wait_for(lambda: committed_total(settings, 3) >= 200, "the first worker to get going", 60)
    first_exit = first.stop()
    stopped_at = committed_total(settings, 3)
    second = project.start(*run)
    done = lambda: committed_offsets(settings, 3) == end_offsets(settings, 3)  # noqa: E731
    wait_for(done, "the rest", DEADLINE_S)
    second_exit = second.stop()

    assert (first_exit, second_exit) == (0, 0), first.log()[-2000:] + second.log()[-2000:]
    assert "consuming" in first.log()  # the command line's worker, through manage.py
    assert 0 < first.summary()["records"] == stopped_at < len(events)  # batch in hand committed
    assert second.summary()["records"] == len(events) - stopped_at  # and nothing replayed
    assert shop_stock(sqlite_url) == expected
    assert len(read_dead_letters(settings)) == rejections_in_burst(len(events))


def test_a_misnamed_field_fails_manage_py_check_with_one_line_naming_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    project = Project(tmp_path, sqlite_url, {"count_field": "stok"})

    check = project.manage("check", expect=1)
    run = project.manage("inventory_sync", "run", "--idle-timeout", "1", expect=1)

    for done in (check, run):
        issues = [line for line in done.stderr.splitlines() if "(inventory_sync." in line]
        assert issues == [
            "shop.Product: (inventory_sync.E003) INVENTORY_SYNC['count_field'] = 'stok': "
            "no such field (fields: id, sku, name, price, stock, stock_changed_at)"
        ]
    assert "consuming" not in run.stderr  # it stopped before Kafka


def test_the_example_shops_migrations_match_its_model(sqlite_url: str, tmp_path: Path) -> None:
    Project(tmp_path, sqlite_url, {}).manage("makemigrations", "--check", "--dry-run")


@pytest.mark.kafka
@pytest.mark.slow
def test_the_django_demo_runs_the_example_shop_end_to_end(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVENTORY_SYNC_")}
    env["INVENTORY_SYNC_BOOTSTRAP_SERVERS"] = kafka_bootstrap
    env["INVENTORY_SYNC_DEMO_DIR"] = str(tmp_path)
    demo = subprocess.run(
        [str(REPO / "scripts" / "demo-django")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Traceback" not in demo.stderr
    assert "names no setting" not in demo.stdout + demo.stderr
    assert (
        "consumed 12 records: 7 applied, 2 stale, 0 superseded, 3 rejected"
        " (invalid_payload 1, malformed_json 1, unknown_product 1)"
    ) in demo.stdout
    pages = demo.stdout.split("==> 7.", 1)[1].split("==> 8.", 1)[0]
    rows = {
        line.split()[0]: line.split(None, 2)[2] for line in pages.splitlines() if "(stock--" in line
    }
    assert rows == {
        "LAMP-1": "In stock               (stock--in_stock)",
        "MUG-BLUE": "In stock               (stock--in_stock)",
        "MUG-RED": "Only 3 left in stock!  (stock--low_stock)",
        "POSTER-7": "Only 2 left in stock!  (stock--low_stock)",
        "TEE-M": "Out of stock           (stock--out_of_stock)",
        "TEE-S": "Only 1 left in stock!  (stock--low_stock)",
    }
    assert "unknown_product: no product with code 'GHOST-9'" in demo.stdout
    assert (tmp_path / "django_shop.sqlite3").exists()
