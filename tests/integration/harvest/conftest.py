"""Fixtures for harvest tests; the helpers are in tests/support/harvest.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def dcr(dcr_estate, monkeypatch):
    """The seeded DCR estate (shared, read-only), boto3's default chain pointing at it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", dcr_estate.url)
    return dcr_estate


@pytest.fixture
def as_user(monkeypatch):
    """Switch boto3's default chain to an IAM user's keys (for tests with IAM enforced)."""
    def use(keys: dict[str, str]) -> None:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["aws_access_key_id"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["aws_secret_access_key"])
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return use
