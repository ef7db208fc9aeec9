#!/usr/bin/env python
"""Relative sensitivity of BD+60 1753 versus time in the nine imager filters (spec 3.29).

Reads ``<root>/ADwarfs/<F><ext>_eefrac0.7_phot.fits`` (``--phot-ext``, default ``_indivcals``); the
relative flux is aperture_sum_bkgsub divided by its mean over the first ``--norm-days`` days after
MJD 59700, plotted against MJD - 59700 in 3x3 panels (one colour per filter).  Filters without a
table or without BD+60 1753 rows are reported in their panel.
Output ``Figs/miri_imaging_sens_vs_time.png|pdf``.
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

log = logging.getLogger("plot_sens_vs_time")
MJD0 = 59700.0


def make_figure(root, star: str = C.REPEAT_STAR, ext: str = "_indivcals", norm_days: float = 100.0):
    """3x3 panels; returns (Figure, inputs read, problems)."""
    import matplotlib.pyplot as plt
    from astropy.table import Table

    from absflux.photometry import rate_values

    P.setup_rc(12)
    fig, axes = plt.subplots(3, 3, figsize=(13, 10), sharex=True)
    used, problems = [], []
    for ax, filt in zip(axes.ravel(), C.IMAGER_FILTERS, strict=True):
        path = Path(root) / "ADwarfs" / f"{filt}{ext}_eefrac0.7_phot.fits"
        if not path.is_file():
            problems.append(f"{filt}: {path} missing")
            P.panel_message(ax, f"{filt}\nno photometry table")
            continue
        t = Table.read(path)
        names = np.array([C.canonical_name(str(n)) for n in t["name"]])
        t = t[names == star]
        if len(t) == 0:
            problems.append(f"{filt}: no {star} rows in {path}")
            P.panel_message(ax, f"{filt}\nno {star}")
            continue
        used.append(path)
        x = np.asarray(t["timemid"], float) - MJD0
        y = rate_values(t["aperture_sum_bkgsub"])
        early = x < norm_days
        norm = np.nanmean(y[early]) if early.any() else np.nanmean(y[x <= np.nanmin(x) + norm_days])
        ax.plot(x, y / norm, "o", color=P.filter_color(filt), ms=5, mec="k", mew=0.5)
        ax.axhline(1.0, color="0.5", ls=":", lw=1)
        ax.text(0.95, 0.92, filt, transform=ax.transAxes, ha="right", va="top", fontweight="bold")
    for ax in axes[-1]:
        ax.set_xlabel(f"MJD - {MJD0:.0f} [days]")
    for ax in axes[:, 0]:
        ax.set_ylabel("Relative flux")
    fig.tight_layout()
    return fig, used, problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=".", help="campaign root (default: .)")
    p.add_argument("--phot-ext", default="_indivcals", help="phot-table extension (default _indivcals; '' = mosaics)")
    p.add_argument("--star", default=C.REPEAT_STAR, help=f"star (default {C.REPEAT_STAR!r})")
    p.add_argument("--norm-days", type=float, default=100.0, help="normalisation window after MJD 59700 [days]")
    P.add_output_args(p)
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    fig, used, problems = make_figure(args.root, args.star, args.phot_ext, args.norm_days)
    for m in problems:
        log.warning("missing: %s", m)
    if not used:
        return fail("no photometry table with the star found")
    P.save_figure(
        fig,
        P.figdir_from_args(args, args.root),
        "miri_imaging_sens_vs_time",
        P.output_formats(args),
        "Plotting/plot_sens_vs_time.py",
        inputs=used,
        options=args,
    )
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
