"""Imports stand at the top of a module (issue 12). One inside a function is there only to keep DAG
parsing or `adc --help` fast, or to reach Airflow where it is installed, and its comment says which."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "include" / "adc").rglob("*.py"), *(ROOT / "dags").glob("*.py"),
                  *(ROOT / "plugins").glob("*.py")])
REASONS = ("keeps DAG parsing fast", "keeps adc --help fast", "Airflow imported when called",
           "api-server's first request")


def _unexplained(path: Path) -> list[str]:
    """file:line of each import inside a function whose function has no comment giving a reason."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[str] = []

    def visit(node: ast.AST, function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child)
            elif isinstance(child, ast.Import | ast.ImportFrom) and function is not None:
                body = "\n".join(lines[function.lineno - 1:function.end_lineno])
                if not any(reason in body for reason in REASONS):
                    found.append(f"{path.relative_to(ROOT)}:{child.lineno}")
            else:
                visit(child, function)

    visit(ast.parse("\n".join(lines)), None)
    return found


def test_every_import_inside_a_function_says_why():
    assert [where for path in SOURCES for where in _unexplained(path)] == []


def _loaded_after(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize(("code", "heavy"), [
    pytest.param("from adc.cli import build_parser; build_parser()",
                 {"sqlalchemy", "pydantic", "yaml", "adc.config", "adc.register.db"}, id="adc --help"),
    pytest.param("import runpy; [runpy.run_path(str(p)) for p in __import__('pathlib').Path('dags').glob('*.py')]",
                 {"pyarrow", "alembic", "adc.register.db", "adc.register.tables", "adc.harvest.runner",
                  "adc.lineage.tasks"}, id="DAG parsing"),
])
def test_what_must_start_fast_leaves_the_heavy_modules_unloaded(code, heavy):
    assert _loaded_after(code) & heavy == set()
