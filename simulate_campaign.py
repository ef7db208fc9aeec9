#!/usr/bin/env python
"""Step 0: write a simulated MIRI flux-calibration campaign (raw ramps, models, CRDS cache, truth).

Examples
--------
    python simulate_campaign.py --preset demo --out demo_run
    python simulate_campaign.py --config my_campaign.yaml --out sim_x --seed 3 --jobs 2
    source demo_run/crds_cache/crds_env.sh   # select the simulated CRDS cache for strun / the steps
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from absflux import campaign as CP
from absflux.cli import fail, run, setup_logging


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Presets: " + ", ".join(CP.list_presets()) + ". The campaign file format is documented in "
        "absflux/campaign.py and README.rst.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="built-in campaign: " + ", ".join(CP.list_presets()))
    src.add_argument("--config", type=Path, help="campaign description file (YAML or JSON)")
    p.add_argument("--out", type=Path, required=True, help="output directory (the campaign root)")
    p.add_argument("--seed", type=int, help="override the campaign's random seed")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--psf-cache", type=Path, help="directory of a reusable PSF library (default <out>/sim_psfs)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing, non-empty output directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    log = logging.getLogger("simulate_campaign")
    # options are checked before any work (nothing is simulated or written on a bad one)
    if args.jobs < 1:
        return fail(f"--jobs must be >= 1, got {args.jobs}")
    if args.config is not None and not args.config.is_file():
        return fail(f"{args.config}: campaign file not found")
    if args.out.exists() and not args.out.is_dir():
        return fail(f"{args.out}: exists and is not a directory")

    try:
        rules = CP.load_campaign(preset=args.preset, config=args.config)
        if args.seed is not None:
            rules["seed"] = args.seed
            CP.validate_campaign(rules, "--seed")
    except CP.CampaignError as exc:
        return fail(str(exc))
    from absflux.simulate import SimulationError, simulate_campaign

    try:
        summary = simulate_campaign(
            rules,
            args.out,
            jobs=args.jobs,
            overwrite=args.overwrite,
            psf_cache=args.psf_cache,
            progress=not args.no_progress,
        )
    except (SimulationError, CP.CampaignError) as exc:
        return fail(str(exc))
    log.info("wrote %d exposures (%s) to %s", summary["exposures"], summary["by_type"], args.out)
    for note in summary["skipped"]:
        log.info("skipped: %s", note)
    log.info("timings [s]: %s", {k: round(v, 1) for k, v in summary["timings"].items()})
    log.info("total %.1f s, %.0f MB on disk", summary["wall_seconds"], summary["disk_mb"])
    log.info("select its CRDS cache with: source %s", Path(args.out) / "crds_cache" / "crds_env.sh")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
