"""Reports rendered from the register: HTML through Jinja2 in a sandbox with autoescaping, CSV through
adc.tabular (spreadsheet formula guards).

``render(template, **context)`` is the one way ADC renders a template (reports now, the register UI's
pages later): templates are package data under adc/reports/templates, the environment is sandboxed
(no attribute access to internals) and autoescapes everything, and undefined names fail loudly.
Values from AWS or people are always context, never template source, so "{{ 7*7 }}" in a tag stays
text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import BaseLoader, PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment


def sandboxed(loader: BaseLoader) -> SandboxedEnvironment:
    """ADC's template settings over ``loader``: sandboxed, autoescaped, undefined names fail loudly.
    The register UI builds its environment with this too, so every page follows the same rules."""
    env = SandboxedEnvironment(
        loader=loader,
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["datetime"] = lambda value: value.strftime("%Y-%m-%d %H:%M UTC") if value else ""
    return env


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    return sandboxed(PackageLoader("adc.reports", "templates"))


def render(template: str, **context: Any) -> str:
    """Render a packaged template (sandboxed, autoescaped) with ``context``."""
    return environment().get_template(template).render(**context)

