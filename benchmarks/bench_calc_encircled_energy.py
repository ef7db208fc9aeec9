#!/usr/bin/env python
"""Benchmark: the one-pass EE of calc_encircled_energy against the original per-radius loop.

The original measured the observed EE with 100 radii x 2 mosaics calls of
``aper_image`` (the mosaic re-opened each time, override centre, the big
annulus).  This runs both on one set of a campaign (default the first vetted
BD+60 1753 set of F770W in ``demo_run``), checks that they give the same
background-subtracted aperture sums (to 1e-6 relative) and reports the
speed-up (target: at least 20x).  Nothing is written into the campaign; when
``PSFs/miri_<F>_psf.fits`` is missing, the PSF of the simulation (or the
project's model) is made in a scratch directory.

Usage
-----
    python benchmarks/bench_calc_encircled_energy.py demo_run
    python benchmarks/bench_calc_encircled_energy.py demo_run --filter F2100W --dataset "HD 37962_set1" --dir SolarAnalogs

Exit code 1 if the outputs differ or the speed-up is below --target.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

log = logging.getLogger("bench_calc_encircled_energy")


def original_loop(mosaics, filt, center, radii, annulus):
    """100 radii x 2 mosaics of aper_image with the file re-read each time (the original's method)."""
    from absflux.photometry import aper_image

    out = []
    for m in mosaics:
        out.append(
            np.array(
                [
                    aper_image(m, filt, r, annulus, 1.0, override_center=center)["aperture_sum_bkgsub"][0].value
                    for r in radii
                ]
            )
        )
    return out


def one_pass(mosaics, center, radii, annulus):
    """The one-pass curves of growth of calc_encircled_energy (files read once)."""
    from absflux.encircled_energy import observed_curve
    from absflux.photometry import read_image

    return [observed_curve(read_image(m), center, radii, annulus).apsum for m in mosaics]


def main(argv=None) -> int:
    from absflux import constants as C

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("campaign", type=Path, help="campaign root (e.g. demo_run)")
    p.add_argument("--filter", default="F770W", choices=C.ALL_FILTERS, help="filter (default F770W)")
    p.add_argument("--dir", default="ADwarfs", choices=C.STAR_TYPES, help="star type (default ADwarfs)")
    p.add_argument("--dataset", default="BD+60 1753_set1", help="set (default 'BD+60 1753_set1')")
    p.add_argument("--fwhmfac", type=float, help="default: the adopted value (constants.FWHMFAC)")
    p.add_argument("--repeat", type=int, default=3, help="timing repeats of the one-pass method (best kept)")
    p.add_argument("--target", type=float, default=20.0, help="required speed-up (default 20)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from absflux.encircled_energy import compute_ee, radii_grid, set_mosaics
    from absflux.psfs import calc_webbpsf, psf_path

    filt = args.filter
    fac = args.fwhmfac or C.FWHMFAC[filt]
    mos, bkg = set_mosaics(args.campaign, args.dir, filt, args.dataset)
    if not mos.is_file() or not bkg.is_file():
        log.error("mosaics of %s/%s/%s not found (run step 1)", args.dir, filt, args.dataset)
        return 1
    psf = psf_path(args.campaign, filt)
    with tempfile.TemporaryDirectory(prefix="bench_ee_") as tmp:
        if not psf.is_file():
            sim = (args.campaign / "truth.ecsv").is_file()
            psf = calc_webbpsf(args.campaign, filt, out=Path(tmp) / psf.name, like_simulation=sim, fov_fwhm=120)
            log.info("PSF made in scratch (%s)", "simulation settings" if sim else "project model")
        t0 = time.perf_counter()
        res = compute_ee(args.campaign, args.dir, filt, args.dataset, fac, psf_file=psf)
        t_full = time.perf_counter() - t0
    radii = radii_grid(filt, fac)
    center, annulus = res["center"], res["annulus"]
    mosaics = [mos, bkg]
    best = np.inf
    for _ in range(max(args.repeat, 1)):
        t0 = time.perf_counter()
        new = one_pass(mosaics, center, radii, annulus)
        best = min(best, time.perf_counter() - t0)
    t0 = time.perf_counter()
    old = original_loop(mosaics, filt, center, radii, annulus)
    t_old = time.perf_counter() - t0
    diff = 0.0
    for a, b in zip(new, old, strict=True):
        ok = np.isfinite(b)
        if not np.array_equal(ok, np.isfinite(a)):
            log.error("the two methods flag different radii as invalid")
            return 1
        diff = max(diff, float(np.max(np.abs(a[ok] / b[ok] - 1))) if ok.any() else 0.0)
    speedup = t_old / best
    print(f"set {args.dir}/{filt}/{args.dataset}, fwhmfac {fac}, {len(radii)} radii x {len(mosaics)} mosaics")
    print(f"  original per-radius loop (file re-read per call): {t_old:8.3f} s")
    print(f"  one-pass curves of growth (both mosaics):         {best:8.3f} s")
    print(f"  whole compute_ee (model EE, centring, both):      {t_full:8.3f} s")
    print(f"  speed-up {speedup:.0f}x, max relative difference of the sums {diff:.2e}")
    if diff > 1e-6:
        log.error("outputs differ by %.2e (> 1e-6)", diff)
        return 1
    if speedup < args.target:
        log.error("speed-up %.1fx below the target %.0fx", speedup, args.target)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
