"""Peers benchmark: inventory-sync against what a Python user would pick instead (see
benchmarks/README.md).

Produces the throughput benchmark's workload once, then drains it with each peer, each time
in a fresh process with a fresh consumer group, `--repeat` rounds: raw confluent-kafka (the
denominator), Quix Streams with its PostgreSQL sink, FastStream with a batch subscriber, and
inventory-sync with each Kafka client. Checks each peer's end state, prints medians as
ratios to raw confluent-kafka of the same run, and writes the JSON.

Runs in the optional environment that benchmarks/peers/setup creates (.venv-peers).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared helpers

from peer_process import Process, run_process, tail
from peer_workload import QUIX_TABLE, last_write_wins

from bench_db import DEFAULT_POSTGRES_URL, drop_postgres, fresh_database, seed
from bench_produce import create_topics, delete_topics, produce, product_code
from bench_report import environment, verify, write_json

DENOMINATOR = "raw-confluent"
PEERS = (
    DENOMINATOR,
    "quix",
    "faststream",
    "inventory-sync-confluent",
    "inventory-sync-kafka-python",
)
PEER_PACKAGES = ("quixstreams", "faststream", "aiokafka", "psycopg2-binary", "pydantic")
PARTITIONS = 6
IDLE_TIMEOUT_S = 60
RESULTS = Path(__file__).resolve().parents[1] / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--invalid-ratio", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument(
        "--peers",
        type=_peer_names,
        default=list(PEERS),
        help=f"comma-separated, from {', '.join(PEERS)} ({DENOMINATOR} always runs)",
    )
    parser.add_argument(
        "--inventory-sync-via",
        choices=("library", "cli"),
        default="library",
        help="library: InventorySync.run() through benchmarks/bench_loop.py, timed inside; "
        "cli: `inventory-sync run --max-messages N`, timed as a process only",
    )
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
        help="an inventory-sync setting, e.g. batch_size=2000 (repeatable)",
    )
    parser.add_argument("--timeout-s", type=float, default=1800, help="per drainer process")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="default: benchmarks/results/peers-<time>.json, copied to peers-latest.json",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.settings = dict(item.split("=", 1) for item in args.setting)
    return args


def _peer_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or set(names) - set(PEERS):
        raise argparse.ArgumentTypeError(f"choose from {', '.join(PEERS)}")
    return [DENOMINATOR, *(name for name in PEERS[1:] if name in names)]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    missing = _missing_peer_packages(args.peers)
    if missing:
        print(
            f"missing {', '.join(missing)}: run benchmarks/peers/setup, then "
            ".venv-peers/bin/python benchmarks/peers/peers.py",
            file=sys.stderr,
        )
        return 2
    topic = f"inventory-peers-{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="inventory-sync-peers-"))
    out = _environment(args, topic)
    bench = Bench(args, topic, workdir)
    try:
        create_topics(args.bootstrap_servers, topic, PARTITIONS)
        bench.expected, produce_rps = produce(
            args.bootstrap_servers, topic, args.events, args.products, args.invalid_ratio
        )
        out["produce_records_per_s"] = round(produce_rps)
        out["expected"] = {
            "records": bench.expected.events,
            "rejected_by_reason": dict(bench.expected.rejected_by_reason),
            "dead_letters": sum(bench.expected.rejected_by_reason.values()),
        }
        bench.lww = last_write_wins(args.events, args.products, args.invalid_ratio)
        runs = []
        for round_no in range(1, args.repeat + 1):
            for peer in args.peers:
                run = bench.measure(peer, round_no)
                runs.append(run)
                _progress(run)
        out["runs"] = runs
    finally:
        bench.clean_up()
    out["peers"] = summarize(out["runs"], args.peers)
    out["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print_table(out)
    for path in _outputs(args.output):
        write_json(out, path)
        print(f"wrote {path}")
    failures = [f"{r['peer']} round {r['round']}: {r['check']}" for r in runs if not r["correct"]]
    for failure in failures:
        print(f"WRONG RESULT {failure}", file=sys.stderr)
    return 1 if failures else 0


class Bench:
    """The run's topic, database and expectations; measures one peer in one round."""

    def __init__(self, args: argparse.Namespace, topic: str, workdir: Path) -> None:
        self.args = args
        self.topic = topic
        self.dlq_topic = f"{topic}.dlq"
        self.workdir = workdir
        self.codes = [product_code(i) for i in range(args.products)]
        self.expected: Any = None
        self.lww: dict[str, int] = {}

    def measure(self, peer: str, round_no: int) -> dict[str, Any]:
        label = f"{peer}-{round_no}"
        group = f"{self.topic}-{label}"
        url = self._prepare_database(peer, label)
        dead_letters_before = self._dead_letters()
        log = self.workdir / f"{label}.log"
        command, env, result_file = self._command(peer, group, url)
        loadavg = [round(x, 2) for x in os.getloadavg()]
        process = run_process(command, env=env, log=log, timeout_s=self.args.timeout_s)
        run: dict[str, Any] = {
            "peer": peer,
            "round": round_no,
            "loadavg_at_start": loadavg,
            "process_records_per_s": round(self.args.events / max(process.wall_s, 1e-9)),
            "wall_s": process.wall_s,
            "cpu_s": process.cpu_s,
            "peak_rss_mb": process.peak_rss_mb,
        }
        inner = self._inner_result(peer, process, result_file, log)
        run["drain_records_per_s"] = _rounded(inner.get("drain_records_per_s"))
        run["drain_s"] = inner.get("drain_s")
        run["startup_s"] = inner.get("startup_s")
        for extra in ("summary", "rss_samples_mb", "skipped_malformed", "decoded"):
            if extra in inner:
                run[extra] = inner[extra]
        run["dead_letters"] = self._dead_letters() - dead_letters_before
        run["check"] = self._check(peer, inner, url, run["dead_letters"])
        run["correct"] = run["check"] is True or (
            isinstance(run["check"], dict) and run["check"].get("last_write_wins") is True
        )
        return run

    def _prepare_database(self, peer: str, label: str) -> str | None:
        if peer == DENOMINATOR:
            return None
        url = fresh_database("postgresql", self.args.postgres_url, self.workdir, label)
        if peer != "quix":  # Quix's sink writes a table of its own
            seed(url, self.codes)
        return url

    def _command(
        self, peer: str, group: str, url: str | None
    ) -> tuple[list[str], dict[str, str], Path | None]:
        env = dict(os.environ)
        common = {"bootstrap": self.args.bootstrap_servers, "topic": self.topic, "group": group}
        events = self.args.events
        if peer.startswith("inventory-sync-") and self.args.inventory_sync_via == "cli":
            client = peer.removeprefix("inventory-sync-")
            env.update(
                {
                    f"INVENTORY_SYNC_{name.upper()}": str(value)
                    for name, value in {
                        "kafka_client": client,
                        "bootstrap_servers": self.args.bootstrap_servers,
                        "topic": self.topic,
                        "dlq_topic": self.dlq_topic,
                        "group_id": group,
                        "database_url": url,
                        **self.args.settings,
                    }.items()
                }
            )
            cli = str(Path(sys.executable).with_name("inventory-sync"))
            run = [cli, "run", f"--max-messages={events}", f"--idle-timeout={IDLE_TIMEOUT_S}"]
            return [*run, "--json"], env, None
        if peer == DENOMINATOR:
            kind, params = "raw", {**common, "client": "confluent", "events": events}
        elif peer == "quix":
            kind, params = "quix", {**common, "events": events, "postgres": _libpq_parts(url)}
        elif peer == "faststream":
            params = {**common, "dlq_topic": self.dlq_topic, "events": events}
            kind, params = "faststream", {**params, "conninfo": _conninfo(url)}
        else:
            kind = "loop"
            params = {
                **common,
                "client": peer.removeprefix("inventory-sync-"),
                "events": events,
                "database_url": url,
                "overrides": self.args.settings,
                "profile_to": None,
            }
        result_file = self.workdir / f"{group}.json"
        command = [sys.executable, __file__, "_drain", kind, json.dumps(params), str(result_file)]
        return command, env, result_file

    def _inner_result(
        self, peer: str, process: Process, result_file: Path | None, log: Path
    ) -> dict[str, Any]:
        """What the drainer reported about itself; {} with an error when it failed."""
        if process.returncode != 0 or process.timed_out:
            why = "timed out" if process.timed_out else f"exited with {process.returncode}"
            print(f"  {peer} {why}; the end of its log:\n{tail(log)}", file=sys.stderr)
            return {"error": why}
        if result_file is None:  # the CLI: its summary is the last line of its stdout
            lines = process.stdout.strip().splitlines()
            return {"summary": json.loads(lines[-1])} if lines else {"error": "no summary"}
        result: dict[str, Any] = json.loads(result_file.read_text())
        if "records_per_s" in result:  # bench_raw and bench_loop name it so
            rate = result["drain_records_per_s"] = result.pop("records_per_s")
            result.setdefault("drain_s", result.get("measured_s"))
            if result["drain_s"] is None and rate:
                result["drain_s"] = round(result["records"] / rate, 3)
        return result

    def _check(
        self, peer: str, inner: dict[str, Any], url: str | None, dead_letters: int
    ) -> bool | str | dict[str, Any]:
        """True, or what is wrong (Quix: a dict, checked against last-write-wins)."""
        if "error" in inner:
            return str(inner["error"])
        if peer == DENOMINATOR:
            ok = inner.get("records") == self.args.events
            return True if ok else f"read {inner.get('records')} of {self.args.events}"
        assert url is not None
        if peer == "quix":
            return self._check_quix(url)
        problems = []
        verified = verify(inner, self.expected, url)
        if verified is not True:
            problems.append(str(verified))
        wanted = sum(self.expected.rejected_by_reason.values())
        if dead_letters != wanted:
            problems.append(f"{dead_letters} dead letters, want {wanted}")
        return "; ".join(problems) or True

    def _check_quix(self, url: str) -> dict[str, Any]:
        """Last-write-wins must give exactly `self.lww`; also say how far that is from the
        contract (the newest valid event per known product, no row for unknown products)."""
        table = _quix_table(url)
        codes = self.lww.keys() | table.keys()
        wrong = sorted(code for code in codes if table.get(code) != self.lww.get(code))
        known = self.expected.final_counts
        off_contract = [code for code, count in known.items() if table.get(code, 0) != count]
        return {
            "last_write_wins": True
            if not wrong
            else f"{len(wrong)} rows differ, e.g. "
            + ", ".join(f"{c}={table.get(c)} (want {self.lww.get(c)})" for c in wrong[:3]),
            "rows": len(table),
            "known_products_off_contract": len(off_contract),
            "rows_for_unknown_products": len(table.keys() - known.keys()),
        }

    def _dead_letters(self) -> int:
        """Records in the dead-letter topic so far (the sum of its end offsets)."""
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer(
            {"bootstrap.servers": self.args.bootstrap_servers, "group.id": f"{self.topic}-count"}
        )
        try:
            metadata = consumer.list_topics(self.dlq_topic, timeout=10)
            partitions = metadata.topics[self.dlq_topic].partitions
            return sum(
                consumer.get_watermark_offsets(TopicPartition(self.dlq_topic, p), timeout=10)[1]
                for p in partitions
            )
        finally:
            consumer.close()

    def clean_up(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        try:
            delete_topics(self.args.bootstrap_servers, self.topic)
        except Exception as exc:  # leftovers are harmless: a fresh topic per run
            print(f"could not delete topic {self.topic}: {exc}", file=sys.stderr)
        drop_postgres(self.args.postgres_url)


def _quix_table(url: str) -> dict[str, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT product_code, inventory_count FROM {QUIX_TABLE}"))
            return {code: int(count) for code, count in rows}
    except sa.exc.ProgrammingError:  # the sink never created its table
        return {}
    finally:
        engine.dispose()


def _libpq_parts(url: str | None) -> dict[str, Any]:
    import sqlalchemy as sa

    parsed = sa.make_url(url or "")
    return {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "dbname": parsed.database,
        "user": parsed.username or "postgres",
        "password": parsed.password or "",
    }


def _conninfo(url: str | None) -> str:
    import sqlalchemy as sa

    return sa.make_url(url or "").set(drivername="postgresql").render_as_string(hide_password=False)


def summarize(runs: list[dict[str, Any]], peers: list[str]) -> dict[str, Any]:
    """Per peer: the medians over its rounds, and each as a ratio to raw confluent-kafka's."""
    fields = ("drain_records_per_s", "process_records_per_s", "cpu_s", "peak_rss_mb", "wall_s")
    medians = {
        peer: {field: _median([r[field] for r in runs if r["peer"] == peer]) for field in fields}
        for peer in peers
    }
    base = medians[DENOMINATOR]
    return {
        peer: {
            "median": values,
            "ratio_to_raw_confluent": {
                field: _ratio(values[field], base[field]) for field in fields if field != "wall_s"
            },
            "rounds": sum(1 for r in runs if r["peer"] == peer),
            "correct": all(r["correct"] for r in runs if r["peer"] == peer),
        }
        for peer, values in medians.items()
    }


def print_table(out: dict[str, Any]) -> None:
    machine = out["machine"]
    print(
        f"\n{out['events']:,} events, {out['products']:,} products, "
        f"{out['invalid_ratio']:.0%} invalid, {PARTITIONS} partitions, PostgreSQL; "
        f"medians of {out['repeat']}; {machine['cores']} cores, load {machine['loadavg_at_start']}"
    )
    print("ratios in brackets: to raw confluent-kafka of this run")
    header = f"{'peer':<30}{'drain rec/s':>20}{'process rec/s':>20}{'CPU s':>16}{'peak MB':>16}"
    print(f"{header}  check")
    for peer, result in out["peers"].items():
        m, x = result["median"], result["ratio_to_raw_confluent"]
        cells = [
            _cell(m["drain_records_per_s"], x["drain_records_per_s"], ",.0f"),
            _cell(m["process_records_per_s"], x["process_records_per_s"], ",.0f"),
            _cell(m["cpu_s"], x["cpu_s"], ".1f"),
            _cell(m["peak_rss_mb"], x["peak_rss_mb"], ".0f"),
        ]
        check = "ok" if result["correct"] else "WRONG"
        if peer == "quix" and result["correct"]:
            check = "ok (last write wins)"
        print(f"{peer:<30}{cells[0]:>20}{cells[1]:>20}{cells[2]:>16}{cells[3]:>16}  {check}")


def _cell(value: float | None, ratio: float | None, spec: str) -> str:
    if value is None:
        return "-"
    return f"{format(value, spec)} ({ratio:.2f})" if ratio is not None else format(value, spec)


def _median(values: list[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


def _ratio(value: float | None, base: float | None) -> float | None:
    return round(value / base, 3) if value is not None and base else None


def _rounded(value: float | None) -> int | None:
    return None if value is None else round(value)


def _environment(args: argparse.Namespace, topic: str) -> dict[str, Any]:
    """The throughput benchmark's environment block, with the peers' versions and more."""
    from importlib import metadata

    shared = argparse.Namespace(**vars(args), naive_events=0, databases=["postgresql"])
    out = environment(shared, topic)
    del out["naive_events"]
    out["command"] = [sys.executable, *sys.argv]
    out["machine"]["memory_gb"] = round(
        os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
    )
    for package in PEER_PACKAGES:
        try:
            out["versions"][package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out["versions"][package] = None
    out.update(
        partitions=PARTITIONS,
        repeat=args.repeat,
        peers_measured=args.peers,
        inventory_sync_via=args.inventory_sync_via,
        denominator=DENOMINATOR,
    )
    return out


def _outputs(output: Path | None) -> list[Path]:
    if output is not None:
        return [output]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return [RESULTS / f"peers-{stamp}.json", RESULTS / "peers-latest.json"]


def _missing_peer_packages(peers: list[str]) -> list[str]:
    from importlib.util import find_spec

    needed = {"confluent_kafka": True, "quixstreams": "quix" in peers}
    needed["faststream"] = "faststream" in peers
    return [name for name, wanted in needed.items() if wanted and find_spec(name) is None]


def _progress(run: dict[str, Any]) -> None:
    rate = run["drain_records_per_s"]
    shown = f"{rate:,} records/s" if rate is not None else f"{run['process_records_per_s']:,}/s"
    flag = "" if run["correct"] else "  WRONG"
    print(f"  {run['peer']} round {run['round']}: {shown}{flag}", file=sys.stderr, flush=True)


def drain_main(argv: list[str]) -> int:
    """A drainer process: drain the topic with one peer, write what it saw as JSON."""
    kind, params_json, result_file = argv
    params = json.loads(params_json)
    if kind == "raw":
        from bench_raw import measure_raw

        result = measure_raw(**params)
    elif kind == "quix":
        from peer_quix import drain_quix

        result = drain_quix(**params)
    elif kind == "faststream":
        from peer_faststream import drain_faststream

        result = drain_faststream(**params)
    elif kind == "loop":
        from bench_loop import measure_loop

        result = measure_loop(**params)
    else:
        print(f"unknown drainer {kind!r}", file=sys.stderr)
        return 2
    Path(result_file).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["_drain"]:
        sys.exit(drain_main(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
