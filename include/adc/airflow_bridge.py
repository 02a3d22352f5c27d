"""The one adapter module of the adc package that imports Airflow.

Everything else in adc runs without Airflow; these helpers reach Airflow's connections (and so its
secrets backends) only when Airflow is installed and the connection exists.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from functools import cache
from typing import Any

from openlineage.client.event_v2 import InputDataset, OutputDataset

from adc.naming import DatasetId


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


# Shared by every ADC DAG (plain values: importing this module does not import Airflow).
DEFAULT_ARGS = {
    "owner": "adc",
    "retries": 2,
    "retry_delay": 30,  # seconds; AWS throttling is already retried inside each call
}
HARVEST_ASSET_URI = "adc://register/harvest"


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


def lineage_task(python_callable=None, **kwargs):
    """``@task`` whose OpenLineage events carry the datasets the function reports.

    Airflow's provider reports a plain ``@task`` without inputs or outputs (Asset inlets are fixed
    when the DAG is parsed, and only some URI schemes translate). A function decorated with
    ``@lineage_task`` calls :func:`report_lineage` with what it actually read and wrote; the
    provider's COMPLETE (or FAIL) event of that task instance lists them, through the operator's
    ``get_openlineage_facets_on_complete``. Use it like ``@task`` (arguments, ``.expand``...).
    """
    # Airflow imported when called: adc runs without it
    from airflow.sdk.bases.decorator import task_decorator_factory

    return task_decorator_factory(python_callable, decorated_operator_class=_lineage_operator(), **kwargs)


def report_lineage(inputs: Iterable[DatasetId] = (), outputs: Iterable[DatasetId] = ()) -> None:
    """Inside a ``@lineage_task``: declare datasets (adc.naming.DatasetId) it read and wrote."""
    # Airflow imported when called: adc runs without it
    from airflow.sdk import get_current_context

    task = get_current_context()["task"]
    if not hasattr(task, "reported_lineage"):
        raise TypeError(f"report_lineage() is for @lineage_task functions; task {task.task_id!r} is not one")
    task.reported_lineage[0].update(inputs)
    task.reported_lineage[1].update(outputs)


@cache
def _lineage_operator() -> type:
    # Airflow imported when called: adc runs without it
    from airflow.providers.standard.decorators.python import _PythonDecoratedOperator

    class LineageTaskOperator(_PythonDecoratedOperator):
        """The operator behind @lineage_task: what the function reported becomes its lineage."""

        custom_operator_name = "@lineage_task"

        def execute(self, context):
            self.reported_lineage: tuple[set[DatasetId], set[DatasetId]] = (set(), set())  # a retry starts afresh
            return super().execute(context)

        def get_openlineage_facets_on_complete(self, task_instance):
            # imported when the task completes: keeps DAG parsing fast
            from airflow.providers.openlineage.extractors import OperatorLineage

            inputs, outputs = getattr(self, "reported_lineage", (set(), set()))
            return OperatorLineage(
                inputs=[InputDataset(namespace=d.namespace, name=d.name) for d in sorted(inputs)],
                outputs=[OutputDataset(namespace=d.namespace, name=d.name) for d in sorted(outputs)],
            )

        get_openlineage_facets_on_failure = get_openlineage_facets_on_complete

    return LineageTaskOperator
