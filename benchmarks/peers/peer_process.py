"""One drainer process: started fresh, reaped with os.wait4 for its own CPU time and peak RSS."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Process:
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    stdout: str
    timed_out: bool


def run_process(command: list[str], *, env: dict[str, str], log: Path, timeout_s: float) -> Process:
    """Run `command` to its end (killed after `timeout_s`); its stderr goes to `log`.

    The CPU seconds (user + system) and the peak RSS are the process's own, from the kernel's
    accounting at its exit: the same measure for every peer, whatever it runs on.
    """
    out = log.with_suffix(".out")
    with log.open("ab") as err, out.open("wb") as stdout:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=stdout, stderr=err, env=env)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            child.kill()

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    return Process(
        returncode=child.returncode,
        wall_s=round(wall, 3),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 2),
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        stdout=out.read_text(errors="replace"),
        timed_out=killed.is_set(),
    )


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
