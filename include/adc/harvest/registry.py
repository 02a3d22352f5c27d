"""The harvesters: for each service of ``adc.model.Service``, the module ``adc.harvest.<service>``.

``adc.model.Service`` is the one list of services (sources.yaml is validated against it and the CLI
offers it, below this room), so a service is added by its module and one line there.
"""

from __future__ import annotations

from importlib import import_module

from adc.harvest.base import Harvester
from adc.model import Service


def _harvester(service: Service) -> Harvester:
    module = import_module(f"adc.harvest.{service}")
    if not isinstance(module, Harvester) or module.name != service:
        raise TypeError(f"{module.__name__} is not the Harvester of {service!r} (see adc.harvest.base)")
    return module


HARVESTERS: dict[str, Harvester] = {service: _harvester(service) for service in Service}
