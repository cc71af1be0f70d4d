"""Latency benchmark: event-to-visible, from a producer's send to the row a reader sees (see
benchmarks/README.md).

Per Kafka client, database and scenario: a fresh topic, database and consumer group, and
`inventory-sync run` as a process of its own. A producer sends one event every 5 to 30 ms
(random, seeded) to a set of probe products, each event setting a count no other event
sets; a reader polls those rows by SQL and notes when each count (or a later one of the same
product) becomes visible. Scenarios: `light` (the trickle alone) and `burst` (the trickle
while a background burst, the throughput benchmark's workload, drains). Checks the worker's
summary and the end state, prints p50/p90/p99/max and writes the JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_db import DEFAULT_POSTGRES_URL, drop_postgres, final_counts, fresh_database, seed
from bench_produce import Expected, create_topics, delete_topics, generate, produce, product_code
from bench_report import environment, write_json

CLIENTS = ("kafka-python", "confluent")
DATABASES = ("postgresql", "sqlite")
SCENARIOS = ("light", "burst")
PARTITIONS = 6
RESULTS = Path(__file__).parent / "results"
MEASURED_COUNTS_FROM = 1_000_000  # warm-up events count below this, measured ones from it


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=_names(CLIENTS), default=list(CLIENTS))
    parser.add_argument("--databases", type=_names(DATABASES), default=["postgresql"])
    parser.add_argument("--scenarios", type=_names(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--light-events", type=int, default=2_000, help="trickle of `light`")
    parser.add_argument("--burst-events", type=int, default=200_000)
    parser.add_argument("--burst-products", type=int, default=10_000)
    parser.add_argument("--invalid-ratio", type=float, default=0.05, help="of the burst")
    parser.add_argument(
        "--burst-rate",
        type=float,
        default=0,
        help="burst events/s; 0 (default): as fast as the producer goes, a backlog",
    )
    parser.add_argument("--probe-products", type=int, default=50)
    parser.add_argument("--min-gap-ms", type=float, default=5)
    parser.add_argument("--max-gap-ms", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reader-interval-ms", type=float, default=2)
    parser.add_argument("--visible-timeout-s", type=float, default=120)
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("INVENTORY_SYNC_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="dropped and recreated per measurement: its database name must contain 'bench'",
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an inventory-sync setting for the worker, e.g. batch_size=2000 (repeatable)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="default: benchmarks/results/latency-<time>.json, copied to latency-latest.json",
    )
    args = parser.parse_args(argv)
    args.settings = dict(item.split("=", 1) for item in args.setting)
    return args


def _names(allowed: tuple[str, ...]) -> Any:
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        if not names or set(names) - set(allowed):
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}")
        return names

    return parse


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="inventory-sync-latency-"))
    out = _environment(args)
    out["measurements"] = []
    try:
        for client in args.clients:
            for db in args.databases:
                for scenario in args.scenarios:
                    result = Measurement(args, client, db, scenario, workdir).run()
                    out["measurements"].append(result)
                    _progress(result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if "postgresql" in args.databases:
            drop_postgres(args.postgres_url)
    out["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print_table(out)
    for path in _outputs(args.output):
        write_json(out, path)
        print(f"wrote {path}")
    failures = [m for m in out["measurements"] if m["verified"] is not True]
    for m in failures:
        print(f"WRONG RESULT {m['client']}/{m['database']}/{m['scenario']}: {m['verified']}")
    return 1 if failures else 0


@dataclass
class Sent:
    code: str
    count: int
    sent_at: float  # time.perf_counter() just before the send
    visible_at: float | None = None
    exact: bool = False  # its own count was seen, not only a later one of the same product


@dataclass
class Ledger:
    """Every trickle event by product, in send order; the reader marks them visible."""

    pending: dict[str, deque[Sent]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, event: Sent) -> None:
        with self.lock:
            self.pending.setdefault(event.code, deque()).append(event)
            self.sent.append(event)

    def seen(self, code: str, count: int, now: float) -> None:
        with self.lock:
            queue = self.pending.get(code)
            while queue and queue[0].count <= count:
                event = queue.popleft()
                event.visible_at, event.exact = now, event.count == count

    def all_visible(self) -> bool:
        with self.lock:
            return not any(self.pending.values())


class Trickle(threading.Thread):
    """Sends one event every min..max ms (seeded) to a random probe product, each with a
    count of its own and occurred_at = now, until `limit` events or stop()."""

    def __init__(self, args: argparse.Namespace, topic: str, codes: list[str], ledger: Ledger):
        super().__init__(name="trickle", daemon=True)
        self.args, self.topic, self.codes, self.ledger = args, topic, codes, ledger
        self.rng = random.Random(args.seed)
        self.limit: int | None = None
        self.next_count = MEASURED_COUNTS_FROM
        self.stopping = threading.Event()
        self.producer = Producer(args.bootstrap_servers, linger_ms=0)

    def send(self, code: str, count: int) -> None:
        occurred_at = datetime.now(UTC).isoformat(timespec="microseconds")
        event = {"product_code": code, "inventory_count": count, "occurred_at": occurred_at}
        value = json.dumps(event).encode()
        self.ledger.add(Sent(code, count, time.perf_counter()))
        self.producer.send(self.topic, code.encode(), value)

    def run(self) -> None:
        next_at = time.perf_counter()
        while not self.stopping.is_set() and (self.limit is None or self.limit > 0):
            self.send(self.rng.choice(self.codes), self.next_count)
            self.next_count += 1
            if self.limit is not None:
                self.limit -= 1
            next_at += self.rng.uniform(self.args.min_gap_ms, self.args.max_gap_ms) / 1000
            self.stopping.wait(max(next_at - time.perf_counter(), 0))
        self.producer.flush()

    def stop(self) -> None:
        self.stopping.set()
        self.join()


class Reader(threading.Thread):
    """Polls the probe rows by SQL and tells the ledger which counts are visible."""

    def __init__(self, database_url: str, codes: list[str], ledger: Ledger, interval_s: float):
        super().__init__(name="reader", daemon=True)
        import sqlalchemy as sa

        self.engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
        self.query = sa.text(
            "SELECT code, inventory_count FROM products WHERE code IN :codes"
        ).bindparams(sa.bindparam("codes", expanding=True))
        self.codes, self.ledger, self.interval_s = codes, ledger, interval_s
        self.stopping = threading.Event()
        self.polls = 0
        self.query_s = 0.0

    def run(self) -> None:
        last: dict[str, int] = {}
        with self.engine.connect() as conn:
            while not self.stopping.is_set():
                started = time.perf_counter()
                rows = conn.execute(self.query, {"codes": self.codes}).all()
                now = time.perf_counter()
                self.polls += 1
                self.query_s += now - started
                for code, count in rows:
                    if last.get(code) != count:
                        last[code] = count
                        self.ledger.seen(code, count, now)
                self.stopping.wait(self.interval_s)
        self.engine.dispose()

    def stop(self) -> None:
        self.stopping.set()
        self.join()


class Producer:
    """confluent-kafka if installed (as bench_produce does), else kafka-python."""

    def __init__(self, bootstrap: str, *, linger_ms: int) -> None:
        try:
            from confluent_kafka import Producer as Confluent
        except ImportError:
            from kafka import KafkaProducer

            self.kafka_python = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=linger_ms)
            self.confluent = None
        else:
            config = {"bootstrap.servers": bootstrap, "linger.ms": linger_ms}
            self.confluent = Confluent({**config, "partitioner": "murmur2_random"})

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        if self.confluent is None:
            self.kafka_python.send(topic, key=key, value=value)
            return
        while True:
            try:
                self.confluent.produce(topic, value, key)
                break
            except BufferError:
                self.confluent.poll(0.05)
        self.confluent.poll(0)

    def flush(self) -> None:
        if self.confluent is None:
            self.kafka_python.flush(60)
            self.kafka_python.close()
        elif self.confluent.flush(60):
            raise RuntimeError("producing failed: flush timed out")


class Offsets:
    """The topic's end offsets and the worker group's committed ones (kafka-python; this
    consumer never joins the group, it only asks for its offsets)."""

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        from kafka import KafkaConsumer, TopicPartition

        self.partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )

    def ends(self) -> dict[Any, int]:
        ends: dict[Any, int] = self.consumer.end_offsets(self.partitions)
        return ends

    def committed_up_to(self, ends: dict[Any, int]) -> bool:
        return all((self.consumer.committed(tp) or 0) >= end for tp, end in ends.items())

    def wait_committed(self, ends: dict[Any, int], timeout_s: float) -> float | None:
        """Seconds until the group has committed `ends`; None on time-out."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout_s:
            if self.committed_up_to(ends):
                return time.perf_counter() - started
            time.sleep(0.05)
        return None

    def close(self) -> None:
        self.consumer.close(autocommit=False)


class Measurement:
    """One client, database and scenario, from a fresh topic, database and group."""

    def __init__(
        self, args: argparse.Namespace, client: str, db: str, scenario: str, workdir: Path
    ) -> None:
        self.args, self.client, self.db, self.scenario = args, client, db, scenario
        self.label = f"{client}-{db}-{scenario}"
        self.topic = f"inventory-latency-{uuid.uuid4().hex[:8]}"
        self.group = f"{self.topic}-worker"
        self.workdir = workdir
        self.probes = [f"PROBE-{i:04d}" for i in range(args.probe_products)]
        self.burst_codes = [product_code(i) for i in range(args.burst_products)]

    def run(self) -> dict[str, Any]:
        create_topics(self.args.bootstrap_servers, self.topic, PARTITIONS)
        try:
            url = fresh_database(self.db, self.args.postgres_url, self.workdir, self.label)
            seed(url, self.probes + (self.burst_codes if self.scenario == "burst" else []))
            return self._measure(url)
        finally:
            try:
                delete_topics(self.args.bootstrap_servers, self.topic)
            except Exception as exc:  # leftovers are harmless: a fresh topic per measurement
                print(f"could not delete topic {self.topic}: {exc}", file=sys.stderr)

    def _measure(self, url: str) -> dict[str, Any]:
        ledger = Ledger()
        offsets = Offsets(self.args.bootstrap_servers, self.topic, self.group)
        worker = Worker(self._worker_env(url), self.workdir / f"{self.label}.log")
        reader = Reader(url, self.probes, ledger, self.args.reader_interval_ms / 1000)
        trickle = Trickle(self.args, self.topic, self.probes, ledger)
        result: dict[str, Any] = {
            "client": self.client,
            "database": self.db,
            "scenario": self.scenario,
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        }
        burst: Expected | None = None
        try:
            reader.start()
            warm_up_s = self._warm_up(trickle, ledger)
            result["warm_up_s"] = round(warm_up_s, 3)
            measured_from = len(ledger.sent)
            if self.scenario == "light":
                trickle.limit = self.args.light_events
                trickle.start()
                trickle.join()
                window = (0.0, math.inf)
            else:
                trickle.start()
                burst, window, result["burst"] = self._burst(offsets)
                trickle.stop()
            visible = _wait(ledger.all_visible, self.args.visible_timeout_s)
            drained = offsets.wait_committed(offsets.ends(), self.args.visible_timeout_s)
        finally:
            trickle.stopping.set()
            reader.stop()
            result["worker"] = worker.stop()
            offsets.close()
        events = ledger.sent[measured_from:]
        result["trickle_events"] = len(events)
        result["latency_ms"] = latency_ms(events)
        if self.scenario == "burst":
            during = [e for e in events if window[0] <= e.sent_at <= window[1]]
            result["latency_ms_during_drain"] = latency_ms(during)
        result["reader"] = {
            "polls": reader.polls,
            "mean_query_ms": round(1000 * reader.query_s / max(reader.polls, 1), 3),
        }
        result["verified"] = self._verify(
            url,
            ledger=ledger,
            burst=burst,
            visible=visible,
            drained=drained,
            worker=result["worker"],
        )
        return result

    def _worker_env(self, url: str) -> dict[str, str]:
        settings: dict[str, Any] = {
            "kafka_client": self.client,
            "bootstrap_servers": self.args.bootstrap_servers,
            "topic": self.topic,
            "dlq_topic": f"{self.topic}.dlq",
            "group_id": self.group,
            "database_url": url,
        }
        if self.db == "sqlite":
            settings["sqlite_wal"] = "true"  # the reader must not block the writer
        settings.update(self.args.settings)
        env = dict(os.environ)
        env.update({f"INVENTORY_SYNC_{k.upper()}": str(v) for k, v in settings.items()})
        return env

    def _warm_up(self, trickle: Trickle, ledger: Ledger) -> float:
        """Send warm-up events until one is visible: the worker has joined and applies."""
        started = time.perf_counter()
        count = 0
        while time.perf_counter() - started < self.args.visible_timeout_s:
            count += 1
            trickle.send(self.probes[0], count)
            if _wait(lambda: not ledger.pending.get(self.probes[0]), 0.5):
                return time.perf_counter() - started
        raise RuntimeError(f"the worker applied nothing in {self.args.visible_timeout_s} s")

    def _burst(self, offsets: Offsets) -> tuple[Expected, tuple[float, float], dict[str, Any]]:
        """Produce the burst from a process of its own while the trickle goes on; return
        what it must yield, the window from its start until the worker has committed it,
        and its timings."""
        result_file = self.workdir / f"{self.label}-burst.json"
        params = {
            "bootstrap": self.args.bootstrap_servers,
            "topic": self.topic,
            "events": self.args.burst_events,
            "products": self.args.burst_products,
            "invalid_ratio": self.args.invalid_ratio,
            "rate": self.args.burst_rate,
        }
        started = time.perf_counter()
        command = [sys.executable, __file__, "_burst", json.dumps(params), str(result_file)]
        subprocess.run(command, check=True)
        produced = time.perf_counter()
        drained_after = offsets.wait_committed(offsets.ends(), self.args.visible_timeout_s)
        ended = time.perf_counter()
        done = json.loads(result_file.read_text())
        drain_s = None if drained_after is None else ended - started
        timings = {
            "events": self.args.burst_events,
            "rate_asked": self.args.burst_rate or None,
            "produced_in_s": round(produced - started, 3),
            "produce_records_per_s": round(done["produce_records_per_s"]),
            "drained_in_s": None if drain_s is None else round(drain_s, 3),
            "drain_records_per_s": round(self.args.burst_events / drain_s) if drain_s else None,
        }
        return Expected.from_dict(done["expected"]), (started, ended), timings

    def _verify(
        self,
        url: str,
        *,
        ledger: Ledger,
        burst: Expected | None,
        visible: bool,
        drained: float | None,
        worker: dict[str, Any],
    ) -> bool | str:
        """True, or what is wrong: every event visible, the summary and the end state exact."""
        problems = []
        lost = sum(1 for e in ledger.sent if e.visible_at is None)
        if not visible or lost:
            problems.append(f"{lost} trickle events never became visible")
        if drained is None:
            problems.append("the worker never committed the whole topic")
        if worker["returncode"] != 0:
            problems.append(f"the worker exited with {worker['returncode']}")
        summary = worker.get("summary") or {}
        records = len(ledger.sent) + (burst.events if burst else 0)
        if summary.get("records") != records:
            problems.append(f"summary records {summary.get('records')} != {records}")
        rejected = dict(burst.rejected_by_reason) if burst else {}
        if summary.get("by_reason") != rejected:
            problems.append(f"rejections {summary.get('by_reason')} != {rejected}")
        want = {e.code: e.count for e in ledger.sent}  # the last one sent per product
        if burst is not None:
            want.update(burst.final_counts)
        counts = final_counts(url)
        wrong = sorted(code for code, count in want.items() if counts.get(code) != count)
        if wrong:
            problems.append(f"{len(wrong)} products have the wrong count, e.g. {wrong[:3]}")
        return "; ".join(problems) or True


class Worker:
    """`inventory-sync run --json` in a process of its own; stop() sends SIGTERM."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.stdout = log.with_suffix(".out")
        command = [sys.executable, "-m", "inventory_sync", "run", "--json"]
        with log.open("ab") as err, self.stdout.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, env=env)

    def stop(self, timeout_s: float = 60) -> dict[str, Any]:
        """Its exit code, CPU seconds, peak RSS and summary (the last line it printed)."""
        self.process.send_signal(signal.SIGTERM)
        timer = threading.Timer(timeout_s, self.process.kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(self.process.pid, 0)
        finally:
            timer.cancel()
        self.process.returncode = os.waitstatus_to_exitcode(status)
        lines = self.stdout.read_text(errors="replace").strip().splitlines()
        try:
            summary = json.loads(lines[-1]) if lines else None
        except ValueError:
            summary = None
        if self.process.returncode != 0:
            print(self.log.read_text(errors="replace")[-3000:], file=sys.stderr)
        return {
            "returncode": self.process.returncode,
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "summary": summary,
        }


def latency_ms(events: list[Sent]) -> dict[str, Any]:
    """Count, p50/p90/p99 (nearest rank), max and mean of send-to-visible, in ms."""
    values = sorted(1000 * (e.visible_at - e.sent_at) for e in events if e.visible_at is not None)
    if not values:
        return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None, "mean": None}

    def rank(p: float) -> float:
        return round(values[max(math.ceil(p / 100 * len(values)) - 1, 0)], 1)

    return {
        "count": len(values),
        "p50": rank(50),
        "p90": rank(90),
        "p99": rank(99),
        "max": round(values[-1], 1),
        "mean": round(sum(values) / len(values), 1),
        "exact": sum(1 for e in events if e.exact),
    }


def _wait(condition: Any, timeout_s: float) -> bool:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            return False
        time.sleep(0.005)
    return True


def print_table(out: dict[str, Any]) -> None:
    machine = out["machine"]
    print(f"\nevent to visible, ms; {machine['cores']} cores, load {machine['loadavg_at_start']}")
    print(
        f"{'client':<14}{'db':<12}{'scenario':<18}{'events':>8}{'p50':>9}{'p90':>9}"
        f"{'p99':>9}{'max':>9}  check"
    )
    for m in out["measurements"]:
        rows = [("light" if m["scenario"] == "light" else "burst (all)", m["latency_ms"])]
        if "latency_ms_during_drain" in m:
            rows.append(("burst (draining)", m["latency_ms_during_drain"]))
        for name, lat in rows:
            cells = "".join(_fmt(lat[p]) for p in ("p50", "p90", "p99", "max"))
            check = "ok" if m["verified"] is True else "WRONG"
            print(
                f"{m['client']:<14}{m['database']:<12}{name:<18}{lat['count']:>8}{cells}  {check}"
            )
        if "burst" in m:
            b = m["burst"]
            print(
                f"{'':<26}burst of {b['events']:,}: produced in {b['produced_in_s']} s, "
                f"drained in {b['drained_in_s']} s ({b['drain_records_per_s']} records/s)"
            )


def _fmt(value: float | None) -> str:
    return f"{'-':>9}" if value is None else f"{value:>9,.1f}"


def _environment(args: argparse.Namespace) -> dict[str, Any]:
    shared = argparse.Namespace(
        **vars(args),
        events=args.burst_events,
        products=args.burst_products,
        naive_events=0,
    )
    out = environment(shared, topic="inventory-latency-*")
    for key in ("naive_events", "events", "products", "invalid_ratio", "topic"):
        out.pop(key, None)
    out["command"] = [sys.executable, *sys.argv]
    out["machine"]["memory_gb"] = round(
        os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
    )
    out["config"] = {
        name: getattr(args, name)
        for name in (
            "clients",
            "databases",
            "scenarios",
            "light_events",
            "burst_events",
            "burst_products",
            "invalid_ratio",
            "burst_rate",
            "probe_products",
            "min_gap_ms",
            "max_gap_ms",
            "seed",
            "reader_interval_ms",
        )
    }
    out["config"]["partitions"] = PARTITIONS
    return out


def _outputs(output: Path | None) -> list[Path]:
    if output is not None:
        return [output]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return [RESULTS / f"latency-{stamp}.json", RESULTS / "latency-latest.json"]


def _progress(m: dict[str, Any]) -> None:
    lat = m.get("latency_ms_during_drain") or m["latency_ms"]
    flag = "" if m["verified"] is True else "  WRONG"
    print(
        f"  {m['client']} {m['database']} {m['scenario']}: p50 {lat['p50']} ms, "
        f"p99 {lat['p99']} ms{flag}",
        file=sys.stderr,
        flush=True,
    )


def burst_main(argv: list[str]) -> int:
    """The burst's own process: produce it (paced when asked), write what it must yield."""
    params_json, result_file = argv
    p = json.loads(params_json)
    started = time.perf_counter()
    if not p["rate"]:
        expected, _rate = produce(
            p["bootstrap"], p["topic"], p["events"], p["products"], p["invalid_ratio"]
        )
    else:
        expected = Expected()
        producer = Producer(p["bootstrap"], linger_ms=5)
        pairs = generate(p["events"], p["products"], p["invalid_ratio"], expected)
        for i, (key, value) in enumerate(pairs):
            producer.send(p["topic"], key, value)
            ahead = started + i / p["rate"] - time.perf_counter()
            if ahead > 0.001:
                time.sleep(ahead)
        producer.flush()
    rate = p["events"] / (time.perf_counter() - started)
    payload = {"expected": expected.to_dict(), "produce_records_per_s": rate}
    Path(result_file).write_text(json.dumps(payload))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["_burst"]:
        sys.exit(burst_main(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
