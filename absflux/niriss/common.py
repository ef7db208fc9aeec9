"""Building blocks shared by the EE and SB photometry (spec section 2).

Centroid, the max-count line, pixel collection from aperture masks, the DQ
range logic and the sky statistics.

Edge-of-image behaviour
-----------------------
The original collected annulus pixels with ``mask.multiply(image)[mask.data > 0]``,
which keeps the positions that fall off the image with the value 0 (and DQ 0, i.e.
"good").  That is reproduced with ``legacy=True``.  By default (the fix of bug B3) only
pixels that lie on the image are used, so an annulus that runs off the image gives
statistics of its on-image part only.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from . import constants as C
from .io import NirissInputError

log = logging.getLogger(__name__)

__all__ = [
    "py_round",
    "check_position",
    "centroid",
    "max_counts",
    "annulus_mask",
    "mask_values",
    "mask_pixel_indices",
    "dq_report",
    "dq_good",
    "SkyStats",
    "sky_stats",
]


def py_round(v: float) -> int:
    """Python's ``round`` (banker's rounding) as an int: ``round(32.5) == 32``."""
    return int(round(float(v)))


def check_position(path: str, shape: tuple[int, int], x: float, y: float) -> None:
    """Raise :class:`NirissInputError` unless the rounded (x, y) lies on the image.

    Parameters
    ----------
    path : str
        File name for the message.
    shape : tuple
        Image shape (ny, nx).
    x, y : float
        0-based column and row.
    """
    if not (np.isfinite(x) and np.isfinite(y)):
        raise NirissInputError(f"{path}: coordinates ({x}, {y}) are not finite")
    rx, ry = py_round(x), py_round(y)
    ny, nx = shape
    if not (0 <= rx < nx and 0 <= ry < ny):
        raise NirissInputError(f"{path}: coordinates ({x:g}, {y:g}) are off the image ({nx} x {ny} pixels)")


def centroid(image: np.ndarray, x: float, y: float, box_size: int = C.CENTROID_BOX) -> tuple[float, float]:
    """One-pass centre of mass in a ``box_size`` box around the rounded position.

    This is ``centroid_sources(image, round(x), round(y), box_size=7,
    centroid_func=centroid_com)`` of the original (no background subtraction, no
    iteration: bug/feature B10).  Non-finite pixels are masked.

    Returns
    -------
    (float, float)
        Centroid (x, y), 0-based.

    Raises
    ------
    NirissInputError
        If the centroid is undefined (e.g. an all-zero or all-NaN box).
    """
    from photutils.centroids import centroid_com, centroid_sources

    bad = ~np.isfinite(image)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xc, yc = centroid_sources(
            image,
            py_round(x),
            py_round(y),
            box_size=box_size,
            centroid_func=centroid_com,
            mask=bad if bad.any() else None,
        )
    xc, yc = float(np.atleast_1d(xc)[0]), float(np.atleast_1d(yc)[0])
    if not (np.isfinite(xc) and np.isfinite(yc)):
        raise NirissInputError(f"centroid undefined near ({x:g}, {y:g}) (empty or non-finite box)")
    return xc, yc


def max_counts(image: np.ndarray, x: float, y: float, inttime: float, legacy: bool = False) -> int | None:
    """Maximum of the 7x7 stamp times the integration time, rounded ("Max. counts").

    The original stamp is ``image[ry-4:ry+3, rx-4:rx+3]``, centred on (rx-1, ry-1)
    (B10); ``legacy=True`` keeps that, the default centres it on (rx, ry) and clips it
    at the image edges.  Non-finite pixels are ignored (the original raised on NaN).

    Returns
    -------
    int or None
        None when the stamp holds no finite pixel.
    """
    rx, ry = py_round(x), py_round(y)
    if legacy:
        stamp = image[ry - 4 : ry + 3, rx - 4 : rx + 3]
    else:
        stamp = image[max(ry - 3, 0) : ry + 4, max(rx - 3, 0) : rx + 4]
    finite = stamp[np.isfinite(stamp)]
    if finite.size == 0:
        return None
    return py_round(float(finite.max()) * inttime)


def annulus_mask(xc: float, yc: float, r_in: float, r_out: float, method: str = "center"):
    """``CircularAnnulus((xc, yc), r_in, r_out).to_mask(method)`` (a single mask)."""
    from photutils.aperture import CircularAnnulus

    return CircularAnnulus((xc, yc), r_in, r_out).to_mask(method=method)


def _overlap(mask, shape):
    slc_large, slc_small = mask.get_overlap_slices(shape)
    return slc_large, slc_small


def mask_values(mask, arr: np.ndarray, legacy: bool = False) -> np.ndarray:
    """Values of *arr* at the pixels selected by an aperture mask (``mask.data > 0``).

    Parameters
    ----------
    mask : photutils.aperture.ApertureMask
        Mask made with ``method='center'``.
    arr : numpy.ndarray
        Image or DQ array.
    legacy : bool
        True: ``mask.multiply(arr)[mask.data > 0]``, positions off the image give 0 (B3).
        False: only the pixels that lie on the image.
    """
    if legacy:
        return mask.multiply(arr, fill_value=0)[mask.data > 0]
    slc_large, slc_small = _overlap(mask, arr.shape)
    if slc_large is None:
        return np.array([], dtype=arr.dtype)
    return arr[slc_large][mask.data[slc_small] > 0]


def mask_pixel_indices(mask, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Absolute (row, col) indices of the on-image pixels selected by *mask*."""
    slc_large, slc_small = _overlap(mask, shape)
    if slc_large is None:
        return np.array([], dtype=int), np.array([], dtype=int)
    rows, cols = np.nonzero(mask.data[slc_small] > 0)
    return rows + slc_large[0].start, cols + slc_large[1].start


def dq_report(dq_values: np.ndarray, mode: str = "range") -> dict[str, int]:
    """Count the "sat", "dead", "unreliable" and "DONT USE" pixels among DQ values.

    ``mode='range'`` uses the integer ranges of the original (2 <= dq <= 3,
    5 <= dq < 4095, dq >= 2**23, dq == 1), ``mode='bitwise'`` tests the JWST bits
    (SATURATED, DEAD, UNRELIABLE_*, DO_NOT_USE).

    Returns
    -------
    dict
        Keys ``sat``, ``dead``, ``unreliable``, ``dnu``.
    """
    d = np.asarray(dq_values).astype(np.int64)
    if mode == "range":
        return {
            "sat": int(np.count_nonzero((d >= C.DQ_SAT_RANGE[0]) & (d <= C.DQ_SAT_RANGE[1]))),
            "dead": int(np.count_nonzero((d >= C.DQ_DEAD_RANGE[0]) & (d < C.DQ_DEAD_RANGE[1]))),
            "unreliable": int(np.count_nonzero(d >= C.DQ_UNRELIABLE_MIN)),
            "dnu": int(np.count_nonzero(d == C.DQ_DNU_VALUE)),
        }
    if mode == "bitwise":
        return {
            "sat": int(np.count_nonzero(d & C.DQ_SATURATED)),
            "dead": int(np.count_nonzero(d & C.DQ_DEAD)),
            "unreliable": int(np.count_nonzero(d & C.DQ_BITWISE_UNRELIABLE)),
            "dnu": int(np.count_nonzero(d & C.DQ_DO_NOT_USE)),
        }
    raise ValueError(f"unknown DQ mode {mode!r}; use one of {C.DQ_MODES}")


def dq_report_line(counts: dict[str, int], source: int = 0) -> str | None:
    """The original's report line, or None when nothing was found."""
    if sum(counts.values()) == 0:
        return None
    return "   {} sat, {} dead, {} unreliable, {} DONT USE pixels in source {}".format(
        counts["sat"], counts["dead"], counts["unreliable"], counts["dnu"], source
    )


def dq_good(dq_values: np.ndarray, mode: str = "range") -> np.ndarray:
    """Boolean "good background pixel" mask.

    ``mode='range'``: dq == 0, dq == 4, or 2**12 <= dq < 2**22 (the original's
    integer ranges, which e.g. accept 4097 = WARM + DO_NOT_USE).  ``mode='bitwise'``:
    none of the bits in :data:`constants.DQ_BITWISE_BAD` set.
    """
    d = np.asarray(dq_values).astype(np.int64)
    if mode == "range":
        lo, hi = C.DQ_GOOD_RANGE
        return np.isin(d, C.DQ_GOOD_VALUES) | ((d >= lo) & (d < hi))
    if mode == "bitwise":
        return (d & C.DQ_BITWISE_BAD) == 0
    raise ValueError(f"unknown DQ mode {mode!r}; use one of {C.DQ_MODES}")


@dataclass
class SkyStats:
    """Sky statistics of one annulus.

    Attributes
    ----------
    mean, sigma : float
        ``sigma_clipped_stats(values, sigma=3)`` mean and std (maxiters=5, median
        centre, ddof=0).
    npix : int
        Unmasked count of a separate ``sigma_clip(values, sigma=3, maxiters=10)`` (B9).
    nvalues : int
        Number of values offered to the statistics.
    """

    mean: float
    sigma: float
    npix: int
    nvalues: int

    def badlimit(self, nsigma: float) -> float:
        """``mean - nsigma * sigma``."""
        return self.mean - nsigma * self.sigma


def sky_stats(values: np.ndarray, nsigma: float = C.SKY_NSIGMA) -> SkyStats:
    """Sky mean, sigma and pixel count exactly as the original (spec section 2).

    NaNs are masked by the sigma clipping.

    Parameters
    ----------
    values : numpy.ndarray
        Sky-annulus pixel values (already restricted to good DQ if applicable).
    nsigma : float
        Clip level (3 in the original).
    """
    from astropy.stats import sigma_clip, sigma_clipped_stats

    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0 or not np.isfinite(v).any():
        return SkyStats(np.nan, np.nan, 0, int(v.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mean, _median, sig = sigma_clipped_stats(v, sigma=nsigma, maxiters=C.SKY_MAXITERS_STATS)
        clipped = sigma_clip(v, sigma=nsigma, maxiters=C.SKY_MAXITERS_NPIX, masked=True)
    npix = int(np.count_nonzero(~np.ma.getmaskarray(clipped)))
    return SkyStats(float(mean), float(sig), npix, int(v.size))


def annulus_sky(
    image: np.ndarray,
    dq: np.ndarray,
    xc: float,
    yc: float,
    r_in: float,
    r_out: float,
    use_dq: bool,
    legacy: bool = False,
    dq_mode: str = "range",
    path: str = "",
) -> SkyStats:
    """Sky statistics of the annulus (r_in, r_out) around (xc, yc).

    Parameters
    ----------
    use_dq : bool
        Keep only DQ-good pixels (``do_dqflag`` of the original).
    legacy : bool
        Zero-fill off-image positions (B3) instead of dropping them.

    Raises
    ------
    NirissInputError
        (corrected mode only) fewer than :data:`constants.MIN_SKY_PIXELS` usable pixels,
        e.g. a sky annulus completely off the image.
    """
    m = annulus_mask(xc, yc, r_in, r_out)
    vals = mask_values(m, image, legacy)
    if use_dq:
        good = dq_good(mask_values(m, dq, legacy), dq_mode)
        vals = vals[good]
    if not legacy:
        vals = vals[np.isfinite(vals)]
        if vals.size < C.MIN_SKY_PIXELS:
            raise NirissInputError(
                f"{path}: only {vals.size} usable sky pixels in the annulus {r_in:g}-{r_out:g} px "
                f"around ({xc:.2f}, {yc:.2f}) (off the image?)"
            )
    return sky_stats(vals)
