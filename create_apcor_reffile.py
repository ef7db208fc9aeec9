#!/usr/bin/env python
"""Step 4: the APCORR reference file from the vetted per-set aperture corrections (spec 3.11).

Averages (mean, population std) the ..._apcor.dat tables of the vetted sets
(<root>/vetted_sets.yaml, --vetted FILE, or the constants), prints the paper's
Table 4 LaTeX rows and the full table on stdout, and writes
ApCor/jwst_miri_apcorr_flight_<tag>.fits (MirImgApcorrModel),
ApCor/jwst_miri_apcorr_flight_<tag>_full.fits (with uncertainties) and
ApCor/latest_apcorr.txt (the name step 5 reads by default).  <tag> is --version
or the --date (YYYY-MM-DD, default today) written as 02sep25.  A missing or
bad per-set table is a one-line error (naming the filter, set and file), exit
2, and nothing is written; with --allow-missing it is a warning, the set is
left out of its filter's average and the gap is recorded (keywords
NMISSING/MISSING of the _full table, HISTORY of the reference file).  Averaged
values that are not physical (apcor, radius or sky annulus not finite and > 0)
are refused.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from absflux.cli import fail, run, setup_logging


def build_parser() -> argparse.ArgumentParser:
    from absflux.apcorr import DEFAULT_AUTHOR, DEFAULT_USEAFTER

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, default=Path("."), help="campaign root (default .)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--date", help="date of the output name, YYYY-MM-DD (default today): ..._flight_02sep25.fits")
    g.add_argument("--version", help="tag of the output name instead of the date: ..._flight_<VERSION>.fits")
    p.add_argument("--vetted", type=Path, help="vetted-set YAML (default <root>/vetted_sets.yaml, else the constants)")
    p.add_argument("--outdir", type=Path, help="output directory (default <root>/ApCor)")
    p.add_argument("--author", default=DEFAULT_AUTHOR, help=f"AUTHOR keyword (default {DEFAULT_AUTHOR!r})")
    p.add_argument("--pedigree", help="PEDIGREE (default INFLIGHT <first> <last> observation date of the sets)")
    p.add_argument("--useafter", default=DEFAULT_USEAFTER, help=f"USEAFTER (default {DEFAULT_USEAFTER})")
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="a missing or unreadable per-set table is a warning and a recorded gap (left out of the average) "
        "instead of an error",
    )
    p.add_argument("--no-full-table", action="store_true", help="print only the LaTeX rows")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    log = logging.getLogger("create_apcor_reffile")
    from absflux.apcorr import ApcorError, create_apcor_reffile, read_full_table
    from absflux.io_utils import WRITE_ERRNOS

    if not args.root.is_dir():
        return fail(f"{args.root}: campaign root not found")
    try:
        res = create_apcor_reffile(
            args.root,
            tag=args.version,
            date=args.date,
            vetted_file=args.vetted,
            author=args.author,
            pedigree=args.pedigree,
            useafter=args.useafter,
            outdir=args.outdir,
            options=vars(args),
            allow_missing=args.allow_missing,
        )
    except ApcorError as exc:
        return fail(str(exc))
    except OSError as exc:
        if exc.errno in WRITE_ERRNOS:
            raise  # cli.run: "cannot write <product>: <reason>"
        return fail(str(exc))
    for line in res.latex:
        print(line)
    if not args.no_full_table:
        read_full_table(res.full).pprint_all()
    for f, fa in res.results.items():
        log.info("%-7s %2d set(s)%s", f, fa.nsets, " (model only)" if fa.model_only else "")
        for m in fa.missing:
            log.warning("%-7s missing set table (left out, recorded in %s): %s", f, res.full.name, m)
    log.info("APCORR file %s (pointer %s)", res.reffile, res.pointer)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
