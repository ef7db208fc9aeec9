"""Encircled-energy photometry of one star in one exposure (``getcircEE1``, spec section 3).

:func:`ee_photometry` returns the full photometry table (the ``.fluxes`` file) and the EE
table (the ``.radtab`` file) with the original columns and formats.

Units: ``CountRate`` is in e-/s (gain included); ``flux_i`` in electrons per integration.
The error formula of the original mixes units (B8: ``flux/gain`` in DN, the sky sigma in
DN/s not scaled by the integration time); it is reproduced as is.
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
from .io import Exposure
from .repair import fix_bad_pixels_surface, median_replace

log = logging.getLogger(__name__)

__all__ = ["EEResult", "ee_photometry", "max_count_line", "ee_table", "fluxes_table"]


@dataclass
class EEResult:
    """Result of :func:`ee_photometry`.

    Attributes
    ----------
    xc, yc : float
        Centroid (0-based).
    radii : tuple of float
        Aperture radii [px].
    aperture_sums : numpy.ndarray
        Raw aperture sums [DN/s] after the low-pixel treatment.
    bck_mean, bck_stdev : float
        Sky mean and sigma [DN/s/pix].
    bck_npix : int
        Sky pixel count of the separate 10-iteration clip.
    badlimit : float
        Low-pixel limit ``bck_mean - 3 * bck_stdev``.
    flux, fluxerr : numpy.ndarray
        Sky-subtracted flux and error [e- per integration].
    countrate, countrate_err : numpy.ndarray
        ``flux / inttime`` and ``fluxerr / inttime`` [e-/s].
    inttime : float
        Integration time used.
    maxcounts : int or None
        "Max. counts" of the 7x7 stamp.
    dq_counts : dict
        DQ report counts in the 1-5 px annulus (empty for single-HDU images).
    nrepaired : int
        Number of pixels flagged for repair.
    offimage_radii : list
        Radii whose aperture extends beyond the image.
    messages : list of str
        The lines the original printed (max-count line, DQ report).
    """

    xc: float
    yc: float
    radii: tuple
    aperture_sums: np.ndarray
    bck_mean: float
    bck_stdev: float
    bck_npix: int
    badlimit: float
    flux: np.ndarray
    fluxerr: np.ndarray
    countrate: np.ndarray
    countrate_err: np.ndarray
    inttime: float
    maxcounts: int | None
    dq_counts: dict = field(default_factory=dict)
    nrepaired: int = 0
    offimage_radii: list = field(default_factory=list)
    messages: list = field(default_factory=list)


def max_count_line(exp: Exposure, maxint: int | None) -> str:
    """The original's max-count line (Table A1 of the NIS-020 PDF was made from it)."""
    m = -1 if maxint is None else maxint
    if exp.do_dqflag:
        h = exp.header

        def _int(v):
            try:
                return int(v)
            except (TypeError, ValueError):
                return -1

        return "{:39s}: {:6s}, PW: {:6s}, FW: {:5s}, NGROUPS: {:3d}, NINTS: {:2d}, Max. counts: {:5d}".format(
            str(exp.path), str(h.get("SUBARRAY")), str(h.get("PUPIL")), str(h.get("FILTER")),
            _int(h.get("NGROUPS")), _int(h.get("NINTS")), m,
        )  # fmt: skip
    return f"  Max. counts: {m:5d}"


def ee_photometry(
    exp: Exposure,
    x: float,
    y: float,
    radii=C.EE_RADII,
    median: bool = False,
    legacy: bool = False,
    dq_mode: str = "range",
    gain: float = C.GAIN,
    skip: float = C.EE_SKY_SKIP,
    width: float = C.EE_SKY_WIDTH,
) -> EEResult:
    """Multi-radius aperture photometry of the star near (x, y) (spec section 3).

    Parameters
    ----------
    exp : Exposure
        Exposure from :func:`absflux.niriss.io.read_exposure` (its image is not modified).
    x, y : float
        0-based column and row of the star (rounded for the centroid box).
    radii : sequence of float
        Aperture radii [px]; the sky annulus is ``max+skip`` to ``max+skip+width``.
    median : bool
        Median mode (``getcircEE1a``): replace pixels below the 3-sigma limit in a 40x40
        cutout by the 7x7 median.  Default: polynomial repair of the low pixels in the
        annulus 5 px to max(radii).
    legacy : bool
        Reproduce the original's bugs B1 (cutout-relative indices in the polynomial
        repair), B2 (edge abort) and B3 (zero-filled off-image pixels), and the offset
        max-count stamp.
    dq_mode : {'range', 'bitwise'}
        DQ interpretation (integer ranges of the original by default).
    gain : float
        e-/DN.

    Returns
    -------
    EEResult

    Raises
    ------
    NirissInputError
        Coordinates off the image, undefined centroid, too few sky pixels.
    """
    radii = tuple(float(r) for r in radii)
    if not radii or min(radii) <= 0:
        raise ValueError("radii must be positive")
    check_position(exp.path, exp.shape, x, y)
    image = exp.image
    messages = [max_count_line(exp, maxint := max_counts(image, x, y, exp.inttime, legacy))]
    xc, yc = centroid(image, x, y)
    dq_counts: dict = {}
    if exp.do_dqflag:
        m = annulus_mask(xc, yc, *C.EE_DQ_ANNULUS)
        dq_counts = dq_report(mask_values(m, exp.dq, legacy), dq_mode)
        line = dq_report_line(dq_counts)
        if line:
            messages.append(line)
    maxrad = max(radii)
    sky = annulus_sky(
        image, exp.dq, xc, yc, maxrad + skip, maxrad + skip + width, exp.do_dqflag, legacy, dq_mode, exp.path
    )
    badlimit = sky.badlimit(C.EE_BAD_NSIGMA)

    # low-pixel treatment
    if median:
        work, nrep = median_replace(image, xc, yc, badlimit, legacy=legacy)
    else:
        m = annulus_mask(xc, yc, C.EE_REPAIR_RIN, maxrad)
        if legacy:
            S = m.multiply(image, fill_value=0)
            bad = np.where(S < badlimit)  # cutout-relative indices used as image indices (B1)
        else:
            rows, cols = mask_pixel_indices(m, image.shape)
            vals = image[rows, cols]
            sel = (vals < badlimit) | ~np.isfinite(vals)
            bad = (rows[sel], cols[sel])
        nrep = len(bad[0])
        work = fix_bad_pixels_surface(image, bad, legacy=legacy)[0] if nrep > 0 else image

    sums, offimage = _aperture_sums(work, xc, yc, radii, legacy)
    areas = np.pi * np.asarray(radii) ** 2
    flux = gain * exp.inttime * (sums - sky.mean * areas)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = flux / gain + areas * sky.sigma**2 + areas**2 * sky.sigma**2 / sky.npix
        fluxerr = np.sqrt(var)
    if offimage:
        log.warning(
            "%s: aperture(s) r = %s px extend beyond the image; their sums cover the on-image part only",
            exp.path,
            ", ".join(f"{r:g}" for r in offimage),
        )
    return EEResult(
        xc=xc,
        yc=yc,
        radii=radii,
        aperture_sums=sums,
        bck_mean=sky.mean,
        bck_stdev=sky.sigma,
        bck_npix=sky.npix,
        badlimit=badlimit,
        flux=flux,
        fluxerr=fluxerr,
        countrate=flux / exp.inttime,
        countrate_err=fluxerr / exp.inttime,
        inttime=exp.inttime,
        maxcounts=maxint,
        dq_counts=dq_counts,
        nrepaired=nrep,
        offimage_radii=offimage,
        messages=messages,
    )


def _aperture_sums(image: np.ndarray, xc: float, yc: float, radii, legacy: bool) -> tuple[np.ndarray, list]:
    """Exact-overlap aperture sums; non-finite pixels are masked unless *legacy*."""
    from photutils.aperture import CircularAperture, aperture_photometry

    apertures = [CircularAperture((xc, yc), r) for r in radii]
    bad = ~np.isfinite(image)
    mask = bad if (bad.any() and not legacy) else None
    if mask is not None:
        log.warning("%d non-finite pixel(s) masked in the apertures", int(np.count_nonzero(bad)))
    phot = aperture_photometry(image, apertures, mask=mask, method="exact")
    sums = np.array([float(phot[f"aperture_sum_{i}"][0]) for i in range(len(radii))])
    ny, nx = image.shape
    offimage = [r for r in radii if xc - r < -0.5 or yc - r < -0.5 or xc + r > nx - 0.5 or yc + r > ny - 0.5]
    return sums, offimage


def fluxes_table(res: EEResult, comments=None):
    """The ``.fluxes`` table: all columns ``'%.8g'``, written with ``format='ascii'``.

    Column order: ``id xcenter ycenter aperture_sum_0.. bck_mean bck_stdev bck_npix
    flux_0 fluxerr_0 ...``; ``bck_mean`` and ``bck_stdev`` are multiplied by inttime.
    """
    from astropy.table import Table

    t = Table()
    t["id"] = [1]
    t["xcenter"] = [res.xc]
    t["ycenter"] = [res.yc]
    for i, s in enumerate(res.aperture_sums):
        t[f"aperture_sum_{i}"] = [s]
    t["bck_mean"] = [res.bck_mean * res.inttime]
    t["bck_stdev"] = [res.bck_stdev * res.inttime]
    t["bck_npix"] = [res.bck_npix]
    for i in range(len(res.radii)):
        t[f"flux_{i}"] = [res.flux[i]]
        t[f"fluxerr_{i}"] = [res.fluxerr[i]]
    for col in t.itercols():
        col.info.format = "%.8g"
    if comments:
        t.meta["comments"] = list(comments)
    return t


def ee_table(res: EEResult, comments=None, pixscale: float = C.PIXSCALE):
    """The EE table (``.radtab``): Radius, Rad_arcsec, CountRate, errCountRate [e-/s].

    Written with ``format='ascii.fixed_width', delimiter=None``.
    """
    import astropy.units as u
    from astropy.table import QTable

    radii = np.asarray(res.radii)
    t = QTable()
    if np.all(radii == np.round(radii)):
        t["Radius"] = radii.astype(int)
        t["Radius"].info.format = "6d"
    else:
        t["Radius"] = radii
        t["Radius"].info.format = "6.2f"
    t["Rad_arcsec"] = radii * pixscale * u.arcsec
    t["Rad_arcsec"].info.format = "10.4f"
    t["CountRate"] = res.countrate
    t["CountRate"].info.format = "12.4e"
    t["errCountRate"] = res.countrate_err
    t["errCountRate"].info.format = "12.4e"
    if comments:
        t.meta["comments"] = list(comments)
    return t
