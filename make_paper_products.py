#!/usr/bin/env python
"""Regenerate every figure and table of the paper from the current outputs of a campaign (spec 8).

Products run in dependency order; each is a script of the tree run by subprocess with the spec's
options.  For each product the required inputs under ``--root`` are checked first: a product whose
inputs or script are missing is reported (with what is missing) and skipped, the others still run.
Figures go to ``<root>/Figs`` (or ``--figdir`` for the scripts that accept it), LaTeX rows printed by
table scripts are saved to ``<root>/Tables/<name>.tex``.  At the end one line per product says what
was written, skipped or failed.  ``--list`` prints the product map (script + options per product).
"""

from __future__ import annotations

import argparse
import glob
import logging
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from absflux.cli import fail, run, setup_logging

log = logging.getLogger("make_paper_products")
REPO = Path(__file__).resolve().parent
APPENDIX_X = ("mflux", "timemid", "rate", "welldepth", "bkg", "inttime", "srctype", "subarr")


@dataclass
class Product:
    """One paper product: script + options, required inputs (globs relative to the root)."""

    key: str
    label: str
    script: str
    args: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    stdout_to: str | None = None  # save stdout (LaTeX rows) to <root>/Tables/<stdout_to>
    figdir: bool = False  # the script accepts --figdir (ours)
    optional_inputs: bool = False  # any one of ``inputs`` suffices


PHOT = "*/*_eefrac0.7_phot.fits"
CALFAC_ARGS = ["--grieke", "--subarrcor", "--applytime", "--nocurval", "--png"]


def products(calfac_filter: str = "F1280W") -> list[Product]:
    """The product list in dependency order (``calfac_filter``: the filter of Figs. 7 and 9)."""
    cf_phot = f"*/{calfac_filter}_eefrac0.7_phot.fits"
    ps = [
        Product("tab1-3", "Tables 1-3 observations", "Tables/create_obstable.py", [], ["*/*/*uncal.fits"]),
        Product(
            "tab4",
            "Table 4 aperture corrections",
            "print_apcor_table.py",
            ["--table4"],
            ["ApCor/latest_apcorr.txt", "ApCor/*_full.fits"],
            stdout_to="table4_apcor.tex",
        ),
        Product(
            "fig1",
            "Fig. 1 imager PSF montage",
            "Plotting/plot_example_images.py",
            ["--png"],
            ["ADwarfs/*/*/miri_*_stage3*_asn_i2d.fits"],
            figdir=True,
        ),
        Product(
            "fig2",
            "Fig. 2 coronagraphic PSF montage",
            "Plotting/plot_example_images.py",
            ["--coron", "--png"],
            ["ADwarfs/F*C/*/miri_*_stage3_bkgsub_asn_i2d.fits"],
            figdir=True,
        ),
        Product(
            "fig3",
            "Fig. 3 encircled energies",
            "Plotting/plot_encircled_energy.py",
            ["--png"],
            ["*/*/*/*_i2d_ee_fwhmfac*.dat"],
            figdir=True,
        ),
        Product(
            "fig3c",
            "Fig. 3 encircled energies (coronagraphy)",
            "Plotting/plot_encircled_energy.py",
            ["--coron", "--png"],
            ["*/F*C/*/*_i2d_ee_fwhmfac*.dat"],
            figdir=True,
        ),
        Product(
            "fig3e",
            "Fig. 3 encircled energies (example)",
            "Plotting/plot_encircled_energy.py",
            ["--example", "--png"],
            ["ADwarfs/F770W/*/*_i2d_ee_fwhmfac*.dat"],
            figdir=True,
        ),
        Product(
            "fig4",
            "Fig. 4 photometry example",
            "Plotting/plot_photometry_example.py",
            ["--png"],
            ["ADwarfs/F770W/*/miri_*_stage3_bkgsub_asn_i2d.fits", "ApCor/latest_apcorr.txt"],
            figdir=True,
        ),
        Product(
            "fig5",
            "Fig. 5 time dependence",
            "plot_repeatability.py",
            ["--docs", "--png"],
            ["ADwarfs/*_eefrac0.7_phot.fits", "Models/model_phot_grieke.fits"],
        ),
        Product(
            "tab5",
            "Table 5 / Fig. 6 subarray dependence",
            "plot_subtrans_allobs.py",
            ["--png"],
            ["CalFacs/subarray_transfer_*.dat"],
            stdout_to="table5_subarray.tex",
        ),
        Product(
            "fig7",
            "Fig. 7 source dependencies",
            "calc_calfactors.py",
            ["--filter", calfac_filter, "--sourcemulti", *CALFAC_ARGS],
            [cf_phot, "Models/model_phot_grieke.fits"],
        ),
        Product(
            "fig9",
            "Fig. 9 detector dependencies",
            "calc_calfactors.py",
            ["--filter", calfac_filter, "--detmulti", *CALFAC_ARGS],
            [cf_phot, "Models/model_phot_grieke.fits"],
        ),
    ]
    for x in APPENDIX_X:
        ps.append(
            Product(
                f"app-{x}",
                f"Appendix multi_calfacs {x}",
                "plot_multi_calfacs.py",
                [f"--xaxisval={x}", "--grieke", "--subarrcor", "--png"],
                [PHOT, "Models/model_phot_grieke.fits"],
            )
        )
    ps += [
        Product("fig8", "Fig. 8 source-type dependence", "plot_srctype_allobs.py", ["--png"], ["CalFacs/*srctype.dat"]),
        Product(
            "tab6",
            "Table 6 calibration factors",
            "create_photom_reffile.py",
            ["--table-only"],
            ["Photom/jwst_miri_photom*.fits", "CalFacs/*_repeat_*_fit.dat", "CalFacs/*_ave.dat"],
            stdout_to="table6_photom.tex",
        ),
        Product(
            "fig10",
            "Fig. 10 delivered C vs time",
            "Plotting/plot_del_photom_vs_time.py",
            ["--png"],
            ["Photom/jwst_miri_photom*.fits", "CalFactors/jwst_miri_photom_*.fits"],
            figdir=True,
            optional_inputs=True,
        ),
        Product(
            "datatable",
            "Machine-readable data table",
            "Tables/create_datatable.py",
            [],
            [PHOT, "Photom/jwst_miri_photom*.fits"],
        ),
        Product(
            "sens",
            "Sensitivity vs time (BD+60 1753)",
            "Plotting/plot_sens_vs_time.py",
            ["--png"],
            ["ADwarfs/*_indivcals_eefrac0.7_phot.fits"],
            figdir=True,
        ),
        Product(
            "dither",
            "Dither position (JWST report)",
            "Plotting/plot_dither_pos.py",
            ["--png"],
            ["*/F770W_indivmos_eefrac0.7_phot.fits"],
            figdir=True,
        ),
        Product(
            "models",
            "Example model fluxes",
            "plot_example_model_fluxes.py",
            ["--png"],
            ["Models/*_stis*.fits"],
            figdir=True,
        ),
    ]
    return ps


def _root_option(script: Path) -> str | None:
    """``--root`` or ``--basedir`` depending on what the script's --help lists."""
    try:
        h = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120).stdout
    except subprocess.TimeoutExpired:
        return None
    for opt in ("--root", "--basedir"):
        if opt in h:
            return opt
    return None


def missing_inputs(p: Product, root: Path) -> list[str]:
    """Input globs of ``p`` without a match under ``root``."""
    miss = [g for g in p.inputs if not glob.glob(str(root / g))]
    if p.optional_inputs and len(miss) < len(p.inputs):
        return []
    return miss


def _snapshot(dirs) -> dict[Path, float]:
    out = {}
    for d in dirs:
        if d.is_dir():
            for f in d.iterdir():
                if f.is_file() and not f.name.startswith("."):
                    out[f] = f.stat().st_mtime
    return out


def run_product(p: Product, root: Path, figdir: Path | None, timeout: float) -> tuple[str, str, list[Path]]:
    """Run one product; returns (status, message, files written)."""
    script = REPO / p.script
    if not script.is_file():
        return "skipped", f"script {p.script} not in the tree", []
    miss = missing_inputs(p, root)
    if miss:
        return "skipped", "missing inputs: " + ", ".join(miss), []
    cmd = [sys.executable, str(script)]
    opt = _root_option(script)
    if opt:
        cmd += [opt, str(root)]
    if p.figdir and figdir is not None:
        cmd += ["--figdir", str(figdir)]
    cmd += p.args
    watch = [root / "Figs", root / "Tables", root / "CalFacs"] + ([figdir] if figdir else [])
    before = _snapshot(watch)
    t0 = time.time()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=root if not opt else None)
    except subprocess.TimeoutExpired:
        return "failed", f"timed out after {timeout:.0f} s", []
    written = sorted(f for f, m in _snapshot(watch).items() if before.get(f) != m)
    if res.returncode != 0:
        tail = (res.stderr.strip().splitlines() or ["(no message)"])[-1]
        return "failed", f"exit {res.returncode}: {tail}", written
    if p.stdout_to and res.stdout.strip():
        from absflux.io_utils import atomic_write_text

        out = root / "Tables" / p.stdout_to
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, res.stdout)
        written.append(out)
    return "ok", f"{time.time() - t0:.1f} s", written


def describe(p: Product) -> str:
    """One README line: product, script and options."""
    opts = " ".join(p.args)
    return f"{p.label}: {p.script} {opts}".rstrip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=".", help="campaign root (default: .)")
    ap.add_argument("--figdir", default=None, help="figure folder for the scripts that accept it (default <root>/Figs)")
    ap.add_argument("--only", nargs="+", default=None, help="product keys to run (see --list)")
    ap.add_argument("--list", action="store_true", help="print the product map and exit")
    ap.add_argument("--calfac-filter", default="F1280W", help="filter of Figs. 7 and 9 (default F1280W, the paper's)")
    ap.add_argument("--timeout", type=float, default=600.0, help="time limit per product [s] (default 600)")
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = ap.parse_args(argv)
    setup_logging(args.verbose)
    ps = products(args.calfac_filter)
    if args.list:
        for p in ps:
            print(f"{p.key:10s} {describe(p)}")
        return 0
    if args.only:
        unknown = set(args.only) - {p.key for p in ps}
        if unknown:
            return fail(f"unknown product(s) {', '.join(sorted(unknown))}")
        ps = [p for p in ps if p.key in args.only]
    root = Path(args.root).resolve()
    if not root.is_dir():
        return fail(f"{args.root}: campaign root does not exist")
    if not args.timeout > 0:
        return fail("--timeout must be positive")
    figdir = Path(args.figdir).resolve() if args.figdir else None
    summary = []
    for p in ps:
        log.info("%s: %s", p.key, describe(p))
        status, msg, written = run_product(p, root, figdir, args.timeout)
        (log.info if status == "ok" else log.warning)("%s %s: %s", p.key, status, msg)
        summary.append((p, status, msg, written))
    print("product summary:")
    for p, status, msg, written in summary:
        files = ", ".join(str(w.relative_to(root)) if w.is_relative_to(root) else str(w) for w in written)
        print(f"  [{status:7s}] {p.key:10s} {p.label}: {msg}" + (f" -> {files}" if files else ""))
    if any(s == "failed" for _, s, _, _ in summary):
        return 1
    made = [p for p, s, _, _ in summary if s == "ok"]
    skipped = [(p, m) for p, s, m, _ in summary if s == "skipped"]
    if not made:
        # nothing it was asked to do was done: not a success (the summary above lists why)
        why = "; ".join(f"{p.key}: {m}" for p, m in skipped[:3]) + (" ..." if len(skipped) > 3 else "")
        return fail(f"{root}: no product made, all {len(skipped)} skipped ({why})")
    if args.only and skipped:
        # products asked for by name must be made
        return fail(f"{root}: requested product(s) skipped: " + "; ".join(f"{p.key}: {m}" for p, m in skipped))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
