#!/usr/bin/env python
"""Step 3 (all filters): EE and per-set aperture corrections of the vetted data sets.

The sets and the adopted fwhmfac of every filter come from the vetted-set
table: <root>/vetted_sets.yaml if present (or --vetted FILE), else the
original lists in absflux.constants.VETTED_EE_SETS (format: absflux/apcorr.py;
--print-vetted shows the active table).  Both the vetted and the rejected sets
are measured (as the original calc_all_ees); --scan runs fwhmfac 5, 10, 15, 20
and 25 instead of the adopted value.

Before any work the root, the options and every input are checked: a listed
set without its folder or mosaics, or a filter without its PSF file, is a
one-line error naming the file (exit 2, nothing written, no folder created),
or with --allow-missing a warning (the set is left out).  Sets run in
parallel (--jobs; the workers die with this process); a failing set (e.g. a
corrupt mosaic or PSF) is reported and the others go on; the run then ends
with a one-line error naming the first failure and exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, default=Path("."), help="campaign root (default .)")
    p.add_argument("--vetted", type=Path, help="vetted-set YAML (default <root>/vetted_sets.yaml, else the constants)")
    p.add_argument("--filters", nargs="+", choices=C.ALL_FILTERS, help="only these filters")
    p.add_argument("--scan", action="store_true", help="fwhmfac 5, 10, 15, 20, 25 instead of the adopted one")
    p.add_argument("--fwhmfac", type=float, help="this fwhmfac for every filter (overrides the table)")
    from absflux.encircled_energy import add_ee_options

    add_ee_options(p)
    p.add_argument("--only-vetted", action="store_true", help="skip the rejected sets")
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="a listed set without its mosaics (or a filter without its PSF file) is a warning and is left out, "
        "instead of an error",
    )
    p.add_argument("--jobs", type=int, default=1, help="sets in parallel (default 1)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--png", action="store_true", help="figures as png (the default)")
    g.add_argument("--pdf", action="store_true", help="figures as pdf")
    g.add_argument("--no-fig", action="store_true", help="no figures")
    p.add_argument("--print-vetted", action="store_true", help="print the active vetted-set table (YAML) and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def _job(task):
    root, stype, filt, sname, fac, fmt, ee_from, methods = task
    from absflux.encircled_energy import EEError, calc_encircled_energy

    m = dict(methods)
    t0 = time.time()
    try:
        res = calc_encircled_energy(
            root,
            stype,
            filt,
            sname,
            fac,
            fig_format=fmt,
            ee_from=ee_from,
            ee_norm=m["ee_norm"],
            ee_centre=m["ee_centre"],
            model_ee_method=m["model_ee"],
            sky_annulus=m["sky_annulus"],
        )
    except EEError as exc:
        return {"task": task, "ok": False, "error": str(exc), "seconds": time.time() - t0}
    ap = res.apcor_table
    k = [i for i, e in enumerate(ap["ee"]) if abs(e - 0.7) < 1e-6][0]
    return {
        "task": task,
        "ok": True,
        "r70": float(ap["radii"][k]),
        "apcor70": float(ap["apcor"][k]),
        "seconds": time.time() - t0,
    }


def missing_inputs(task) -> list[Path]:
    """The inputs of one EE measurement that do not exist: set folder, mosaics, PSF file."""
    from absflux.encircled_energy import set_mosaics
    from absflux.psfs import psf_path

    root, stype, filt, sname = task[:4]
    mos, bkg = set_mosaics(root, stype, filt, sname)
    if not mos.parent.is_dir():
        return [mos.parent]
    out = [m for m in dict.fromkeys((mos, bkg)) if not m.is_file()]
    psf = psf_path(root, filt)
    if not psf.is_file():
        out.append(psf)
    return out


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    log = logging.getLogger("calc_all_ees")
    import numpy as np
    from tqdm import tqdm

    from absflux.apcorr import ApcorError, load_vetted_sets, vetted_sets_yaml
    from absflux.encircled_energy import ee_choices
    from absflux.procs import run_pool

    if args.jobs < 1 or (args.fwhmfac is not None and args.fwhmfac <= 0):
        return fail("--jobs must be >= 1 and --fwhmfac > 0")
    if not args.print_vetted and not args.root.is_dir():
        # an absent root must not silently fall back to the built-in vetted lists and create folders
        return fail(f"{args.root}: campaign root not found")
    try:
        vetted, source = load_vetted_sets(args.root, args.vetted)
    except ApcorError as exc:
        return fail(str(exc))
    if args.print_vetted:
        sys.stdout.write(vetted_sets_yaml(vetted, f"active table, from {source}"))
        return 0
    fmt = None if args.no_fig else ("pdf" if args.pdf else "png")
    methods = tuple(sorted(ee_choices(args).items()))  # hashable: tasks key the result order
    tasks = []
    for f, v in vetted.items():
        if args.filters and f not in args.filters:
            continue
        facs = C.FWHMFAC_SCAN if args.scan else ((args.fwhmfac,) if args.fwhmfac else (v.fwhmfac,))
        for stype, sname in v.sets if args.only_vetted else v.measured:
            for fac in facs:
                tasks.append((args.root, stype, f, sname, float(fac), fmt, args.ee_from, methods))
    if not tasks:
        return fail(f"no data sets to measure (vetted table {source}, filters {args.filters})")
    # every input is checked before any work: a missing one fails the run, or is left out with --allow-missing
    missing = {t: missing_inputs(t) for t in tasks}
    missing = {t: m for t, m in missing.items() if m}
    if missing:
        first_task, first = next(iter(missing.items()))
        if not args.allow_missing:
            n = len({(t[1], t[2], t[3]) for t in missing})
            return fail(
                f"{first_task[2]} {first_task[1]}/{first_task[3]}: {first[0]} not found "
                f"({n} listed set(s) lack inputs; run steps 1-2 for them, or --allow-missing to leave them out)"
            )
        for t, m in missing.items():
            log.warning("%s %s/%s left out: %s not found", t[2], t[1], t[3], ", ".join(map(str, m)))
        tasks = [t for t in tasks if t not in missing]
        if not tasks:
            return fail(f"no listed set has its inputs (vetted table {source}); first missing: {first[0]}")
    log.info("%d EE measurements from %s, %d job(s)", len(tasks), source, args.jobs)
    t0 = time.time()
    bar = tqdm(total=len(tasks), desc="calc_all_ees", unit="set", disable=args.no_progress)
    try:
        results = run_pool(_job, tasks, args.jobs, on_result=lambda _: bar.update(1))
    finally:
        bar.close()
    order = {t: i for i, t in enumerate(tasks)}
    results.sort(key=lambda r: order[r["task"]])
    failed = [r for r in results if not r["ok"]]
    log.info("summary: %d measured, %d failed in %.0f s", len(results) - len(failed), len(failed), time.time() - t0)
    by = {}
    for r in results:
        if r["ok"]:
            by.setdefault((r["task"][2], r["task"][4]), []).append(r["apcor70"])
    for (f, fac), vals in by.items():
        log.info(
            "  %-7s fwhmfac %4.1f: %2d sets, apcor(0.7) mean %.4f std %.4f",
            f,
            fac,
            len(vals),
            np.mean(vals),
            np.std(vals),
        )
    for r in failed:
        log.error("  failed: %s", r["error"])
    if missing:
        log.warning("%d measurement(s) left out for missing inputs (--allow-missing)", len(missing))
    if failed:
        more = f" (and {len(failed) - 1} more failed set(s), see the log)" if len(failed) > 1 else ""
        return fail(f"{failed[0]['error']}{more}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
