"""What one reader may see, for the register UI and the audit pack: adc.visibility's condition for
each of the register's tables, built once per request (or pack) from the reader's Viewer.

Nothing in adc.ui filters on an organisation or a marking by itself: each read adds the condition
here for the table it reads, in SQL, so lists, counts and charts never hold a hidden item
(docs/organisations.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement

from adc import visibility
from adc.config import load_sources
from adc.organisations import Viewer


@dataclass(frozen=True)
class Visible:
    """A reader's Viewer and a SQL condition per table (each ``true()`` for a reader who sees everything)."""

    viewer: Viewer
    reader: str | None  # the Airflow user it is for; None: the register's operator (a CLI read without --as)
    datasets: ColumnElement[bool]
    assets: ColumnElement[bool]
    findings: ColumnElement[bool]
    activities: ColumnElement[bool]
    reviews: ColumnElement[bool]
    review_steps: ColumnElement[bool]
    scopes: ColumnElement[bool]
    history: ColumnElement[bool]

    @classmethod
    def of(cls, viewer: Viewer, reader: str | None) -> Visible:
        """The conditions for ``viewer``. sources.yaml is read once here, and only for a reader who sees
        less than everything (a finding about a whole source, and a scope, follow their source)."""
        sources = None if viewer.sees_everything else load_sources()
        return cls(
            viewer=viewer, reader=reader, datasets=visibility.datasets(viewer), assets=visibility.assets(viewer),
            findings=visibility.findings(viewer, sources), activities=visibility.activities(viewer),
            reviews=visibility.reviews(viewer), review_steps=visibility.review_steps(viewer),
            scopes=visibility.scopes(viewer, sources), history=visibility.history(viewer, sources))

    @property
    def holds(self) -> str:
        """What a reader with these conditions is shown, in words (the audit pack's README says it)."""
        if self.viewer.sees_everything:
            why = "there is no organisations.yaml" if self.reader else "the register's operator, without --as"
            return f"everything in the register ({why})"
        if not self.viewer.organisations:
            return f"nothing: organisations.yaml does not list {self.reader}"
        return (f"only what {self.reader} may see under organisations.yaml: the items of "
                f"{', '.join(sorted(self.viewer.organisations))} marked up to {self.viewer.clearance}")


# ADC's own reads, and the register's operator: everything.
EVERYTHING = Visible.of(Viewer.everything(), None)
