"""organisations.yaml: the tree, clearances, sealed organisations, and the one visibility rule."""

from __future__ import annotations

import textwrap
from types import SimpleNamespace

import pytest
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select

from adc.errors import ConfigError
from adc.model import strongest
from adc.organisations import DataProtectionTeams, Organisations, load_organisations
from adc.ui.auth import groups_of
from tests.support.organisations import undeclare

DCR = textwrap.dedent("""\
    organisations:
      - {id: dept, name: Department for Civic Registration}
      - {id: cra, name: Civic Registration Agency, parent: dept}
      - {id: cra-ops, name: CRA Operations, parent: cra}
      - {id: psu, name: Protective Security Unit, parent: dept, sealed: true}
    people:
      - {user: victor, organisations: [dept], clearance: OFFICIAL-SENSITIVE}
      - {user: dana, organisations: [dept], clearance: SECRET, data_protection: true}
      - {user: rita, organisations: [cra]}
      - {user: sam, organisations: [psu], clearance: TOP SECRET, data_protection: true}
""")


@pytest.fixture
def dcr(tmp_path) -> Organisations:
    path = tmp_path / "organisations.yaml"
    path.write_text(DCR)
    return load_organisations(path)


def test_a_person_sees_their_organisations_and_below_but_nothing_sealed_they_stand_outside(dcr):
    assert dcr.viewer("victor").organisations == {"dept", "cra", "cra-ops"}
    assert dcr.viewer("dana").organisations == {"dept", "cra", "cra-ops"}  # SECRET does not open a seal
    assert dcr.viewer("rita").organisations == {"cra", "cra-ops"}
    assert dcr.viewer("sam").organisations == {"psu"}


def test_clearance_caps_the_marking_and_an_unmarked_item_is_official(dcr):
    victor = dcr.viewer("victor")
    assert victor.may_see("cra", None)
    assert victor.may_see("cra", "OFFICIAL-SENSITIVE")
    assert not victor.may_see("cra", "SECRET")
    assert not dcr.viewer("rita").may_see("cra", "OFFICIAL-SENSITIVE")  # the default clearance is OFFICIAL
    assert not dcr.viewer("dana").may_see("psu", "OFFICIAL")
    assert dcr.viewer("sam").may_see("psu", "TOP SECRET")


def test_an_item_without_an_organisation_belongs_to_the_department(dcr):
    assert dcr.viewer("victor").may_see(None, None)
    assert not dcr.viewer("rita").may_see(None, None)
    assert not dcr.viewer("sam").may_see(None, None)


def test_someone_the_file_does_not_list_sees_nothing(dcr):
    stranger = dcr.viewer("mallory")
    assert not stranger.may_see(None, None)
    assert not stranger.may_see("cra", "OFFICIAL")


def test_without_the_file_everyone_sees_everything(tmp_path, monkeypatch):
    undeclare(tmp_path, monkeypatch)
    single = load_organisations()
    assert not single.declared
    anyone = single.viewer("anyone")
    assert anyone.sees_everything and anyone.may_see("psu", "TOP SECRET")


def test_the_sql_condition_agrees_with_may_see_row_by_row(dcr):
    engine = create_engine("sqlite://")
    items = Table("item", MetaData(), Column("org", String), Column("marking", String))
    items.create(engine)
    rows = [{"org": org, "marking": marking} for org in (None, "dept", "cra", "cra-ops", "psu")
            for marking in (None, "OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET", "TOP SECRET")]
    with engine.begin() as conn:
        conn.execute(insert(items), rows)
        for user in ("victor", "dana", "rita", "sam", "mallory"):
            viewer = dcr.viewer(user)
            found = conn.execute(select(items.c.org, items.c.marking)
                                 .where(viewer.where(items.c.org, items.c.marking))).all()
            expected = [(r["org"], r["marking"]) for r in rows if viewer.may_see(r["org"], r["marking"])]
            assert sorted(found, key=str) == sorted(expected, key=str), user


def test_strongest_marking():
    assert strongest(None, "OFFICIAL", "SECRET", "OFFICIAL-SENSITIVE") == "SECRET"
    assert strongest(None, None) is None


@pytest.mark.parametrize(("text", "message"), [
    ("organisations:\n  - {id: dept, name: D}\n  - {id: cra, name: C, parent: nowhere}\n",
     "organisations[1].parent: unknown organisation 'nowhere'"),
    ("organisations:\n  - {id: a, name: A, parent: b}\n  - {id: b, name: B, parent: a}\n",
     "is its own ancestor (a cycle)"),
    ("organisations:\n  - {id: dept, name: D}\npeople:\n  - {user: v, organisations: [dept], clearance: SECERT}\n",
     "people[0].clearance: Input should be 'OFFICIAL', 'OFFICIAL-SENSITIVE', 'SECRET' or 'TOP SECRET'"),
    ("organisations:\n  - {id: dept, name: D}\npeople:\n  - {user: v, organisations: []}\n",
     "people[0].organisations: a person belongs to at least one organisation"),
    ("organisations:\n  - {id: dept, name: D}\npeople:\n  - {user: v}\n", "people[0].organisations: Field required"),
    ("organisations:\n  - {id: dept, name: D}\npeople:\n  - {user: v, organisations: [cra]}\n",
     "people[0].organisations[0]: unknown organisation 'cra'"),
    ("organisations:\n  - {id: dept, name: D}\n  - {id: dept, name: E}\n",
     "organisations[1].id: 'dept' is declared twice"),
    ("organisations:\n  - {id: dept, name: D}\n  - {id: other, name: O}\n",
     "exactly one organisation (the department) has no parent"),
    ("organisations:\n  - {id: dept, name: D}\n  - {id: cra, name: C, parent: dept, shares_counts: true}\n",
     "organisations[1].shares_counts: only a sealed organisation shares counts"),
])
def test_a_bad_file_is_one_line_naming_the_file_and_the_field(tmp_path, text, message):
    path = tmp_path / "organisations.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_organisations(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ADC_ORGANISATIONS", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="file not found"):
        load_organisations()


def test_each_organisations_data_protection_team_the_departments_acting_on_all_not_sealed(dcr):
    teams = DataProtectionTeams(dcr, default=("dpo",))
    assert teams.of("cra") == ("dana",)  # the agency has no team of its own: the department's acts
    assert teams.of(None) == ("dana",)
    assert teams.of("psu") == ("sam",)  # sealed: its own team only
    assert teams.of("gone") == ()  # an organisation the file no longer declares: nobody, not the wrong people


def test_the_nearest_team_comes_first(tmp_path):
    path = tmp_path / "organisations.yaml"
    path.write_text(DCR + "  - {user: cara, organisations: [cra], data_protection: true}\n")
    assert DataProtectionTeams(load_organisations(path), default=()).of("cra-ops") == ("cara", "dana")


def test_without_the_file_one_team_acts_everywhere():
    teams = DataProtectionTeams.given(("dana", "erin"))
    assert teams.of(None) == teams.of("anything") == ("dana", "erin")


def test_the_auth_managers_groups_give_organisations_and_clearance_with_a_persons_own_entry(tmp_path):
    path = tmp_path / "organisations.yaml"
    path.write_text(DCR + "groups:\n  - {group: cra-staff, organisations: [cra], clearance: OFFICIAL-SENSITIVE}\n"
                          "  - {group: psu-readers, organisations: [psu], clearance: SECRET}\n")
    organisations = load_organisations(path)
    nobody_listed = organisations.viewer("ursula", groups=["cra-staff", "other"])
    assert nobody_listed.organisations == {"cra", "cra-ops"} and nobody_listed.clearance == "OFFICIAL-SENSITIVE"
    rita = organisations.viewer("rita", groups=["psu-readers"])  # her own entry (cra, OFFICIAL) and the group's
    assert rita.organisations == {"cra", "cra-ops", "psu"} and rita.clearance == "SECRET"
    assert organisations.viewer("ursula", groups=["other"]).organisations == frozenset()


def test_a_group_of_an_unknown_organisation_is_refused(tmp_path):
    path = tmp_path / "organisations.yaml"
    path.write_text(DCR + "groups:\n  - {group: mi7-staff, organisations: [mi7]}\n")
    with pytest.raises(ConfigError, match=r"groups\[0\]\.organisations\[0\]: unknown organisation 'mi7'"):
        load_organisations(path)


def test_groups_come_from_simple_auth_managers_teams_and_fab_or_keycloaks_roles():
    simple = SimpleAuthManagerUser(username="ursula", role="viewer", teams=["cra-staff"])
    assert groups_of(simple) == ("cra-staff",)
    fab = SimpleNamespace(roles=[SimpleNamespace(name="Viewer"), SimpleNamespace(name="psu-readers")])
    assert groups_of(fab) == ("Viewer", "psu-readers")
    assert groups_of(SimpleNamespace()) == ()
