"""boto3 clients for a source: from an Airflow connection (AwsBaseHook) or boto3's default chain,
with adaptive retries, an optional assumed role (multi-account) and endpoint overrides.

A client factory is built once per (source, region) and shared by a harvest unit's threads;
boto3 clients are thread-safe, sessions are not, so clients are created up front under a lock.

botocore logs every request and response at DEBUG; what of it would put a credential or a sampled
value in a log is blanked first (``WireLogRedaction``), whoever turns DEBUG on.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.utils import parse_timestamp

from adc.config import Source
from adc.connections import aws_session

# Adaptive mode adds client-side rate limiting on top of exponential backoff: the right thing for
# a crawler that shares an account's API quotas with production workloads.
RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": int(os.environ.get("ADC_AWS_MAX_ATTEMPTS", "8"))},
    connect_timeout=float(os.environ.get("ADC_AWS_CONNECT_TIMEOUT", "5")),
    read_timeout=float(os.environ.get("ADC_AWS_READ_TIMEOUT", "30")),
    max_pool_connections=32,
    user_agent_extra="adc-harvester",
)


class WireLogRedaction(logging.Filter):
    """Blank, in botocore's DEBUG records, what no log may hold (see DESIGN.md): the session token
    that signs every request of temporary credentials (an assumed role's), and response bodies,
    which carry an assumed role's keys (STS) and the items a DynamoDB Scan samples."""

    LOGGERS = ("botocore.endpoint", "botocore.auth", "botocore.parsers")
    TOKEN = re.compile(r"""(x-amz-security-token['"]?\s*[:=]\s*(?:b?['"])?)[^'"\s&,}>]+""", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "botocore.parsers" and str(record.msg).startswith("Response body"):
            record.msg, record.args = "Response body: (not logged: it may hold credentials or sampled values)", ()
            return True
        message = record.getMessage()
        redacted = self.TOKEN.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_REDACTION = WireLogRedaction()
for _name in WireLogRedaction.LOGGERS:
    logging.getLogger(_name).addFilter(_REDACTION)


@dataclass
class AwsClients:
    """Clients for one source in one region; ``account`` is resolved through STS once."""

    source: Source
    region: str
    _session: Any = None
    _endpoint: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _account: str | None = None

    def __post_init__(self) -> None:
        if self.source.aws_conn_id:
            session, endpoint, sts_endpoint = aws_session(self.source.aws_conn_id, self.region)
        else:
            session = boto3.session.Session(region_name=self.region)
            endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
            sts_endpoint = endpoint
        if self.source.role_arn:
            session = _assume_role(session, self.source, self.region, sts_endpoint)
        # botocore parses every timestamp with dateutil: a third of a big S3 listing's CPU
        session._session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_timestamp)
        self._session = session
        self._endpoint = endpoint

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service, region_name=self.region, endpoint_url=self._endpoint, config=RETRY_CONFIG
                )
            return self._clients[service]

    @property
    def account(self) -> str:
        if self._account is None:
            self._account = self.client("sts").get_caller_identity()["Account"]
        return self._account


def _timestamp(value: Any) -> Any:
    """ISO 8601 (each object of a listing) the quick way; anything else as botocore parses it."""
    if isinstance(value, str) and len(value) > 10 and value[10] == "T":
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return parse_timestamp(value)


def _assume_role(session: Any, source: Source, region: str, sts_endpoint: str | None) -> Any:
    """A session on the role's credentials, which botocore renews through STS before they expire (an
    hour by default): a harvest that outlasts them goes on mid-listing instead of failing. The role is
    assumed here once, so a role that cannot be assumed fails the source at once, as before."""
    sts = session.client("sts", region_name=region, endpoint_url=sts_endpoint, config=RETRY_CONFIG)
    kwargs = {"RoleArn": source.role_arn, "RoleSessionName": f"adc-harvest-{source.name}"[:64]}
    if source.external_id:
        kwargs["ExternalId"] = source.external_id

    def assume() -> dict[str, str]:
        creds = sts.assume_role(**kwargs)["Credentials"]
        return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"], "expiry_time": creds["Expiration"].isoformat()}

    role = botocore.session.Session()
    # no public setter for refreshable credentials; Airflow's AwsBaseHook sets them the same way
    role._credentials = RefreshableCredentials.create_from_metadata(assume(), assume, method="assume-role")
    return boto3.session.Session(botocore_session=role, region_name=region)


def error_kind(exc: BaseException) -> str:
    """A short, stable name for why an AWS call failed (the coverage record's error_kind)."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        if code in ("SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
                    "TooManyRequestsException"):
            return "Throttling"
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403"):
            return "AccessDenied"
        return code
    if isinstance(exc, (EndpointConnectionError, BotoConnectionError)):
        return "EndpointUnreachable"
    return type(exc).__name__
