"""Organisations, security markings and the one visibility rule.

The department, its arm's-length bodies and their directorates form a tree, declared in
``include/config/organisations.yaml`` (override: ``ADC_ORGANISATIONS``). A person sees the
organisations they belong to and every descendant, up to their clearance, except inside a *sealed*
organisation: nothing of it is visible to anyone outside it, whatever their clearance or place in
the tree. Without the file everything is one organisation and every reader sees everything, as
before organisations existed.

Every read path asks :class:`Viewer` (``may_see`` for one item, ``where`` for a query); no page,
query or export filters on its own. See docs/organisations.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import ColumnElement, and_, false, func, true

from adc.config import PROJECT_ROOT, OrganisationId, Settings, SourcesFile, load_yaml
from adc.errors import ConfigError
from adc.model import GSCP, Marking

DEFAULT_ORGANISATIONS = PROJECT_ROOT / "include" / "config" / "organisations.yaml"

DEFAULT_MARKING: Marking = "OFFICIAL"  # what an item without a marking is treated as


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Organisation(_Strict):
    """The department, an agency or a directorate."""

    id: OrganisationId = Field(..., description="Short id: lower case, digits, '-' and '_'.")
    name: str = Field(..., min_length=1, description="The organisation's name as people know it.")
    parent: OrganisationId | None = Field(None, description="The organisation it belongs to; none for the top.")
    sealed: bool = Field(False, description="Nothing of it is visible outside it, whatever the reader's clearance.")
    shares_counts: bool = Field(
        False, description="Sealed only: the organisation above it sees how many assets, datasets, open findings "
        "and processing activities it holds, and nothing else of it.")
    openlineage: Path | None = Field(
        None, description="An openlineage.yml (the client's own format) for its datasets' events; relative to "
        "this file. A sealed organisation's events go only here (or nowhere); others' default to the "
        "standard OpenLineage configuration.")


class Person(_Strict):
    """An Airflow user: where they work, how far they are cleared, whether they protect data there."""

    user: str = Field(..., min_length=1, description="The Airflow user id.")
    organisations: list[OrganisationId] = Field(..., description="Organisations they belong to (at least one).")
    clearance: Marking = Field(DEFAULT_MARKING, description="The strongest marking they may read.")
    data_protection: bool = Field(False, description="A member of their organisations' data protection team.")

    @field_validator("organisations")
    @classmethod
    def _some(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("a person belongs to at least one organisation")
        return value


class Group(_Strict):
    """A group the auth manager puts people in (SimpleAuthManager's teams, FAB's or Keycloak's roles):
    its members belong to these organisations, at this clearance. Data protection teams are people,
    named in ``people``: a question is assigned to user ids."""

    group: str = Field(..., min_length=1, description="The team's or role's name, as the auth manager gives it.")
    organisations: list[OrganisationId] = Field(..., min_length=1, description="Organisations its members belong to.")
    clearance: Marking = Field(DEFAULT_MARKING, description="The strongest marking its members may read.")


class OrganisationsFile(_Strict):
    organisations: list[Organisation] = Field(..., min_length=1)
    people: list[Person] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)

    @model_validator(mode="after")
    def _a_tree(self) -> OrganisationsFile:
        ids: dict[str, int] = {}
        for i, org in enumerate(self.organisations):
            if org.id in ids:
                raise ValueError(f"organisations[{i}].id: {org.id!r} is declared twice")
            ids[org.id] = i
        for i, org in enumerate(self.organisations):
            if org.parent is not None and org.parent not in ids:
                raise ValueError(f"organisations[{i}].parent: unknown organisation {org.parent!r}")
            if org.shares_counts and not org.sealed:
                raise ValueError(f"organisations[{i}].shares_counts: only a sealed organisation shares counts "
                                 "(the others' items are visible above them)")
        parents = {org.id: org.parent for org in self.organisations}
        for org in self.organisations:
            seen, at = {org.id}, org.parent
            while at is not None:
                if at in seen:
                    raise ValueError(f"organisations[{ids[org.id]}].parent: {org.id!r} is its own ancestor (a cycle)")
                seen.add(at)
                at = parents[at]
        tops = [org.id for org in self.organisations if org.parent is None]
        if len(tops) != 1:
            raise ValueError(f"organisations: exactly one organisation (the department) has no parent; "
                             f"here {len(tops)} have none ({', '.join(tops) or 'a cycle'})")
        members: list[tuple[str, int, Person | Group]] = [
            *(("people", i, p) for i, p in enumerate(self.people)),
            *(("groups", i, g) for i, g in enumerate(self.groups)),
        ]
        for section, i, member in members:
            for j, org_id in enumerate(member.organisations):
                if org_id not in ids:
                    raise ValueError(f"{section}[{i}].organisations[{j}]: unknown organisation {org_id!r}")
        users = [p.user for p in self.people]
        for i, user in enumerate(users):
            if user in users[:i]:
                raise ValueError(f"people[{i}].user: {user!r} is listed twice")
        return self


@dataclass(frozen=True)
class Organisations:
    """The tree, and who belongs where. ``Organisations.single()`` is the world without the file."""

    file: OrganisationsFile | None

    @classmethod
    def single(cls) -> Organisations:
        return cls(None)

    @property
    def declared(self) -> bool:
        return self.file is not None

    @cached_property
    def by_id(self) -> dict[str, Organisation]:
        return {org.id: org for org in self.file.organisations} if self.file else {}

    @cached_property
    def root(self) -> str | None:
        """The top of the tree (the department): where an item without an organisation belongs."""
        tops = [org.id for org in self.file.organisations if org.parent is None] if self.file else []
        return tops[0] if tops else None

    def ancestors(self, org_id: str) -> list[str]:
        """The organisation and every organisation above it, nearest first."""
        chain: list[str] = []
        at: str | None = org_id
        while at is not None:
            chain.append(at)
            at = self.by_id[at].parent
        return chain

    def sealed(self, org_id: str | None) -> bool:
        """Whether an organisation is sealed or stands inside a sealed one."""
        org = org_id or self.root
        return org in self.by_id and any(self.by_id[o].sealed for o in self.ancestors(org))

    def visible_from(self, org_ids: Iterable[str]) -> frozenset[str]:
        """Organisations whose items members of ``org_ids`` see: each one and its descendants, except
        inside a sealed organisation they do not stand in themselves."""
        mine = set(org_ids)
        standing_in = {a for org in mine for a in self.ancestors(org)}
        return frozenset(
            org for org in self.by_id
            if mine.intersection(self.ancestors(org))
            and all(o in standing_in for o in self.ancestors(org) if self.by_id[o].sealed)
        )

    def counted(self, viewer: Viewer) -> dict[str, Viewer]:
        """The sealed organisations whose counts ``viewer`` may see (``shares_counts``, and the viewer sees
        the organisation above), each by name with the view that counts its items: only its own."""
        if viewer.organisations is None:
            return {}
        return {org.name: Viewer(None, self.visible_from([org.id]), GSCP[-1], self.root)
                for org in self.by_id.values()
                if org.shares_counts and org.id not in viewer.organisations and org.parent in viewer.organisations}

    def check(self, org_id: str | None, where: str) -> None:
        """Raise ConfigError when ``org_id`` names no organisation (``where``: the file and field naming it).
        Without organisations.yaml only the department exists, and naming one is a mistake too."""
        if org_id is not None and org_id not in self.by_id:
            have = ", ".join(self.by_id) or "none: there is no organisations.yaml"
            raise ConfigError(f"{where}: unknown organisation {org_id!r} (have: {have})")

    def shared(self, sources: SourcesFile, requested: list[str] | None = None) -> SourcesFile:
        """The sources a DAG every organisation reads may harvest: none of a sealed organisation's.
        Its bucket and table names would show in that DAG's labels, XCom and logs, so a sealed unit
        harvests where only its people read the output (``adc harvest --source``, its own deployment)."""
        sealed = [s.name for s in sources.sources if self.sealed(s.organisation)]
        for name in requested or ():
            if name in sealed:
                raise ConfigError(f"source {name!r} belongs to a sealed organisation: harvest it where only its "
                                  f"people read the output (adc harvest --source {name}), never in a shared DAG")
        return sources.model_copy(update={"sources": [s for s in sources.sources if s.name not in sealed]})

    def check_sources(self, sources: SourcesFile) -> None:
        """Every source's organisation exists (sources.yaml is read before, and apart from, this file)."""
        for i, source in enumerate(sources.sources):
            self.check(source.organisation, f"sources.yaml: sources[{i}].organisation")

    def reader(self, as_user: str | None) -> Viewer:
        """Who a CLI read command reads as: ``--as USER``'s view, else everything (the operator running
        it holds the register's own connection, and could read the tables themselves)."""
        return Viewer.everything() if as_user is None else self.viewer(as_user)

    def viewer(self, user: str | None, groups: Iterable[str] = ()) -> Viewer:
        """What ``user``, in the auth manager's ``groups``, may see: everything their entry in ``people``
        and the file's entries for their groups give, together. Without the file: everything. Someone
        neither entry names sees nothing."""
        if not self.file:
            return Viewer.everything()
        names = set(groups)
        entries: list[Person | Group] = [p for p in self.file.people if p.user == user]
        entries += [g for g in self.file.groups if g.group in names]
        if not entries:
            return Viewer(user, frozenset(), DEFAULT_MARKING, self.root)
        clearance = max((e.clearance for e in entries), key=GSCP.index)
        return Viewer(user, self.visible_from(o for e in entries for o in e.organisations), clearance, self.root)


@dataclass(frozen=True)
class Viewer:
    """The one visibility rule: what one person may see. ``organisations`` None means every one."""

    user: str | None
    organisations: frozenset[str] | None
    clearance: str
    root: str | None  # the department: where an item without an organisation belongs

    @classmethod
    def everything(cls) -> Viewer:
        """ADC's own reads (a harvest, the lineage it emits, an operator holding the register's own
        connection): everything. What such a read hands to a person passes that person's Viewer."""
        return cls(None, None, GSCP[-1], None)

    @property
    def sees_everything(self) -> bool:
        return self.organisations is None and self.clearance == GSCP[-1]

    def may_see(self, organisation: str | None, marking: str | None) -> bool:
        """Whether an item of ``organisation`` (None: the department) with ``marking`` is visible."""
        if self.organisations is not None and (organisation or self.root) not in self.organisations:
            return False
        return GSCP.index(marking or DEFAULT_MARKING) <= GSCP.index(self.clearance)

    def where(self, organisation: ColumnElement, marking: ColumnElement | None) -> ColumnElement[bool]:
        """The SQL condition that keeps only rows this viewer may see (columns of the row's organisation
        and marking; NULL organisation is the department; NULL marking is OFFICIAL). It is never NULL,
        so its negation is safe inside NOT EXISTS."""
        conditions: list[ColumnElement[bool]] = []
        if self.organisations is not None:
            if not self.organisations:
                return false()
            conditions.append(func.coalesce(organisation, self.root).in_(sorted(self.organisations)))
        if marking is not None:
            conditions.append(self.cleared(marking))
        return and_(true(), *conditions)

    def cleared(self, marking: ColumnElement) -> ColumnElement[bool]:
        """The SQL condition: a row's marking (NULL: OFFICIAL) is within this viewer's clearance."""
        if self.clearance == GSCP[-1]:
            return true()
        return func.coalesce(marking, DEFAULT_MARKING).in_(GSCP[: GSCP.index(self.clearance) + 1])


@dataclass(frozen=True)
class DataProtectionTeams:
    """Who protects data where. Without organisations.yaml, one team (ADC_DATA_PROTECTION_TEAM) for
    everything. With it, an item's team is every person marked ``data_protection`` whose view covers
    the item's organisation: its own organisation's team first, then those above it, so the
    department's team may act on everything not sealed and a sealed unit's team on its own."""

    organisations: Organisations
    default: tuple[str, ...]

    def of(self, organisation: str | None) -> tuple[str, ...]:
        """The team for an item of ``organisation`` (None: the department), nearest organisation first.
        An organisation the file no longer declares has no team: nobody is asked rather than the wrong people."""
        file = self.organisations.file
        if file is None:
            return self.default
        org = organisation or self.organisations.root
        if org not in self.organisations.by_id:
            return ()
        chain = self.organisations.ancestors(org)
        members = [p for p in file.people
                   if p.data_protection and org in self.organisations.visible_from(p.organisations)]

        def distance(person: Person) -> int:
            return min((chain.index(o) for o in person.organisations if o in chain), default=len(chain))

        return tuple(p.user for p in sorted(members, key=distance))

    @classmethod
    def given(cls, team: Team) -> DataProtectionTeams:
        """``team`` as teams: a plain tuple of user ids is one team for everything (no organisations)."""
        return team if isinstance(team, DataProtectionTeams) else cls(Organisations.single(), tuple(team))

    @classmethod
    def from_env(cls) -> DataProtectionTeams:
        """organisations.yaml's teams, or ADC_DATA_PROTECTION_TEAM's one team without the file."""
        return cls(load_organisations(), Settings.from_env().data_protection_team)


# What the review and triage functions take: per-organisation teams, or one team for everything.
Team = DataProtectionTeams | tuple[str, ...]


def load_organisations(path: str | os.PathLike[str] | None = None) -> Organisations:
    """organisations.yaml (or ADC_ORGANISATIONS), validated; one organisation when neither exists."""
    named = path or os.environ.get("ADC_ORGANISATIONS")
    file = Path(named or DEFAULT_ORGANISATIONS)
    if not named and not file.exists():
        return Organisations.single()
    declared = load_yaml(file, OrganisationsFile, "a mapping with an 'organisations' list at the top")
    for i, org in enumerate(declared.organisations):
        if org.openlineage is not None and not (file.parent / org.openlineage).is_file():
            raise ConfigError(f"{file}: organisations[{i}].openlineage: no file {file.parent / org.openlineage}")
    return Organisations(declared.model_copy(update={"organisations": [
        org.model_copy(update={"openlineage": file.parent / org.openlineage}) if org.openlineage else org
        for org in declared.organisations]}))
