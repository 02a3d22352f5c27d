"""make demo-check: drive the pipeline through Airflow's REST API and check what the demo promises.

Each stage triggers or waits for a DAG and checks the register; a failed check does not stop the
later stages, so one run reports everything that is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from adc.demo.runner import Api, Demo, environment


@dataclass
class Report:
    checks: list[tuple[bool, str]] = field(default_factory=list)

    def check(self, ok: bool, text: str) -> bool:
        self.checks.append((bool(ok), text))
        print(f"  [{'ok' if ok else 'FAIL'}] {text}", flush=True)
        return bool(ok)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for ok, _ in self.checks)

    def render(self) -> str:
        failed = [text for ok, text in self.checks if not ok]
        lines = [f"{len(self.checks) - len(failed)} of {len(self.checks)} checks passed"]
        lines += [f"  FAILED: {text}" for text in failed]
        return "\n".join(lines)


def run_pipeline(api: Api, env: dict[str, str], demo: Demo, *, timeout: float) -> Report:
    report = Report()
    print("Harvest")
    api.wait_for_dag("adc_harvest")
    run_id = api.trigger("adc_harvest")
    state = api.wait_for_run("adc_harvest", run_id, timeout)
    report.check(state == "success", f"adc_harvest {run_id} finished {state}")
    with environment(env):
        harvest_checks(report)
    return report


def harvest_checks(report: Report) -> None:
    from adc.register.db import register_engine
    from adc.register.store import count_current, latest_complete_run

    engine = register_engine()
    report.check(latest_complete_run(engine) is not None, "a complete harvest run is in the register")
    report.check(count_current(engine) > 0, f"{count_current(engine)} datasets observed")

