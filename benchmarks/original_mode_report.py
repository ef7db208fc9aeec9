#!/usr/bin/env python
"""Default vs ``--original``: the size of every documented difference, per step and filter.

Each step is run on hard-linked clones of a finished campaign (``make demo``),
once with the default (current) method, once per original choice on its own
and once with ``--original``; the outputs are compared:

* step 3 (``calc_all_ees.py``): apcor and r at EE 0.7 of every vetted set;
* step 5 (``aper_all.py``): aperture_sum_bkgsub of every mosaic, and the
  distance between the ``xcenter_full``/``ycenter_full`` columns;
* step 6 (``model_fluxes.py --grieke``): every band flux of every star;
* step 7 (``plot_repeatability.py``): the time correction over each filter's
  observed span.

The campaign itself is not changed (the clones replace files, never edit
them).  The RST table printed (and written with ``--out``) is the README's.

Usage
-----
    python benchmarks/original_mode_report.py demo_run [--out benchmarks/results/original_mode.rst]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

log = logging.getLogger("original_mode_report")

#: (step, label, script, arguments that select the choice; "" = the default run)
STEP3 = [
    ("centre: peak pixel", ["--ee-centre", "peak"]),
    ("model EE: measure_ee profile", ["--model-ee", "profile"]),
    ("sky annulus: filled cutout", ["--sky-annulus", "filled"]),
    ("normalisation: original", ["--ee-norm", "original"]),
    ("all (--original)", ["--original"]),
]
STEP5 = [
    ("annulus: sigma-clipped mean", ["--annulus-stat", "clipped"]),
    ("centre columns: peak", ["--center-columns", "peak"]),
    ("sky annulus: filled cutout", ["--sky-annulus", "filled"]),
    ("bkgsub median: all pixels", ["--bkg-median", "all"]),
    ("all (--original)", ["--original"]),
]
STEP6 = [
    ("p177d x 1e-3", ["--grieke-scale", "p177d=1e-3"]),
    ("G. Rieke keys: original", ["--grieke-keys", "original"]),
    ("extrapolation: flat", ["--extrapolation", "flat"]),
    ("all (--original)", ["--original"]),
]
STEP7 = [
    ("model: exp+line-original", ["--model", "exp+line-original"]),
    ("exclusions: paper-era", ["--exclusions", "paper-era"]),
    ("bridge window 0", ["--bridge-window", "0"]),
    ("dof: original", ["--dof", "original"]),
    ("all (--original)", ["--original"]),
]


def clone(root: Path, scratch: Path, name: str) -> Path:
    """Hard-linked copy of the campaign (same file system as ``root``)."""
    dst = scratch / name
    shutil.copytree(root, dst, copy_function=os.link, symlinks=True)
    return dst


def run(script: str, *args) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRDS_")} | {"MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, str(REPO / script), *map(str, args)], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(map(str, args))} failed:\n{r.stderr[-2000:]}")


def step3(root: Path, scratch: Path, filters) -> list[tuple]:
    from astropy.table import Table

    from absflux.apcorr import load_vetted_sets
    from absflux.encircled_energy import apcor_table_path, set_mosaics

    vetted, _ = load_vetted_sets(root)
    vetted = {f: v for f, v in vetted.items() if not filters or f in filters}

    def tables(r: Path) -> dict:
        out = {}
        for f, v in vetted.items():
            for stype, sname in v.sets:
                mos, _ = set_mosaics(r, stype, f, sname)
                p = apcor_table_path(mos, v.fwhmfac)
                if p.is_file():
                    t = Table.read(p, format="ascii.commented_header")
                    k = int(np.argmin(np.abs(np.asarray(t["ee"]) - 0.7)))
                    out[(f, sname)] = (float(t["apcor"][k]), float(t["radii"][k]))
        return out

    fl = ["--filters", *vetted] if filters else []
    base = clone(root, scratch, "s3_default")
    run("calc_all_ees.py", "--root", base, "--jobs", "2", "--no-fig", "--no-progress", "--only-vetted", *fl)
    ref = tables(base)
    rows = []
    for label, args in STEP3:
        r = clone(root, scratch, "s3_" + label.split(":")[0].split()[0])
        run("calc_all_ees.py", "--root", r, "--jobs", "2", "--no-fig", "--no-progress", "--only-vetted", *fl, *args)
        got = tables(r)
        for f in vetted:
            keys = [k for k in ref if k[0] == f and k in got]
            if keys:
                da = max(abs(got[k][0] / ref[k][0] - 1) for k in keys)
                dr = max(abs(got[k][1] / ref[k][1] - 1) for k in keys)
                rows.append(("3", label, f, f"apcor(0.7) {100 * da:.3f}%, r(0.7) {100 * dr:.3f}% ({len(keys)} sets)"))
        shutil.rmtree(r)
    shutil.rmtree(base)
    return rows


def _phot(root: Path) -> dict:
    from astropy.table import Table

    out = {}
    for p in sorted(root.glob("*/*_eefrac0.7_phot.fits")):
        t = Table.read(p)
        # Quantity (DN/s, pix) or plain float columns, whichever the table has
        cols = [
            np.asarray(getattr(t[c], "value", t[c]), float)
            for c in ("aperture_sum_bkgsub", "xcenter_full", "ycenter_full")
        ]
        for i, row in enumerate(t):
            out[(str(row["filter"]), p.name, str(row["filename"]))] = tuple(float(c[i]) for c in cols)
    return out


def step5(root: Path, scratch: Path, filters) -> list[tuple]:
    fl = ["--filters", *filters] if filters else []
    base = clone(root, scratch, "s5_default")
    run("aper_all.py", "--root", base, "--jobs", "2", "--no-png", *fl)
    ref = _phot(base)
    rows = []
    for label, args in STEP5:
        r = clone(root, scratch, "s5_" + label.split(":")[0].split()[0])
        run("aper_all.py", "--root", r, "--jobs", "2", "--no-png", *fl, *args)
        got = _phot(r)
        for f in sorted({k[0] for k in ref}):
            keys = [k for k in ref if k[0] == f and k in got and np.isfinite(ref[k][0]) and ref[k][0] != 0]
            if not keys:
                continue
            ds = max(abs(got[k][0] / ref[k][0] - 1) for k in keys)
            dc = max(np.hypot(got[k][1] - ref[k][1], got[k][2] - ref[k][2]) for k in keys)
            rows.append(("5", label, f, f"flux {100 * ds:.3f}%, centre {dc:.3f} px ({len(keys)} mosaics)"))
        shutil.rmtree(r)
    shutil.rmtree(base)
    return rows


def step6(root: Path, scratch: Path, filters) -> list[tuple]:
    from astropy.table import Table

    def table(r: Path) -> Table:
        return Table.read(r / "Models" / "model_phot_grieke.fits")

    base = clone(root, scratch, "s6_default")
    run("model_fluxes.py", "--root", base, "--grieke")
    ref = table(base)
    rows = []
    for label, args in STEP6:
        r = clone(root, scratch, "s6_" + label.split()[0].replace(".", ""))
        run("model_fluxes.py", "--root", r, "--grieke", *args)
        got = table(r)
        cols = [c for c in ref.colnames if c.startswith("F") and c in got.colnames and ref[c].dtype.kind == "f"]
        if filters:
            cols = [c for c in cols if any(c.startswith(f) for f in filters)]
        names = list(ref["name"]) if "name" in ref.colnames else list(range(len(ref)))
        worst, who = 0.0, ""
        for i in range(len(ref)):
            for c in cols:
                a, b = float(ref[c][i]), float(got[c][i])
                if np.isfinite(a) and a != 0 and np.isfinite(b) and abs(b / a - 1) > worst:
                    worst, who = abs(b / a - 1), f"{names[i]} {c}"
        rows.append(("6", label, "all", f"band flux {100 * worst:.3f}%" + (f" ({who})" if who else "")))
        shutil.rmtree(r)
    shutil.rmtree(base)
    return rows


def step7(root: Path, scratch: Path, filters) -> list[tuple]:
    from absflux import constants as C
    from absflux.calfactors import read_repeat_fit

    # the filters whose time curve the campaign has (step 7 was run on it)
    imager = [
        f
        for f in C.IMAGER_FILTERS
        if (not filters or f in filters) and (root / "CalFacs" / f"miri_calfactors_repeat_{f}_fit.dat").is_file()
    ]

    def curves(r: Path) -> dict:
        out = {}
        for f in imager:
            p = r / "CalFacs" / f"miri_calfactors_repeat_{f}_fit.dat"
            if p.is_file():
                out[f] = read_repeat_fit(p, f)
        return out

    fl = ["--filters", *imager]
    base = clone(root, scratch, "s7_default")
    run("plot_repeatability.py", "--basedir", base, "--docs", *fl)
    ref = curves(base)
    t = np.linspace(C.STARTDAY, C.STARTDAY + 1200.0, 241)
    rows = []
    for label, args in STEP7:
        r = clone(root, scratch, "s7_" + label.split(":")[0].split()[0])
        try:
            run("plot_repeatability.py", "--basedir", r, "--docs", *fl, *args)
        except RuntimeError as exc:
            rows.append(("7", label, "all", "fails: " + str(exc).splitlines()[-1][:80]))
            shutil.rmtree(r)
            continue
        got = curves(r)
        for f in imager:
            if f in ref and f in got:
                d = np.max(np.abs(got[f].correction(t) / ref[f].correction(t) - 1))
                rows.append(("7", label, f, f"time correction {100 * d:.3f}% (0-1200 d)"))
        shutil.rmtree(r)
    shutil.rmtree(base)
    return rows


def rst(rows: list[tuple]) -> str:
    head = ("step", "original choice", "filter", "size of the difference (default -> original)")
    w = [max(len(str(r[i])) for r in [head, *rows]) for i in range(4)]
    line = "  ".join("=" * n for n in w)
    out = [line, "  ".join(str(h).ljust(n) for h, n in zip(head, w, strict=True)), line]
    out += ["  ".join(str(c).ljust(n) for c, n in zip(r, w, strict=True)) for r in rows]
    return "\n".join([*out, line]) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("root", type=Path, help="a finished campaign (e.g. demo_run after make demo)")
    p.add_argument("--steps", nargs="+", default=["3", "5", "6", "7"], choices=["3", "5", "6", "7"])
    p.add_argument("--filters", nargs="+", help="restrict to these filters")
    p.add_argument("--out", type=Path, help="also write the RST table here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not (args.root / "truth.ecsv").is_file() and not (args.root / "ApCor").is_dir():
        print(f"error: {args.root}: not a finished campaign", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix=".original_report_", dir=args.root.resolve().parent))
    rows = []
    try:
        for s in args.steps:
            log.info("step %s ...", s)
            rows += {"3": step3, "5": step5, "6": step6, "7": step7}[s](args.root.resolve(), scratch, args.filters)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    text = rst(rows)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
