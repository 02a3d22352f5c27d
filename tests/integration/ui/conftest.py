"""Fixtures for the register UI's tests; the helpers and the demo register's build are in tests/support/ui.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.ui import DemoRegister, build, module_register_url


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_register(request, tmp_path_factory, postgres_databases, dcr_estate) -> Iterator[DemoRegister]:
    """The demo register after a harvest, a reconciliation and a review answer (built once per module)."""
    from adc.register.db import make_engine, migrate

    url = module_register_url(request.param, tmp_path_factory.mktemp("ui"), postgres_databases)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADC_REGISTER_URL", url)
        patch.setenv("AWS_ENDPOINT_URL", dcr_estate.url)
        engine = make_engine(url)
        migrate(engine)
        built = build(engine)
    yield built
    engine.dispose()
    if request.param == "postgres":
        postgres_databases.drop(url)


@pytest.fixture
def client(demo_register) -> Callable[..., TestClient]:
    return demo_register.client
