#!/usr/bin/env python
"""Step 5 (campaign): photometry of every mosaic of the three star types (spec 3.9).

For each star type and filter directory present: imager filters and FND: the
mosaics; imager filters (not FND) also the bkgsub mosaics; coronagraphic
filters: the bkgsub mosaics only.  Aperture parameters from the APCORR file of
step 4 (default: ApCor/latest_apcorr.txt).  Jobs run in parallel (--jobs); a
failing mosaic is reported and the rest go on; a summary closes the run.  Exit
code 0 when everything was measured; 2 with a one-line error naming the file
for bad inputs (no APCORR file, no mosaics at all, a set directory without its
mosaic - checked before any work) and when a table could not be made (a
corrupt mosaic: that table and its previous version stay as they were, the
others are written); with --allow-missing, missing and bad mosaics are
warnings and gaps recorded in their tables (keywords MISSING, FAILED) and the
exit code is 1 when a bad mosaic was left out.  Workers die with the parent.

The count-rate columns are in DN/s (astropy units, as in the original).
--original selects every original step-5 choice at once (see
aper_one_filter.py --help); an option given explicitly still wins.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, default=Path("."), help="campaign root (default .)")
    p.add_argument(
        "--types",
        nargs="+",
        choices=C.STAR_TYPES + C.EXTRA_DIRS,
        default=list(C.STAR_TYPES),
        help="star types (default the three)",
    )
    p.add_argument("--filters", nargs="+", choices=C.ALL_FILTERS, help="only these filters")
    p.add_argument("--eefrac", type=float, default=C.EE_FRACTION_PHOT, help="EE fraction of the aperture (0.7)")
    p.add_argument("--apcorr", type=Path, help="APCORR file (default: the one ApCor/latest_apcorr.txt names)")
    p.add_argument("--jobs", type=int, default=1, help="parallel jobs (default 1)")
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="missing mosaics (step 1 unfinished) and bad ones are warnings and gaps recorded in the tables "
        "(MISSING/FAILED keywords) instead of errors",
    )
    p.add_argument("--no-png", action="store_true", help="no per-mosaic figure (faster)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--truth",
        action="store_true",
        help="simulated campaign: compare aperture_sum_bkgsub x apcorr with the injected rates (truth.ecsv)",
    )
    from absflux.photometry import add_photometry_options

    add_photometry_options(p)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    log = logging.getLogger("aper_all")
    from absflux.photometry import PhotometryError, aper_all, photometry_choices

    method = photometry_choices(args)

    if args.jobs < 1 or not 0.0 < args.eefrac < 1.0:
        return fail("--jobs must be >= 1 and --eefrac in (0, 1)")
    if not args.root.is_dir():
        return fail(f"{args.root}: campaign root not found")
    t0 = time.time()
    try:
        results = aper_all(
            args.root,
            types=args.types,
            filters=args.filters,
            eefraction=args.eefrac,
            apcorr_file=args.apcorr,
            png=not args.no_png,
            jobs=args.jobs,
            progress=not args.no_progress,
            options=vars(args) | method,
            allow_missing=args.allow_missing,
            **method,
        )
    except PhotometryError as exc:
        return fail(str(exc))
    done = [r for r in results if r["ok"]]
    skipped = [r for r in results if r.get("skipped")]
    failed_jobs = [r for r in results if not r["ok"] and not r.get("skipped")]
    bad = [(r, f, e) for r in done for f, e in r["failed"]]
    nrows = sum(r["n"] for r in done)
    log.info(
        "summary: %d tables (%d rows), %d job(s) failed, %d skipped (no mosaics), %d mosaic(s) failed, %.0f s",
        len(done),
        nrows,
        len(failed_jobs),
        len(skipped),
        len(bad),
        time.time() - t0,
    )
    for r in done:
        log.info(
            "  %-12s %-7s %-7s %3d rows  %s",
            r["startype"],
            r["filter"],
            "bkgsub" if r["bkgsub"] else "",
            r["n"],
            r["path"],
        )
    for r in skipped:
        log.info("  skipped %s %s%s: no mosaics", r["startype"], r["filter"], " bkgsub" if r["bkgsub"] else "")
    for r in failed_jobs:
        log.error("  failed %s %s%s: %s", r["startype"], r["filter"], " bkgsub" if r["bkgsub"] else "", r["error"])
    for _, f, e in bad:
        log.error("  failed mosaic %s: %s", f, e)
    for r in done:
        for m in r["missing"]:
            log.warning("  missing mosaic %s (recorded in %s)", m, r["path"])
    if args.truth:
        report_truth(args.root, args.eefrac)
    if failed_jobs:
        r = failed_jobs[0]
        more = f" (and {len(failed_jobs) - 1} more table(s))" if len(failed_jobs) > 1 else ""
        what = f"{r['startype']} {r['filter']}{' bkgsub' if r['bkgsub'] else ''}"
        return fail(f"{what} table not written: {r['error']}{more}")
    if bad:
        _, f, e = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        return fail(f"{len(bad)} mosaic(s) left out of their tables (FAILED keyword): {e}{more}", code=1)
    return 0


def report_truth(root: Path, eefrac: float) -> None:
    """Print the worst measured/injected ratio per filter (and the largest |n sigma|) on stdout."""
    import numpy as np

    from absflux.photometry import truth_comparison

    if not (root / "truth.ecsv").is_file():
        logging.getLogger("aper_all").warning("--truth: no truth.ecsv in %s", root)
        return
    for bkgsub in (False, True):
        t = truth_comparison(root, eefrac, bkgsub=bkgsub)
        if len(t) == 0:
            continue
        print(f"{'bkgsub' if bkgsub else 'default'} mosaics: aperture_sum_bkgsub x apcorr / injected rate")
        print(
            f"{'filter':8s} {'n':>3s} {'median':>7s} {'worst ratio':>11s} {'max |nsig|':>10s} {'<3 sig':>6s}  worst set"
        )
        for f in dict.fromkeys(t["filter"]):
            s = t[t["filter"] == f]
            k = int(np.argmax(np.abs(s["ratio"] - 1)))
            n3 = int(np.sum(np.abs(s["nsigma"]) < 3))
            print(
                f"{f:8s} {len(s):3d} {np.median(s['ratio']):7.4f} {s['ratio'][k]:11.4f} "
                f"{np.max(np.abs(s['nsigma'])):10.2f} {n3:3d}/{len(s):<3d} {s['dataset'][k]}"
            )


if __name__ == "__main__":
    sys.exit(run(main))
