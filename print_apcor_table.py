#!/usr/bin/env python
"""Print the FULL-subarray rows of one filter from APCORR files (spec 3.12), or the realism report.

By default the files are the project's latest APCORR file (ApCor/latest_apcorr.txt)
and, when present, the flight CRDS file ../shared/data/crds_reffiles/jwst_miri_apcorr_0010.fits.
--table4 prints the paper's Table 4 rows (LaTeX) read back from the ``_full`` table of the
APCORR file (the rows create_apcor_reffile.py printed when it wrote the file).
--realism prints r(EE=0.7, 0.8, 0.85) and apcor(0.7) of the PSF model
(absflux.psf_model, as a mosaic measures them) for the 9 imager filters next
to a flight APCORR file, with the ratios (an RST table for the README).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging

FLIGHT = Path(__file__).resolve().parent.parent / "shared" / "data" / "crds_reffiles" / "jwst_miri_apcorr_0010.fits"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--filter", default="F770W", choices=C.ALL_FILTERS, help="filter (default F770W)")
    p.add_argument("--root", type=Path, default=Path("."), help="campaign root (default .)")
    p.add_argument("--files", nargs="+", type=Path, help="APCORR files (default: the latest project file + flight)")
    p.add_argument("--subarray", default="FULL", help="subarray rows to print (default FULL)")
    p.add_argument("--realism", action="store_true", help="print the model-vs-flight realism table instead")
    p.add_argument(
        "--table4",
        action="store_true",
        help="print the paper's Table 4 LaTeX rows from the _full table of the APCORR file (--files or the latest)",
    )
    p.add_argument("--crds", type=Path, default=FLIGHT, help=f"flight APCORR file for --realism (default {FLIGHT})")
    p.add_argument("--psf-cache", type=Path, help="PSF cache directory for --realism (default: compute in memory)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    import numpy as np

    from absflux.apcorr import ApcorError, format_realism_rst, realism_report
    from absflux.photometry import PhotometryError, default_apcorr_file, read_apcorr_table

    if not args.files and not args.realism and not args.root.is_dir():
        return fail(f"{args.root}: campaign root not found")
    if args.realism:
        if not args.crds.is_file():
            return fail(f"{args.crds}: flight APCORR file not found")
        try:
            tab = realism_report(args.crds, cache_dir=args.psf_cache)
        except (ApcorError, PhotometryError, ValueError) as exc:
            return fail(str(exc))
        print(f'PSF model (absflux.psf_model) vs {args.crds.name}, FULL, radii in 0.11" pixels')
        print(format_realism_rst(tab))
        return 0
    if args.table4:
        from absflux.apcorr import table4_rows_from_full

        try:
            ref = args.files[0] if args.files else default_apcorr_file(args.root)
        except PhotometryError as exc:
            return fail(str(exc))
        full = ref.with_name(ref.name.replace(".fits", "_full.fits")) if not ref.stem.endswith("_full") else ref
        if not full.is_file():
            return fail(f"{full}: _full APCORR table not found (written by create_apcor_reffile.py)")
        try:
            print("\n".join(table4_rows_from_full(full)))
        except (ApcorError, KeyError, OSError) as exc:
            return fail(f"{full}: {exc}")
        return 0
    files = args.files
    if not files:
        files = []
        try:
            files.append(default_apcorr_file(args.root))
        except PhotometryError:
            pass
        if FLIGHT.is_file():
            files.append(FLIGHT)
        if not files:
            return fail("no APCORR file: pass --files or run create_apcor_reffile.py")
    for path in files:
        try:
            t = read_apcorr_table(path)
        except PhotometryError as exc:
            return fail(str(exc))
        sel = (np.asarray(t["filter"]) == args.filter) & (np.asarray(t["subarray"]) == args.subarray.upper())
        print(f"{path}:")
        if not sel.any():
            print(f"  no {args.filter}/{args.subarray} rows")
            continue
        t[sel].pprint_all()
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
