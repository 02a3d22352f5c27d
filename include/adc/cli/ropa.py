"""adc ropa commands."""

from __future__ import annotations


def add_commands(subparsers) -> None:
    """Commands of this area are added as it lands."""
