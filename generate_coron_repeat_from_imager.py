#!/usr/bin/env python
"""Step 7b: time dependence of the coronagraphic filters and FND interpolated in wavelength from the imager fits.

Examples
--------
    python generate_coron_repeat_from_imager.py --basedir demo_run
    python generate_coron_repeat_from_imager.py --basedir demo_run --filters F1065C FND
    python generate_coron_repeat_from_imager.py --basedir demo_run --original   # the original's pairs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging

EPILOG = "\n".join(
    [
        "Each target is interpolated linearly in wavelength between its bracketing imager filters",
        "(weight w = (lambda - lambda_1) / (lambda_2 - lambda_1); amp, tau, const, lossperyear and startday):",
        *(
            f"  {t} ({C.CORON_INTERP_PIVOTS[t]} um): {a} ({C.CORON_INTERP_PIVOTS[a]} um) - "
            f"{b} ({C.CORON_INTERP_PIVOTS[b]} um)"
            for t, (a, b) in C.CORON_INTERP_PAIRS.items()
        ),
        "Reads CalFacs/miri_calfactors[_bkgsub]_repeat_<imager F>_fit.dat (plot_repeatability.py); writes",
        "CalFacs/miri_calfactors_bkgsub_repeat_<F>_fit.dat (coronagraphic) or miri_calfactors_repeat_FND_fit.dat",
        "with fit_exp_amp_F, fit_exp_tau_F, fit_exp_const_F, fit_linear_lossperyear_F, fit_startday_F.",
        "A missing imager fit is a one-line error (exit code 2, nothing written) unless --skip-missing.",
        "--pairs original (or --original) takes F1140C from F1130W - F1280W as the original did (w = -0.0067:",
        "extrapolated 0.01 um below F1130W); the default pairs bracket every target.",
    ]
)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--basedir", type=Path, default=Path("."), help="campaign root (default .)")
    p.add_argument(
        "--filters",
        nargs="+",
        choices=tuple(C.CORON_INTERP_PAIRS),
        metavar="F",
        help=f"targets (default all: {' '.join(C.CORON_INTERP_PAIRS)})",
    )
    p.add_argument("--skip-missing", action="store_true", help="skip targets whose imager fits are missing (warning)")
    p.add_argument(
        "--pairs",
        choices=("bracketing", "original"),
        default=None,
        help="imager pairs: bracketing (default; F1140C from F1000W-F1130W) or original (F1140C from "
        "F1130W-F1280W, as the original scripts)",
    )
    p.add_argument(
        "--original",
        action="store_true",
        help="the original scripts' step-7b choices, i.e. --pairs original (an explicit --pairs still wins)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = p.parse_args(argv)
    if args.pairs is None:
        args.pairs = "original" if args.original else "bracketing"
    setup_logging(args.verbose)
    from absflux import timedep as TD

    if not args.basedir.is_dir():
        return fail(f"{args.basedir}: base directory does not exist")
    try:
        done = TD.run_coron_interpolation(
            args.basedir, args.filters, args.skip_missing, options=vars(args), pairs=args.pairs
        )
    except TD.TimeDepError as exc:
        return fail(str(exc))
    print(f"{'filter':8s} {'weight':>8s} {'lossperyear':>12s} {'const':>9s} {'amp':>9s} {'tau':>9s}")
    for t, c in done.items():
        print(f"{t:8s} {c['weight']:8.4f} {c['lossperyear']:12.5f} {c['const']:9.5f} {c['amp']:9.5f} {c['tau']:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
