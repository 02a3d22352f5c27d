"""The adc command: --help on every command, and errors as one readable line with exit code 2."""

import argparse
import subprocess
import sys

import pytest

from adc.cli import build_parser, main


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,)
                yield from _commands(sub, prefix + (name,))


COMMANDS = list(_commands(build_parser()))


def test_there_are_commands():
    assert ("demo", "up") in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as caught:
        main([*command, "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: adc " + " ".join(command))
    assert len(out.splitlines()) >= 3  # a description, not just a usage line


def test_an_error_is_one_line_and_exit_2():
    result = subprocess.run([sys.executable, "-m", "adc.cli", "demo", "seed", "http://127.0.0.1:1"],
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "AWS_MAX_ATTEMPTS": "1", "HOME": "/nonexistent"})
    assert result.returncode == 2
    assert result.stderr.startswith("adc: error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "commands" in capsys.readouterr().out
