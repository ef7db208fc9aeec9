#!/usr/bin/env python
"""Step 3 (one set): encircled energy of a bright-star mosaic and its aperture corrections (spec 3.10).

Reads <dir>/<F>/<set>/miri_<set>_stage3_asn_i2d.fits and the bkgsub mosaic (FND:
the mosaic for both) and PSFs/miri_<F>_psf.fits; writes, next to the mosaic,
..._i2d_ee_fwhmfac<X>.dat (radius, ee, ee_obs, ee_obs_bkg, ee_model),
..._i2dfwhmfac<X>_apcor.dat (ee, radii, apcor) and the figures
..._i2d_ee_fwhmfac<X>.png|pdf and ..._i2d_manyap_centerap.png.  The observed
curve of growth is computed in one pass over the image.  Bad inputs (missing
PSF or mosaic, star off the image, EE not monotonic) give a one-line error,
exit code 2 and no output.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="BD+60 1753_set1", help="set directory name (default 'BD+60 1753_set1')")
    p.add_argument(
        "--dir",
        default="ADwarfs",
        choices=C.STAR_TYPES + ("all",),
        help="star type directory; 'all' finds the type holding the set (default ADwarfs)",
    )
    p.add_argument("--filter", default="F770W", choices=C.ALL_FILTERS, help="filter (default F770W)")
    p.add_argument("--fwhmfac", type=float, default=C.FWHMFAC_DEFAULT, help="merge radius in FWHM (default 20.0)")
    p.add_argument("--root", type=Path, default=Path("."), help="campaign root (default .)")
    from absflux.encircled_energy import add_ee_options

    add_ee_options(p)
    p.add_argument("--psf", type=Path, help="model PSF file (default <root>/PSFs/miri_<F>_psf.fits)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--png", action="store_true", help="figures as png (the default)")
    g.add_argument("--pdf", action="store_true", help="figures as pdf")
    g.add_argument("--no-fig", action="store_true", help="no figures")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def find_type(root: Path, filt: str, dataset: str) -> str | None:
    """Star type directory holding <type>/<filt>/<dataset>."""
    for t in C.STAR_TYPES:
        if (root / t / filt / dataset).is_dir():
            return t
    return None


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    log = logging.getLogger("calc_encircled_energy")
    from absflux.encircled_energy import EEError, calc_encircled_energy, ee_choices

    if not args.root.is_dir():
        return fail(f"{args.root}: campaign root not found")
    if args.fwhmfac <= 0:
        return fail(f"--fwhmfac must be > 0, got {args.fwhmfac}")
    stype = args.dir
    if stype == "all":
        stype = find_type(args.root, args.filter, args.dataset)
        if stype is None:
            return fail(f"{args.filter}/{args.dataset}: no such set in {', '.join(C.STAR_TYPES)} below {args.root}")
    fmt = None if args.no_fig else ("pdf" if args.pdf else "png")
    methods = ee_choices(args)
    try:
        res = calc_encircled_energy(
            args.root,
            stype,
            args.filter,
            args.dataset,
            args.fwhmfac,
            psf_file=args.psf,
            fig_format=fmt,
            options=vars(args),
            ee_from=args.ee_from,
            ee_norm=methods["ee_norm"],
            ee_centre=methods["ee_centre"],
            model_ee_method=methods["model_ee"],
            sky_annulus=methods["sky_annulus"],
        )
    except EEError as exc:
        return fail(str(exc))
    ap = res.apcor_table
    for row in ap:
        log.info("EE %.2f  r = %7.3f px  apcor = %.4f", row["ee"], row["radii"], row["apcor"])
    log.info("wrote %s", ", ".join(p.name for p in res.paths))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
