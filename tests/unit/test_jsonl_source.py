"""The JSON-lines file source: offsets are line numbers, lines apply in file order."""

from pathlib import Path

from inventory_sync.adapters.jsonl import JsonLinesSource
from inventory_sync.adapters.memory import InMemoryDeadLetterSink
from inventory_sync.application.worker import Worker

from .helpers import event, service_with


def test_each_non_blank_line_is_a_record_numbered_by_its_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(event("SKU-1", 1) + b"\n\n" + b"{broken\r\n" + event("SKU-1", 2))
    source = JsonLinesSource(path)
    batch = source.poll(10, 0)
    assert [(r.offset, r.value) for r in batch] == [
        (1, event("SKU-1", 1)),
        (3, b"{broken"),
        (4, event("SKU-1", 2)),
    ]
    assert source.poll(10, 0) == []
    source.close()


def test_lines_without_a_time_apply_in_file_order_across_batches(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(event("SKU-1", count) for count in range(25)))
    service, repository = service_with({"SKU-1": 100})
    sink = InMemoryDeadLetterSink()
    source = JsonLinesSource(path)
    summary = Worker(source, service, sink, batch_size=7).run(idle_timeout_s=0)
    assert summary.records == 25
    assert repository.products["SKU-1"].inventory_count == 24
    assert source.committed == 26  # like a consumer group's offset: the next line to read
