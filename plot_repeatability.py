#!/usr/bin/env python
"""Step 7: time-dependent sensitivity from the repeat star BD+60 1753 (CalFacs/*_repeat_<F>_fit.dat, Fig. 5).

Examples
--------
    python plot_repeatability.py --basedir demo_run --docs
    python plot_repeatability.py --basedir demo_run --line --dexp --pdf
    python plot_repeatability.py --basedir demo_run --model exp --exclusions paper-era
    python plot_repeatability.py --basedir demo_run --original      # the original scripts' choices
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging

EPILOG = f"""\
Per imager filter: C of {C.REPEAT_STAR} (ADwarfs photometry, G. Rieke model table; background-subtracted
photometry for {", ".join(f for f in C.BKGSUB_REPEAT_FILTERS if f in C.IMAGER_FILTERS)}) turned into
y = 1/C, referred to SUB256 with the adopted subarray factors, plus the bridging stars
{", ".join(s for _, s in C.BRIDGING_STARS)} scaled to the repeat star at the time-nearest epoch; x = MJD - {C.STARTDAY:.0f}.
Fitted models: exp, powerlaw, exp+line (+ line with --line, exp+exp with --dexp). The adopted model
(--model) is fitted directly in the product form of the jwst photom step,
y(x) = y0 (1 + lossperyear x/365) (amp exp(x/tau) + const), amp + const = 1, and written to
CalFacs/miri_calfactors[_bkgsub]_repeat_<F>_fit.dat: fit_linear_lossperyear_F, fit_exp_const_F, fit_exp_amp_F,
fit_exp_tau_F (days, negative), fit_startday_F, fit_std_F (rms of y - model), fit_std_per_F (percent), and
fit_npts_F, fit_npar_F, fit_mjd_first_F, fit_mjd_last_F. Also CalFacs/repeat_residual_correlation.dat and
Figs/all_repeatability[_docs][_report].png|pdf. A coefficient summary is printed on stdout.
Filters without repeat-star data are skipped with a warning (an error if named with --filters). Bad inputs
give a one-line error, exit code 2, and nothing written.

--original selects every step-7 choice of the original scripts at once: --model exp+line-original
--exclusions original-code --allow-underdetermined --bridge-window 0 --dof original. An option given
explicitly wins over what --original implies (e.g. --original --model exp+line).
"""


def build_parser() -> argparse.ArgumentParser:
    from absflux.timedep import (
        ADOPTED_MODELS,
        DEFAULT_BRIDGE_WINDOW,
        DEFAULT_EXCLUSIONS,
        DEFAULT_MODEL,
        DOF_MODES,
        EXCLUSION_ALIASES,
        EXCLUSION_SETS,
    )

    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--basedir", type=Path, default=Path("."), help="campaign root (default .)")
    p.add_argument(
        "--filters", nargs="+", choices=C.IMAGER_FILTERS, metavar="F", help="imager filters (default: all nine)"
    )
    p.add_argument(
        "--original",
        action="store_true",
        help="the original scripts' step-7 choices: --model exp+line-original --exclusions original-code "
        "--allow-underdetermined --bridge-window 0 --dof original (options given explicitly still win)",
    )
    p.add_argument(
        "--model",
        choices=ADOPTED_MODELS,
        default=None,
        help=f"adopted model written to the fit files: exp+line (current method, default {DEFAULT_MODEL}: the "
        "product form fitted directly, normalised at t0), exp (the paper's exponential, lossperyear = 0) or "
        "exp+line-original (the original scripts: additive exp + line, tau bounds [-400, 100], coefficients "
        "converted approximately to the product form)",
    )
    p.add_argument("--line", action="store_true", help="also fit and draw the linear model")
    p.add_argument("--dexp", action="store_true", help="also fit and draw the exp+exp model")
    p.add_argument("--docs", action="store_true", help="draw only the adopted model (paper/documentation figure)")
    p.add_argument("--report", action="store_true", help="compact layout (no offsets between filters)")
    p.add_argument(
        "--show_prev",
        "--show-prev",
        type=Path,
        metavar="FILE",
        help="overplot the time dependence of a previous photom reference file (current or old format)",
    )
    p.add_argument(
        "--exclusions",
        choices=(*EXCLUSION_SETS, *EXCLUSION_ALIASES),
        default=None,
        help=f"exclusion windows (default {DEFAULT_EXCLUSIONS}): original-code = what the original scripts "
        "exclude (day 350 +- 5; F1800W day 40 +- 3); paper-era = the paper-era version of that code "
        "(day 350 +- 5; MJD 60070 +- 20, all filters). "
        + "; ".join(f"{a} is a former name of {n}" for a, n in EXCLUSION_ALIASES.items()),
    )
    p.add_argument(
        "--bridge-window",
        type=float,
        default=None,
        metavar="DAYS",
        help="average the bridging and repeat-star points within DAYS of the matched epochs for the bridging "
        f"scale (default {DEFAULT_BRIDGE_WINDOW:g}; 0 = single points as the original)",
    )
    p.add_argument(
        "--allow-underdetermined",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fit a series with exactly as many points as free parameters, as the original did (fit_std and "
        "fit_std_per are then NaN: undefined); default: refused with an error (fewer points are always refused)",
    )
    p.add_argument(
        "--dof",
        choices=DOF_MODES,
        default=None,
        help="N - p of fit_std, fit_std_per and the uncertainties: free = p counts the free parameters "
        "(default); original = the original's fixed counts (exp 3, powerlaw 3, exp+line 4, line 2, exp+exp 5)",
    )
    p.add_argument("--eefrac", type=float, default=C.EE_FRACTION_PHOT, help="EE fraction of the photometry (0.7)")
    p.add_argument(
        "--accuracy-mc",
        type=int,
        default=0,
        metavar="N",
        help="also estimate how well each adopted curve can be known at its sampling and scatter: N seeded "
        "noise realisations of the fitted curve are refitted and the median and 90th percentile of their "
        "largest deviation over the time span are printed (default 0: off; 200 is a good value)",
    )
    p.add_argument(
        "--accuracy-target",
        type=float,
        default=0.005,
        metavar="FRAC",
        help="with --accuracy-mc: also print the fraction of realisations within FRAC (default 0.005)",
    )
    fig = p.add_mutually_exclusive_group()
    fig.add_argument("--png", action="store_true", help="figure as PNG (default)")
    fig.add_argument("--pdf", action="store_true", help="figure as PDF")
    p.add_argument("--show", action="store_true", help="also display the figure (interactive backend)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def resolve_original(args) -> argparse.Namespace:
    """Fill the options left unset: the original's choices with ``--original``, else the defaults.

    An option given explicitly is kept, so ``--original --model exp+line`` changes only the model.
    """
    from absflux import timedep as TD

    defaults = {
        "model": TD.DEFAULT_MODEL,
        "exclusions": TD.DEFAULT_EXCLUSIONS,
        "allow_underdetermined": False,
        "bridge_window": TD.DEFAULT_BRIDGE_WINDOW,
        "dof": "free",
    }
    chosen = TD.ORIGINAL_REPEAT_CHOICES if args.original else defaults
    for key, value in chosen.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv=None) -> int:
    args = resolve_original(build_parser().parse_args(argv))
    setup_logging(args.verbose)
    if not args.show:
        import matplotlib

        matplotlib.use("Agg")
    from absflux import timedep as TD

    if args.bridge_window < 0:
        return fail("--bridge-window must be >= 0")
    if args.accuracy_mc < 0 or not args.accuracy_target > 0:
        return fail("--accuracy-mc must be >= 0 and --accuracy-target > 0")
    extra = [m for m, on in (("line", args.line), ("exp+exp", args.dexp)) if on]
    try:
        res = TD.run_repeatability(
            args.basedir,
            filters=args.filters,
            model=args.model,
            extra_models=extra,
            exclusions=args.exclusions,
            bridge_window=args.bridge_window,
            eefraction=args.eefrac,
            allow_underdetermined=args.allow_underdetermined,
            dof=args.dof,
            docs=args.docs,
            report=args.report,
            show_prev=args.show_prev,
            fig_format="pdf" if args.pdf else "png",
            show=args.show,
            options=vars(args),
        )
    except TD.TimeDepError as exc:
        return fail(str(exc))
    print("\n".join(TD.summary_lines(res)))
    if args.accuracy_mc:
        tol = args.accuracy_target
        print(f"time-curve accuracy at the observed sampling ({args.accuracy_mc} realisations, seed 1):")
        for f, fit in res.adopted.items():
            try:
                acc = TD.curve_accuracy_mc(fit, res.series[f].table["x"], n=args.accuracy_mc)
            except TD.TimeDepError as exc:
                print(f"  {f}: {exc}")
                continue
            print(
                f"  {f}: scatter {100 * acc['scatter']:.2f}% per point, {len(res.series[f].table)} points: largest "
                f"deviation median {100 * acc['median']:.2f}%, 90th percentile {100 * acc['p90']:.2f}%; "
                f"{100 * acc['within'](tol):.0f}% of the realisations within {100 * tol:.2g}%"
            )
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
