"""Command-line front ends of the NIRISS scripts in ``niriss/``.

Each ``*_main(argv)`` keeps the original positional interface (spec sections 3-9), adds
options, and returns an exit status: 0 on success, 2 on bad input (a one-line message on
stderr that names the file and the problem; nothing is written).  The scripts in
``niriss/`` only call these functions, so the tests can run them in-process.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from . import constants as C
from .io import NirissInputError, provenance, write_outputs

log = logging.getLogger("absflux.niriss")

FIXED_WIDTH = {"format": "ascii.fixed_width", "delimiter": None}


class UsageError(Exception):
    """Wrong command line (reported like bad input: one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # noqa: D102 - argparse hook
        raise UsageError(message)


def _parser(prog: str, description: str) -> _Parser:
    return _Parser(prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")


class _StderrHandler(logging.StreamHandler):
    """Stream handler that always writes to the current ``sys.stderr``."""

    @property
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def _setup_logging(args) -> None:
    if getattr(args, "verbose", False):
        level = logging.DEBUG
    elif getattr(args, "quiet", False):
        level = logging.WARNING
    else:
        level = logging.INFO
    logger = logging.getLogger("absflux")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        h = _StderrHandler()
        h.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logger.addHandler(h)
    logger.setLevel(level)


def _run(prog: str, func, argv) -> int:
    try:
        return int(func(argv) or 0)
    except (NirissInputError, UsageError) as exc:
        msg = " ".join(str(exc).split())
        print(f"{prog}: error: {msg}", file=sys.stderr)
        return 2
    except OSError as exc:
        msg = " ".join(str(exc).split())
        print(f"{prog}: error: {msg}", file=sys.stderr)
        return 1


def _parse_radii(text: str | None, default) -> tuple:
    if text is None:
        return tuple(default)
    try:
        vals = tuple(float(v) for v in text.replace(",", " ").split())
    except ValueError:
        raise UsageError(f"radii must be numbers separated by commas: {text!r}") from None
    if not vals or min(vals) <= 0:
        raise UsageError(f"radii must be positive: {text!r}")
    return tuple(int(v) if v == int(v) else v for v in vals)


def _check_outputs_differ(inputs, outputs) -> None:
    ins = {os.path.realpath(p) for p in inputs}
    for o in outputs:
        if os.path.realpath(o) in ins:
            raise NirissInputError(f"{o}: output would overwrite an input file")


def _coord(text: str, name: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a number, got {text!r}") from None


# ---------------------------------------------------------------------------
# getcircEE1
# ---------------------------------------------------------------------------
EE_EPILOG = """\
Outputs: <outtab> (all photometry, 'ascii' basic, '%.8g') and <radtab> (EE table:
Radius Rad_arcsec CountRate errCountRate, CountRate in e-/s, gain 1.6 applied).
x and y are 0-based (column, row), as in the original.  The max-count line and the DQ
report are printed on stdout.  Without --legacy the bugs B1-B3 of the original are fixed
(see niriss/README.rst)."""


def getcircee1_main(argv=None) -> int:
    """``getcircEE1.py <infile> <x> <y> [outtab] [radtab] [usemedian]``."""
    return _run("getcircEE1", _getcircee1, argv)


def _getcircee1(argv) -> int:
    from .ee import ee_photometry, ee_table, fluxes_table
    from .io import read_exposure

    p = _parser("getcircEE1.py", "Encircled-energy photometry of one star in one NIRISS exposure.")
    p.epilog = EE_EPILOG
    p.add_argument("infile", nargs="?", help="FITS file (_rate/_cal product or single-HDU image)")
    p.add_argument("x", nargs="?", help="star column (0-based)")
    p.add_argument("y", nargs="?", help="star row (0-based)")
    p.add_argument("outtab", nargs="?", default="getcircEE1.fluxes", help="photometry table (default %(default)s)")
    p.add_argument("radtab", nargs="?", default="getcircEE1.radtab", help="EE table (default %(default)s)")
    p.add_argument("mode", nargs="?", default="", help="a word containing 'median' selects the median mode")
    p.add_argument("--median", action="store_true", help="median mode (getcircEE1a): 7x7 median over a 40x40 cutout")
    p.add_argument("--radii", help=f"aperture radii in px (default {','.join(map(str, C.EE_RADII))})")
    p.add_argument("--legacy", action="store_true", help="reproduce the original's bugs B1-B3")
    p.add_argument("--dq-mode", choices=C.DQ_MODES, default="range", help="DQ logic (default: integer ranges)")
    p.add_argument("--gain", type=float, default=C.GAIN, help="gain in e-/DN (default %(default)s)")
    _add_common(p)
    args = p.parse_args(argv)
    _setup_logging(args)
    if args.infile is None or args.y is None:
        raise UsageError("Input FITS file name, x, and y are required.")
    x, y = _coord(args.x, "x"), _coord(args.y, "y")
    radii = _parse_radii(args.radii, C.EE_RADII)
    median = args.median or ("median" in args.mode.lower() if not args.legacy else "median" in args.mode)
    _check_outputs_differ([args.infile], [args.outtab, args.radtab])
    exp = read_exposure(args.infile)
    res = ee_photometry(exp, x, y, radii=radii, median=median, legacy=args.legacy, dq_mode=args.dq_mode, gain=args.gain)
    opts = f"x={x:g} y={y:g} mode={'median' if median else 'polynomial'} legacy={args.legacy} dq_mode={args.dq_mode} gain={args.gain:g}"
    comments = provenance("getcircEE1", [args.infile], opts)
    comments.append(
        f"centroid: {res.xc:.4f} {res.yc:.4f}; sky {res.bck_mean:.6g} +- {res.bck_stdev:.6g} DN/s (npix {res.bck_npix}); {res.nrepaired} pixel(s) flagged for repair"
    )
    write_outputs(
        [
            (fluxes_table(res, comments), args.outtab, {"format": "ascii"}),
            (ee_table(res, comments), args.radtab, FIXED_WIDTH),
        ]
    )
    for line in res.messages:
        print(line)
    log.info("wrote %s and %s", args.outtab, args.radtab)
    return 0


# ---------------------------------------------------------------------------
# meanflux1
# ---------------------------------------------------------------------------
def meanflux1_main(argv=None) -> int:
    """``meanflux1.py <root> [outtab]``."""
    return _run("meanflux1", _meanflux1, argv)


def _meanflux1(argv) -> int:
    from .combine import avtab_table, combine_ee_files, find_ee_tables

    p = _parser("meanflux1.py", "Weighted mean of the per-dither EE tables <root>*.radtab (psf tables excluded).")
    p.add_argument("root", nargs="?", help="root of the EE tables, e.g. f115w_sub128")
    p.add_argument("outtab", nargs="?", help="output table (default <root>.avtab)")
    p.add_argument("--legacy", action="store_true", help="original zero-error and 'psf'-in-path behaviour")
    _add_common(p)
    args = p.parse_args(argv)
    _setup_logging(args)
    if not args.root:
        raise UsageError("Input root name is required.")
    out = args.outtab or args.root + ".avtab"
    files = find_ee_tables(args.root, legacy=args.legacy)
    if not files:
        raise NirissInputError(f"{args.root}*.radtab: no candidate input files are present in the directory")
    _check_outputs_differ(files, [out])
    comb = combine_ee_files(files, legacy=args.legacy)
    t = avtab_table(comb, provenance("meanflux1", files, f"legacy={args.legacy}"))
    write_outputs([(t, out, FIXED_WIDTH)])
    log.info("combined %d table(s) into %s", len(files), out)
    return 0


# ---------------------------------------------------------------------------
# getcircSB1
# ---------------------------------------------------------------------------
def getcircsb1_main(argv=None) -> int:
    """``getcircSB1.py <infile> <x> <y> [radtab] [noclip]``."""
    return _run("getcircSB1", _getcircsb1, argv)


def _getcircsb1(argv) -> int:
    from .io import read_exposure
    from .sb import sb_profile, sb_table

    p = _parser("getcircSB1.py", "Surface-brightness profile (annuli 5, 9, ..., 25 px, half width 2 px) of one star.")
    p.epilog = "SB is in input units per pixel (DN/s/pix for rate/cal files), sky not subtracted."
    p.add_argument("infile", nargs="?", help="FITS file")
    p.add_argument("x", nargs="?", help="star column (0-based)")
    p.add_argument("y", nargs="?", help="star row (0-based)")
    p.add_argument("radtab", nargs="?", default="getcircSB1.radtab", help="SB table (default %(default)s)")
    p.add_argument("clip", nargs="?", default="", help="a word starting with 'no' (e.g. noclip) turns the clipping off")
    p.add_argument("--noclip", action="store_true", help="no clipping (SB = sum / number of pixels)")
    p.add_argument("--radii", help=f"annulus radii in px (default {','.join(map(str, C.SB_RADII))})")
    p.add_argument("--legacy", action="store_true", help="reproduce the original's bugs B1-B3 and B14")
    p.add_argument("--dq-mode", choices=C.DQ_MODES, default="range", help="DQ logic (default: integer ranges)")
    _add_common(p)
    args = p.parse_args(argv)
    _setup_logging(args)
    if args.infile is None or args.y is None:
        raise UsageError("Input FITS file name, x, and y are required.")
    x, y = _coord(args.x, "x"), _coord(args.y, "y")
    radii = _parse_radii(args.radii, C.SB_RADII)
    word = args.clip.lower()
    noclip = args.noclip or (("no" in word) if args.legacy else word.startswith("no"))
    _check_outputs_differ([args.infile], [args.radtab])
    exp = read_exposure(args.infile)
    res = sb_profile(exp, x, y, radii=radii, clip=not noclip, legacy=args.legacy, dq_mode=args.dq_mode)
    opts = f"x={x:g} y={y:g} clip={not noclip} legacy={args.legacy} dq_mode={args.dq_mode}"
    comments = provenance("getcircSB1", [args.infile], opts)
    comments.append(
        f"centroid: {res.xc:.4f} {res.yc:.4f}; sky {res.sky_mean:.6g} +- {res.sky_sigma:.6g}; clip limit {res.badlimit:.6g}"
    )
    write_outputs([(sb_table(res, comments), args.radtab, FIXED_WIDTH)])
    for line in res.messages:
        print(line)
    log.info("wrote %s", args.radtab)
    return 0


# ---------------------------------------------------------------------------
# meansb1
# ---------------------------------------------------------------------------
def meansb1_main(argv=None) -> int:
    """``meansb1.py <root> [outtab]``."""
    return _run("meansb1", _meansb1, argv)


def _meansb1(argv) -> int:
    from .combine import avsbtab_table, combine_sb_files, find_sb_tables

    p = _parser("meansb1.py", "Weighted mean of the SB tables <root>*.sbtab.")
    p.add_argument("root", nargs="?", help="root of the SB tables")
    p.add_argument("outtab", nargs="?", help="output table (default <root>.avsbtab)")
    p.add_argument("--legacy", action="store_true", help="show 1000 for zero errors in the per-file columns (B13)")
    _add_common(p)
    args = p.parse_args(argv)
    _setup_logging(args)
    if not args.root:
        raise UsageError("Input root name is required.")
    out = args.outtab or args.root + ".avsbtab"
    files = find_sb_tables(args.root)
    if not files:
        raise NirissInputError(f"{args.root}*.sbtab: no candidate input files are present in the directory")
    _check_outputs_differ(files, [out])
    comb = combine_sb_files(files, legacy=args.legacy)
    t = avsbtab_table(comb, provenance("meansb1", files, f"legacy={args.legacy}"))
    write_outputs([(t, out, FIXED_WIDTH)])
    log.info("combined %d table(s) into %s", len(files), out)
    return 0


# ---------------------------------------------------------------------------
# totfluxes
# ---------------------------------------------------------------------------
def totfluxes_main(argv=None) -> int:
    """``totfluxes.py <subarray> [outtab]``."""
    return _run("totfluxes", _totfluxes, argv)


def _totfluxes(argv) -> int:
    from .totals import printout, total_countrates, totfluxes_table

    p = _parser(
        "totfluxes.py", "Aperture-corrected total count rates [e-/s] of the 12 NIRISS filters for one subarray."
    )
    p.epilog = (
        "CR_tot = c_f * mean_r[max_dither CR(r) / EE_psf(r)], r = --radii (code: 7,8,9 px), c_f = 0.84 for\n"
        "F277W-F480M.  Inputs: <indir>/<f>_<sub>*<suffix>.radtab and <psfdir>/<f>_psf.radtab."
    )
    p.add_argument("subarray", nargs="?", help=f"one of {', '.join(C.TOTFLUX_SUBARRAYS)}")
    p.add_argument("outtab", nargs="?", default="totfluxes.out", help="output table (default %(default)s)")
    p.add_argument("--indir", default=".", help="directory of the per-dither EE tables (default: current)")
    p.add_argument("--psfdir", default=".", help="directory of <f>_psf.radtab (default: current)")
    p.add_argument("--radii", help="aperture-correction radii in px (default 7,8,9 as the code; README 5-10, PDF 5-8)")
    p.add_argument(
        "--suffix", default="a", help="EE-table name ending before .radtab (default 'a', the median-mode tables)"
    )
    p.add_argument(
        "--clearp-factor", type=float, default=C.CLEARP_FACTOR, help="factor of the LW filters (default %(default)s)"
    )
    p.add_argument(
        "--combine",
        choices=("max", "wmean"),
        default="max",
        help="per-radius maximum over dithers (original) or weighted mean",
    )
    p.add_argument("--star", default=C.DEFAULT_STAR, help="star name of the printout (default %(default)s)")
    _add_common(p)
    args = p.parse_args(argv)
    _setup_logging(args)
    if not args.subarray:
        raise UsageError("Input subarray name is required.")
    radii = _parse_radii(args.radii, C.APCOR_RADII)
    results = total_countrates(
        args.subarray, args.indir, args.psfdir, radii, args.suffix, args.clearp_factor, args.combine
    )
    files = [f for r in results for f in r.files]
    _check_outputs_differ(files, [args.outtab])
    opts = (
        f"subarray={args.subarray} radii={','.join(map(str, radii))} suffix={args.suffix} "
        f"clearp_factor={args.clearp_factor:g} combine={args.combine} psfdir={args.psfdir}"
    )
    t = totfluxes_table(results, provenance("totfluxes", files, opts))
    write_outputs([(t, args.outtab, FIXED_WIDTH)])
    for r in results:
        if r.message:
            print(r.message)
    print(printout(results, args.star))
    return 0


# ---------------------------------------------------------------------------
# NIRISScountrates
# ---------------------------------------------------------------------------
def countrates_main(argv=None) -> int:
    """``NIRISScountrates.py <calspec file>``."""
    return _run("NIRISScountrates", _countrates, argv)


def _countrates(argv) -> int:
    from .countrates import predict_countrates, printout

    p = _parser(
        "NIRISScountrates.py", "Predicted count rates [e-/s] of a CALSPEC spectrum in the 12 NIRISS filters (synphot)."
    )
    p.epilog = (
        "Throughput directory layouts: pysynphot files (jwst_nis_<f>_clear.fits, jwst_nis_clearp_<f>.fits),\n"
        "pandeia curves (jwst_niriss_<f>.dat; LW x 0.84 CLEARP) or NIRISS_magnitude_simulation component files\n"
        "(standard_throughputs/).  The spectrum may also be found in $PYSYN_CDBS/calspec/."
    )
    p.add_argument("calspec", nargs="?", help="CALSPEC FITS file")
    p.add_argument(
        "--throughputs", default=os.environ.get("NIS_SYNPHOT"), help="throughput directory (default $NIS_SYNPHOT)"
    )
    p.add_argument(
        "--area", type=float, default=C.COLLECTING_AREA_CM2, help="collecting area in cm^2 (default %(default)s)"
    )
    p.add_argument("--force", choices=("taper", "extrap"), help="synphot handling of partial overlap (default: error)")
    p.add_argument("--clearp-factor", default="auto", help="LW pupil factor: 'auto' (per throughput kind) or a number")
    p.add_argument("--outtab", help="also write a table (Filter, CountRate, kind, factor) with provenance")
    _add_common(p)
    args = p.parse_args(argv)
    _setup_logging(args)
    if not args.calspec:
        raise UsageError("Input CALSPEC file name is required.")
    if not args.throughputs:
        raise UsageError("no throughput directory: give --throughputs DIR or set NIS_SYNPHOT")
    spec = args.calspec
    if not os.path.isfile(spec) and os.environ.get("PYSYN_CDBS"):
        alt = os.path.join(os.environ["PYSYN_CDBS"], "calspec", spec)
        if os.path.isfile(alt):
            spec = alt
    if args.clearp_factor == "auto":
        factor = None
    else:
        try:
            factor = float(args.clearp_factor)
        except ValueError:
            raise UsageError(f"--clearp-factor must be 'auto' or a number, got {args.clearp_factor!r}") from None
    target, preds = predict_countrates(spec, args.throughputs, args.area, args.force, factor)
    if args.outtab:
        from astropy.table import Table

        t = Table()
        t["Filter"] = [q.filter for q in preds]
        t["CountRate"] = [q.countrate for q in preds]
        t["CountRate"].info.format = "12.4e"
        t["kind"] = [q.kind for q in preds]
        t["factor"] = [q.factor for q in preds]
        t["factor"].info.format = "6.3f"
        opts = (
            f"throughputs={args.throughputs} area={args.area:g} force={args.force} clearp_factor={args.clearp_factor}"
        )
        t.meta["comments"] = provenance("NIRISScountrates", [spec], opts, extra_packages=("synphot",)) + [
            f"target: {target}",
            "CountRate in e-/s",
        ]
        _check_outputs_differ([spec], [args.outtab])
        write_outputs([(t, args.outtab, FIXED_WIDTH)])
    for q in preds:
        log.debug("%s: %.4e e-/s (%s, factor %.3f, %s)", q.filter, q.countrate, q.kind, q.factor, q.path)
    print(printout(target, preds))
    return 0


# ---------------------------------------------------------------------------
# simulate_niriss
# ---------------------------------------------------------------------------
def simulate_main(argv=None) -> int:
    """``simulate_niriss.py [--out DIR] [--subarrays ...]``."""
    return _run("simulate_niriss", _simulate, argv)


def _simulate(argv) -> int:
    from .simulate import DEFAULT_SUBARRAYS, simulate_dataset

    p = _parser(
        "simulate_niriss.py", "Simulated NIRISS imaging of WD 1057+719 (program 1094 layout) with known totals."
    )
    p.add_argument("--out", default=os.path.join("niriss_run", "sim"), help="output folder (default %(default)s)")
    p.add_argument(
        "--subarrays",
        default=",".join(DEFAULT_SUBARRAYS),
        help="comma-separated subset of SUB64,SUB128,SUB256,FULL (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=1094, help="random seed (default %(default)s)")
    p.add_argument("--scale", type=float, default=1.0, help="factor on the injected NIS-020 Table 3 rates (default 1)")
    p.add_argument(
        "--product", choices=("cal", "rate"), default="cal", help="_cal (MJy/sr, PHOTMJSR) or _rate (DN/s) files"
    )
    p.add_argument("--no-noise", action="store_true", help="noise-free images")
    p.add_argument("--star", default=C.DEFAULT_STAR, help="target name (default %(default)s)")
    _add_common(p)
    args = p.parse_args(argv)
    _setup_logging(args)
    subs = [s.strip().upper() for s in args.subarrays.split(",") if s.strip()]
    bad = [s for s in subs if s not in C.SUBARRAY_SIZE]
    if bad or not subs:
        raise UsageError(f"unknown subarray(s) {', '.join(bad) or '(none)'}; use SUB64, SUB128, SUB256, FULL")
    plans = simulate_dataset(
        args.out,
        subs,
        args.seed,
        scale=args.scale,
        noise=not args.no_noise,
        product=args.product,
        star=args.star,
        progress=not args.quiet,
    )
    log.info("wrote %d exposures, exposures.txt, truth.ecsv and psf/ to %s", len(plans), args.out)
    return 0


# ---------------------------------------------------------------------------
# batch driver
# ---------------------------------------------------------------------------
def batch_main(argv=None) -> int:
    """``run_niriss_batch.py <exposure list> [--out DIR]``."""
    return _run("run_niriss_batch", _batch, argv)


def _batch(argv) -> int:
    from .batch import read_exposure_list, run_batch

    p = _parser(
        "run_niriss_batch.py",
        "Run getcircEE1 (polynomial and median), getcircSB1, meanflux1, meansb1 and totfluxes on a list of exposures.",
    )
    p.epilog = (
        "The list has one exposure per line: <file> <x> <y> <root> (root e.g. f115w_sub128_1; '#' starts a\n"
        "comment; relative file names are relative to the list's folder).  Outputs under --out:\n"
        "ee/ (<root>.fluxes, <root>.radtab, <f>_<sub>.avtab), ee_median/ (<root>a.*), sb/ (<root>.sbtab,\n"
        "<f>_<sub>.avsbtab), totfluxes_<sub>.out and summary.txt."
    )
    p.add_argument("exposures", nargs="?", help="exposure list file")
    p.add_argument("--out", default="niriss_run", help="output folder (default %(default)s)")
    p.add_argument("--psfdir", help="folder of <f>_psf.radtab (default: <list folder>/psf)")
    p.add_argument("--truth", help="truth.ecsv of a simulation: report measured/injected totals")
    p.add_argument("--steps", default="ee,median,sb,means,totals", help="comma-separated steps (default %(default)s)")
    p.add_argument("--apcor-radii", help="aperture-correction radii for totfluxes (default 7,8,9)")
    p.add_argument("--legacy", action="store_true", help="reproduce the original's bugs in all steps")
    p.add_argument("--dq-mode", choices=C.DQ_MODES, default="range", help="DQ logic (default: integer ranges)")
    p.add_argument("--jobs", type=int, default=1, help="parallel processes for the per-exposure steps (default 1)")
    _add_common(p)
    args = p.parse_args(argv)
    _setup_logging(args)
    if not args.exposures:
        raise UsageError("Input exposure list is required.")
    entries = read_exposure_list(args.exposures)
    steps = {s.strip() for s in args.steps.split(",") if s.strip()}
    unknown = steps - {"ee", "median", "sb", "means", "totals"}
    if unknown:
        raise UsageError(f"unknown step(s) {', '.join(sorted(unknown))}")
    psfdir = args.psfdir or os.path.join(os.path.dirname(os.path.abspath(args.exposures)), "psf")
    radii = _parse_radii(args.apcor_radii, C.APCOR_RADII)
    summary = run_batch(
        entries,
        args.out,
        psfdir=psfdir,
        steps=steps,
        legacy=args.legacy,
        dq_mode=args.dq_mode,
        apcor_radii=radii,
        truth=args.truth,
        jobs=max(1, args.jobs),
        progress=not args.quiet,
    )
    print(summary.text)
    return 1 if summary.nfailed else 0
