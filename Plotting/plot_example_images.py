#!/usr/bin/env python
"""Figs. 1 and 2: example PSF images of the imager (+FND) and the coronagraphic filters (spec 3.25).

Imager (2x5 panels, 60-pixel cutouts): F560W-F1280W from the background-subtracted mosaic of
``--bd60-set``, F1500W-F2550W from that of ``--delumi-set``, FND from the non-subtracted mosaic of
``--delumi-set``.  ``--coron`` (2x2 panels, 150-pixel cutouts): the background-subtracted mosaics of
``--coron-set``.  The star is found at its expected position (brightest peak above median + 5 std),
NaNs are replaced by the median of the positive pixels, the display is a sqrt stretch to the 99th
percentile with a 1" scale bar.  A missing mosaic or star is reported in its panel and on the log;
the other panels are still drawn.  Output ``Figs/example_images[_coron].png|pdf``.
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
from absflux.cli import run, setup_logging  # noqa: E402

log = logging.getLogger("plot_example_images")

IMAGER_PANELS = ("F560W", "F770W", "F1000W", "F1130W", "F1280W", "FND", "F1500W", "F1800W", "F2100W", "F2550W")
CORON_PANELS = C.CORON_FILTERS
BD60_FILTERS = ("F560W", "F770W", "F1000W", "F1130W", "F1280W")


def mosaic_path(root, startype: str, filt: str, dataset: str, bkgsub: bool) -> Path:
    """Stage-3 mosaic of a set: ``T/F/S/miri_S_stage3[_bkgsub]_asn_i2d.fits``."""
    tag = "_bkgsub" if bkgsub else ""
    return Path(root) / startype / filt / dataset / f"miri_{dataset}_stage3{tag}_asn_i2d.fits"


def panel_files(root, coron: bool, bd60_set: str, delumi_set: str, coron_set: str, startype: str = "ADwarfs"):
    """(filter, mosaic path) of every panel (spec 3.25 choices)."""
    if coron:
        return [(f, mosaic_path(root, startype, f, coron_set, True)) for f in CORON_PANELS]
    out = []
    for f in IMAGER_PANELS:
        if f in BD60_FILTERS:
            out.append((f, mosaic_path(root, startype, f, bd60_set, True)))
        else:
            out.append((f, mosaic_path(root, startype, f, delumi_set, f != "FND")))
    return out


def star_cutout(path: Path, filt: str, size: int) -> np.ndarray:
    """Cutout of ``size`` pixels centred on the star of a mosaic (NaN -> median of positive pixels).

    Raises
    ------
    LookupError
        When no star is found near the expected position.
    """
    from astropy.nddata import Cutout2D
    from jwst import datamodels

    from absflux.pipeline import expected_position, find_star

    with datamodels.open(str(path)) as m:
        data = np.array(m.data, dtype=float)
        ra, dec = expected_position(m.meta)
        pos = find_star(data, m.meta.wcs, ra, dec, C.FWHM[filt], size_fwhm=max(10.0, size / C.FWHM[filt]))
    if pos is None:
        raise LookupError(f"no star found near RA={ra:.5f} Dec={dec:.5f}")
    cut = Cutout2D(data, pos, (size, size), mode="partial", fill_value=0.0).data.copy()
    pos_vals = cut[np.isfinite(cut) & (cut > 0)]
    cut[~np.isfinite(cut)] = np.median(pos_vals) if pos_vals.size else 0.0
    return cut


def make_figure(panels, coron: bool):
    """The montage; returns (Figure, list of messages about missing panels)."""
    import matplotlib.pyplot as plt

    if coron:
        P.setup_rc(18)
        fig, axes = plt.subplots(2, 2, figsize=(10, 10))
        size = 150
    else:
        P.setup_rc(16)
        fig, axes = plt.subplots(2, 5, figsize=(14, 6))
        size = 60
    problems = []
    for ax, (filt, path) in zip(axes.ravel(), panels, strict=True):
        try:
            if not path.is_file():
                raise FileNotFoundError("mosaic not found")
            img = star_cutout(path, filt, size)
        except (FileNotFoundError, LookupError, OSError, ValueError) as exc:
            problems.append(f"{filt}: {path}: {exc}")
            log.warning("panel %s", problems[-1])
            P.panel_message(ax, f"{filt}\nmissing:\n{path.parent.name}", fontsize=10)
            continue
        ax.imshow(P.sqrt_stretch(img, 99.0), origin="lower", cmap="magma", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.05, 0.93, filt, transform=ax.transAxes, color="white", va="top", fontweight="bold")
        bar = 1.0 / C.MOSAIC_PIXEL_SCALE
        x0, y0 = 0.08 * size, 0.08 * size
        ax.plot([x0, x0 + bar], [y0, y0], color="white", lw=3)
        ax.text(x0 + bar / 2, y0 + 0.03 * size, '1"', color="white", ha="center", va="bottom")
    fig.tight_layout()
    return fig, problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=".", help="campaign root (default: .)")
    p.add_argument("--coron", action="store_true", help="coronagraphic montage (Fig. 2)")
    p.add_argument("--startype", default="ADwarfs", help="star-type directory of the sets (default ADwarfs)")
    p.add_argument("--bd60-set", default="BD+60 1753_set1", help="set of F560W-F1280W (default 'BD+60 1753_set1')")
    p.add_argument("--delumi-set", default="del UMi_set1", help="set of FND, F1500W-F2550W (default 'del UMi_set1')")
    p.add_argument(
        "--coron-set", default="HD 2811_set1", help="set of the coronagraphic panels (default 'HD 2811_set1')"
    )
    P.add_output_args(p)
    args = p.parse_args(argv)
    setup_logging(args.verbose)
    panels = panel_files(args.root, args.coron, args.bd60_set, args.delumi_set, args.coron_set, args.startype)
    fig, problems = make_figure(panels, args.coron)
    name = "example_images_coron" if args.coron else "example_images"
    P.save_figure(
        fig,
        P.figdir_from_args(args, args.root),
        name,
        P.output_formats(args),
        "Plotting/plot_example_images.py",
        inputs=[q for _, q in panels if q.is_file()],
        options=args,
    )
    if problems:
        log.warning("%d of %d panels missing", len(problems), len(panels))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
