"""The status page on in-memory services (Starlette's TestClient): the token gate, the
cross-site check of the replay POST, the replay's rules (those of `dlq replay`), the product
search, the overview, and the refusal to serve a non-loopback address without a token."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from inventory_sync.adapters.kafka.dead_letter_replay import FIXABLE_REASONS, ReplayReport
from inventory_sync.adapters.kafka.kafka_python.group_offsets import PartitionOffsets
from inventory_sync.adapters.metrics import Metrics
from inventory_sync.settings import Settings
from inventory_sync.web.app import PageServices, status_app
from inventory_sync.web.binding import is_loopback

from .cli_support import FakeServices

LETTER = {
    "reason": "unknown_product",
    "error": "no product NEW-1",
    "original_topic": "product_inventory_updates",
    "original_partition": 0,
    "original_offset": 7,
    "key": "NEW-1",
    "value": '{"product_code": "NEW-1", "inventory_count": 3}',
    "rejected_at": "2026-12-01T10:00:00.000+00:00",
    "status": "pending",
    "headers": [["inventory_sync.reason", "unknown_product"], ["trace", "abc"]],
}


@dataclass
class FakeDeadLetters:
    """The dead-letter reader's two functions, remembering what they were asked."""

    letters: list[dict[str, Any]] = field(default_factory=lambda: [dict(LETTER)])
    replays: list[tuple[frozenset[str], frozenset[str], bool]] = field(default_factory=list)

    def read_dead_letters(
        self, settings: Settings, limit: int | None = None, **choice: Any
    ) -> list[dict[str, Any]]:
        reasons, products = choice.get("reasons", ()), choice.get("products", ())
        return [
            dict(letter)
            for letter in self.letters
            if (not reasons or letter["reason"] in reasons)
            and (not products or letter["key"] in products)
        ]

    def replay_dead_letters(self, settings: Settings, choice: Any, *, dry_run: bool) -> Any:
        self.replays.append((choice.reasons, choice.products, dry_run))
        return ReplayReport(dry_run=dry_run)


@dataclass
class FakeOffsets:
    partitions: list[PartitionOffsets] = field(
        default_factory=lambda: [PartitionOffsets(0, 40, 0, 100), PartitionOffsets(1, None, 5, 9)]
    )

    def read(self) -> list[PartitionOffsets]:
        return self.partitions

    def close(self) -> None:
        return None


def page(
    token: str | None = None, metrics: Metrics | None = None
) -> tuple[TestClient, FakeDeadLetters]:
    services = FakeServices()
    services.add({"SKU-1": 3, "SKU-2": 0, "SKU-3": 50})
    settings = Settings(web_token=SecretStr(token) if token else None)
    letters = FakeDeadLetters()
    status = metrics.status if metrics is not None else None
    app = status_app(
        PageServices(
            settings,
            lambda: services.container(settings),
            FakeOffsets(),  # type: ignore[arg-type]
            lambda: (status.snapshot(), "this worker") if status else (None, "no worker"),
            metrics,
            letters,
        )
    )
    return TestClient(app), letters


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the replay form carries a CSRF token"
    return found.group(1)


def test_on_loopback_without_a_token_every_page_answers() -> None:
    client, _ = page()
    for path in ("/", "/dead-letters", "/products"):
        assert client.get(path).status_code == 200, path


def test_with_a_token_a_page_needs_it_as_a_bearer_header_or_the_login_cookie() -> None:
    client, _ = page(token="s3cret")
    assert client.get("/").status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200

    login = client.get("/products?code=SKU-1&token=s3cret", follow_redirects=False)
    assert login.status_code == 303
    assert login.headers["location"] == "/products?code=SKU-1"
    assert "inventory_sync_token" in login.headers["set-cookie"]
    assert "samesite=strict" in login.headers["set-cookie"].lower()
    assert client.get("/products?code=SKU-1").status_code == 200  # the cookie now
    client.cookies.clear()
    assert client.get("/products?code=SKU-1").status_code == 401


def test_health_and_metrics_stay_open_beside_a_page_that_needs_a_token() -> None:
    metrics = Metrics()
    client, _ = page(token="s3cret", metrics=metrics)
    for path in ("/livez", "/readyz", "/metrics", "/status.json"):
        assert client.get(path).status_code == 200, path
    assert client.get("/").status_code == 401
    assert "inventory_sync_records_total" in client.get("/metrics").text
    assert client.get("/status.json").json()["totals"]["records"] == 0


def test_a_replay_post_without_the_sessions_csrf_token_or_from_another_origin_is_refused() -> None:
    client, letters = page()
    token = csrf_of(client.get("/dead-letters").text)
    own = {"Origin": "http://testserver"}
    refused = [
        client.post("/dead-letters/replay", data={}, headers=own),
        client.post("/dead-letters/replay", data={"csrf": "forged"}, headers=own),
        client.post(
            "/dead-letters/replay", data={"csrf": token}, headers={"Origin": "http://evil.example"}
        ),
        client.post(
            "/dead-letters/replay",
            data={"csrf": token},
            headers={"Referer": "http://evil.example/dead-letters"},
        ),
        client.post("/dead-letters/replay", data={"csrf": token}),  # neither Origin nor Referer
    ]
    assert [response.status_code for response in refused] == [403] * 5
    assert letters.replays == []

    fresh = TestClient(client.app)  # another session: its cookie is not this token's
    assert fresh.post("/dead-letters/replay", data={"csrf": token}, headers=own).status_code == 403
    assert letters.replays == []


def test_a_replay_from_the_page_follows_the_rules_of_dlq_replay() -> None:
    client, letters = page()
    token = csrf_of(client.get("/dead-letters").text)
    referer = {"Referer": "http://testserver/dead-letters"}

    by_default = client.post("/dead-letters/replay", data={"csrf": token}, headers=referer)
    narrowed = client.post(
        "/dead-letters/replay",
        data={"csrf": token, "reason": "from_the_future", "product": "SKU-1", "dry_run": "on"},
        headers={"Origin": "http://testserver"},
    )

    assert by_default.status_code == narrowed.status_code == 200
    assert letters.replays == [
        (FIXABLE_REASONS, frozenset(), False),
        (frozenset({"from_the_future"}), frozenset({"SKU-1"}), True),
    ]
    assert "replayed 0 dead letters from product_inventory_updates.dlq" in by_default.text
    assert "would replay 0 dead letters" in narrowed.text


def test_the_dead_letters_page_filters_and_shows_each_letters_payload_and_headers() -> None:
    client, letters = page()
    letters.letters.append({**LETTER, "reason": "malformed_json", "key": "SKU-2", "value": "{x"})

    everything = client.get("/dead-letters").text
    unknown = client.get("/dead-letters?reason=unknown_product").text
    bad = client.get("/dead-letters?reason=no_such_reason")

    assert everything.count('class="letter"') == 2
    assert unknown.count('class="letter"') == 1
    assert "&#34;inventory_count&#34;: 3" in unknown  # the payload, pretty-printed
    assert "trace" in unknown
    assert "abc" in unknown
    assert "not a rejection reason: no_such_reason" in bad.text
    assert client.get("/dead-letters?product=SKU-2").text.count('class="letter"') == 1


def test_the_product_search_shows_what_a_customer_sees() -> None:
    client, _ = page()
    assert "Only 3 left in stock!" in client.get("/products?code=SKU-1").text
    assert "Out of stock" in client.get("/products?code=SKU-2").text
    assert "In stock" in client.get("/products?code=SKU-3").text
    assert "no product NOPE" in client.get("/products?code=NOPE").text


def test_the_overview_shows_each_partitions_offsets_and_lag_and_refreshes_itself() -> None:
    client, _ = page(metrics=Metrics())
    html = client.get("/").text
    assert '<meta http-equiv="refresh" content="5">' in html
    assert re.search(r"<td>0</td>\s*<td class=\"n\">40</td>\s*<td class=\"n\">100</td>", html)
    assert re.search(r'<td class="n lag">60</td>', html)
    assert re.search(r'<td class="n lag">4</td>', html)  # nothing committed: from the start
    assert '<th class="n" id="total-lag">64</th>' in html
    assert "<polyline" in html


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("shop.example", False),
    ],
)
def test_loopback_addresses_are_told_apart(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_web_on_a_non_loopback_address_without_a_token_refuses_with_one_line() -> None:
    result = FakeServices().invoke("web", "--host", "0.0.0.0", "--port", "8399")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: the status page on 0.0.0.0 (setting web_host) needs a token")


def test_run_with_the_page_on_a_non_loopback_address_without_a_token_refuses_with_one_line() -> (
    None
):
    env = {
        "INVENTORY_SYNC_STATUS_PAGE": "true",
        "INVENTORY_SYNC_METRICS_PORT": "8398",
        "INVENTORY_SYNC_METRICS_HOST": "0.0.0.0",
    }
    result = FakeServices().invoke("run", "--idle-timeout", "0", env=env)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: the status page on 0.0.0.0 (setting metrics_host) needs a token: set web_token "
        "(INVENTORY_SYNC_WEB_TOKEN), or serve it on 127.0.0.1"
    ]
