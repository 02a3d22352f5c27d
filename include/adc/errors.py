"""Errors a person acts on. Each renders as one readable line (the CLI prints it and exits 2)."""

from __future__ import annotations


class AdcError(Exception):
    """Base class: the message is complete and fit to show a user as it is."""


class ConfigError(AdcError):
    """A configuration file or setting is wrong; the message names the file and the field."""


class ImportFileError(AdcError):
    """A register or RoPA import file has bad rows; nothing was applied."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{path}: {len(problems)} problem(s), nothing imported: {shown}{more}")


class RegisterBusyError(AdcError):
    """Another reconciliation holds the register lock."""


class ReviewRefused(AdcError):
    """A review answer breaks a rule (wrong person, four eyes, already answered, bad params)."""


class NotEntitled(ReviewRefused):
    """The person who answered has no right to answer that question; it stays open for those who do."""
