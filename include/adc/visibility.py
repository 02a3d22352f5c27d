"""The one visibility rule applied to the register's tables (the IAR, the estate, findings and the RoPA):
the condition each read path adds.

The rule itself is ``adc.organisations.Viewer`` (organisations, sealing, clearance). This module only
says where each kind of item keeps its organisation and marking, so no page, query or export decides
for itself:

- a **dataset**: its own columns (its source's organisation; its strongest marking);
- an **asset**: its ``organisation`` and its GSCP ``security_classification``;
- a **finding**: visible when everything it concerns is: its asset, its dataset, and, for a finding
  about a whole source (a withheld absence), that source's organisation;
- a **processing activity**: its ``organisation``; its reviews and review steps follow it;
- a **harvest scope** (a bucket, a database): its source's organisation and default marking;
- a **history row**: visible when the asset, finding, activity or review it records a change to is.

Every condition is a plain SQL expression (``true()`` for a viewer who sees everything), so lists,
counts and charts filter in the database, and a hidden item is never counted.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, String, and_, cast, exists, not_, or_, select, true

from adc.config import SourcesFile, load_sources
from adc.model import GSCP
from adc.organisations import Viewer
from adc.register.sqlfn import covers
from adc.register.tables import asset, asset_location, finding, harvest_scope, observed_dataset
from adc.register.tables import history as history_table
from adc.ropa.tables import processing_activity, review, review_step


def datasets(viewer: Viewer, table=observed_dataset) -> ColumnElement[bool]:
    """Datasets of a visible organisation whose marking is within the reader's clearance: the strongest
    of their own (source default, tag) and that of every asset whose locations cover them."""
    own = viewer.where(table.c.organisation, table.c.marking)
    if viewer.clearance == GSCP[-1]:  # no asset is marked above it
        return own
    location, covering = asset_location.alias(), asset.alias()
    marked_above = exists().where(
        covering.c.asset_id == location.c.asset_id,
        covers(location.c.namespace, location.c.name, table.c.namespace, table.c.name),
        not_(viewer.cleared(covering.c.security_classification)),
    )
    return and_(own, ~marked_above)


def assets(viewer: Viewer, table=asset) -> ColumnElement[bool]:
    return viewer.where(table.c.organisation, table.c.security_classification)


def findings(viewer: Viewer, sources: SourcesFile | None = None) -> ColumnElement[bool]:
    """Findings whose asset, dataset and source ``viewer`` may all see."""
    if viewer.sees_everything:
        return true()
    hidden_asset = exists().where(asset.c.asset_id == finding.c.asset_id, not_(assets(viewer)))
    hidden_dataset = exists().where(
        observed_dataset.c.namespace == finding.c.namespace,
        observed_dataset.c.name == finding.c.name,
        observed_dataset.c.valid_to.is_(None),
        not_(datasets(viewer)),
    )
    about_source = and_(finding.c.asset_id.is_(None), finding.c.namespace.is_(None))
    hidden_source = and_(about_source, or_(finding.c.source.is_(None),
                                           finding.c.source.in_(_hidden_sources(viewer, sources))))
    return and_(~hidden_asset, ~hidden_dataset, not_(hidden_source))


def _hidden_sources(viewer: Viewer, sources: SourcesFile | None) -> list[str]:
    config = sources or load_sources()
    return [s.name for s in config.sources if not viewer.may_see(s.organisation, s.marking)]


def scopes(viewer: Viewer, sources: SourcesFile | None = None) -> ColumnElement[bool]:
    """Harvest scopes of the sources ``viewer`` may see (how many buckets a sealed unit has is its own)."""
    if viewer.sees_everything:
        return true()
    return harvest_scope.c.source.not_in(_hidden_sources(viewer, sources))


def activities(viewer: Viewer, table=processing_activity) -> ColumnElement[bool]:
    # an activity carries no marking of its own: its record is OFFICIAL (GOVERNANCE.md)
    return viewer.where(table.c.organisation, None)


def reviews(viewer: Viewer) -> ColumnElement[bool]:
    """Reviews of the activities ``viewer`` may see."""
    if viewer.sees_everything:
        return true()
    return exists().where(processing_activity.c.activity_id == review.c.activity_id, activities(viewer))


def review_steps(viewer: Viewer) -> ColumnElement[bool]:
    """Review steps of the reviews ``viewer`` may see."""
    if viewer.sees_everything:
        return true()
    # its own FROM review, even inside a query that joins review (the evidence page does)
    return exists().where(review.c.review_id == review_step.c.review_id, reviews(viewer)).correlate_except(review)


def history(viewer: Viewer, sources: SourcesFile | None = None) -> ColumnElement[bool]:
    """History rows of the assets, findings, activities and reviews ``viewer`` may see."""
    if viewer.sees_everything:
        return true()

    def of(kind: str, key: ColumnElement, visible: ColumnElement[bool]) -> ColumnElement[bool]:
        return and_(history_table.c.entity_kind == kind, history_table.c.entity_id.in_(select(key).where(visible)))

    return or_(of("asset", asset.c.asset_id, assets(viewer)),
               of("finding", cast(finding.c.finding_id, String), findings(viewer, sources)),
               of("activity", processing_activity.c.activity_id, activities(viewer)),
               of("review", review.c.review_id, reviews(viewer)))
