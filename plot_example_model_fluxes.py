#!/usr/bin/env python
"""Example model spectra with their synthetic band fluxes (spec 3.33; no longer a paper figure).

For three CALSPEC models (hot star, A dwarf, solar analog; ``--models``, keys of ``Models/<key>_stis*.fits``)
F_lambda is normalised by its mean over 4.5-32 micron and offset by 0.2 per model; the band-averaged
F_lambda of each filter (bandpasses from ``Models/bandpass_<f>.dat``, or the built-in default) is drawn
at the pivot wavelength with x error = half the equivalent width (imager green, coronagraphy blue;
FND omitted).  The original also wrote ``Models/bandpass_<f>.dat``; inputs are never modified here.
Output ``Figs/miri_example_model_fluxes.png|pdf``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from absflux import constants as C
from absflux import plotting as P
from absflux.cli import fail, run, setup_logging

log = logging.getLogger("plot_example_model_fluxes")


def find_model(models_dir: Path, key: str) -> Path | None:
    """First ``<key>_stis*.fits`` of the model folder."""
    c = sorted(models_dir.glob(f"{key}_stis*.fits"))
    return c[-1] if c else None


def make_figure(models: list[tuple[str, Path]], bandpasses: dict):
    """The figure (one axis); returns Figure."""
    import matplotlib.pyplot as plt

    from absflux.bands import band_flux_flambda, pivot_wavelength
    from absflux.spectra import read_calspec

    P.setup_rc(14)
    fig, ax = plt.subplots(figsize=(10, 7))
    for k, (name, path) in enumerate(models):
        w, f = read_calspec(path)
        wum = w * 1e-4
        sel = (wum > 4.5) & (wum < 32)
        norm = np.mean(f[sel])
        ax.plot(wum[sel], f[sel] / norm + 0.2 * k, color="0.3", lw=1.5)
        ax.text(31.5, f[sel][-1] / norm + 0.2 * k + 0.03, name, ha="right", fontsize=12)
        for filt, (bw, br) in bandpasses.items():
            if filt == "FND":
                continue
            flam = band_flux_flambda(w, f, bw, br)
            piv = pivot_wavelength(bw, br) * 1e-4
            half = 0.5 * np.trapezoid(br, bw) / np.max(br) * 1e-4
            col = "tab:blue" if filt in C.CORON_FILTERS else "tab:green"
            ax.errorbar(piv, flam / norm + 0.2 * k, xerr=half, fmt="o", color=col, ms=6, capsize=2)
    from matplotlib.lines import Line2D

    ax.legend(
        handles=[
            Line2D([], [], color="0.3", label="model spectrum"),
            Line2D([], [], color="tab:green", marker="o", ls="", label="imager band"),
            Line2D([], [], color="tab:blue", marker="o", ls="", label="coronagraphic band"),
        ],
        loc="upper left",
        fontsize=11,
    )
    ax.set_xlabel(r"Wavelength [$\mu$m]")
    ax.set_ylabel(r"F$_\lambda$ / mean(F$_\lambda$, 4.5-32 $\mu$m) + offset")
    ax.set_xlim(4, 32)
    fig.tight_layout()
    return fig


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=".", help="campaign root with Models/ (default: .)")
    p.add_argument("--models", nargs="+", default=["g191b2b", "bd60d1753", "p330e"], help="model keys")
    p.add_argument(
        "--bandpasses", default=None, help="bandpass folder (default <root>/Models if it has bandpass_*.dat)"
    )
    P.add_output_args(p)
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    from absflux.bands import load_bandpasses

    mdir = Path(args.root) / "Models"
    models = []
    for key in args.models:
        path = find_model(mdir, key)
        if path is None:
            log.warning("missing model %s in %s", key, mdir)
        else:
            models.append((C.MODEL_NAMES.get(key, key), path))
    if not models:
        return fail(f"none of the models {args.models} in {mdir}")
    src = args.bandpasses or (str(mdir) if list(mdir.glob("bandpass_*.dat")) else None)
    bps = load_bandpasses(src)
    fig = make_figure(models, bps)
    P.save_figure(
        fig,
        P.figdir_from_args(args, args.root),
        "miri_example_model_fluxes",
        P.output_formats(args),
        "plot_example_model_fluxes.py",
        inputs=[q for _, q in models],
        options=args,
    )
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
