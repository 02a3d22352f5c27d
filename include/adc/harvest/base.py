"""What a service harvester is: the one interface the runner knows (docs/harvest.md, "Adding a service").

A harvester is a module, ``adc.harvest.<service>`` for each member of ``adc.model.Service`` (a module
implements a Protocol with its functions and constants); ``adc.harvest.registry`` finds them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from adc.aws import AwsClients
from adc.config import Source
from adc.harvest.context import ScopeContext
from adc.model import ObservedDataset, Service
from adc.naming import DatasetId


@dataclass
class Listing:
    """One complete listing of a service's scopes: what to harvest, and what exists."""

    wanted: dict[str, list[str]]  # region -> the scopes there the source's globs pick, in listing order
    found: set[str]  # every scope listed, globs not applied: a scope not here does not exist


class Located(NamedTuple):
    """The scope a registered location lies in. ``region`` and ``account`` are None when scope names
    are global (S3 buckets): the scope may then be in any account."""

    scope: str
    region: str | None = None
    account: str | None = None


@runtime_checkable
class Harvester(Protocol):
    """One AWS service: how its scopes are listed and cut into units, what a scope covers, and how
    one scope is harvested."""

    name: Service
    # True: scopes are listed region by region and named within an account and region (an ARN).
    # False: one listing covers every region of the account, and scope names are global (S3 buckets).
    regional: bool
    scopes_per_unit: int  # scopes one unit (one mapped task) harvests

    def list_scopes(self, clients: AwsClients, source: Source, region: str) -> Listing:
        """List the account's scopes in ``region`` (every region when not ``regional``); raises on failure."""
        ...

    def wants(self, source: Source, scope: str) -> bool:
        """Whether the source's globs pick the scope."""
        ...

    def covers(self, region: str, account: str, scope: str) -> DatasetId:
        """The identity prefix a complete harvest of the scope vouches for (its coverage row)."""
        ...

    def locate(self, location: DatasetId) -> Located | None:
        """The scope a registered location lies in (``covers`` read backwards); None if not this service's."""
        ...

    def harvest(self, scope: ScopeContext) -> Iterator[ObservedDataset]:
        """The datasets of one scope; raises (and so fails the scope) when its listing fails."""
        ...


_ARN_NAMESPACE = re.compile(r"^arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]+):(\d{12})$")


def locate_arn(location: DatasetId, service: Service, scope: str) -> Located | None:
    """The scope of a location named ``arn:aws:<service>:<region>:<account>`` + a name whose first
    group the pattern ``scope`` matches (``^table/([^/]+)`` for a Glue database)."""
    namespace = _ARN_NAMESPACE.match(location.namespace)
    name = re.match(scope, location.name)
    if not namespace or namespace.group(1) != service or not name:
        return None
    return Located(name.group(1), namespace.group(2), namespace.group(3))
