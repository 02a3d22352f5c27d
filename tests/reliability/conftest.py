"""Fixtures of the reliability suite: the fault proxy in front of the DCR estate, the demo register,
and `adc` run as an operator runs it (a process of its own, killable, with its own AWS settings)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.faults import FaultProxy

ADC = str(Path(sys.executable).parent / "adc")
# One source over the whole DCR estate, through boto3's default chain (AWS_ENDPOINT_URL: the proxy).
SOURCES = "sources:\n  - name: dcr-prod\n    region: eu-west-2\n"
# Retries an operator would set for a quick verdict, so that a fault that never clears fails in
# seconds, not minutes (botocore backs off up to 20 s a call at the default 8 attempts).
QUICK_VERDICT = {"ADC_AWS_MAX_ATTEMPTS": "3", "ADC_AWS_CONNECT_TIMEOUT": "1", "ADC_AWS_READ_TIMEOUT": "5"}


@pytest.fixture
def proxy(dcr_estate, monkeypatch) -> Iterator[FaultProxy]:
    """The fault proxy in front of the (read-only) DCR estate; boto3's default chain points at it."""
    with FaultProxy(upstream=dcr_estate.url) as faults:
        monkeypatch.setenv("AWS_ENDPOINT_URL", faults.url)
        yield faults


@pytest.fixture
def sources_file(tmp_path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES)
    return path


@pytest.fixture
def demo_register(register):
    """The register with the DCR demo IAR (14 assets), as `make demo` loads it."""
    from adc.demo.content import REGISTER_CSV
    from adc.register import assets

    assets.import_file(register, REGISTER_CSV)
    return register


def adc(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the `adc` command (the operator's path) with the test's environment plus ``env``."""
    return subprocess.run([ADC, *args], env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


def start_adc(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([ADC, *args], env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
