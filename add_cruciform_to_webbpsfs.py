#!/usr/bin/env python
"""Optional (unused downstream): add the empirical cruciform to a model PSF (spec 3.6).

Reads extension 0 of PSFs/miri_<F>_psf.fits; the cruciform is the image
convolved with the 1-D kernel A exp(-|x| s)/oversample (zero for |x| < 3
pixels) along rows plus along columns, divided by oversample^2.  Writes
PSFs/cruciform_kernel_<F>.fits, PSFs/miri_<F>_psf_wcruciform.fits (PSF +
cruciform, rescaled to the original total) and the comparison figure
PSFs/webbpsf_w_wo_cruciform_<F>.png|pdf.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from absflux import constants as C
from absflux.cli import fail, run, setup_logging


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--filter", default="F560W", choices=tuple(C.CRUCIFORM_AMPLITUDE), help="filter (default F560W)")
    p.add_argument("--root", type=Path, default=Path("."), help="campaign root holding PSFs/ (default .)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--png", action="store_true", help="figure as png (the default)")
    g.add_argument("--pdf", action="store_true", help="figure as pdf")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def _figure(psf, new, cruc, oversample, filt, path, fmt):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from absflux.encircled_energy import curve_of_growth

    fig = Figure(figsize=(15, 5))
    axes = fig.subplots(1, 3)
    for ax, img, title in ((axes[0], psf, "PSF"), (axes[1], cruc, "cruciform")):
        ax.imshow(img, origin="lower", vmin=-1e-5, vmax=1e-5, cmap="RdBu_r")
        ax.set_title(f"{filt} {title}")
    ny, nx = psf.shape
    c = ((nx - 1) / 2.0, (ny - 1) / 2.0)
    r = np.geomspace(0.05, min(nx, ny) / 2.0 / oversample, 60)
    axes[2].plot(r, curve_of_growth(psf, c, r * oversample).flux, label="without cruciform")
    axes[2].plot(r, curve_of_growth(new, c, r * oversample).flux, label="with cruciform")
    axes[2].set_xscale("log")
    axes[2].set_xlabel("radius [pixels]")
    axes[2].set_ylabel("EE")
    axes[2].legend()
    fig.savefig(path, format=fmt)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    log = logging.getLogger("add_cruciform_to_webbpsfs")
    from astropy.io import fits

    from absflux.io_utils import OutputSet, write_errors
    from absflux.psfs import PSFError, add_cruciform, psf_path, read_psf

    if not args.root.is_dir():
        return fail(f"{args.root}: campaign root not found")
    filt = args.filter
    src = psf_path(args.root, filt)
    try:
        hdul = read_psf(src, filt)
    except PSFError as exc:
        return fail(str(exc))
    psf = np.asarray(hdul[0].data, float)
    osamp = int(hdul[0].header.get("OVERSAMP", hdul[0].header.get("DET_SAMP", 4)))
    new, cruc = add_cruciform(psf, filt, osamp)
    fmt = "pdf" if args.pdf else "png"
    d = src.parent
    with write_errors(), OutputSet() as out:
        h = hdul[0].header.copy()
        h["CRUCAMP"] = (C.CRUCIFORM_AMPLITUDE[filt], "cruciform kernel amplitude A")
        h["CRUCSLOP"] = (C.CRUCIFORM_SLOPE[filt], "cruciform kernel slope s [1/pix]")
        kernel = d / f"cruciform_kernel_{filt}.fits"
        with write_errors(kernel):
            fits.PrimaryHDU(cruc, header=h).writeto(out.stage(kernel))
        hd2 = fits.HDUList([hdu.copy() for hdu in hdul])
        hd2[0].data = new
        hd2[0].header.update({"CRUCAMP": h["CRUCAMP"], "CRUCSLOP": h["CRUCSLOP"]})
        hd2[0].header.add_history("cruciform added to extension 0 (add_cruciform_to_webbpsfs.py)")
        wcruc = d / f"miri_{filt}_psf_wcruciform.fits"
        with write_errors(wcruc):
            hd2.writeto(out.stage(wcruc))
        fig = d / f"webbpsf_w_wo_cruciform_{filt}.{fmt}"
        with write_errors(fig):
            _figure(psf, new, cruc, osamp, filt, out.stage(fig), fmt)
    log.info("wrote the cruciform files of %s in %s", filt, d)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
