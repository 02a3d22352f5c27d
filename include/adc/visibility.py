"""The one visibility rule applied to the register's tables (the IAR, the estate, findings and the RoPA):
the condition each read path adds.

The rule itself is ``adc.organisations.Viewer`` (organisations, sealing, clearance). This module only
says where each kind of item keeps its organisation and marking, so no page, query or export decides
for itself:

- a **dataset**: its own columns (its source's organisation; its strongest marking; the strongest
  classification of the assets covering it, kept on it by adc.register.markings);
- an **asset**: its ``organisation`` and its GSCP ``security_classification``;
- a **finding**: visible when everything it concerns is: its asset, its dataset, and, for a finding
  about a whole source (a withheld absence), that source's organisation;
- a **processing activity**: its ``organisation``; its reviews follow it, and so do its review steps,
  within the marking of what each step's pack shows (its linked assets and their datasets);
- a **harvest scope** (a bucket, a database): its source's organisation and default marking;
- a **history row**: visible when the asset, finding, activity or review it records a change to is.

Every condition is a plain SQL expression (``true()`` for a viewer who sees everything), so lists,
counts and charts filter in the database, and a hidden item is never counted.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, String, and_, cast, exists, not_, or_, select, true

from adc.config import SourcesFile, load_sources
from adc.organisations import Viewer
from adc.register.tables import asset, finding, harvest_scope, observed_dataset
from adc.register.tables import history as history_table
from adc.ropa.tables import processing_activity, review, review_step


def datasets(viewer: Viewer, table=observed_dataset) -> ColumnElement[bool]:
    """Datasets of a visible organisation whose marking is within the reader's clearance: the strongest
    of their own (source default, tag) and that of the assets whose locations cover them, which the
    register keeps on the dataset (``covering_marking``, adc.register.markings)."""
    return and_(viewer.where(table.c.organisation, table.c.marking), viewer.cleared(table.c.covering_marking))


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
    """Review steps of the reviews ``viewer`` may see, whose packs are marked within their clearance (an
    owner's pack shows the activity's linked assets, which may be marked above the activity)."""
    if viewer.sees_everything:
        return true()
    # its own FROM review, even inside a query that joins review (the evidence page does)
    of_visible = exists().where(review.c.review_id == review_step.c.review_id, reviews(viewer)).correlate_except(review)
    return and_(of_visible, viewer.cleared(review_step.c.marking))


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
