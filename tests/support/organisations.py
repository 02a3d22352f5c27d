"""The organisations tests declare: the department, its agency and its sealed unit (docs/organisations.md)."""

from __future__ import annotations

from pathlib import Path

TREE = """\
organisations:
  - {id: dept, name: Department for Civic Registration}
  - {id: cra, name: Civic Registration Agency, parent: dept}
  - {id: psu, name: Protective Security Unit, parent: dept, sealed: true}
"""


def organisations_yaml(*people: str, tree: str = TREE) -> str:
    """An organisations.yaml of ``tree`` and these people (each a flow mapping: ``{user: v, ...}``)."""
    return tree + "people:\n" + "".join(f"  - {person}\n" for person in people)


def declare(folder: Path, monkeypatch, text: str) -> Path:
    """Write organisations.yaml in ``folder`` and point ADC_ORGANISATIONS at it."""
    path = folder / "organisations.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("ADC_ORGANISATIONS", str(path))
    return path


def undeclare(folder: Path, monkeypatch) -> None:
    """No organisations.yaml anywhere: everything is one organisation."""
    monkeypatch.delenv("ADC_ORGANISATIONS", raising=False)
    monkeypatch.setattr("adc.organisations.DEFAULT_ORGANISATIONS", folder / "absent.yaml")
