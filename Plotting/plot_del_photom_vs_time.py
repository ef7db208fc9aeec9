#!/usr/bin/env python
"""Fig. 10: delivered calibration factors of a list of photom reference files (spec 3.27).

Each ``--photom FILE`` (repeatable; label with ``--label``, same order) is read in the current
(TIMECOEFF_EXPONENTIAL + TIMECOEFF_LINEAR, spec 2.2), old (TIMECOEFF, spec 2.3) or constant format;
for every filter (FULL subarray) the value at the start of the time model (t0, filled symbol) and
``--days`` later (open symbol, error bar = uncertainty) are drawn, joined by a vertical line.
Panels (widths 9:1:4): imager, FND, coronagraphic.  Default files: the spec's comparison files that
exist under ``--root`` (CalFactors/jwst_miri_photom_{0079,0201,0218}.fits) plus the newest
``Photom/jwst_miri_photom*.fits``.  Output ``Figs/delivered_photom_vs_time.png|pdf``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from absflux import constants as C  # noqa: E402
from absflux import plotting as P  # noqa: E402
from absflux.cli import fail, run, setup_logging  # noqa: E402

log = logging.getLogger("plot_del_photom_vs_time")
FILE_COLORS = ("tab:blue", "c", "tab:green", "m", "tab:orange", "tab:red", "tab:purple", "k")
SPEC_DEFAULTS = (
    ("CalFactors/jwst_miri_photom_0079.fits", "2022-06"),
    ("CalFactors/jwst_miri_photom_0201.fits", "2023-09"),
    ("CalFactors/jwst_miri_photom_0218.fits", "2024-08"),
)
PANELS = (("Imager", C.IMAGER_FILTERS), ("", ("FND",)), ("Coronagraphy", C.CORON_FILTERS))


def default_files(root) -> list[tuple[Path, str]]:
    """The spec's comparison files that exist under ``root`` plus the newest Photom file."""
    root = Path(root)
    out = [(root / p, lab) for p, lab in SPEC_DEFAULTS if (root / p).is_file()]
    new = sorted((root / "Photom").glob("jwst_miri_photom*.fits"), key=lambda p: p.stat().st_mtime)
    if new:
        out.append((new[-1], new[-1].stem.replace("jwst_miri_photom_", "")))
    return out


def start_end(path, days: float) -> dict[str, tuple[float, float, float]]:
    """{filter: (C at t0, C at t0 + days, uncertainty)} of the FULL rows of a photom file."""
    from absflux.tables import read_photom_calfactors

    refs, uncs = read_photom_calfactors(path)
    out = {}
    for (f, sub), ref in refs.items():
        if sub != "FULL" or f not in C.ALL_FILTERS:
            continue
        out[f] = (float(ref.calfactor(ref.t0)), float(ref.calfactor(ref.t0 + days)), uncs.get((f, sub), np.nan))
    return out


def make_figure(files: list[tuple[Path, str]], days: float = 1200.0):
    """Draw the three panels; returns (Figure, list of problems)."""
    import matplotlib.pyplot as plt

    P.setup_rc(14)
    fig, axes = plt.subplots(1, 3, figsize=(15, 6), gridspec_kw={"width_ratios": [9, 1.6, 4]})
    problems = []
    values = []
    for path, label in files:
        try:
            values.append((label, start_end(path, days)))
        except Exception as exc:  # any unreadable file is reported, the others are still drawn
            problems.append(f"{path}: {exc}")
            log.warning("skipped %s: %s", path, exc)
    n = max(len(values), 1)
    for ax, (title, filters) in zip(axes, PANELS, strict=True):
        for i, (_label, vals) in enumerate(values):
            col = FILE_COLORS[i % len(FILE_COLORS)]
            dx = 0.2 * (i - (n - 1) / 2)
            for k, f in enumerate(filters):
                if f not in vals:
                    continue
                c0, c1, unc = vals[f]
                x = k + dx
                ax.plot([x, x], [c0, c1], color=col, lw=1.5)
                ax.plot(x, c0, "o", color=col, ms=7)
                ax.errorbar(
                    x,
                    c1,
                    yerr=unc if np.isfinite(unc) else None,
                    fmt="o",
                    mfc="white",
                    mec=col,
                    color=col,
                    ms=7,
                    capsize=2,
                )
        ax.set_xticks(range(len(filters)))
        ax.set_xticklabels(
            filters, rotation=45 if len(filters) > 1 else 0, ha="right" if len(filters) > 1 else "center"
        )
        ax.set_xlim(-0.6, len(filters) - 0.4)
        ax.set_ylim(bottom=0)
        if title:
            ax.set_title(title)
    axes[0].set_ylabel("C [(MJy sr$^{-1}$) / (DN s$^{-1}$ pix$^{-1}$)]")
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=FILE_COLORS[i % len(FILE_COLORS)], marker="o", label=lab)
        for i, (lab, _) in enumerate(values)
    ]
    handles += [
        Line2D([], [], color="0.4", marker="o", ls="", label="start (t$_0$)"),
        Line2D([], [], color="0.4", marker="o", mfc="white", ls="", label=f"t$_0$ + {days:g} d"),
    ]
    axes[0].legend(handles=handles, loc="upper left", fontsize=11, ncol=2)
    fig.tight_layout()
    return fig, problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=".", help="campaign root (default: .)")
    p.add_argument("--photom", action="append", default=[], help="photom file to compare (repeatable)")
    p.add_argument("--label", action="append", default=[], help="legend label of each --photom (same order)")
    p.add_argument("--days", type=float, default=1200.0, help="end time after t0 in days (default 1200)")
    P.add_output_args(p)
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    if args.photom:
        labels = args.label + [Path(f).stem for f in args.photom[len(args.label) :]]
        files = [(Path(f), lab) for f, lab in zip(args.photom, labels, strict=False)]
    else:
        files = default_files(args.root)
    if not files:
        return fail("no photom files: give --photom FILE or put them in <root>/Photom, <root>/CalFactors")
    missing = [str(f) for f, _ in files if not f.is_file()]
    for m in missing:
        log.warning("missing photom file %s", m)
    files = [(f, lab) for f, lab in files if f.is_file()]
    if not files:
        return fail("none of the photom files exists")
    fig, problems = make_figure(files, args.days)
    if len(problems) == len(files):
        return fail("no photom file could be read")
    P.save_figure(
        fig,
        P.figdir_from_args(args, args.root),
        "delivered_photom_vs_time",
        P.output_formats(args),
        "Plotting/plot_del_photom_vs_time.py",
        inputs=[f for f, _ in files],
        options=args,
    )
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
