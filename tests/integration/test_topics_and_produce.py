"""`topics create` never changes an existing topic's partitions behind the user's back, and
`produce` never creates a topic on the fly (CLI in a subprocess, real broker)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from tests.integration.test_cli_end_to_end import Cli

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def partition_counts(bootstrap: str, *topics: str) -> dict[str, int]:
    """The partition count of each of `topics` that exists."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        described = admin.describe_topics(list(topics))
    finally:
        admin.close()
    return {t["name"]: len(t["partitions"]) for t in described if t["error_code"] == 0}


@pytest.fixture
def cli(kafka_bootstrap: str, topic_name: str) -> Cli:
    return Cli(
        bootstrap_servers=kafka_bootstrap,
        topic=topic_name,
        dlq_topic=f"{topic_name}.dlq",
        log_level="WARNING",
    )


def test_topics_create_says_when_a_topic_exists_with_another_partition_count(
    cli: Cli, kafka_bootstrap: str, topic_name: str
) -> None:
    dlq = f"{topic_name}.dlq"
    created = cli("topics", "create", "--partitions", "2")
    mismatch = cli("topics", "create", "--partitions", "3", ok=False)
    unasked = cli("topics", "create")
    same = cli("topics", "create", "--partitions", "2")

    assert created.stdout.splitlines() == [
        f"created {topic_name} (2 partitions)",
        f"created {dlq} (2 partitions)",
    ]
    assert mismatch.returncode == 1
    assert mismatch.stdout == ""
    assert mismatch.stderr.splitlines() == [
        f"error: topic {name} exists with 2 partitions, not 3: left as it is (adding "
        "partitions would move product keys to other partitions)"
        for name in (topic_name, dlq)
    ]
    assert unasked.stdout.splitlines() == [
        f"already exists: {topic_name} (2 partitions)",
        f"already exists: {dlq} (2 partitions)",
    ]
    assert same.stdout == unasked.stdout
    assert partition_counts(kafka_bootstrap, topic_name, dlq) == {topic_name: 2, dlq: 2}


def test_topics_create_makes_the_missing_one_and_still_says_which_one_differs(
    cli: Cli, kafka_bootstrap: str, topic_name: str
) -> None:
    dlq = f"{topic_name}.dlq"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic_name, 1, 1)])
    finally:
        admin.close()

    result = cli("topics", "create", "--partitions", "4", ok=False)

    assert result.returncode == 1
    assert result.stderr == (
        f"error: topic {topic_name} exists with 1 partition, not 4: left as it is (adding "
        "partitions would move product keys to other partitions)\n"
    )
    assert result.stdout == f"created {dlq} (4 partitions)\n"
    assert partition_counts(kafka_bootstrap, topic_name, dlq) == {topic_name: 1, dlq: 4}


def test_produce_refuses_a_topic_that_does_not_exist_and_does_not_create_it(
    cli: Cli, kafka_bootstrap: str, topic_name: str, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"product_code": "A", "inventory_count": 1}\n')
    refusal = f"error: topic {topic_name} does not exist: run inventory-sync topics create\n"

    one = cli("produce", "A", "1", ok=False)
    from_file = cli("produce", "--file", str(events), ok=False)

    assert (one.returncode, one.stdout, one.stderr) == (1, "", refusal)
    assert (from_file.returncode, from_file.stdout, from_file.stderr) == (1, "", refusal)
    assert partition_counts(kafka_bootstrap, topic_name) == {}
    cli("topics", "create", "--partitions", "2")
    assert cli("produce", "A", "1").stdout.startswith("sent 1 event {")
    assert partition_counts(kafka_bootstrap, topic_name) == {topic_name: 2}
