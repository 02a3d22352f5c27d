"""Datasets carry their source's organisation and the strongest marking; `adc datasets --as` shows each
person only what the one visibility rule lets them see."""

from __future__ import annotations

import json
import sqlite3
import textwrap

import pytest

from adc import naming
from adc.demo.files import encode
from adc.errors import ConfigError
from adc.harvest import runner
from adc.register import assets
from adc.register.db import make_engine
from tests.integration.harvest.test_harvest_cli import adc
from tests.support.harvest import aws, bucket
from tests.support.organisations import organisations_yaml

ORGANISATIONS = organisations_yaml(
    "{user: victor, organisations: [dept], clearance: OFFICIAL-SENSITIVE}",
    "{user: dana, organisations: [dept], clearance: SECRET, data_protection: true}",
    "{user: rita, organisations: [cra]}",
    "{user: sam, organisations: [psu], clearance: TOP SECRET}",
)
SOURCES = textwrap.dedent("""\
    sources:
      - {name: dept, region: eu-west-2, services: [s3], include: ["dept-*"], organisation: dept}
      - {name: psu, region: eu-west-2, services: [s3], include: ["psu-*"], organisation: psu, marking: SECRET}
""")
ROWS = [{"year": "2024", "count": "10"}]


def _tag(moto, name: str, marking: str) -> None:
    aws(moto, "s3").put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "gscp:marking", "Value": marking}]})


def setup(tmp_path, moto, sources: str = SOURCES) -> dict[str, str]:
    (tmp_path / "organisations.yaml").write_text(ORGANISATIONS)
    (tmp_path / "sources.yaml").write_text(sources)
    for name in ("dept-stats", "dept-cases", "dept-odd", "psu-watch"):
        bucket(moto, name, {"data/part.csv": encode(ROWS, "csv")})
    _tag(moto, "dept-cases", "official sensitive")
    _tag(moto, "dept-odd", "RESTRICTED")  # not a GSCP marking (any more)
    return {"ADC_REGISTER_URL": f"sqlite:///{tmp_path / 'register.db'}", "ADC_SOURCES": str(tmp_path / "sources.yaml"),
            "ADC_ORGANISATIONS": str(tmp_path / "organisations.yaml")}


def _seen(env: dict[str, str], *as_user: str) -> dict[str, tuple[str | None, str | None]]:
    listed = adc("datasets", "--json", *(("--as", *as_user) if as_user else ()), env=env)
    assert listed.returncode == 0, listed.stderr
    return {d["namespace"]: (d["organisation"], d["marking"]) for d in json.loads(listed.stdout)}


def test_each_person_lists_only_what_their_organisations_and_clearance_allow(tmp_path, moto):
    env = setup(tmp_path, moto)
    done = adc("harvest", "--json", env=env)
    assert done.returncode == 0, done.stderr

    assert _seen(env) == {  # the operator, holding the register's own connection
        "s3://dept-cases": ("dept", "OFFICIAL-SENSITIVE"),
        "s3://dept-odd": ("dept", None),
        "s3://dept-stats": ("dept", None),
        "s3://psu-watch": ("psu", "SECRET"),
    }
    assert set(_seen(env, "victor")) == {"s3://dept-cases", "s3://dept-odd", "s3://dept-stats"}
    assert set(_seen(env, "dana")) == {"s3://dept-cases", "s3://dept-odd", "s3://dept-stats"}  # SECRET: not sealed
    assert set(_seen(env, "rita")) == set()  # the agency's own: none here; the department's are above her
    assert set(_seen(env, "sam")) == {"s3://psu-watch"}
    assert _seen(env, "mallory") == {}  # not in the file: nothing

    text = adc("datasets", "--as", "victor", env=env)
    assert "psu" not in text.stdout + text.stderr
    assert text.stderr.strip() == "3 dataset(s)"


def test_a_marking_tag_that_is_no_gscp_marking_is_a_problem_not_a_guess(tmp_path, moto):
    env = setup(tmp_path, moto)
    assert adc("harvest", env=env).returncode == 0
    listed = json.loads(adc("datasets", "--json", env=env).stdout)
    (odd,) = [d for d in listed if d["namespace"] == "s3://dept-odd"]
    assert odd["marking"] is None
    assert any("gscp:marking" in p and "'RESTRICTED' is not a GSCP marking" in p for p in odd["problems"])


def test_a_source_of_an_unknown_organisation_is_refused_before_the_run_opens(tmp_path, moto):
    env = setup(tmp_path, moto, sources=SOURCES.replace("organisation: psu", "organisation: mi7"))
    done = adc("harvest", env=env)
    assert done.returncode == 2
    assert done.stderr.strip() == ("adc: error: sources.yaml: sources[1].organisation: unknown organisation 'mi7' "
                                   "(have: dept, cra, psu)")
    with sqlite3.connect(tmp_path / "register.db") as db:
        assert db.execute("SELECT count(*) FROM harvest_run").fetchone() == (0,)


def _events(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_lineage_goes_where_each_organisation_says_and_a_sealed_units_stays_inside_it(tmp_path, moto):
    """The default transport never names a sealed unit's dataset; its own transport gets them; a sealed
    unit without a transport of its own sends nothing anywhere."""
    env = setup(tmp_path, moto, sources=SOURCES + "  - {name: vault, region: eu-west-2, services: [s3], "
                                                  "include: [\"vault-*\"], organisation: vault}\n")
    bucket(moto, "vault-keys", {"data/part.csv": encode(ROWS, "csv")})
    (tmp_path / "psu-lineage.yml").write_text(
        f"transport: {{type: file, log_file_path: {tmp_path / 'psu.jsonl'}, append: true}}\n")
    (tmp_path / "organisations.yaml").write_text(
        ORGANISATIONS.replace("sealed: true}", "sealed: true, openlineage: psu-lineage.yml}")
        .replace("people:", "  - {id: vault, name: Key Vault Unit, parent: dept, sealed: true}\npeople:"))
    default = tmp_path / "default.jsonl"
    env |= {"OPENLINEAGE__TRANSPORT__TYPE": "file", "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(default),
            "OPENLINEAGE__TRANSPORT__APPEND": "true"}

    done = adc("harvest", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["lineage"]["withheld"] == 1  # vault-keys: no transport of its own

    everything_default = default.read_text()
    assert "psu-watch" not in everything_default and "vault-keys" not in everything_default
    datasets = {e["dataset"]["namespace"] for e in _events(default) if "dataset" in e}
    assert datasets == {"s3://dept-stats", "s3://dept-cases", "s3://dept-odd"}
    run_inputs = {d["namespace"] for e in _events(default) if "run" in e for d in e.get("inputs", [])}
    assert run_inputs == datasets  # the CLI run's own events name only what the default may see
    assert {e["dataset"]["namespace"] for e in _events(tmp_path / "psu.jsonl")} == {"s3://psu-watch"}


def test_the_shared_harvest_dag_never_plans_a_sealed_units_source(tmp_path, moto, monkeypatch):
    """Every organisation reads the harvest DAG (labels, XCom, logs): a sealed unit's buckets stay out of it."""
    for key, value in setup(tmp_path, moto).items():
        monkeypatch.setenv(key, value)
    planned = runner.plan_run("manual__1", requested=None, scheduled_at=None)
    assert {unit["source"] for unit in planned["units"]} == {"dept"}
    assert "psu" not in json.dumps(planned)
    with pytest.raises(ConfigError, match="'psu' belongs to a sealed organisation: harvest it where only its"):
        runner.plan_run("manual__2", requested=["psu"], scheduled_at=None)


def test_a_dataset_is_marked_at_least_as_its_asset_is(tmp_path, moto, monkeypatch):
    """dept-stats carries no marking of its own; the SECRET asset covering it hides it from victor."""
    env = setup(tmp_path, moto)
    assert adc("harvest", env=env).returncode == 0
    assert "s3://dept-stats" in _seen(env, "victor")
    monkeypatch.setenv("ADC_REGISTER_URL", env["ADC_REGISTER_URL"])
    engine = make_engine(env["ADC_REGISTER_URL"])
    record = assets.AssetRecord("IA-0001", {"name": "Statistics", "security_classification": "SECRET"},
                                locations=[("s3://dept-stats", naming.parse_location("s3://dept-stats"))])
    with engine.begin() as conn:
        assets.create(conn, record, actor="test", cause_kind="import", cause=None)
    engine.dispose()
    assert "s3://dept-stats" not in _seen(env, "victor")
    assert "s3://dept-stats" in _seen(env, "dana")  # cleared to SECRET


def test_a_shared_harvest_never_proves_a_sealed_units_bucket_absent(tmp_path, moto, monkeypatch):
    """The sealed unit's source would list psu-watch; a run without that source cannot say it is gone,
    even when another source's complete listing (include "*") lacks it."""
    env = setup(tmp_path, moto, SOURCES.replace('include: ["dept-*"]', 'include: ["*"]'))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert adc("register", "migrate", env=env).returncode == 0
    engine = make_engine(env["ADC_REGISTER_URL"])
    record = assets.AssetRecord("IA-0009", {"name": "Watch list", "organisation": "psu"},
                                locations=[("s3://psu-gone", naming.parse_location("s3://psu-gone"))])
    with engine.begin() as conn:
        assets.create(conn, record, actor="test", cause_kind="import", cause=None)
    planned = runner.plan_run("manual__1", requested=None, scheduled_at=None)
    assert {unit["source"] for unit in planned["units"]} == {"dept"}
    for unit in planned["units"]:
        runner.run_planned_unit(unit, "manual__1")
    summary = runner.finish_planned_run("manual__1", planned["units"], planned["errors"])
    assert summary["coverage"]["absent"] == 0
    engine.dispose()
