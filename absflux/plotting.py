"""Shared plotting helpers of the paper figures (``Plotting/``, spec 0.6 and 8).

* :func:`setup_rc` - matplotlib rc (font size, line and axes widths) used by every figure;
* :data:`FILTER_COLORS` / :func:`filter_color` - one fixed colour per MIRI filter, identical in
  every figure (imager from blue to red by wavelength, FND grey, coronagraphic distinct hues);
* :func:`jitter` - seeded horizontal jitter for categorical x axes (reruns are identical);
* :func:`sqrt_stretch` - square-root image stretch clipped at a percentile;
* :func:`add_output_args` / :func:`save_figure` - the ``--png``/``--pdf``/``--figdir`` options and
  an atomic save of ``Figs/<name>.<fmt>`` with provenance in the image metadata.

The backend is forced to Agg: the scripts never open a window.
"""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import constants as C  # noqa: E402

log = logging.getLogger(__name__)

#: Default jitter seed and width (spec 0.6: N(0, 0.12), here seeded).
JITTER_SEED = 20220521
JITTER_SIGMA = 0.12


def _build_filter_colors() -> dict[str, str]:
    cmap = plt.get_cmap("turbo")
    imager = C.IMAGER_FILTERS
    cols = {}
    for k, f in enumerate(imager):
        cols[f] = matplotlib.colors.to_hex(cmap(0.08 + 0.84 * k / (len(imager) - 1)))
    cols["FND"] = "#555555"
    cols.update({"F1065C": "#8c564b", "F1140C": "#e377c2", "F1550C": "#17becf", "F2300C": "#7f7f00"})
    return cols


#: One colour per filter, shared by all figures.
FILTER_COLORS = _build_filter_colors()

#: Linestyles cycled over data sets of one filter.
LINESTYLES = ("-", "--", "-.", ":")


def filter_color(filt: str) -> str:
    """Colour of ``filt`` (case-insensitive); grey for unknown names.

    Parameters
    ----------
    filt : str
        MIRI filter name.

    Returns
    -------
    str
        Hex colour.
    """
    return FILTER_COLORS.get(str(filt).upper(), "#333333")


def setup_rc(fontsize: int = 14, linewidth: float = 2.0) -> None:
    """Set the matplotlib rc parameters shared by the paper figures.

    Parameters
    ----------
    fontsize : int
        Base font size.
    linewidth : float
        Width of lines, axes and ticks.
    """
    plt.rcdefaults()
    matplotlib.use("Agg")
    plt.rc("font", size=fontsize)
    plt.rc("lines", linewidth=linewidth)
    plt.rc("axes", linewidth=linewidth)
    plt.rc("xtick.major", width=linewidth)
    plt.rc("ytick.major", width=linewidth)
    plt.rc("savefig", dpi=120)


def jitter(n: int, seed: int = JITTER_SEED, sigma: float = JITTER_SIGMA) -> np.ndarray:
    """Seeded Gaussian jitter for categorical x axes.

    Parameters
    ----------
    n : int
        Number of values.
    seed : int
        Seed of ``numpy.random.default_rng``.
    sigma : float
        Standard deviation.

    Returns
    -------
    numpy.ndarray
        ``n`` values, identical on every call with the same arguments.
    """
    return np.random.default_rng(seed).normal(0.0, sigma, n)


def sqrt_stretch(image, percentile: float = 99.0) -> np.ndarray:
    """Square-root stretch of ``image`` to [0, 1], clipped at ``percentile``.

    Parameters
    ----------
    image : array-like
        Image; NaNs are returned as 0.
    percentile : float
        Upper clipping percentile of the finite pixels (lower limit: minimum, at least 0).

    Returns
    -------
    numpy.ndarray
        Stretched image.
    """
    img = np.asarray(image, float)
    good = np.isfinite(img)
    if not good.any():
        return np.zeros_like(img)
    lo = max(float(np.nanmin(img[good])), 0.0)
    hi = float(np.percentile(img[good], percentile))
    if hi <= lo:
        hi = lo + 1.0
    out = np.clip((np.where(good, img, lo) - lo) / (hi - lo), 0.0, 1.0)
    return np.sqrt(out)


def add_output_args(parser, default_figdir: str = "Figs") -> None:
    """Add ``--png``, ``--pdf``, ``--figdir``, ``-v`` to an argparse parser.

    Without ``--png``/``--pdf`` a PNG is written (the backend is Agg, so the original
    interactive ``plt.show()`` is not available).
    """
    parser.add_argument("--png", action="store_true", help="save the figure as PNG (default when neither is given)")
    parser.add_argument("--pdf", action="store_true", help="save the figure as PDF")
    parser.add_argument(
        "--figdir", default=None, help=f"output folder of the figure (default: <root>/{default_figdir})"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def output_formats(args) -> list[str]:
    """Formats requested by ``--png``/``--pdf`` (PNG when neither)."""
    fmts = []
    if getattr(args, "png", False):
        fmts.append("png")
    if getattr(args, "pdf", False):
        fmts.append("pdf")
    return fmts or ["png"]


def figdir_from_args(args, root=".") -> Path:
    """The figure folder: ``--figdir`` or ``<root>/Figs``."""
    return Path(args.figdir) if getattr(args, "figdir", None) else Path(root) / "Figs"


def savefig_with_provenance(fig, path, fmt: str, prov: dict) -> None:
    """Write ``fig`` to ``path`` (e.g. a staged name) with the software versions and script in its metadata.

    PNG: ``Software`` and ``Description``; PDF: ``Creator`` and ``Subject``.  ``prov`` is a
    :func:`absflux.io_utils.provenance` record.
    """
    soft = f"absflux {prov['software'].get('absflux', '')}, matplotlib {prov['software'].get('matplotlib', '')}"
    if fmt == "png":
        meta = {"Software": soft, "Description": f"{prov['script']} {prov['date']}"}
    else:
        meta = {"Creator": soft, "Subject": f"{prov['script']} {prov['date']}"}
    fig.savefig(path, format=fmt, metadata=meta)


def save_figure(fig, figdir, name: str, formats=("png",), script: str = "", inputs=(), options=None) -> list[Path]:
    """Save ``fig`` as ``figdir/name.<fmt>`` through a temporary file, with provenance metadata.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    figdir : str or Path
        Output folder (created if missing).
    name : str
        File name without extension (spec names, e.g. ``example_images``).
    formats : iterable of str
        ``png`` and/or ``pdf``.
    script, inputs, options
        Provenance (see :func:`absflux.io_utils.provenance`).

    Returns
    -------
    list of Path
        The written files.
    """
    from .io_utils import provenance

    prov = provenance(script or "absflux.plotting", inputs=inputs, options=options)
    figdir = Path(figdir)
    figdir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        final = figdir / f"{name}.{fmt}"
        tmp = final.with_name(f".{final.stem}.tmp.{fmt}")
        try:
            savefig_with_provenance(fig, tmp, fmt, prov)
            tmp.replace(final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        log.info("wrote %s", final)
        written.append(final)
    return written


def panel_message(ax, text: str, fontsize: int = 10) -> None:
    """Write ``text`` in the middle of an empty panel (used for missing inputs)."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=fontsize, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
