"""The status page in a real headless Chromium (Debian's chromium and chromium-driver, driven
by Selenium; no browser download): `inventory-sync web` beside `inventory-sync run`, through
the real broker and PostgreSQL. It sees a burst's lag and rejection counts, filters the dead
letters by reason, replays the unknown-product ones once the product is added, and sees the
product's stock status change. One run, about 30 s.

INVENTORY_SYNC_TEST_README_SCREENSHOT=1 also writes the overview to docs/status-page.png.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from inventory_sync.settings import Settings
from tests.integration.chaos_support import (
    CLI,
    PRODUCTS,
    REPO,
    Workers,
    catalogue,
    free_port,
    missing,
    wait_for,
    worker_env,
    workers,
)
from tests.integration.kafka_support import T0, burst, send, topic_settings, update

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
__all__ = ["workers"]  # the fixture

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
EVENTS = 2_000
NEW = "NEW-1"


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        missing("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1100",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def seen(driver: Any, url: str, condition: Callable[[Any], bool], what: str) -> None:
    """Load `url` again and again until `condition(driver)` holds (as an operator reloads)."""

    def loaded() -> bool:
        driver.get(url)
        return condition(driver)

    wait_for(loaded, what, timeout=60)


def text_of(driver: Any, css: str) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, css)
    return str(found[0].text) if found else ""


def test_an_operator_sees_the_burst_filters_replays_and_sees_the_stock_change(
    *,
    kafka_bootstrap: str,
    topic_name: str,
    fresh_postgres_url: str,
    workers: Workers,
    browser: Any,
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    url = fresh_postgres_url
    settings = topic_settings(kafka_bootstrap, topic_name, partitions=3, database_url=url)
    catalogue(url)
    events, _ = burst(PRODUCTS, EVENTS)
    events.append(update(NEW, 3, T0 + timedelta(days=1)))  # a product not added yet
    unknown = EVENTS // 50 + 1
    metrics_port, web_port = free_port(), free_port()
    shared = {"INVENTORY_SYNC_METRICS_PORT": str(metrics_port)}

    spawned = time.monotonic()
    page = workers.start([*CLI, "web", "--port", str(web_port)], settings, **shared)
    home = f"http://127.0.0.1:{web_port}"
    wait_for(lambda: _answers(home + "/"), "the status page to answer", timeout=30)
    started_s = time.monotonic() - spawned
    print(f"inventory-sync web: first page {started_s:.2f} s after the process was started")

    send(settings, events)  # the burst waits in Kafka; the page sees it before the worker
    seen(
        browser,
        home + "/",
        lambda d: int(text_of(d, "#total-lag") or 0) == len(events),
        "the page to show the burst's lag",
    )
    assert "no worker answers" in text_of(browser, "#health")

    worker = workers.start([*CLI, "run", "--json"], settings, **shared)
    seen(
        browser,
        home + "/",
        lambda d: (
            text_of(d, "#total-lag") == "0" and text_of(d, "#outcome-records") == str(len(events))
        ),
        "the page to show the lag cleared and every record counted",
    )
    assert text_of(browser, "#rejected-unknown_product") == str(unknown)
    assert text_of(browser, "#rejected-malformed_json") == str(EVENTS // 50)
    assert text_of(browser, "#rejected-invalid_payload") == str(EVENTS // 50)
    assert text_of(browser, "#health").startswith("ready")
    browser.save_screenshot(str(tmp_path / "status-page.png"))
    if os.environ.get("INVENTORY_SYNC_TEST_README_SCREENSHOT"):
        shutil.copy(tmp_path / "status-page.png", REPO / "docs" / "status-page.png")

    filter_dead_letters_by_reason(browser, home, unknown)
    add_the_product_and_replay(browser, home, settings, unknown)
    browser.save_screenshot(str(tmp_path / "replayed.png"))
    seen(
        browser,
        home + f"/products?code={NEW}",
        lambda d: text_of(d, "#stock-message") == "Only 3 left in stock!",
        "the replayed events to reach the product",
    )
    assert text_of(browser, "#stock-count") == "3"
    browser.save_screenshot(str(tmp_path / "product.png"))

    assert worker.stop() == 0
    assert page.stop() == 0
    print(f"browser scenario: {time.monotonic() - began:.1f} s; screenshots in {tmp_path}")


def filter_dead_letters_by_reason(browser: Any, home: str, unknown: int) -> None:
    from selenium.webdriver.common.by import By

    browser.get(home + "/dead-letters")
    browser.find_element(By.CSS_SELECTOR, 'input[name="reason"][value="unknown_product"]').click()
    browser.find_element(By.ID, "apply-filter").click()
    wait_for(lambda: "reason=unknown_product" in browser.current_url, "the filter to apply")
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.letter")
    assert len(rows) == unknown
    assert {row.get_attribute("data-reason") for row in rows} == {"unknown_product"}
    assert {row.get_attribute("data-status") for row in rows} == {"pending"}
    assert f'"product_code": "{NEW}"' in browser.page_source  # each letter's payload
    assert "inventory_sync.original_offset" in browser.page_source  # and headers


def add_the_product_and_replay(browser: Any, home: str, settings: Settings, unknown: int) -> None:
    from selenium.webdriver.common.by import By

    browser.get(home + f"/products?code={NEW}")
    assert f"no product {NEW}" in text_of(browser, "#problem")
    added = subprocess.run(
        [*CLI, "products", "add", NEW, "--name", "New one"],
        cwd=REPO,
        env=worker_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    browser.get(home + f"/products?code={NEW}")
    assert text_of(browser, "#stock-message") == "Out of stock"

    browser.get(home + "/dead-letters?reason=unknown_product")
    browser.find_element(By.ID, "replay-button").click()
    wait_for(lambda: text_of(browser, "#replay-result") != "", "the replay's result")
    assert text_of(browser, "#replay-result").startswith(
        f"replayed {unknown} dead letters from {settings.dlq_topic} to {settings.topic}"
    )


def _answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(address, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
