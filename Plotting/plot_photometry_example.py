#!/usr/bin/env python
"""Fig. 4: the fixed-aperture photometry of one mosaic (aperture, sky annulus, centre), as step 5 draws it.

The paper's figure is the standard per-mosaic figure of ``aper_one_filter.py``
(``<mosaic>_eefrac0.7_absfluxapers.png``); this script makes it for one chosen set without
rewriting any photometry table: the aperture radius, sky annulus and aperture correction come from
the APCORR file of step 4 (``ApCor/latest_apcorr.txt`` or ``--apcorr``), row of the mosaic's
subarray.  Default set: ADwarfs F770W ``BD+60 1753_set1`` (the background-subtracted mosaic); when that
set is absent the first set of the filter directory is used.  Output ``Figs/photometry_example.png|pdf``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from absflux import constants as C  # noqa: E402
from absflux import plotting as P  # noqa: E402
from absflux.cli import fail, run, setup_logging  # noqa: E402

log = logging.getLogger("plot_photometry_example")


def choose_mosaic(root: Path, startype: str, filt: str, dataset: str, bkgsub: bool) -> Path | None:
    """The requested set's mosaic, else that of the first set of the filter directory (None if none)."""
    kind = "stage3_bkgsub_asn" if bkgsub else "stage3_asn"
    d = root / startype / filt
    wanted = d / dataset / f"miri_{dataset}_{kind}_i2d.fits"
    if wanted.is_file():
        return wanted
    found = sorted(d.glob(f"*_set*/miri_*_{kind}_i2d.fits"))
    if found:
        log.info("%s not found: using %s", wanted, found[0])
        return found[0]
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=".", help="campaign root (default: .)")
    p.add_argument("--filter", default="F770W", choices=C.ALL_FILTERS, help="filter (default F770W)")
    p.add_argument("--dir", default="ADwarfs", choices=C.STAR_TYPES, help="star type (default ADwarfs)")
    p.add_argument("--set", dest="dataset", default="BD+60 1753_set1", help="set (default 'BD+60 1753_set1')")
    p.add_argument("--no-bkgsub", action="store_true", help="the mosaic without the per-visit sky subtraction")
    p.add_argument("--eefrac", type=float, default=C.EE_FRACTION_PHOT, help="EE fraction of the aperture (0.7)")
    p.add_argument("--apcorr", default=None, help="APCORR file (default: the one ApCor/latest_apcorr.txt names)")
    P.add_output_args(p)
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    from absflux.photometry import (
        PhotometryError,
        aper_image,
        aperture_params,
        default_apcorr_file,
        rate_values,
        read_apcorr_table,
        read_image,
    )

    root = Path(args.root)
    bkgsub = not args.no_bkgsub and args.filter != C.FND_FILTER
    mos = choose_mosaic(root, args.dir, args.filter, args.dataset, bkgsub)
    if mos is None:
        return fail(f"{root / args.dir / args.filter}: no mosaic to draw (run pipeline_one_filter.py first)")
    try:
        apfile = Path(args.apcorr) if args.apcorr else default_apcorr_file(root)
        img = read_image(mos)
        sub = str(img.primary.get("SUBARRAY", "FULL"))
        par = aperture_params(read_apcorr_table(apfile), args.filter, args.eefrac, sub, apfile)
    except PhotometryError as exc:
        return fail(str(exc))
    figdir = P.figdir_from_args(args, root)
    figdir.mkdir(parents=True, exist_ok=True)
    for fmt in P.output_formats(args):
        final = figdir / f"photometry_example.{fmt}"
        tmp = figdir / f".photometry_example.{os.getpid()}.{fmt}"
        try:
            t = aper_image(mos, args.filter, par.aprad, par.annrad, par.apcorr, imgfile=tmp, image=img)
            os.replace(tmp, final)
        except PhotometryError as exc:
            return fail(str(exc))
        finally:
            tmp.unlink(missing_ok=True)
        log.info(
            "%s: aperture %.2f px, annulus %.2f-%.2f px, sum %.1f DN/s -> %s",
            mos.name,
            par.aprad,
            par.annrad[0],
            par.annrad[1],
            float(rate_values(t["aperture_sum_bkgsub"])[0]),
            final,
        )
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
