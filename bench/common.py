"""Helpers shared by the benchmarks: measured subprocesses, a moto server, the results file."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks.md"
OUT = ROOT / "bench" / "out"  # scratch space, git-ignored


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str

    def ratio_to(self, baseline: Measured) -> float:
        return self.seconds / baseline.seconds if baseline.seconds else float("inf")


def measure(argv: list[str], *, env: dict[str, str] | None = None, check: bool = True) -> Measured:
    """Run a command; its wall time and its own peak RSS (os.wait4 reports that child's rusage)."""
    import tempfile

    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=stderr,
                                   cwd=ROOT)
        stdout = process.stdout.read()  # to EOF before reaping, so the child never blocks on a full pipe
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        errors = stderr.read().decode(errors="replace")
    result = Measured(seconds, usage.ru_maxrss / 1024, process.returncode, stdout.decode())
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {errors[-2000:]}")
    return result


def python(code_or_module: str, *args: str, env: dict[str, str] | None = None) -> Measured:
    """Measure `python -m module args` (or `python -c code` when it contains a newline or ';')."""
    if "\n" in code_or_module or ";" in code_or_module:
        return measure([sys.executable, "-c", code_or_module, *args], env=env)
    return measure([sys.executable, "-m", code_or_module, *args], env=env)


@contextmanager
def moto_server():
    """A moto server for one benchmark: yields its URL."""
    from adc.demo.runner import free_port, wait_for

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / f"moto-{port}.log", "wb") as log:
        process = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p",
                                    str(port)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(f"{url}/moto-api/", timeout=30, what="moto", process=process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a server holding a large estate can be slow to stop
                process.kill()
                process.wait(timeout=10)


def machine() -> str:
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{python}, {os.cpu_count()} CPUs, {platform.machine()}"


def write_section(name: str, markdown: str) -> None:
    """Replace the benchmark's section in docs/benchmarks.md (added at the end the first time)."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    stamp = f"_Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}._"
    block = f"{start}\n{markdown.strip()}\n\n{stamp}\n{end}"
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)


def table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def dump(data: object) -> str:
    return json.dumps(data, indent=2, default=str)


HEADER = """# Benchmarks

Run them all with `make bench` (or `python -m bench NAME`). Every ratio compares with a baseline
measured in the same run on the same machine, so the ratios travel; the absolute times do not.
Tests never fail on timing: these numbers are measured here, not asserted.
"""
