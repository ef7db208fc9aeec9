#!/usr/bin/env python
"""Tables 1-3 of the paper: observations per star type, star, program and subarray (spec 3.36).

Reads the primary headers of ``<root>/<type>/<filter>/*uncal.fits`` and prints the LaTeX rows
to stdout (the documented output of this script) and writes them to ``--out``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from absflux import constants as C  # noqa: E402
from absflux.cli import fail, run, setup_logging  # noqa: E402
from absflux.tables import TableError, collect_observations, obstable_latex  # noqa: E402

log = logging.getLogger("create_obstable")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=".", help="campaign root with HotStars/ ADwarfs/ SolarAnalogs/ (default: .)")
    p.add_argument("--out", default=None, help="LaTeX output file (default: <root>/Tables/miri_obstable.tex)")
    p.add_argument("--types", nargs="+", default=list(C.STAR_TYPES), choices=C.STAR_TYPES, help="star types")
    p.add_argument("--quiet", action="store_true", help="do not print the rows to stdout")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    root = Path(args.root)
    try:
        obs = collect_observations(root, startypes=args.types)
    except TableError as exc:
        return fail(str(exc))
    if not obs:
        return fail(f"{root}: no *uncal.fits files under {', '.join(args.types)}")
    lines = obstable_latex(obs)
    out = Path(args.out) if args.out else root / "Tables" / "miri_obstable.tex"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(out)
    if not args.quiet:
        print("\n".join(lines))
    log.info("wrote %s (%d rows)", out, len(lines))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
