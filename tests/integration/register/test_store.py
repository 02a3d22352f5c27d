"""Harvest runs into the register: staging, atomic merge, versions, coverage-gated absence."""

import pytest
from sqlalchemy import func, select, true

from adc import naming
from adc.model import Classification, Field, ObservedDataset, ScopeOutcome, ScopeStatus, Service
from adc.register import store
from adc.register.tables import harvest_run, observation, observed_dataset


def dataset(name: str, *columns: str, bucket: str = "b") -> ObservedDataset:
    fields = [Field(c, classification=Classification.PERSONAL if c == "email" else Classification.NONE)
              for c in columns]
    return ObservedDataset(naming.s3(bucket, name), Service.S3, "src", bucket, region="eu-west-2", fields=fields,
                           object_count=3, size_bytes=100)


def scope(bucket: str = "b", status: ScopeStatus = ScopeStatus.COMPLETE) -> ScopeOutcome:
    return ScopeOutcome("src", Service.S3, "eu-west-2", bucket, naming.s3(bucket), status)


def harvest(engine, run_id: str, units: list[tuple[ScopeOutcome, list[ObservedDataset]]]) -> dict:
    store.start_run(engine, run_id, ["src"])
    for outcome, datasets in units:
        store.record_unit(engine, run_id, outcome, iter(datasets))
    return store.finish_run(engine, run_id)


def current(engine) -> dict[str, bool]:
    everything = store.current_datasets(engine, visible=true(), include_gone=True)
    return {d["id"]["name"]: d["gone"] for d in everything}


def test_first_run_adds_every_dataset_and_rerunning_finish_is_a_no_op(register):
    merge = harvest(register, "r1", [(scope(), [dataset("a", "x"), dataset("b", "email")])])
    assert merge == {"added": 2, "changed": 0, "unchanged": 0, "gone": 0}
    assert store.finish_run(register, "r1") == merge
    assert current(register) == {"a": False, "b": False}
    with register.connect() as conn:
        assert conn.execute(select(func.count()).select_from(observation)).scalar() == 0  # staging emptied
        assert conn.execute(select(observed_dataset.c.personal_data).where(observed_dataset.c.name == "b")).scalar()


def test_changes_make_versions_and_statistics_do_not(register):
    harvest(register, "r1", [(scope(), [dataset("a", "x")])])
    bigger = dataset("a", "x")
    bigger.object_count = 40
    assert harvest(register, "r2", [(scope(), [bigger])])["unchanged"] == 1
    assert harvest(register, "r3", [(scope(), [dataset("a", "x", "y")])])["changed"] == 1
    with register.connect() as conn:
        versions = conn.execute(select(func.count()).select_from(observed_dataset)).scalar()
        count = conn.execute(
            select(observed_dataset.c.object_count).where(observed_dataset.c.valid_to.is_(None))
        ).scalar()
    assert versions == 2
    assert count == 3


def test_only_a_complete_scope_makes_a_dataset_gone(register):
    harvest(register, "r1", [(scope("b"), [dataset("a", "x")]), (scope("c"), [dataset("k", "x", bucket="c")])])
    merge = harvest(register, "r2", [(scope("b"), []), (scope("c", ScopeStatus.FAILED), [])])
    assert merge["gone"] == 1
    assert current(register) == {"a": True, "k": False}
    # it comes back: a new live version
    harvest(register, "r3", [(scope("b"), [dataset("a", "x")])])
    assert current(register)["a"] is False


def test_a_retried_unit_replaces_its_staging(register):
    store.start_run(register, "r1", ["src"])
    store.record_unit(register, "r1", scope(), [dataset("a", "x"), dataset("b", "x")])
    store.record_unit(register, "r1", scope(), [dataset("a", "x")])
    assert store.finish_run(register, "r1")["added"] == 1


@pytest.mark.reliability("faults")
def test_a_failed_run_changes_nothing(register):
    harvest(register, "r1", [(scope(), [dataset("a", "x")])])
    store.start_run(register, "r2", ["src"])
    store.record_unit(register, "r2", scope(), [dataset("z", "x")])
    store.fail_run(register, "r2", "killed")
    assert current(register) == {"a": False}
    with register.connect() as conn:
        assert conn.execute(select(harvest_run.c.status).where(harvest_run.c.run_id == "r2")).scalar() == "failed"
    assert store.latest_complete_run(register) == "r1"
