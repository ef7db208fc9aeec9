#!/usr/bin/env python
"""Flux versus dither position of the individual exposures (post-paper JWST report, spec 3.28).

Reads ``<root>/<type>/<F>_indiv{mos|cals}_eefrac0.7_phot.fits`` of every star type (``--phot-ext``
overrides the extension), groups the rows by visit (file-name prefix before ``_0000``), divides each
flux by the mean of its group and plots it against the dither number (EXPOSURE) with seeded
jitter; per dither the sigma-clipped weighted mean (weights 1/unc^2, sigcut 3.5) +- std is drawn
and written.  ``--bkg`` adds background/mean + 0.05.  Output ``Figs/ditherpos_F[_wbkg][_cals].png|pdf``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from absflux import constants as C  # noqa: E402
from absflux import plotting as P  # noqa: E402
from absflux.cli import fail, run, setup_logging  # noqa: E402

log = logging.getLogger("plot_dither_pos")
TYPES = C.STAR_TYPES + C.EXTRA_DIRS


def visit_key(filename: str) -> str:
    """Group key of an exposure: the base name before ``_0000`` (visit/activity)."""
    base = Path(str(filename)).name
    return base.split("_0000")[0]


def collect(root, filt: str, ext: str):
    """(dither, relflux, relunc, relbkg) arrays and the tables read."""
    from astropy.table import Table

    from absflux.photometry import rate_values

    d, fl, un, bk, used = [], [], [], [], []
    for t in TYPES:
        path = Path(root) / t / f"{filt}{ext}_eefrac0.7_phot.fits"
        if not path.is_file():
            continue
        used.append(path)
        tab = Table.read(path)
        keys = np.array([visit_key(f) for f in tab["filename"]])
        for k in np.unique(keys):
            g = tab[keys == k]
            flux = rate_values(g["aperture_sum_bkgsub"])
            m = np.nanmean(flux)
            d += [int(str(e).strip() or 0) if not isinstance(e, bytes) else int(e) for e in g["exposure"]]
            fl += list(flux / m)
            un += list(rate_values(g["aperture_sum_bkgsub_err"]) / m)
            bkg = rate_values(g["mean_bkg"])
            bk += list(bkg / np.nanmean(bkg))
    return np.array(d, int), np.array(fl), np.array(un), np.array(bk), used


def make_figure(dither, flux, unc, bkg, filt: str, showbkg: bool = False):
    """The figure; returns Figure."""
    import matplotlib.pyplot as plt

    from absflux.calfactors import compute_stats

    P.setup_rc(14)
    fig, ax = plt.subplots(figsize=(9, 6))
    x = dither + P.jitter(len(dither), sigma=0.06)
    col = P.filter_color(filt)
    ax.plot(x, flux, "o", color=col, alpha=0.6, ms=5, label=f"{filt} exposures")
    if showbkg:
        ax.plot(x, bkg + 0.05, "s", color="0.5", alpha=0.5, ms=4, label="background / mean + 0.05")
    for n in range(1, 5):
        sel = (dither == n) & np.isfinite(flux) & (unc > 0)
        if sel.sum() == 0:
            continue
        st = compute_stats(flux[sel], 1.0 / unc[sel] ** 2, 3.5)
        ax.errorbar(n + 0.3, st.mean, yerr=st.std, fmt="D", color="k", ms=8, capsize=4)
        ax.text(n + 0.3, 0.97 if not showbkg else 0.97, f"{st.mean:.4f}\n$\\pm${st.std:.4f}", ha="center", fontsize=10)
    ax.errorbar([], [], yerr=[], fmt="D", color="k", label="clipped weighted mean $\\pm$ std")
    ax.set_xlim(0.5, 4.8)
    ax.set_xticks([1, 2, 3, 4])
    ax.set_ylim(0.965, 1.075 if showbkg else 1.025)
    ax.set_xlabel("Dither position")
    ax.set_ylabel("Flux / mean flux of the visit")
    ax.legend(loc="upper left", fontsize=11)
    fig.tight_layout()
    return fig


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=".", help="campaign root (default: .)")
    p.add_argument("--filter", default="F770W", choices=C.ALL_FILTERS, help="filter (default F770W)")
    p.add_argument("--indivcals", action="store_true", help="use the _indivcals tables (default _indivmos)")
    p.add_argument("--bkg", action="store_true", help="also plot the relative background")
    p.add_argument("--phot-ext", default=None, help="override the phot-table extension (e.g. '' for mosaics)")
    P.add_output_args(p)
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    ext = args.phot_ext if args.phot_ext is not None else ("_indivcals" if args.indivcals else "_indivmos")
    dither, flux, unc, bkg, used = collect(args.root, args.filter, ext)
    if not used:
        return fail(f"no {args.filter}{ext}_eefrac0.7_phot.fits under {args.root}/{{{','.join(TYPES)}}}")
    fig = make_figure(dither, flux, unc, bkg, args.filter, args.bkg)
    name = f"ditherpos_{args.filter}" + ("_wbkg" if args.bkg else "") + ("_cals" if args.indivcals else "")
    P.save_figure(
        fig,
        P.figdir_from_args(args, args.root),
        name,
        P.output_formats(args),
        "Plotting/plot_dither_pos.py",
        inputs=used,
        options=args,
    )
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
