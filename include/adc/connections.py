"""What ADC reads of Airflow's connections and configuration: the register URL, the AWS session and
the OpenLineage configuration.

It imports nothing else from adc, so the settings, the AWS layer and the lineage emitter below the
Airflow adapter (adc.airflow) can use it without an import running back up. Airflow is imported
only when a helper is called, and every helper answers None (or its fallback) without Airflow: adc
runs without it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def get_connection(conn_id: str) -> Any | None:
    """The Airflow connection, or None when Airflow is absent or does not define it."""
    try:  # Airflow imported when called: adc runs without it
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


def register_url(home: Path) -> str:
    """ADC_REGISTER_URL, else the Airflow connection adc_register, else SQLite under ``home``."""
    url = os.environ.get("ADC_REGISTER_URL") or connection_uri("adc_register")
    if url:
        return url
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'register.db'}"


def aws_session(aws_conn_id: str, region: str) -> tuple[Any, str | None, str | None]:
    """(boto3 session, endpoint URL, STS endpoint URL) from an Airflow AWS connection.

    AwsBaseHook does the credential work (keys, profiles, the connection's own role chaining);
    the endpoint override is how the demo and the tests reach moto.
    """
    # Airflow imported when called: adc runs without it
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="sts", region_name=region)
    session = hook.get_session(region_name=region)
    endpoint = hook.conn_config.endpoint_url
    return session, endpoint, hook.conn_config.get_service_endpoint_url("sts")


# --------------------------------------------------------------------------- OpenLineage


def _airflow_speaks_for_openlineage() -> bool:
    """Inside Airflow (a task, the scheduler) ask its [openlineage] section; in a shell only when the
    environment sets it (AIRFLOW__OPENLINEAGE__*): importing Airflow there costs seconds and
    reconfigures logging onto stdout, where the CLI prints its results."""
    return "airflow" in sys.modules or any(key.startswith("AIRFLOW__OPENLINEAGE__") for key in os.environ)


def openlineage_config() -> dict[str, Any] | None:
    """The OpenLineage client configuration Airflow's provider uses ([openlineage] config_conn_id,
    config_path or transport), or None when Airflow configures none (or is absent): the client then
    falls back to its standard sources (openlineage.yml, OPENLINEAGE_CONFIG, OPENLINEAGE__*,
    OPENLINEAGE_URL). ADC's own events and Airflow's run events therefore go to the same place."""
    if not _airflow_speaks_for_openlineage():
        return None
    try:  # Airflow imported when called: adc runs without it
        from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter
    except ImportError:
        return None
    return OpenLineageAdapter().get_openlineage_config()


def openlineage_namespace() -> str | None:
    """The job namespace of Airflow's OpenLineage events ([openlineage] namespace), None outside Airflow."""
    if not _airflow_speaks_for_openlineage():
        return None
    try:  # Airflow imported when called: adc runs without it
        from airflow.providers.openlineage import conf
    except ImportError:
        return None
    return conf.namespace()
