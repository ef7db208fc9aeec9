#!/usr/bin/env python
"""Step 9: calibration factors of one filter, their weighted average and diagnostic figure (CalFacs/, Figs/).

Examples
--------
    python calc_calfactors.py --basedir demo_run --filter F770W --grieke --subarrcor --applytime
    python calc_calfactors.py --basedir demo_run --filter F1065C --bkgsub --grieke --subarrcor \\
        --time-coeffs-from-truth demo_run/truth.ecsv
    python calc_calfactors.py --basedir demo_run --filter F770W --repeat --xaxisval timemid
    python calc_calfactors.py --basedir demo_run --filter F1280W --sourcemulti --grieke --subarrcor --applytime
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging

EPILOG = """\
C = 1e-6 F_model[Jy] / (rate[DN/s] x apcorr x pixel area[sr]) per observation; the average is the
sigma-clipped (3.0 for F560W, 3.5 otherwise) weighted mean with weight 1/N_obs per star; HD 180609 is
left out unless --noignore.

Inputs (below --basedir): <type>/<F><ext>_eefrac<e>_phot.fits for type in HotStars, ADwarfs,
SolarAnalogs (ext = "", _bkgsub, _indivmos, _indivcals, _bkgsub_indivcals); Models/model_phot[_grieke].fits;
with --applytime CalFacs/miri_calfactors[_bkgsub]_repeat_<F>_fit.dat.
Outputs: CalFacs/miri_calfactors<ext>_<F>.fits (name, calfac_F, calfac_F_mean_dev = C/mean,
calfac_F_med_dev = C/median, modflux_F [mJy]; new: calfac_F_unc = photometric error, weight = 1/N_obs,
used = in the average) with <ext> built from _bkgsub _indivmos _indivcals _repeat _subtrans _grieke
_subarracor _timecor; the sidecar _ave.dat (avecalfac_F, avecalfac_unc_F = std of the mean, avecalfac_std_F,
avecalfac_npts_F = effective number of stars; new: avecalfac_uncphot_F = the error of the average that the
photometric errors imply, each capped at the clipping window sigcut x std / sqrt(3)), or _fit.dat with the time fit
(--xaxisval timemid without a time correction: + fit_exp_amp_F, fit_exp_tau_F, fit_exp_const_F,
fit_exp_std_F, and for exp+line fit_linear_lossperyear_F, fit_startday_F normalised at t0; _calfit.dat with
--repeat, because _repeat_<F>_fit.dat is the time-dependence product); _subarr.dat, _srctype.dat,
_dithernum.dat for those x axes; the figure
Figs/miri_calfactors_<F>_<xaxis|detmulti|sourcemulti>_eefrac<e>[_bkgsub][_indivmos][_indivcals][_repeat]
[_subtrans][_grieke].png|pdf. All outputs are written together at the end; bad inputs give a one-line
error, exit code 2, and nothing written.
"""


def build_parser() -> argparse.ArgumentParser:
    from absflux.calfactors import DEFAULT_JITTER_SEED, DEFAULT_TIME_MODEL, TIME_MODELS, XAXIS_CHOICES

    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--filter", default="F770W", choices=C.ALL_FILTERS, help="filter (default F770W)")
    p.add_argument(
        "--basedir", type=Path, default=Path("."), help="campaign root holding the type dirs, Models/ (default .)"
    )
    p.add_argument("--bkgsub", action="store_true", help="use the background-subtracted (_bkgsub) photometry")
    p.add_argument("--indivmos", action="store_true", help="use the per-exposure mosaic (_indivmos) photometry")
    p.add_argument("--indivcals", action="store_true", help="use the per-exposure cal-image (_indivcals) photometry")
    p.add_argument("--eefrac", type=float, default=C.EE_FRACTION_PHOT, help="EE fraction of the photometry (0.7)")
    p.add_argument(
        "--xaxisval",
        default="mflux",
        choices=XAXIS_CHOICES,
        help="x axis: model flux [mJy], time (MJD - 59720), peak pixel rate, well depth, background, "
        "integration time, source type, subarray or dither position (default mflux)",
    )
    p.add_argument(
        "--subarrcor", action="store_true", help="multiply C by the subarray factor (FULL-equivalent values)"
    )
    p.add_argument(
        "--applytime",
        action="store_true",
        help="refer the rates to t0 = MJD 59720 with CalFacs/miri_calfactors[_bkgsub]_repeat_<F>_fit.dat",
    )
    p.add_argument(
        "--time-coeffs-from-truth",
        type=Path,
        metavar="TRUTH.ecsv",
        help="take the time coefficients from a simulated campaign's truth file (implies --applytime)",
    )
    p.add_argument(
        "--time-model",
        choices=TIME_MODELS,
        default=DEFAULT_TIME_MODEL,
        help="model of the time fit drawn with --xaxisval timemid without a time correction: exp+line (the "
        "current method, default) or exp (exponential + constant, tau = -200 d fixed, as the original "
        "calc_calfactors)",
    )
    p.add_argument("--grieke", action="store_true", help="use Models/model_phot_grieke.fits (G. Rieke solar analogs)")
    p.add_argument("--repeat", action="store_true", help=f"only the repeat star {C.REPEAT_STAR} (ADwarfs)")
    p.add_argument(
        "--subtrans",
        action="store_true",
        help="only the dedicated subarray-transfer visit ("
        + "; ".join(f"{f}: {s} at MJD {m}" for f, (s, m, _) in C.SUBTRANS_SELECTION.items())
        + ")",
    )
    p.add_argument("--noignore", action="store_true", help="keep the ignore-listed stars in the average")
    p.add_argument("--shownames", action="store_true", help="label the points with the star names")
    lay = p.add_mutually_exclusive_group()
    lay.add_argument("--detmulti", action="store_true", help="2x2 panels: rate, inttime, welldepth, subarr")
    lay.add_argument("--sourcemulti", action="store_true", help="2x2 panels: mflux, bkg, timemid, srctype")
    p.add_argument(
        "--photom-compare",
        type=Path,
        metavar="FILE",
        help="draw C(t) of a delivered photom reference file (current or old format) for comparison "
        "(replaces the original's default-on comparison)",
    )
    p.add_argument(
        "--nocurval",
        action="store_true",
        help="accepted for compatibility: the comparison is off unless --photom-compare is given",
    )
    fig = p.add_mutually_exclusive_group()
    fig.add_argument("--png", action="store_true", help="figure as PNG (default)")
    fig.add_argument("--pdf", action="store_true", help="figure as PDF")
    p.add_argument("--show", action="store_true", help="also display the figure (interactive backend)")
    p.add_argument("--jitter-seed", type=int, default=DEFAULT_JITTER_SEED, help="seed of the categorical x-axis jitter")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    if not args.show:
        import matplotlib

        matplotlib.use("Agg")
    from absflux import calfactors as CF

    opts = CF.CalfacOptions(
        basedir=args.basedir,
        bkgsub=args.bkgsub,
        indivmos=args.indivmos,
        indivcals=args.indivcals,
        eefraction=args.eefrac,
        repeat=args.repeat,
        subtrans=args.subtrans,
        grieke=args.grieke,
        subarrcor=args.subarrcor,
        applytime=args.applytime,
        noignore=args.noignore,
        time_truth=args.time_coeffs_from_truth,
        time_model=args.time_model,
    )
    layout = "detmulti" if args.detmulti else "sourcemulti" if args.sourcemulti else "single"
    try:
        CF.run_calc_calfactors(
            args.filter,
            opts,
            xaxisval=args.xaxisval,
            layout=layout,
            shownames=args.shownames,
            fig_format="pdf" if args.pdf else "png",
            show=args.show,
            jitter_seed=args.jitter_seed,
            photom_compare=args.photom_compare,
            options=vars(args),
        )
    except CF.CalFactorError as exc:
        return fail(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
