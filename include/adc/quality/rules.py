"""quality.yaml: the data quality people expect of a dataset, or of every dataset of an asset.

``include/config/quality.yaml`` (override: ``ADC_QUALITY``) lists expectations, each naming one
dataset or one asset and its rules in DQDL (:mod:`adc.quality.dqdl`). The rules are parsed when the
file is read, so a mistake is a one-line error naming the file, the entry and the rule. Without the
file nothing is expected. See docs/quality.md.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adc.config import PROJECT_ROOT, load_yaml
from adc.quality.dqdl import AnyRule, parse_ruleset

DEFAULT_QUALITY = PROJECT_ROOT / "include" / "config" / "quality.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectation(_Strict):
    """The rules one dataset, or every dataset of one asset, is expected to meet."""

    dataset: str | None = Field(
        None, min_length=1, description="A dataset URI as `adc datasets` shows it (namespace/name), e.g. "
        "s3://dcr-prod-casework/applications.")
    asset: str | None = Field(
        None, min_length=1, description="An information asset's id, e.g. IA-0001: the rules apply to every "
        "dataset of the asset.")
    rules: str = Field(
        ..., description="A DQDL ruleset, 'Rules = [ rule, ... ]' (docs/quality.md lists what ADC evaluates).")

    @field_validator("dataset")
    @classmethod
    def _a_uri(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError(f"{value!r} is not a dataset URI such as s3://bucket/prefix (see adc datasets)")
        return value

    @field_validator("rules")
    @classmethod
    def _parsed(cls, value: str) -> str:
        parse_ruleset(value)  # a DqdlError is a ValueError: pydantic names the entry and field
        return value

    @model_validator(mode="after")
    def _one_target(self) -> Expectation:
        if (self.dataset is None) == (self.asset is None):
            raise ValueError("give exactly one of dataset or asset")
        return self

    @property
    def ruleset(self) -> tuple[AnyRule, ...]:
        """The rules, parsed (cached by their text)."""
        return parse_ruleset(self.rules)

    @property
    def target(self) -> str:
        """What the rules apply to, as a person reads it: 'dataset URI' or 'asset ID'."""
        return f"dataset {self.dataset}" if self.dataset is not None else f"asset {self.asset}"


class QualityFile(_Strict):
    expectations: list[Expectation] = Field(
        default_factory=list, description="The expectations, each naming one dataset or one asset.")

    @model_validator(mode="after")
    def _each_once(self) -> QualityFile:
        seen: dict[tuple[str, str], int] = {}
        for i, entry in enumerate(self.expectations):
            key = ("dataset", entry.dataset) if entry.dataset is not None else ("asset", entry.asset or "")
            if key in seen:
                raise ValueError(f"expectations[{i}].{key[0]}: {key[1]!r} is declared in expectations[{seen[key]}] "
                                 "too; put all its rules in one entry")
            seen[key] = i
        return self


def quality_path(path: str | os.PathLike[str] | None = None) -> tuple[Path, bool]:
    """The file to read, and whether someone named it (a named file must exist)."""
    named = path or os.environ.get("ADC_QUALITY")
    return Path(named or DEFAULT_QUALITY), bool(named)


def load_quality(path: str | os.PathLike[str] | None = None) -> QualityFile:
    """quality.yaml (or ADC_QUALITY), validated with its rules parsed; no expectations without it."""
    file, named = quality_path(path)
    if not named and not file.exists():
        return QualityFile()
    return load_yaml(file, QualityFile, "a mapping with an 'expectations' list at the top")
