#!/usr/bin/env python
"""Small copies of a few paper figures for the README (run after ``make demo`` and ``make figures``).

Usage: ``python docs/make_thumbnails.py [--root demo_run] [--width 560]``; writes ``docs/img/<name>.png``
(8-bit palette PNGs of a few tens of kB each, so that the repository stays small).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FIGS = (
    "example_images",
    "encirciled_energy",
    "photometry_example",
    "all_repeatability_docs",
    "subtrans_allobs",
    "multi_calfacs_mflux_grieke",
    "delivered_photom_vs_time",
    "validate_campaign",
)


def main(argv=None) -> int:
    from PIL import Image

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=Path("demo_run"), help="campaign root (default demo_run)")
    p.add_argument("--width", type=int, default=560, help="thumbnail width in pixels (default 560)")
    args = p.parse_args(argv)
    out = Path(__file__).resolve().parent / "img"
    out.mkdir(exist_ok=True)
    missing = []
    for name in FIGS:
        src = args.root / "Figs" / f"{name}.png"
        if not src.is_file():
            missing.append(str(src))
            continue
        im = Image.open(src).convert("RGB")
        h = round(im.height * args.width / im.width)
        small = im.resize((args.width, h), Image.LANCZOS).quantize(colors=128)
        small.save(out / f"{name}.png", optimize=True)
        print(f"{out / (name + '.png')}: {(out / (name + '.png')).stat().st_size / 1024:.0f} kB")
    if missing:
        print("missing: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
