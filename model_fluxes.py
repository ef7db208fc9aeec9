#!/usr/bin/env python
"""Step 6: synthetic band flux densities [Jy] of the calibration-star models (Models/model_phot*.fits).

Examples
--------
    python model_fluxes.py --root demo_run --grieke
    python model_fluxes.py --root demo_run                      # CALSPEC only (model_phot.fits)
    python model_fluxes.py --root run --models ../shared/data/calspec_subset \\
        --bandpasses ../shared/data/bandpasses/miri_pandeia --bandpass-fallback tynt --png
    python model_fluxes.py --root run --irac --irac-dir IRAC_RESPONSES
    python model_fluxes.py --root run --grieke --original       # the original scripts' choices
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

G. Rieke consistency check: a G. Rieke model more than a factor 2 away from the CALSPEC spectrum of the
same star in a band is an error (wrong flux unit?). For a star scaled with --grieke-scale the check runs
on the scaled model and a failure is a warning recorded in the table metadata (HISTORY / comments), not
an error: the user stated the unit, and the original's p177d x 1e-3 on a file in W cm-2 um-1 (which
makes that star 1000x too faint) must stay reproducible.

--original selects every step-6 choice of the original scripts at once: --grieke-scale p177d=1e-3 (with
--grieke), --grieke-keys original, --extrapolation flat, --grieke-jy-copy unscaled. An option given
explicitly wins over what --original implies (--grieke-scale p177d=1 undoes the scaling).
"""


def _scale(text: str) -> tuple[str, float]:
    try:
        key, val = text.split("=", 1)
        return key.strip(), float(val)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected KEY=FACTOR, got {text!r}") from None


def resolve_original(args) -> dict:
    """The step-6 choices: the original's with ``--original``, else the defaults; explicit options win.

    ``--grieke-scale`` merges per star: ``--original --grieke-scale p177d=1`` keeps every other original
    choice but does not scale p177d.  The original's scale applies only with ``--grieke``.
    """
    from absflux import modelflux as M

    base = (
        M.ORIGINAL_MODEL_CHOICES
        if args.original
        else {
            "grieke_scale": {},
            "grieke_keys": "catalogue",
            "extrapolation": "rayleigh-jeans",
            "grieke_jy_copy": "scaled",
        }
    )
    scale = dict(base["grieke_scale"]) if args.grieke else {}
    scale.update(dict(args.grieke_scale))
    # a factor 1 given to undo --original's scaling is no scaling at all (no note, normal check)
    scale = {k: v for k, v in scale.items() if v != 1.0}
    out = {"grieke_scale": scale}
    for key in ("grieke_keys", "extrapolation", "grieke_jy_copy"):
        given = getattr(args, key)
        out[key] = given if given is not None else base[key]
    return out


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
        "reproduces the original). The factor-2 consistency check runs on the scaled model; for a scaled "
        "star its failure is a recorded warning, not an error",
    )
    p.add_argument(
        "--grieke-keys",
        choices=("catalogue", "original"),
        default=None,
        help="which flagged stars use their G. Rieke model with --grieke: catalogue (default, all of them) or "
        "original (NGC2506 G31 keeps its CALSPEC spectrum: the original's key ngc2506_g31 never matched "
        "the file grieke23_ngc2506g31.dat)",
    )
    p.add_argument(
        "--extrapolation",
        choices=("rayleigh-jeans", "flat"),
        default=None,
        help="a model shorter than a band: rayleigh-jeans (default; F_lambda ~ lambda^-4 tail, error when "
        "more than 1%% of the band weight is uncovered) or flat (the last model value, without limit, as "
        "the original); either way a note is recorded",
    )
    p.add_argument(
        "--grieke-jy-copy",
        choices=("scaled", "unscaled"),
        default=None,
        help="the Jy copies grieke23_<key>.fits/_ipac.dat: scaled (default, after --grieke-scale, matching "
        "the table) or unscaled (before it, as the original)",
    )
    p.add_argument(
        "--original",
        action="store_true",
        help="the original scripts' step-6 choices: --grieke-scale p177d=1e-3 (with --grieke), "
        "--grieke-keys original, --extrapolation flat, --grieke-jy-copy unscaled (explicit options win)",
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
    opts = resolve_original(args)
    try:
        M.run_model_fluxes(
            args.root,
            models_dir=args.models,
            bandpasses=args.bandpasses,
            bandpass_fallback=args.bandpass_fallback,
            grieke=args.grieke,
            irac=args.irac,
            irac_dir=args.irac_dir,
            grieke_scale=opts["grieke_scale"],
            fig_format=fmt,
            options=vars(args) | {k: v for k, v in opts.items() if k != "grieke_scale"},
            grieke_keys=opts["grieke_keys"],
            extrapolation=opts["extrapolation"],
            grieke_jy_copy=opts["grieke_jy_copy"],
        )
    except M.ModelFluxError as exc:
        return fail(str(exc))
    logging.getLogger("model_fluxes").info("done")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
