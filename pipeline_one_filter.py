#!/usr/bin/env python
"""Step 1: run Detector1, Image2 (optional per-visit sky subtraction) and Image3 on one filter.

Raw files ``<dir>/<FILTER>/*_uncal.fits`` are sorted into ``<TARGNAME>_setN``
directories (by header TARGNAME and visit), each reduced with the MIRI
flux-calibration choices; the mosaic is ``miri_<set>_stage3[_bkgsub]_asn_i2d.fits``.

A bad raw file (unreadable, truncated, wrong FILTER) blocks only its own set.
Exit code: 0 when every set asked for was reduced (or was finished, with
``--onlynew``); 2 for bad input or an output that cannot be written (one
``error:`` line per bad file); 1 when the pipeline failed on a set.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from absflux import constants as C
from absflux.cli import fail, run, setup_logging
from absflux.pipeline import SKY_STAR_WINGS

DIRS = ("HotStars", "ADwarfs", "SolarAnalogs", "Asteroids", "all")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--filter", default="F770W", choices=C.ALL_FILTERS, help="filter to reduce (default F770W)")
    p.add_argument(
        "--dir", default="ADwarfs", choices=DIRS, help="star type directory; 'all' = every type that has this filter"
    )
    p.add_argument(
        "--stage",
        default="all",
        choices=("stage1", "stage2", "stage3", "stage23", "all"),
        help="which pipeline stages to run (default all)",
    )
    p.add_argument(
        "--root", type=Path, default=Path("."), help="campaign root holding the type directories (default .)"
    )
    p.add_argument("--flatfile", type=Path, help="flat-field override file (takes precedence over --nflats)")
    p.add_argument("--nmasks", action="store_true", help="use the new bad-pixel masks Masks/jwst_miri_mask_<F>.fits")
    p.add_argument("--omask", action="store_true", help="use the old mask (see --omask-path)")
    p.add_argument(
        "--nflats", action="store_true", help="use Flats_2025/jwst_miri_flat_<F>_master.fits (not coronagraphy)"
    )
    p.add_argument("--nrscd", action="store_true", help="use the RSCD override RSCD/MIRI_MIRIMAGE_RSCD_10.00.00.fits")
    p.add_argument("--mask-path", help="template of the --nmasks file ({filter} replaced)")
    p.add_argument("--omask-path", help="path of the --omask file (default the original's /grp/crds path)")
    p.add_argument("--flat-path", help="template of the --nflats file ({filter} replaced)")
    p.add_argument("--rscd-path", help="path of the --nrscd file")
    p.add_argument("--photomfile", type=Path, help="photom override (default: CRDS)")
    p.add_argument(
        "--onlynew",
        action="store_true",
        help="skip finished sets (the mosaic, or the last stage asked for, is complete); interrupted ones are rerun",
    )
    p.add_argument("--bkgsub", action="store_true", help="subtract a per-visit median sky before Image3")
    p.add_argument(
        "--sky-star-wings",
        default="keep",
        choices=SKY_STAR_WINGS,
        help="--bkgsub sky: keep = the original (the star's wings beyond the 3 FWHM mask enter the sky of the "
        "other dithers), subtract = remove each exposure's azimuthal wing profile first (default keep)",
    )
    p.add_argument(
        "--step-params",
        type=Path,
        help="YAML/JSON {detector1|image2|image3: {step: {param: value}}} or an stpipe ASDF parameter file",
    )
    p.add_argument("--sets", nargs="+", help="only these sets (e.g. 'BD+60 1753_set1')")
    p.add_argument("--crds-cache", type=Path, help="local CRDS cache to use (e.g. <campaign>/crds_cache)")
    p.add_argument("--maximum-cores", default="half", help="cores for jump/ramp_fit: an integer, 'half' or 'all'")
    p.add_argument("--save-ramps", action="store_true", help="also save the calibrated ramps (large)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging and the jwst log on the console")
    return p


def options_from_args(args, filt: str):
    from absflux.pipeline import PipelineOptions, load_step_parameter_file, resolve_overrides

    paths = {
        k: v
        for k, v in {
            "nmasks": args.mask_path,
            "omask": args.omask_path,
            "nflats": args.flat_path,
            "nrscd": args.rscd_path,
        }.items()
        if v
    }
    ov = resolve_overrides(
        args.root, filt, args.nmasks, args.omask, args.nrscd, args.nflats and not args.flatfile, paths
    )
    for flag, p in (("--flatfile", args.flatfile), ("--photomfile", args.photomfile)):
        if p is not None and not Path(p).is_file():
            from absflux.pipeline import PipelineInputError

            raise PipelineInputError(f"{p}: {flag} file does not exist")
    return PipelineOptions(
        stage=args.stage,
        bkgsub=args.bkgsub,
        onlynew=args.onlynew,
        flatfile=args.flatfile or ov.get("nflats"),
        maskfile=ov.get("nmasks") or ov.get("omask"),
        rscdfile=ov.get("nrscd"),
        photomfile=args.photomfile,
        step_parameters=load_step_parameter_file(args.step_params) if args.step_params else {},
        maximum_cores=args.maximum_cores,
        save_ramps=args.save_ramps,
        sky_star_wings=args.sky_star_wings,
    )


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    log = logging.getLogger("pipeline_one_filter")
    from absflux.crdsenv import select_crds
    from absflux.pipeline import PipelineInputError, error_lines, exit_code, pipeline_one_filter, sort_uncal

    try:
        opts = options_from_args(args, args.filter)
        types = C.STAR_TYPES if args.dir == "all" else (args.dir,)
        if args.dir == "all":
            # 'all' means the types observed in this filter (coronagraphic stars are not in every type)
            types = tuple(t for t in types if (args.root / t / args.filter).is_dir())
            if not types:
                raise PipelineInputError(f"{args.root}: no type directory has a {args.filter} directory")
        # every folder and --sets name is checked before any processing (bad raw files block only their set)
        known = [ds.name for t in types for ds in sort_uncal(args.root / t / args.filter, args.filter)]
        unknown = [s for s in args.sets or [] if s not in known]
        if unknown:
            where = ", ".join(str(args.root / t / args.filter) for t in types)
            raise PipelineInputError(
                f"unknown set(s) {', '.join(map(repr, unknown))} in {where}; known sets: {', '.join(map(repr, known))}"
            )
        crds = select_crds(args.root, args.crds_cache)
    except (PipelineInputError, FileNotFoundError) as exc:
        return fail(str(exc))
    log.info("CRDS: %s", crds)
    if not args.verbose:
        from absflux.pipeline import quiet_pipeline_console

        quiet_pipeline_console()

    def show(r):
        log.info("%-12s %-7s %-32s %-7s %6.1f s %s", r.startype, r.filter, r.set, r.status, r.seconds, r.reason)

    results = []
    for t in types:
        results += pipeline_one_filter(args.root, t, args.filter, opts, only_sets=args.sets, on_result=show)
    # bad raw files: one line each, so that every one is seen (exit 2); other failures: exit 1
    for line in error_lines(results):
        fail(line)
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(run(main))
