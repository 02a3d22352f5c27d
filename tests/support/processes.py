"""Processes that tests kill on purpose, at the moment they choose."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable


def kill_when(process: subprocess.Popen, ready: Callable[[], bool], *, what: str, timeout: float = 120) -> None:
    """SIGKILL ``process`` as soon as ``ready()``; fail if it ends first or never gets there."""
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert process.poll() is None, process.stderr.read().decode()[-2000:] if process.stderr else what
            assert time.monotonic() < deadline, f"{what}: never happened"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
