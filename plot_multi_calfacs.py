#!/usr/bin/env python
"""Step 9 summary: calibration factors of all 14 filters in one figure, and every filter's CalFacs products.

Examples
--------
    python plot_multi_calfacs.py --basedir demo_run --grieke --subarrcor
    python plot_multi_calfacs.py --basedir demo_run --grieke --xaxisval subarr --noignore
    python plot_multi_calfacs.py --basedir demo_run --grieke --subarrcor --xaxisval srctype \\
        --time-coeffs-from-truth demo_run/truth.ecsv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from absflux.cli import fail, run, setup_logging

EPILOG = """\
Every filter is time corrected (CalFacs/miri_calfactors[_bkgsub]_repeat_<F>_fit.dat, or the truth file of
a simulated campaign with --time-coeffs-from-truth); the coronagraphic filters use the background-
subtracted photometry. Per filter it writes CalFacs/miri_calfactors[_bkgsub][_grieke][_subarracor]_timecor_<F>.fits
and _ave.dat (the same numbers as calc_calfactors.py --applytime with the same options), plus _subarr.dat
(--xaxisval subarr, imager filters) or _srctype.dat (--xaxisval srctype); the figure is
Figs/multi_calfacs_<xaxisval>[_grieke].png|pdf. Filters without photometry tables get an empty panel.
All outputs are written together at the end; bad inputs give a one-line error, exit code 2, and nothing
written.
"""


def main(argv=None) -> int:
    from absflux import constants as C
    from absflux.calfactors import DEFAULT_JITTER_SEED, MULTI_XAXIS_CHOICES

    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--basedir", type=Path, default=Path("."), help="campaign root (default .)")
    p.add_argument("--grieke", action="store_true", help="use Models/model_phot_grieke.fits (G. Rieke solar analogs)")
    p.add_argument(
        "--xaxisval",
        default="mflux",
        choices=MULTI_XAXIS_CHOICES,
        help="x axis of every panel (default mflux)",
    )
    p.add_argument("--subarrcor", action="store_true", help="multiply C by the subarray factor (FULL-equivalent)")
    p.add_argument("--noignore", action="store_true", help="keep the ignore-listed stars in the averages")
    p.add_argument(
        "--filters",
        nargs="+",
        choices=C.PLOT_ORDER,
        metavar="F",
        help="only these filters (each must have photometry and a time fit; default every filter with photometry)",
    )
    p.add_argument("--eefrac", type=float, default=C.EE_FRACTION_PHOT, help="EE fraction of the photometry (0.7)")
    p.add_argument(
        "--time-coeffs-from-truth",
        type=Path,
        metavar="TRUTH.ecsv",
        help="time coefficients from a simulated campaign's truth file instead of the repeat-fit files",
    )
    fig = p.add_mutually_exclusive_group()
    fig.add_argument("--png", action="store_true", help="figure as PNG (default)")
    fig.add_argument("--pdf", action="store_true", help="figure as PDF")
    p.add_argument("--show", action="store_true", help="also display the figure (interactive backend)")
    p.add_argument("--jitter-seed", type=int, default=DEFAULT_JITTER_SEED, help="seed of the categorical x-axis jitter")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    if not args.show:
        import matplotlib

        matplotlib.use("Agg")
    from absflux import calfactors as CF

    opts = CF.CalfacOptions(
        basedir=args.basedir,
        eefraction=args.eefrac,
        grieke=args.grieke,
        subarrcor=args.subarrcor,
        applytime=True,
        noignore=args.noignore,
        time_truth=args.time_coeffs_from_truth,
    )
    try:
        CF.run_plot_multi(
            opts,
            xaxisval=args.xaxisval,
            fig_format="pdf" if args.pdf else "png",
            show=args.show,
            jitter_seed=args.jitter_seed,
            options=vars(args),
            filters=args.filters,
        )
    except CF.CalFactorError as exc:
        return fail(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
