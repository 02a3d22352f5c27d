"""The demo's register content: the IAR and the RoPA of the Department for Civic Registration.

``load()`` creates the register (migrations) and loads what the areas that own the content provide.
The department's own files name no organisation (their items are the department's). Where
organisations.yaml declares them, the agency's and the sealed unit's assets and activities follow
from files of their own, which name theirs (an IAR or RoPA file's organisation column is all or
nothing).
"""

from __future__ import annotations

from pathlib import Path

from adc.demo import ropa
from adc.organisations import load_organisations
from adc.register import assets
from adc.register.db import register_engine

HERE = Path(__file__).parent
REGISTER_CSV = HERE / "data" / "register.csv"
ROPA_CSV = HERE / "data" / "ropa.csv"
# the agency's and the sealed unit's (docs/organisations.md)
ORGANISATIONS_REGISTER_CSV = HERE / "data" / "register-organisations.csv"
ORGANISATIONS_ROPA_CSV = HERE / "data" / "ropa-organisations.csv"
SOURCES = HERE / "data" / "sources.yaml"  # the department's, the agency's and the sealed unit's accounts
ORGANISATIONS = HERE / "data" / "organisations.yaml"
SEALED_SOURCE = "psu-prod"  # harvested by the unit itself, never by the shared harvest DAG
SEALED_DPO = "sam"


def ropa_files() -> list[Path]:
    """The RoPA files the demo loads, as organisations.yaml stands."""
    return [ROPA_CSV, *([ORGANISATIONS_ROPA_CSV] if load_organisations().declared else [])]


def load() -> dict[str, int]:
    """Create the register at the configured URL and load the demo IAR and RoPA into it."""
    engine = register_engine()
    declared = load_organisations().declared
    registers = [REGISTER_CSV, *([ORGANISATIONS_REGISTER_CSV] if declared else [])]
    loaded: dict[str, int] = {}
    loaded["information assets"] = sum(assets.import_file(engine, path).created for path in registers)
    # the RoPA after the IAR: its activities link to register assets (by id, so either order works)
    loaded["processing activities"] = sum(ropa.load(engine, path) for path in ropa_files())
    return loaded
