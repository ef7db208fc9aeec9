"""Surface-brightness profile in concentric annuli (``getcircSB1``, spec section 6).

There is no sky subtraction and no gain or time scaling: SB is in input units per pixel
(DN/s/pix for rate files, sky included).  With clipping (the default), the pixels of each
annulus ``(r - 2, r + 2)`` at or below ``sky mean - 2 sigma`` (sky in 27-32 px) are dropped
and ``SB = sum/N``, ``errSB = sqrt(sum)/N``.  With ``noclip``, the original divides by the
geometric area ``16 pi r``; the corrected code divides by the number of on-image pixels of
the annulus instead (the geometric area counts off-image positions, B3).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from . import constants as C
from .common import (
    annulus_mask,
    annulus_sky,
    centroid,
    check_position,
    dq_report,
    dq_report_line,
    mask_pixel_indices,
    mask_values,
    max_counts,
)
from .ee import max_count_line
from .io import Exposure
from .repair import fix_bad_pixels_surface

log = logging.getLogger(__name__)

__all__ = ["SBResult", "sb_profile", "sb_table", "annulus_sb"]


@dataclass
class SBResult:
    """Result of :func:`sb_profile`."""

    xc: float
    yc: float
    radii: tuple
    sb: np.ndarray
    err: np.ndarray
    npix: np.ndarray
    sky_mean: float
    sky_sigma: float
    badlimit: float
    clip: bool
    maxcounts: int | None = None
    dq_counts: dict = field(default_factory=dict)
    nrepaired: int = 0
    messages: list = field(default_factory=list)


def annulus_sb(values: np.ndarray, r: float, badlimit: float, clip: bool, legacy: bool, half_width: float):
    """SB, error and pixel count of one annulus from its pixel values.

    Parameters
    ----------
    values : numpy.ndarray
        Pixel values of the annulus (zero-filled off-image positions in legacy mode).
    r : float
        Annulus centre radius.
    badlimit : float
        Clip limit; only values strictly above it are kept when *clip*.
    clip : bool
        Clip (default of the original) or not (``noclip``).
    legacy : bool
        noclip: divide by the geometric area ``pi((r+w)^2 - (r-w)^2)`` (original) rather
        than by the pixel count.
    half_width : float
        Annulus half width (2 px).

    Returns
    -------
    (float, float, int)
        SB, errSB, number of pixels used (NaN SB/err if none).
    """
    v = np.asarray(values, dtype=float)
    if not legacy:
        v = v[np.isfinite(v)]
    if clip:
        good = v[v > badlimit]
        n = good.size
        tot = float(np.sum(good))
        dev = np.sqrt(tot) if tot > 0 else 0.0
        if n == 0:
            return np.nan, np.nan, 0
        return tot / n, dev / n, n
    tot = float(np.sum(v))
    dev = np.sqrt(tot) if tot > 0 else 0.0
    if legacy:
        area = np.pi * ((r + half_width) ** 2 - (r - half_width) ** 2)
    else:
        area = float(v.size)
    if area <= 0:
        return np.nan, np.nan, 0
    return tot / area, dev / area, int(v.size)


def sb_profile(
    exp: Exposure,
    x: float,
    y: float,
    radii=C.SB_RADII,
    clip: bool = True,
    legacy: bool = False,
    dq_mode: str = "range",
    half_width: float = C.SB_HALF_WIDTH,
) -> SBResult:
    """Surface-brightness profile of the star near (x, y) (spec section 6).

    Parameters
    ----------
    exp : Exposure
        Input exposure (not modified).
    x, y : float
        0-based position guess.
    radii : sequence of float
        Annulus centre radii [px] (5, 9, ..., 25).
    clip : bool
        Drop pixels at or below ``sky - 2 sigma`` (default) or not (``noclip``).
    legacy : bool
        Reproduce B1 (cutout-relative repair indices), B2, B3 (zero fill, geometric area).
    dq_mode : {'range', 'bitwise'}
        DQ interpretation.
    half_width : float
        Annulus half width ``w_ann`` (2 px).

    Returns
    -------
    SBResult
    """
    radii = tuple(float(r) for r in radii)
    check_position(exp.path, exp.shape, x, y)
    image = exp.image
    maxint = max_counts(image, x, y, exp.inttime, legacy)
    messages = [max_count_line(exp, maxint)]
    xc, yc = centroid(image, x, y)
    dq_counts: dict = {}
    if exp.do_dqflag:
        m = annulus_mask(xc, yc, radii[0] - half_width, radii[0] + half_width)
        dq_counts = dq_report(mask_values(m, exp.dq, legacy), dq_mode)
        line = dq_report_line(dq_counts)
        if line:
            messages.append(line)
    maxrad = max(radii)
    r_in = maxrad + C.SB_SKY_GAP
    sky = annulus_sky(image, exp.dq, xc, yc, r_in, r_in + C.SB_SKY_WIDTH, exp.do_dqflag, legacy, dq_mode, exp.path)
    badlimit = sky.badlimit(C.SB_BAD_NSIGMA)

    m = annulus_mask(xc, yc, *C.SB_REPAIR_ANNULUS)
    if legacy:
        bad = np.where(m.multiply(image, fill_value=0) < badlimit)  # B1
    else:
        rows, cols = mask_pixel_indices(m, image.shape)
        vals = image[rows, cols]
        sel = (vals < badlimit) | ~np.isfinite(vals)
        bad = (rows[sel], cols[sel])
    nrep = len(bad[0])
    work = fix_bad_pixels_surface(image, bad, legacy=legacy)[0] if nrep > 0 else image

    sb, err, npix = [], [], []
    for r in radii:
        am = annulus_mask(xc, yc, r - half_width, r + half_width)
        s, e, n = annulus_sb(mask_values(am, work, legacy), r, badlimit, clip, legacy, half_width)
        sb.append(s)
        err.append(e)
        npix.append(n)
    return SBResult(
        xc=xc,
        yc=yc,
        radii=radii,
        sb=np.array(sb),
        err=np.array(err),
        npix=np.array(npix),
        sky_mean=sky.mean,
        sky_sigma=sky.sigma,
        badlimit=badlimit,
        clip=clip,
        maxcounts=maxint,
        dq_counts=dq_counts,
        nrepaired=nrep,
        messages=messages,
    )


def sb_table(res: SBResult, comments=None):
    """``Radius`` (``%6.0f``), ``SB`` and ``errSB`` (``11.5f``), for ``ascii.fixed_width``."""
    from astropy.table import Table

    t = Table()
    t["Radius"] = np.asarray(res.radii, dtype=float)
    t["Radius"].info.format = "%6.0f"
    t["SB"] = res.sb
    t["SB"].info.format = "11.5f"
    t["errSB"] = res.err
    t["errSB"].info.format = "11.5f"
    if comments:
        t.meta["comments"] = list(comments)
    return t
