#!/usr/bin/env python
"""Fig. 3: encircled energies of the vetted data sets with the adopted aperture radii (spec 3.26).

Reads the EE tables of step 3, ``T/F/S/miri_S_stage3_asn_i2d_ee_fwhmfac<X>.dat`` (columns radius
[pixels of 0.11"], ee, ee_obs, ee_obs_bkg, ee_model; fwhmfac = the adopted one of the filter), of the
vetted sets (``<root>/vetted_sets.yaml`` or the built-in table), and the ``_full`` APCORR table (radii
and sky-annulus radii with uncertainties; default: the ``_full`` companion of the file named in
``ApCor/latest_apcorr.txt``).  Each filter is offset vertically by 0.1; the FULL-subarray aperture
radius at each EE fraction and the outer sky radius (EE 0.85) are drawn with their uncertainties.
Modes: all imager filters + FND (default), ``--coron``, ``--example`` (F770W and F2100W set 1 with the
WebbPSF model), ``--filter F`` (one filter).  Missing EE tables are reported and skipped.
Output ``Figs/encirciled_energy[_example][_coron|_<F>].png|pdf`` (spelling of the original).
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

log = logging.getLogger("plot_encircled_energy")
IMAGER_ORDER = tuple(f for f in C.PLOT_ORDER if f not in C.CORON_FILTERS)
EXAMPLE_SETS = {"F770W": ["ADwarfs/BD+60 1753_set1"], "F2100W": ["ADwarfs/BD+60 1753_set1"]}


def ee_table_file(root, set_id, filt: str, fwhmfac: float) -> Path:
    """EE table of a vetted set ``"<type>/<set>"`` or ``(type, set)``."""
    from absflux.encircled_energy import fwhmfac_tag

    startype, dataset = set_id if isinstance(set_id, tuple) else str(set_id).split("/", 1)
    d = Path(root) / startype / filt / dataset
    return d / f"miri_{dataset}_stage3_asn_i2d_ee_fwhmfac{fwhmfac_tag(fwhmfac)}.dat"


def default_full_table(root) -> Path | None:
    """``_full`` companion of the APCORR file named by ``ApCor/latest_apcorr.txt`` (None if absent)."""
    from absflux.photometry import PhotometryError, default_apcorr_file

    try:
        ref = default_apcorr_file(root)
    except PhotometryError:
        return None
    full = ref.with_name(ref.name.replace(".fits", "_full.fits"))
    return full if full.is_file() else None


def fwhmfacs(vetted: dict) -> dict[str, float]:
    """Merge radius per filter: the vetted table's (the EE tables are named by it), else the constants'."""
    return {f: float(getattr(vetted.get(f), "fwhmfac", None) or C.FWHMFAC[f]) for f in C.ALL_FILTERS}


def example_sets(root, vetted: dict) -> dict[str, list[str]]:
    """The paper's example sets (F770W, F2100W BD+60 1753 set 1) where their EE tables exist, else the
    first vetted set of the filter that has one (a simulated campaign vets other sets)."""
    fac = fwhmfacs(vetted)
    out = {}
    for f, ids in EXAMPLE_SETS.items():
        cands = list(ids) + [f"{t}/{s}" for t, s in (vetted[f].sets if f in vetted else [])]
        have = [sid for sid in cands if ee_table_file(root, sid, f, fac[f]).is_file()]
        out[f] = have[:1] if have else list(ids)
        if have and have[0] not in ids:
            log.info("%s: example set %s (the paper's %s has no EE table)", f, have[0], ids[0])
    return out


def select(coron: bool, example: bool, filt: str | None, vetted: dict, root=".") -> dict[str, list[str]]:
    """{filter: [set ids]} of the requested mode."""
    if example:
        return example_sets(root, vetted)
    if filt:
        filters = [filt]
    else:
        filters = list(C.CORON_FILTERS) if coron else list(IMAGER_ORDER)
    return {f: list(vetted[f].sets) if f in vetted else [] for f in filters}


def make_figure(
    root, sets: dict[str, list[str]], full=None, coron: bool = False, example: bool = False, fwhmfac_of=None
):
    """Draw the EE curves; returns (Figure, list of missing-input messages).

    ``fwhmfac_of`` maps filter -> merge radius of the EE tables (default ``constants.FWHMFAC``).
    """
    import matplotlib.pyplot as plt
    from astropy.table import Table

    P.setup_rc(14)
    nf = len(sets)
    fig, ax = plt.subplots(figsize=(10, 4 + 0.75 * nf if nf > 2 else 6))
    scale = C.MOSAIC_PIXEL_SCALE
    textrad = 4.5 if coron else 2.5
    problems = []
    ftab = None
    if full is not None:
        ftab = Table.read(full)
        fcol = np.char.strip(np.asarray(ftab["filter"]).astype(str))
        scol = np.char.strip(np.asarray(ftab["subarray"]).astype(str))
    rmax = 0.0
    for k, (filt, ids) in enumerate(sets.items()):
        off = (nf - 1 - k) * 0.1
        col = P.filter_color(filt)
        fwhmfac = (fwhmfac_of or C.FWHMFAC)[filt]
        label_y = None
        nplotted = 0
        for j, sid in enumerate(ids):
            path = ee_table_file(root, sid, filt, fwhmfac)
            if not path.is_file():
                problems.append(f"{filt}: {path}: EE table missing")
                continue
            t = Table.read(path, format="ascii.commented_header")
            r = np.asarray(t["radius"], float) * scale
            ee = np.asarray(t["ee"], float)
            ax.plot(r, ee + off, color=col, ls=P.LINESTYLES[j % len(P.LINESTYLES)], lw=1.5, alpha=0.9)
            if example and "ee_model" in t.colnames:
                ax.plot(r, np.asarray(t["ee_model"], float) + off, color="k", ls=":", lw=2)
            rmax = max(rmax, float(np.nanmax(r)))
            near = np.abs(r - textrad) <= 0.2
            top = float(np.nanmax(ee[near])) if near.any() else float(np.interp(textrad, r, ee))
            label_y = top if label_y is None else max(label_y, top)
            nplotted += 1
        if nplotted == 0:
            continue
        if ftab is not None:
            sel = (fcol == filt) & (scol == "FULL")
            if sel.any():
                rows = ftab[sel]
                ax.errorbar(
                    np.asarray(rows["radius"], float) * scale,
                    np.asarray(rows["eefraction"], float) + off,
                    xerr=np.asarray(rows["radius_unc"], float) * scale,
                    fmt="o",
                    color=col,
                    mec="k",
                    ms=6,
                    capsize=3,
                )
                ax.errorbar(
                    float(rows["skyout"][0]) * scale,
                    0.85 + off,
                    xerr=float(rows["skyout_unc"][0]) * scale,
                    fmt="s",
                    color=col,
                    mec="k",
                    ms=6,
                    capsize=3,
                )
            else:
                problems.append(f"{filt}: {full}: no FULL rows in the _full APCORR table")
        ax.text(
            textrad,
            (label_y if label_y is not None else 1.0) + off + 0.02,
            filt,
            color=col,
            fontsize=12,
            ha="left",
            va="bottom",
            fontweight="bold",
        )
    xmax = (50 if coron else 30) * scale
    if sets and len(sets) == 1 and rmax > 0:
        xmax = min(xmax, rmax)
    ax.set_xlim(-scale, xmax)
    ax.set_ylim(0, 1.05 + 0.1 * max(nf - 1, 0) + 0.08)
    ax.set_xlabel("Radius [arcsec]")
    ax.set_ylabel("Encircled Energy + const")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color="0.3", lw=1.5, label="measured EE (per set)")]
    if ftab is not None:
        handles += [
            Line2D([], [], marker="o", color="0.5", mec="k", ls="", label="aperture radius (EE 0.2-0.8)"),
            Line2D([], [], marker="s", color="0.5", mec="k", ls="", label="outer sky radius (EE 0.85)"),
        ]
    if example:
        handles.append(Line2D([], [], color="k", ls=":", lw=2, label="WebbPSF model"))
    ax.legend(handles=handles, loc="lower right", fontsize=10, framealpha=0.9)
    fig.tight_layout()
    return fig, problems


def output_name(coron: bool, example: bool, filt: str | None) -> str:
    """``encirciled_energy[_example][_coron|_<F>]`` (original spelling)."""
    name = "encirciled_energy"
    if example:
        name += "_example"
    if coron and not filt:
        name += "_coron"
    if filt:
        name += f"_{filt}"
    return name


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=".", help="campaign root (default: .)")
    p.add_argument("--coron", action="store_true", help="coronagraphic filters")
    p.add_argument("--example", action="store_true", help="F770W and F2100W set 1 only, with the WebbPSF model")
    p.add_argument("--filter", default=None, choices=C.ALL_FILTERS, help="one filter only (default: all)")
    p.add_argument("--apcor-full", default=None, help="_full APCORR table (default: from ApCor/latest_apcorr.txt)")
    p.add_argument("--vetted", default=None, help="vetted-sets YAML (default: <root>/vetted_sets.yaml or built-in)")
    P.add_output_args(p)
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    from absflux.apcorr import ApcorError, load_vetted_sets

    try:
        vetted, source = load_vetted_sets(args.root, args.vetted)
    except ApcorError as exc:
        return fail(str(exc))
    full = Path(args.apcor_full) if args.apcor_full else default_full_table(args.root)
    if full is not None and not full.is_file():
        return fail(f"{full}: _full APCORR table not found")
    if full is None:
        log.warning("no _full APCORR table (ApCor/latest_apcorr.txt): aperture radii not drawn")
    sets = select(args.coron, args.example, args.filter, vetted, args.root)
    fig, problems = make_figure(
        args.root, sets, full, args.coron or (args.filter in C.CORON_FILTERS), args.example, fwhmfacs(vetted)
    )
    for m in problems:
        log.warning("missing: %s", m)
    n_tables = sum(len(v) for v in sets.values())
    if problems and len(problems) >= n_tables:
        return fail("no EE table found for any requested set (run calc_encircled_energy first)")
    P.save_figure(
        fig,
        P.figdir_from_args(args, args.root),
        output_name(args.coron, args.example, args.filter),
        P.output_formats(args),
        "Plotting/plot_encircled_energy.py",
        inputs=[full] if full else [],
        options=dict(vars(args), vetted_source=source),
    )
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
