"""Run in a clean interpreter by test_dag_integrity: parse every DAG file with no connections or
variables available and print what was found as JSON."""

import json
import sys
import time
from pathlib import Path

HEAVY = ("pandas", "great_expectations", "pyarrow", "boto3", "careshare.ingest", "careshare.warehouse")


def main(dags_folder: str) -> None:
    import airflow  # noqa: F401  (Airflow's own import is not the DAG files' cost)
    from airflow.dag_processing.dagbag import DagBag

    report = {"files": {}, "dags": {}, "errors": {}, "heavy_modules": []}
    for path in sorted(Path(dags_folder).glob("*.py")):
        started = time.perf_counter()
        bag = DagBag(dag_folder=str(path), bundle_path=Path(dags_folder))
        report["files"][path.name] = time.perf_counter() - started
        report["errors"].update({str(k): str(v) for k, v in bag.import_errors.items()})
        for dag_id, dag in bag.dags.items():
            report["dags"][dag_id] = {
                "file": path.name,
                "owners": sorted({t.owner for t in dag.tasks}),
                "retries": min(t.retries for t in dag.tasks),
                "tags": sorted(dag.tags),
                "doc_md": dag.doc_md or "",
                "tasks": sorted(t.task_id for t in dag.tasks),
                "sensors": {
                    t.task_id: {"mode": t.mode, "poke_seconds": t.poke_interval, "timeout_seconds": t.timeout}
                    for t in dag.tasks
                    if hasattr(t, "poke_interval")
                },
            }
    report["heavy_modules"] = sorted(m for m in HEAVY if m in sys.modules)
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
