"""Fixtures for lineage on a real register; the helpers are in tests/support/lineage.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.lineage import harvest_at, start_receiver


@pytest.fixture
def harvest(register, monkeypatch):
    """harvest(run_id, at, {bucket: [datasets]}): a complete harvest run whose clock reads ``at``."""

    def run(*args, **kwargs) -> dict:
        return harvest_at(register, monkeypatch, *args, **kwargs)

    return run


@pytest.fixture
def lineage_file(tmp_path, monkeypatch) -> Path:
    """The file transport, configured the standard way (OPENLINEAGE__TRANSPORT__* variables)."""
    path = tmp_path / "events.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(path))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    return path


@pytest.fixture
def receiver():
    received = start_receiver()
    yield received
    received.stop()
