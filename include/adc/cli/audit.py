"""adc audit-pack: the register, RoPA, reviews and findings as of a date, in one checksummed ZIP."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adc.cli import add_as_user, add_parser
from adc.cli.ropa import _login_name
from adc.errors import AdcError


def _audit_pack(args: argparse.Namespace) -> int:
    # imported when the command runs: keeps adc --help fast
    from adc.organisations import load_organisations
    from adc.register.db import register_reader
    from adc.ui import audit
    from adc.ui.visible import Visible

    at = audit.cutoff(args.as_of)
    visible = Visible.of(load_organisations().reader(args.as_user), args.as_user)
    output = Path(args.output or f"adc-audit-pack-{(args.as_of or at.date().isoformat())[:10]}.zip")
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("wb") as out:
            info = audit.build(register_reader(), out, at=at, generated_by=args.by or _login_name(),
                               visible=visible, requested=args.as_of)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise AdcError(f"cannot write {output}: {exc.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)  # never leave half a pack that looks like a whole one
        raise
    partial.replace(output)
    rows = ", ".join(f"{name} {n}" for name, n in info["rows"].items())
    print(f"audit pack as of {info['as_of']} written to {output}: {rows}; {info['evidence_files']} evidence "
          f"file(s); {len(info['files'])} files in SHA256SUMS; it holds {info['holds']}", file=sys.stderr)
    return 0


def add_commands(subparsers) -> None:
    p = add_parser(
        subparsers, "audit-pack", _audit_pack,
        "write the audit pack: the register, the RoPA (ICO layout), reviews with their evidence, findings and "
        "history as they stood at the end of a date (UTC), with a README and SHA-256 checksums (see docs/ui.md)")
    p.add_argument("--as-of", metavar="DATE",
                   help="YYYY-MM-DD (the end of that day, UTC) or an ISO 8601 timestamp; default: now")
    p.add_argument("--output", "-o", metavar="FILE", help="the ZIP to write (default: adc-audit-pack-DATE.zip)")
    p.add_argument("--by", help="who is making the pack (recorded in pack.json; default: your login name)")
    add_as_user(p)
