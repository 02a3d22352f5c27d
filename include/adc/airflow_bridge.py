"""The one adapter module of the adc package that imports Airflow.

Everything else in adc runs without Airflow; these helpers reach Airflow's connections (and so its
secrets backends) only when Airflow is installed and the connection exists.
"""

from __future__ import annotations

from typing import Any


def get_connection(conn_id: str) -> Any | None:
    """The Airflow connection, or None when Airflow is absent or does not define it."""
    try:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:
        return None
    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None
    except Exception:  # noqa: BLE001 - an unconfigured Airflow (no metadata DB) means "no connection"
        return None


def connection_uri(conn_id: str) -> str | None:
    """A SQLAlchemy URL built from an Airflow connection (postgres connections use psycopg 3)."""
    conn = get_connection(conn_id)
    if conn is None:
        return None
    uri = conn.get_uri()
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix) :]
    return uri


def aws_session(aws_conn_id: str, region: str) -> tuple[Any, str | None, str | None]:
    """(boto3 session, endpoint URL, STS endpoint URL) from an Airflow AWS connection.

    AwsBaseHook does the credential work (keys, profiles, the connection's own role chaining);
    the endpoint override is how the demo and the tests reach moto.
    """
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="sts", region_name=region)
    session = hook.get_session(region_name=region)
    endpoint = hook.conn_config.endpoint_url
    return session, endpoint, hook.conn_config.get_service_endpoint_url("sts")


# Shared by every ADC DAG (plain values: importing this module does not import Airflow).
DEFAULT_ARGS = {
    "owner": "adc",
    "retries": 2,
    "retry_delay": 30,  # seconds; AWS throttling is already retried inside each call
}
HARVEST_ASSET_URI = "adc://register/harvest"
