"""Run benchmarks: `python -m bench` runs them all, `python -m bench harvest reconcile` some.

Each benchmark module under bench/ defines ``run(quick: bool) -> str`` returning a Markdown section;
the section replaces its previous version in docs/benchmarks.md. Ratios are always against a baseline
measured in the same run, so results compare across machines.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from bench.common import write_section

HERE = Path(__file__).parent


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name not in ("common", "__main__"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {', '.join(available())})")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the benchmarks themselves run")
    parser.add_argument("--no-write", action="store_true", help="print results without updating docs/benchmarks.md")
    args = parser.parse_args(argv)
    for name in args.names or available():
        if name not in available():
            parser.error(f"no benchmark {name!r} (have: {', '.join(available())})")
        print(f"== {name}", flush=True)
        section = importlib.import_module(f"bench.{name}").run(quick=args.quick)
        print(section, flush=True)
        if not args.no_write and not args.quick:
            write_section(name, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
