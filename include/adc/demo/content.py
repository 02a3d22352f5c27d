"""The demo's register content: the IAR and the RoPA of the Department for Civic Registration.

``load()`` creates the register (migrations) and loads what the areas that own the content provide.
"""

from __future__ import annotations

from pathlib import Path

from adc.demo import ropa
from adc.register import assets
from adc.register.db import register_engine

HERE = Path(__file__).parent
REGISTER_CSV = HERE / "data" / "register.csv"
ROPA_CSV = HERE / "data" / "ropa.csv"


def load() -> dict[str, int]:
    """Create the register at the configured URL and load the demo IAR and RoPA into it."""
    engine = register_engine()
    loaded: dict[str, int] = {}
    loaded["information assets"] = assets.import_file(engine, REGISTER_CSV).created
    # the RoPA after the IAR: its activities link to register assets (by id, so either order works)
    loaded["processing activities"] = ropa.load(engine, ROPA_CSV)
    return loaded
