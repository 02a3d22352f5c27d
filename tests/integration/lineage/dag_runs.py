"""Run a DAG with dag.test(), once per logical date, in this process (the lineage tests start it as a
subprocess with their own AIRFLOW_HOME): python dag_runs.py DAG_FILE DAG_ID DATE [DATE ...]"""

import sys
from datetime import UTC, datetime

from airflow.dag_processing.dagbag import DagBag


def main(dag_file: str, dag_id: str, *dates: str) -> int:
    bag = DagBag(dag_folder=dag_file)
    if bag.import_errors:
        print(bag.import_errors, file=sys.stderr)
        return 1
    dag = bag.get_dag(dag_id)
    for text in dates:
        run = dag.test(logical_date=datetime.fromisoformat(text).replace(tzinfo=UTC))
        print(f"RUN {text} {run.state}", flush=True)
        if run.state != "success":
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
