"""``@lineage_task``: an Airflow ``@task`` whose OpenLineage events carry the datasets it reports."""

from __future__ import annotations

from collections.abc import Iterable

from airflow.providers.standard.decorators.python import _PythonDecoratedOperator
from airflow.sdk import get_current_context
from airflow.sdk.bases.decorator import task_decorator_factory
from openlineage.client.event_v2 import InputDataset, OutputDataset

from adc.naming import DatasetId


def lineage_task(python_callable=None, **kwargs):
    """``@task`` whose OpenLineage events carry the datasets the function reports.

    Airflow's provider reports a plain ``@task`` without inputs or outputs (Asset inlets are fixed
    when the DAG is parsed, and only some URI schemes translate). A function decorated with
    ``@lineage_task`` calls :func:`report_lineage` with what it actually read and wrote; the
    provider's COMPLETE (or FAIL) event of that task instance lists them, through the operator's
    ``get_openlineage_facets_on_complete``. Use it like ``@task`` (arguments, ``.expand``...).
    """
    return task_decorator_factory(python_callable, decorated_operator_class=LineageTaskOperator, **kwargs)


def report_lineage(inputs: Iterable[DatasetId] = (), outputs: Iterable[DatasetId] = ()) -> None:
    """Inside a ``@lineage_task``: declare datasets (adc.naming.DatasetId) it read and wrote."""
    task = get_current_context()["task"]
    if not hasattr(task, "reported_lineage"):
        raise TypeError(f"report_lineage() is for @lineage_task functions; task {task.task_id!r} is not one")
    task.reported_lineage[0].update(inputs)
    task.reported_lineage[1].update(outputs)


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
