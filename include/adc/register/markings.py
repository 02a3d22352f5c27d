"""The marking a dataset takes from the assets covering it: observed_dataset.covering_marking.

A dataset reads as at least as marked as every asset whose locations cover it: a dataset under a
SECRET asset is SECRET, whatever its bucket says (docs/organisations.md). Matching the register's
locations to the estate is a join, too dear to repeat in every list and count the visibility rule
filters, so the strongest ``security_classification`` of the covering assets is kept on the
dataset, set-based, inside the transaction of every write that can change it:

- the harvest merge (adc.register.store.finish_run) writes each version it adds with it
  (``covering``);
- an asset created, or its classification or locations changed (adc.register.assets.store: the
  IAR import, triage) ``refresh``-es the datasets under its locations, before and after.

``refresh`` computes it from the current versions and writes it on every version of the dataset,
so a count over past versions (the dashboard's coverage over time) follows the assets as they are
now, as the rule does. NULL: no classified asset covers it (it reads as its own marking only). A
classification that is no GSCP marking reads as the strongest, as the rule always treated it:
hidden from all but TOP SECRET, never shown by mistake.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
    update,
)

from adc.model import GSCP
from adc.naming import DatasetId
from adc.register.db import exclusive
from adc.register.sqlfn import covers, parent_name
from adc.register.tables import asset, asset_location, observed_dataset
from adc.register.types import Name

od, loc = observed_dataset, asset_location
d = observed_dataset.alias("d")  # the versions read, beside the ones updated

# Past this many locations a refresh of the datasets under them (one OR term each) costs about what one of
# the whole estate does at 100,000 datasets; SQLite also refuses an expression over 1,000 terms deep.
MOST_LOCATIONS = 100

# GSCP's order, weakest first; a classification that is no GSCP marking ranks as the strongest
_RANK = case({marking: rank for rank, marking in enumerate(GSCP)}, value=asset.c.security_classification,
             else_=len(GSCP) - 1)


def _marking(rank: ColumnElement) -> ColumnElement:
    return case({rank_: marking for rank_, marking in enumerate(GSCP)}, value=rank, else_=null())


def _ranked(identities: Select) -> Select:
    """(namespace, name, rank) for each dataset identity ``identities`` selects (namespace, name) and each
    classified asset covering it.

    From the dataset's side: its name, then each name up to a '/' (sqlfn.parent_name), then the whole
    namespace, are exactly the locations that can cover it; each is one lookup of asset_location's
    (namespace, name) index, however many locations a namespace holds. sqlfn.covers decides.
    """
    ids = identities.subquery("ids")
    up = select(ids.c.namespace, ids.c.name, cast(ids.c.name, Name()).label("location")).cte("up", recursive=True)
    up = up.union_all(select(up.c.namespace, up.c.name, cast(parent_name(up.c.location), Name()))
                      .where(up.c.location != ""))
    return (select(up.c.namespace, up.c.name, _RANK.label("rank"))
            .join(loc, and_(loc.c.namespace == up.c.namespace, loc.c.name == up.c.location,
                            covers(loc.c.namespace, loc.c.name, up.c.namespace, up.c.name)))
            .join(asset, asset.c.asset_id == loc.c.asset_id)
            .where(asset.c.security_classification.is_not(None)))


def _strongest(ranked: Select) -> Subquery:
    every = ranked.subquery("every")
    return (select(every.c.namespace, every.c.name, _marking(func.max(every.c.rank)).label("marking"))
            .group_by(every.c.namespace, every.c.name).subquery("covering"))


def covering(identities: Select) -> Subquery:
    """(namespace, name, marking): the strongest classification of the assets covering each dataset
    identity ``identities`` selects, for those a classified asset covers (the harvest merge joins it)."""
    return _strongest(_ranked(identities))


def _under(outer: DatasetId, namespace: ColumnElement, name: ColumnElement) -> ColumnElement[bool]:
    """SQL: (namespace, name) is ``outer`` or lies under it, with the bounds an index range can use."""
    inside = covers(literal(outer.namespace), literal(outer.name), namespace, name)
    return and_(name >= outer.name, name < outer.name + "0", inside) if outer.name else inside


def refresh(conn: Connection, *, under: Collection[DatasetId] | None = None) -> None:
    """Recompute ``covering_marking``: the strongest classification of the assets covering each dataset.

    ``under``: only the datasets at or under these locations (an asset's, before and after a change);
    None, or more than MOST_LOCATIONS of them: every dataset. Found for the current versions, written on
    every version that differs. Call it inside the transaction that made the change: it takes the estate
    lock, so a harvest merge waits for it as for a reconciliation.
    """
    if under is not None and not under:
        return
    exclusive(conn, "estate")
    scope: ColumnElement[bool] = true()
    if under is not None and len(under) <= MOST_LOCATIONS:
        scope = or_(*(_under(p, d.c.namespace, d.c.name) for p in under))
    current = and_(d.c.valid_to.is_(None), scope)
    found = covering(select(d.c.namespace, d.c.name).where(current))
    # every current dataset in scope: what covers it, or NULL (a dataset no longer covered loses its marking)
    now = (select(d.c.namespace, d.c.name, found.c.marking)
           .select_from(d.outerjoin(found, and_(found.c.namespace == d.c.namespace, found.c.name == d.c.name)))
           .where(current).subquery("now"))
    conn.execute(update(od).where(od.c.namespace == now.c.namespace, od.c.name == now.c.name,
                                  od.c.covering_marking.is_distinct_from(now.c.marking))
                 .values(covering_marking=now.c.marking))
