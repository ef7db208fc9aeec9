#!/usr/bin/env python
"""Step 6: synthetic band flux densities [Jy] of the calibration-star models (Models/model_phot*.fits).

Examples
--------
    python model_fluxes.py --root demo_run --grieke
    python model_fluxes.py --root demo_run                      # CALSPEC only (model_phot.fits)
    python model_fluxes.py --root run --models ../shared/data/calspec_subset \\
        --bandpasses ../shared/data/bandpasses/miri_pandeia --bandpass-fallback tynt --png
    python model_fluxes.py --root run --irac --irac-dir IRAC_RESPONSES
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from absflux.cli import fail, run, setup_logging

EPILOG = """\
Outputs (in ROOT/Models): bandpass_<f>.dat for every band, model_phot[_irac][_grieke].fits and .dat
(ascii.ipac) with columns name, one column per band [Jy] (MIRI order F560W F770W F1000W F1065C F1140C
F1130W F1280W F1500W F1550C F1800W F2100W F2300C F2550W FND), modfile; with --grieke the G. Rieke
models in Jy (grieke23_<key>.fits, grieke23_<key>_ipac.dat); with --png/--pdf one figure per model
(<model>_absfluxbands.png). Every output is written under a temporary name and renamed at the end:
on an error nothing is written. Bad inputs give a one-line error and exit code 2.
"""


def _scale(text: str) -> tuple[str, float]:
    try:
        key, val = text.split("=", 1)
        return key.strip(), float(val)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected KEY=FACTOR, got {text!r}") from None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--root", type=Path, default=Path("."), help="campaign root; outputs go to ROOT/Models (default .)")
    p.add_argument(
        "--models",
        type=Path,
        help="directory of the input spectra: CALSPEC <key>_stis*.fits and G. Rieke grieke23_<key>.dat "
        "(default ROOT/Models); every CALSPEC key must be a star of the catalogue",
    )
    p.add_argument(
        "--bandpasses",
        default="tynt",
        help="MIRI bandpasses: a directory with one curve per filter (e.g. pandeia exports "
        "jwst_miri_f0770w.dat, or bandpass_f770w.dat), or 'tynt' for the offline default (SVO profiles "
        "from the tynt package + a synthetic FND curve); default tynt",
    )
    p.add_argument(
        "--bandpass-fallback",
        choices=("tynt",),
        help="take filters missing from the --bandpasses directory (e.g. FND, absent from pandeia exports) "
        "from the offline default; without it a missing filter is an error",
    )
    p.add_argument(
        "--grieke",
        action="store_true",
        help="use the G. Rieke models (Models/grieke23_<key>.dat) for the solar analogs flagged in the star "
        "catalogue; output model_phot[_irac]_grieke.*",
    )
    p.add_argument(
        "--grieke-scale",
        type=_scale,
        action="append",
        default=[],
        metavar="KEY=FACTOR",
        help="multiply the G. Rieke F_lambda of star KEY by FACTOR (repeatable). The original scaled p177d by "
        "1e-3 without a documented reason; here nothing is scaled unless asked (--grieke-scale p177d=1e-3 "
        "reproduces the original for a file in those units)",
    )
    p.add_argument("--irac", action="store_true", help="IRAC bands instead of MIRI (output model_phot_irac*)")
    p.add_argument(
        "--irac-dir",
        type=Path,
        help="directory with the IRAC response files irac_201125ch{1..4}trans_full.txt (required with --irac)",
    )
    fig = p.add_mutually_exclusive_group()
    fig.add_argument("--png", action="store_true", help="write one PNG per model into ROOT/Models")
    fig.add_argument("--pdf", action="store_true", help="write one PDF per model into ROOT/Models")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = p.parse_args(argv)
    setup_logging(args.verbose)

    from absflux import modelflux as M

    fmt = "png" if args.png else "pdf" if args.pdf else None
    if not args.root.is_dir():
        return fail(f"{args.root}: campaign root does not exist")
    if args.models is not None and not args.models.is_dir():
        return fail(f"{args.models}: model directory does not exist")
    if args.irac_dir is not None and not args.irac:
        return fail("--irac-dir is only used with --irac")
    if args.grieke_scale and not args.grieke:
        return fail("--grieke-scale needs --grieke")
    try:
        M.run_model_fluxes(
            args.root,
            models_dir=args.models,
            bandpasses=args.bandpasses,
            bandpass_fallback=args.bandpass_fallback,
            grieke=args.grieke,
            irac=args.irac,
            irac_dir=args.irac_dir,
            grieke_scale=dict(args.grieke_scale),
            fig_format=fmt,
            options=vars(args),
        )
    except M.ModelFluxError as exc:
        return fail(str(exc))
    logging.getLogger("model_fluxes").info("done")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
