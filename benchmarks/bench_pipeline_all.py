#!/usr/bin/env python
"""Benchmark of step 1: wall time of pipeline_all.py with --jobs 1 and --jobs 2.

The raw part of a simulated campaign (uncal files, CRDS cache, truth) is
hard-linked into fresh scratch trees, so both runs start from scratch without
copying data.  Not a test: it prints a table and writes benchmarks/results/.

    python benchmarks/bench_pipeline_all.py demo_run                    # whole campaign (long)
    python benchmarks/bench_pipeline_all.py demo_run --filters F770W FND # a subset
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def link_campaign(src: Path, dst: Path) -> None:
    """Hard-link the raw inputs of a campaign (never the step-1 products)."""
    for p in src.rglob("*"):
        rel = p.relative_to(src)
        if p.is_dir() or "_set" in str(rel.parent):
            continue
        if rel.parts[0] in ("HotStars", "ADwarfs", "SolarAnalogs") and not p.name.endswith("_uncal.fits"):
            continue
        q = dst / rel
        q.parent.mkdir(parents=True, exist_ok=True)
        os.link(p, q)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("campaign", type=Path, help="a simulated campaign root (simulate_campaign.py output)")
    p.add_argument("--filters", nargs="+", help="restrict to these filters")
    p.add_argument("--jobs", nargs="+", type=int, default=[1, 2], help="worker counts to time (default 1 2)")
    p.add_argument("--scratch", type=Path, default=REPO / "benchmarks" / "results" / "scratch")
    args = p.parse_args(argv)
    results = {}
    for jobs in args.jobs:
        root = args.scratch / f"jobs{jobs}"
        shutil.rmtree(root, ignore_errors=True)
        link_campaign(args.campaign, root)
        cmd = [sys.executable, str(REPO / "pipeline_all.py"), "--root", str(root), "--jobs", str(jobs), "--no-progress"]
        if args.filters:
            cmd += ["--filters", *args.filters]
        t = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.time() - t
        nsets = sum(1 for _ in root.glob("*/*/*_set*/miri_*_stage3_asn_i2d.fits"))
        results[jobs] = {"seconds": round(dt, 1), "mosaics": nsets, "exit": r.returncode}
        print(f"--jobs {jobs}: {dt:8.1f} s, {nsets} sets, exit {r.returncode}", flush=True)
        shutil.rmtree(root, ignore_errors=True)
    out = REPO / "benchmarks" / "results" / "pipeline_all.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"campaign": str(args.campaign), "filters": args.filters, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
