#!/usr/bin/env python
"""Benchmark: wall time of ``plot_multi_calfacs.py --xaxisval mflux --grieke --subarrcor`` on a campaign.

The acceptance budget is 60 s on the ``demo`` campaign for the figure and all ``_ave.dat`` files.

Usage
-----
    python benchmarks/bench_plot_multi_calfacs.py demo_run
    python benchmarks/bench_plot_multi_calfacs.py demo_run --synthetic-phot     # before step 5 has run

The campaign directory must hold the photometry tables (step 5) and ``Models/model_phot_grieke.fits``
(``model_fluxes.py --grieke``; run by this script when missing).  When the time-dependence files
``CalFacs/miri_calfactors*_repeat_<F>_fit.dat`` are absent, the time coefficients are taken from the
campaign's ``truth.ecsv`` (``--time-coeffs-from-truth``).  With ``--synthetic-phot`` the campaign is
not touched: its models and truth are copied into a scratch directory, photometry tables are
synthesised from the truth (:func:`absflux.calfactors.synthetic_phot_tables`) and the benchmark runs
there.  The timed command runs in a fresh interpreter (imports included); it is repeated ``--repeat``
times and the best and median times are reported.  Exit code 1 if the best time exceeds the budget or an
expected output is missing.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

log = logging.getLogger("bench_plot_multi_calfacs")


def _has_phot(root: Path) -> bool:
    return any(root.glob("*/*_eefrac*_phot.fits"))


def _prepare_scratch(campaign: Path, scratch: Path) -> None:
    from absflux.calfactors import synthetic_phot_tables

    shutil.copytree(campaign / "Models", scratch / "Models")
    shutil.copy2(campaign / "truth.ecsv", scratch / "truth.ecsv")
    n = len(synthetic_phot_tables(scratch / "truth.ecsv", scratch))
    log.info("synthesised %d photometry tables in %s", n, scratch)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("campaign", type=Path, help="campaign root directory (e.g. demo_run)")
    p.add_argument(
        "--synthetic-phot",
        action="store_true",
        help="run in a scratch copy with photometry tables synthesised from truth.ecsv (campaign untouched)",
    )
    p.add_argument("--repeat", type=int, default=3, help="number of timed runs (default 3)")
    p.add_argument("--budget", type=float, default=60.0, help="time budget in seconds (default 60)")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory of --synthetic-phot")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    from absflux import constants as C

    campaign = args.campaign.resolve()
    if not campaign.is_dir():
        print(f"error: {campaign}: campaign directory does not exist", file=sys.stderr)
        return 2
    scratch = None
    root = campaign
    if args.synthetic_phot:
        if not (campaign / "truth.ecsv").is_file():
            print(f"error: {campaign}/truth.ecsv missing (needed by --synthetic-phot)", file=sys.stderr)
            return 2
        scratch = Path(tempfile.mkdtemp(prefix="bench_multi_"))
        _prepare_scratch(campaign, scratch)
        root = scratch
    elif not _has_phot(campaign):
        print(f"error: no photometry tables below {campaign} (run step 5, or use --synthetic-phot)", file=sys.stderr)
        return 2
    try:
        if not (root / "Models" / "model_phot_grieke.fits").is_file():
            log.info("running model_fluxes.py --grieke (not timed)")
            subprocess.run(
                [sys.executable, str(REPO / "model_fluxes.py"), "--root", str(root), "--grieke"],
                check=True,
                capture_output=True,
            )
        cmd = [
            sys.executable,
            str(REPO / "plot_multi_calfacs.py"),
            "--basedir",
            str(root),
            "--xaxisval",
            "mflux",
            "--grieke",
            "--subarrcor",
        ]
        if not any((root / "CalFacs").glob("miri_calfactors*_repeat_*_fit.dat")):
            truth = root / "truth.ecsv"
            if not truth.is_file():
                print("error: no repeat-fit files and no truth.ecsv for the time correction", file=sys.stderr)
                return 2
            cmd += ["--time-coeffs-from-truth", str(truth)]
        times = []
        for i in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True)
            dt = time.perf_counter() - t0
            if r.returncode != 0:
                print(r.stderr, file=sys.stderr)
                return 1
            times.append(dt)
            log.info("run %d: %.2f s", i + 1, dt)
        fig = root / "Figs" / "multi_calfacs_mflux_grieke.png"
        expected = [fig]
        for f in C.PLOT_ORDER:
            bk = "_bkgsub" if f in C.BKGSUB_CALFAC_FILTERS else ""
            if any(root.glob(f"*/{f}{bk}_eefrac*_phot.fits")):
                expected.append(root / "CalFacs" / f"miri_calfactors{bk}_grieke_subarracor_timecor_{f}_ave.dat")
        missing = [str(p) for p in expected if not p.is_file()]
        best, med = min(times), statistics.median(times)
        print(f"plot_multi_calfacs.py --xaxisval mflux --grieke --subarrcor on {campaign.name}: ")
        print(f"  best {best:.2f} s, median {med:.2f} s over {len(times)} run(s); budget {args.budget:.0f} s")
        print(f"  outputs: figure + {len(expected) - 1} _ave.dat files, missing: {missing or 'none'}")
        ok = best <= args.budget and not missing
        print("  PASS" if ok else "  FAIL")
        return 0 if ok else 1
    finally:
        if scratch is not None and not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
