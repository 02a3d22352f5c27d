"""Golden files: what a test produced must equal the file it is compared with.

After a deliberate change, `pytest --update-golden` rewrites the files instead of comparing; review
the diff before committing it. (tests/conftest.py sets UPDATE from the option.)
"""

from __future__ import annotations

from pathlib import Path

UPDATE = False


def assert_golden(path: Path, text: str) -> None:
    """``text`` equals the golden file at ``path`` (or becomes it, with --update-golden)."""
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path}: run pytest with --update-golden once and review it"
    assert text == path.read_text(), f"{path.name} differs: rerun with --update-golden if the change is deliberate"
