#!/usr/bin/env python
"""Step 5 (one filter): fixed-aperture photometry of every mosaic of a star type (spec 3.8).

Aperture radius r(EE), sky annulus [r(0.80), r(0.85)] and aperture correction
come from the APCORR file of step 4 (--apcorr, default the file named in
ApCor/latest_apcorr.txt).  Writes <dir>/<F>[ext]_eefrac<e>_phot.fits (ext:
_bkgsub, _indivmos, _indivcals, _bkgsub_indivcals; sorted by name then time)
and a Fig. 4-style PNG next to every image.  Errors (missing APCORR file or
filter, no mosaics, a corrupt mosaic, a star off its image) are one line,
exit code 2, and the previous table is left untouched; --skip-bad reports bad
images and measures the rest (exit code 1, the images listed in the table's
FAILED keyword).  A set directory of step 1 without its image is a missing
input: an error, or with --allow-missing a warning and a gap recorded in the
table (keywords NMISSING, MISSING), never a silently shorter table.

The count-rate columns are in DN/s (astropy units, as in the original).  The
method options default to the current method; --original selects every
original choice at once (clipped annulus mean, xcenter_full/ycenter_full = the
peak, NaN-filled annulus cutout, bkgsub median over all pixels, whole-image
peak search); an option given explicitly still wins.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging


def build_parser() -> argparse.ArgumentParser:
    from absflux.photometry import DIR_CHOICES

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--filter", default="F770W", choices=C.ALL_FILTERS, help="filter (default F770W)")
    p.add_argument("--dir", default="ADwarfs", choices=DIR_CHOICES, help="star type; 'all' = the three types")
    p.add_argument("--root", type=Path, default=Path("."), help="campaign root (default .)")
    p.add_argument("--eefrac", type=float, default=C.EE_FRACTION_PHOT, help="EE fraction of the aperture (0.7)")
    p.add_argument("--bkgsub", action="store_true", help="the background-subtracted mosaics")
    p.add_argument("--indivmos", action="store_true", help="the per-exposure i2d images (not with --bkgsub)")
    p.add_argument("--indivcals", action="store_true", help="the cal files, centred from the mosaic photometry")
    p.add_argument("--apcorr", type=Path, help="APCORR file (default: the one ApCor/latest_apcorr.txt names)")
    p.add_argument("--no-png", action="store_true", help="no per-image figure")
    p.add_argument("--skip-bad", action="store_true", help="report and skip bad images instead of failing")
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="a set without its image (step 1 unfinished) is a warning and a gap recorded in the table "
        "(NMISSING/MISSING keywords) instead of an error",
    )
    from absflux.photometry import add_photometry_options

    add_photometry_options(p)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    log = logging.getLogger("aper_one_filter")
    from absflux.photometry import PhotometryError, aper_one_filter, photometry_choices

    method = photometry_choices(args)

    if args.indivmos and args.bkgsub:
        return fail("--indivmos cannot be combined with --bkgsub")
    if not 0.0 < args.eefrac < 1.0:
        return fail(f"--eefrac must be in (0, 1), got {args.eefrac}")
    if not args.root.is_dir():
        return fail(f"{args.root}: campaign root not found")
    types = C.STAR_TYPES if args.dir == "all" else (args.dir,)
    results = []
    for t in types:
        if args.dir == "all" and not (args.root / t / args.filter).is_dir():
            continue
        try:
            res = aper_one_filter(
                args.root,
                t,
                args.filter,
                bkgsub=args.bkgsub,
                eefraction=args.eefrac,
                indivmos=args.indivmos,
                indivcals=args.indivcals,
                apcorr_file=args.apcorr,
                png=not args.no_png,
                skip_bad=args.skip_bad,
                options=vars(args) | method,
                allow_missing=args.allow_missing,
                **method,
            )
        except PhotometryError as exc:
            return fail(str(exc))
        results.append(res)
        log.info("%s: %d rows -> %s", t, len(res.table), res.path)
        for f, err in res.failed:
            log.error("skipped %s: %s", f, err)
    if not results:
        return fail(f"no {args.filter} directory in {', '.join(types)} below {args.root}")
    failed = [(r, f, e) for r in results for f, e in r.failed]
    if failed:
        r, _, e = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        return fail(f"{len(failed)} image(s) left out of {r.path} (its FAILED keyword): {e}{more}", code=1)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
