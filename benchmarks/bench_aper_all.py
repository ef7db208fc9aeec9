#!/usr/bin/env python
"""Benchmark: wall time of ``aper_all.py`` (step 5) on a whole campaign; budget 120 s on ``demo``.

The stage-3 mosaics of the campaign (and its truth file) are copied into a
scratch directory (not timed), so the campaign is not touched; the APCORR file
is the campaign's latest (``ApCor/latest_apcorr.txt``), ``--apcorr FILE``, or
else a placeholder built from ``absflux.crds_cache.placeholder_apcorr_rows``
(aperture sizes of the right order; the timing does not depend on the values).
The timed command runs in a fresh interpreter (imports included) with
``--jobs`` processes, with the per-mosaic figures unless ``--no-png``.

Usage
-----
    python benchmarks/bench_aper_all.py demo_run
    python benchmarks/bench_aper_all.py demo_run --no-png --jobs 2

Exit code 1 if the run fails, a table is missing, or the time exceeds --budget.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

log = logging.getLogger("bench_aper_all")


def copy_mosaics(campaign: Path, scratch: Path) -> int:
    """Copy the Image3 mosaics (the inputs of aper_all) and truth.ecsv into ``scratch``."""
    from absflux import constants as C

    n = 0
    for t in C.STAR_TYPES:
        for f in sorted((campaign / t).glob("*/*/miri_*_stage3*_asn_i2d.fits")):
            dest = scratch / f.relative_to(campaign)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest)
            n += 1
    for name in ("truth.ecsv",):
        if (campaign / name).is_file():
            shutil.copy2(campaign / name, scratch / name)
    return n


def apcorr_for(campaign: Path, scratch: Path, given: Path | None) -> Path:
    from absflux.apcorr import write_reffile
    from absflux.crds_cache import placeholder_apcorr_rows
    from absflux.photometry import PhotometryError, default_apcorr_file

    if given is not None:
        return given
    try:
        return default_apcorr_file(campaign)
    except PhotometryError:
        path = scratch / "ApCor" / "jwst_miri_apcorr_placeholder.fits"
        path.parent.mkdir(parents=True, exist_ok=True)
        log.info("no APCORR file in %s: placeholder rows", campaign)
        return write_reffile(placeholder_apcorr_rows(), path, path.name, "GROUND", "bench", "2022-04-01T00:00:00")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("campaign", type=Path, help="campaign root (e.g. demo_run)")
    p.add_argument("--jobs", type=int, default=2, help="aper_all.py --jobs (default 2)")
    p.add_argument("--no-png", action="store_true", help="without the per-mosaic figures")
    p.add_argument("--apcorr", type=Path, help="APCORR file (default: the campaign's latest, else a placeholder)")
    p.add_argument("--budget", type=float, default=120.0, help="time budget in seconds (default 120)")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory (printed)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    scratch = Path(tempfile.mkdtemp(prefix="bench_aper_all_"))
    try:
        n = copy_mosaics(args.campaign, scratch)
        if n == 0:
            log.error("no mosaics below %s (run step 1)", args.campaign)
            return 1
        ap = apcorr_for(args.campaign, scratch, args.apcorr)
        cmd = [sys.executable, str(REPO / "aper_all.py"), "--root", str(scratch), "--jobs", str(args.jobs)]
        cmd += ["--apcorr", str(ap), "--no-progress"] + (["--no-png"] if args.no_png else [])
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        tables = sorted(scratch.glob("*/*_eefrac0.7_phot.fits"))
        pngs = len(list(scratch.glob("*/*/*/*_absfluxapers.png")))
        summary = [ln for ln in r.stderr.splitlines() if "summary:" in ln]
        print(f"aper_all.py on {args.campaign}: {n} mosaics, --jobs {args.jobs}, {'no ' if args.no_png else ''}figures")
        print(f"  wall time {wall:.1f} s (budget {args.budget:.0f} s); {len(tables)} tables, {pngs} figures")
        for ln in summary:
            print("  " + ln.split("aper_all: ", 1)[-1])
        if r.returncode not in (0, 1) or not tables:
            log.error("aper_all.py failed (exit %d): %s", r.returncode, r.stderr[-2000:])
            return 1
        if wall > args.budget:
            log.error("over budget: %.1f s > %.0f s", wall, args.budget)
            return 1
        return 0
    finally:
        if args.keep:
            print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
