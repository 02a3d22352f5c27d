"""One list of services (adc.model.Service), one harvester per service, and everything else derived from it."""

import pytest

from adc import naming
from adc.cli import build_parser
from adc.config import SourcesFile
from adc.harvest import registry, s3
from adc.harvest.base import Harvester, Located
from adc.harvest.registry import HARVESTERS
from adc.model import Service

REGION, ACCOUNT = "eu-west-2", "123456789012"


def test_every_service_has_its_module_as_its_harvester():
    assert list(HARVESTERS) == list(Service)
    for service, harvester in HARVESTERS.items():
        assert isinstance(harvester, Harvester)
        assert (harvester.__name__, harvester.name) == (f"adc.harvest.{service}", service)


def test_a_module_that_is_not_a_harvester_is_refused(monkeypatch):
    monkeypatch.delattr(s3, "locate")
    with pytest.raises(TypeError, match="adc.harvest.s3 is not the Harvester of"):
        registry._harvester(Service.S3)


@pytest.mark.parametrize("service", list(Service))
def test_a_scope_is_located_by_what_it_covers(service):
    harvester = HARVESTERS[service]
    covered = harvester.covers(REGION, ACCOUNT, "scope-1")
    expected = Located("scope-1", REGION, ACCOUNT) if harvester.regional else Located("scope-1")
    assert harvester.locate(covered) == expected
    others = [h for h in HARVESTERS.values() if h is not harvester]
    assert all(h.locate(covered) is None for h in others)


def test_a_location_inside_a_scope_is_located_to_it():
    assert HARVESTERS["glue"].locate(naming.glue(REGION, ACCOUNT, "sales", "orders")) == Located("sales", REGION,
                                                                                                  ACCOUNT)
    assert HARVESTERS["s3"].locate(naming.s3("bucket", "a/b")) == Located("bucket")


def test_sources_yaml_and_the_cli_offer_the_services():
    source = SourcesFile.model_validate({"sources": [{"name": "a", "region": REGION}]}).sources[0]
    assert source.services == list(Service)
    parser = build_parser()
    assert [parser.parse_args(["datasets", "--service", str(s)]).service for s in Service] == list(Service)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["datasets", "--service", "ec2"])
