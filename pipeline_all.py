#!/usr/bin/env python
"""Step 1 for every filter and star type (replaces the original bash wrappers).

Order and options of the original ``pipeline_all``: for each filter (F2300C,
F1550C, F1140C, F1065C, F560W ... F2550W) every set is reduced with
``--stage all``, then its background-subtracted mosaic is made with
``--stage stage3 --bkgsub``; FND last, without bkgsub.  Independent sets run
in parallel worker processes (``--jobs``, workers die with this process);
one failing set does not stop the others, and a bad raw file blocks only its
own set.  A summary closes the run.  Exit code: 0 when every set was reduced
(or was finished, with ``--onlynew``); 2 for bad options, bad input or
outputs that cannot be written (one ``error:`` line per bad file); 1 when the
pipeline failed on a set.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging
from absflux.pipeline import SKY_STAR_WINGS

ORDER = ("F2300C", "F1550C", "F1140C", "F1065C") + C.IMAGER_FILTERS + ("FND",)
TYPE_ORDER = ("SolarAnalogs", "HotStars", "ADwarfs")


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, default=Path("."), help="campaign root (default .)")
    p.add_argument("--filters", nargs="+", choices=ORDER, default=list(ORDER), help="filters (default all 14)")
    p.add_argument(
        "--dirs",
        nargs="+",
        choices=TYPE_ORDER + ("Asteroids",),
        default=list(TYPE_ORDER),
        help="star types (default the three)",
    )
    p.add_argument("--jobs", type=int, default=1, help="sets reduced in parallel (default 1)")
    p.add_argument("--onlynew", action="store_true", help="skip finished sets (mosaics present; pipeline_all_new)")
    p.add_argument("--no-bkgsub", action="store_true", help="do not make the background-subtracted mosaics")
    p.add_argument(
        "--sky-star-wings",
        default="keep",
        choices=SKY_STAR_WINGS,
        help="sky of the bkgsub mosaics: keep (the original) or subtract the star's wing profile "
        "(see pipeline_one_filter.py; default keep)",
    )
    p.add_argument(
        "--nmasks", action="store_true", help="new masks Masks/jwst_miri_mask_<F>.fits (the original's EXTOPT)"
    )
    p.add_argument("--nflats", action="store_true", help="new flats (see pipeline_one_filter.py)")
    p.add_argument("--nrscd", action="store_true", help="RSCD override (see pipeline_one_filter.py)")
    p.add_argument("--step-params", type=Path, help="step-parameter file (see pipeline_one_filter.py)")
    p.add_argument("--crds-cache", type=Path, help="local CRDS cache (default: <root>/crds_cache if present)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging and the jwst log on the console")
    return p


def _task(args):
    """Worker: stage all (+ stage3 --bkgsub) of one set."""
    root, stype, filt, ds, opts, bkgsub = args
    import dataclasses

    from absflux.pipeline import SetResult, failed_result, quiet_pipeline_console, run_set

    quiet_pipeline_console()

    set_dir = root / stype / filt / ds.name
    t = time.time()
    try:
        prods = run_set(ds, set_dir, filt, opts)
        if bkgsub:
            prods += run_set(ds, set_dir, filt, dataclasses.replace(opts, stage="stage3", bkgsub=True))
        return SetResult(stype, filt, ds.name, "done", "", time.time() - t, prods)
    except Exception as exc:
        return failed_result(stype, filt, ds.name, exc, time.time() - t)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    log = logging.getLogger("pipeline_all")
    # options first: nothing is read or written before they are known to be usable
    if args.jobs < 1:
        return fail(f"--jobs must be >= 1, got {args.jobs}")
    if not args.root.is_dir():
        return fail(f"{args.root}: campaign root does not exist (or is not a folder)")
    from tqdm import tqdm

    from absflux.crdsenv import select_crds
    from absflux.pipeline import (
        PipelineInputError,
        PipelineOptions,
        SetResult,
        blocked_result,
        error_lines,
        exit_code,
        load_step_parameter_file,
        resolve_overrides,
        set_finished,
        sort_uncal,
        tidy_folder,
    )
    from absflux.procs import run_pool

    filters = [f for f in ORDER if f in args.filters]
    types = [t for t in TYPE_ORDER + ("Asteroids",) if t in args.dirs]
    fdirs = [(t, f) for f in filters for t in types if (args.root / t / f).is_dir()]
    if not fdirs:
        return fail(
            f"{args.root}: no <type>/<filter> folder for types {', '.join(types)} and filters {', '.join(filters)}"
        )
    try:
        log.info("CRDS: %s", select_crds(args.root, args.crds_cache))
        steppars = load_step_parameter_file(args.step_params) if args.step_params else {}
    except (PipelineInputError, FileNotFoundError) as exc:
        return fail(str(exc))
    cores = "1" if args.jobs > 1 else "half"
    tasks, results = [], []
    for filt in filters:
        try:
            ov = resolve_overrides(args.root, filt, args.nmasks, False, args.nrscd, args.nflats)
        except PipelineInputError as exc:
            return fail(str(exc))
        opts = PipelineOptions(
            stage="all",
            maskfile=ov.get("nmasks"),
            rscdfile=ov.get("nrscd"),
            flatfile=ov.get("nflats"),
            step_parameters=steppars,
            maximum_cores=cores,
            sky_star_wings=args.sky_star_wings,
        )
        for stype in [t for t, f in fdirs if f == filt]:
            fdir = args.root / stype / filt
            tidy_folder(fdir)
            try:
                sets = sort_uncal(fdir, filt)
            except PipelineInputError as exc:
                results.append(SetResult(stype, filt, "-", "failed", str(exc), kind="input", errors=[str(exc)]))
                continue
            for ds in sets:
                if ds.blocked:
                    # a bad raw file blocks its own set only, and counts as failed (never skipped)
                    results.append(blocked_result(stype, filt, ds))
                    continue
                bkg = not args.no_bkgsub and filt != C.FND_FILTER and len(ds.files) > 1
                if args.onlynew and set_finished(fdir / ds.name, ds.name, bkg):
                    tidy_folder(fdir / ds.name)
                    results.append(SetResult(stype, filt, ds.name, "skipped", "finished (--onlynew)"))
                    continue
                tasks.append((args.root, stype, filt, ds, opts, bkg))
    n_bad = sum(r.status == "failed" for r in results)
    log.info(
        "%d sets to reduce, %d skipped, %d blocked by bad input, %d worker(s)",
        len(tasks),
        len(results) - n_bad,
        n_bad,
        args.jobs,
    )
    t0 = time.time()
    bar = tqdm(total=len(tasks), unit="set", disable=args.no_progress)
    try:
        # workers die with this process (kill -9 included) and are stopped when it is interrupted
        results += run_pool(_task, tasks, args.jobs, on_result=lambda r: bar.update())
    finally:
        bar.close()
    n = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    log.info(
        "summary: %d done, %d skipped, %d failed in %.0f s", n["done"], n["skipped"], n["failed"], time.time() - t0
    )
    for r in sorted(results, key=lambda r: (r.status != "failed", r.filter, r.startype, r.set)):
        if r.status == "failed":
            log.error("FAILED %s/%s/%s: %s", r.startype, r.filter, r.set, r.reason)
    for line in error_lines(results):
        fail(line)
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(run(main))
