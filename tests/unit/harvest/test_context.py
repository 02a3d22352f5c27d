"""How failures are named and described: stable kinds, one line, never a value being read."""

from botocore.exceptions import ClientError, EndpointConnectionError

from adc.aws import error_kind
from adc.harvest.context import failure


def client_error(code: str, message: str = "the service's words") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "ListObjectsV2")


def test_aws_errors_have_a_stable_kind_and_one_line():
    assert error_kind(client_error("SlowDown")) == "Throttling"  # what is left after the adaptive retries
    assert error_kind(client_error("ThrottlingException")) == "Throttling"
    assert error_kind(client_error("AccessDenied")) == "AccessDenied"
    assert error_kind(client_error("NoSuchBucket")) == "NoSuchBucket"
    assert failure(client_error("AccessDenied", "Access Denied")) == "AccessDenied: Access Denied (ListObjectsV2)"
    unreachable = EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    assert error_kind(unreachable) == "EndpointUnreachable"
    assert failure(unreachable).startswith("EndpointConnectionError: Could not connect")


def test_other_failures_are_named_by_type_only():
    value = "QQ123456A"
    assert failure(ValueError(f"could not convert string to float: {value!r}")) == "ValueError (see the task log)"
