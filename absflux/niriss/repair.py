"""Low-pixel repair: the polynomial surface fit and the median-filter replacement.

``fix_bad_pixels_surface`` re-implements the behaviour of K. Volk's helper described in
spec section 4: a least-squares fit of the 16 tensor-product terms ``x**i * y**j``
(i, j = 0..3) to the unflagged pixels of the 7x7 box around each flagged pixel, on local
coordinates ``linspace(0, 1, 7)``.

Two variants:

* ``legacy=True`` is the original: every flagged pixel of the box is overwritten by the
  box's fit (the last fit wins); a pixel within 3 px of the bottom/left edge is silently
  skipped, and one within 3 px of the top/right edge (or any numerical failure) makes the
  whole call return the unmodified image with ``ok=False`` (bug B2);
* the default (fix of B2) clips the box at the image edges, keeps the local coordinate
  system of the full 7x7 box, writes only the pixel the box is centred on, and handles
  every pixel on its own (a failure leaves that one pixel unchanged).  Non-finite pixels
  are never used as fit data.

For an image that is exactly such a bicubic tensor polynomial, both variants restore
the flagged interior pixels to machine precision.
"""

from __future__ import annotations

import logging

import numpy as np

from . import constants as C

log = logging.getLogger(__name__)

__all__ = ["fix_bad_pixels_surface", "poly_design", "median_replace"]


def poly_design(xs: np.ndarray, ys: np.ndarray, degree: int = C.POLY_DEGREE) -> np.ndarray:
    """Design matrix of the tensor basis ``x**i * y**j``, column k = (degree+1)*i + j."""
    cols = [xs**i * ys**j for i in range(degree + 1) for j in range(degree + 1)]
    return np.stack(cols, axis=-1)


def fix_bad_pixels_surface(
    image: np.ndarray,
    pixels: tuple[np.ndarray, np.ndarray],
    box: int = C.POLY_BOX,
    degree: int = C.POLY_DEGREE,
    legacy: bool = False,
) -> tuple[np.ndarray, bool]:
    """Replace flagged pixels by a local polynomial-surface fit.

    Parameters
    ----------
    image : numpy.ndarray
        2-D image (not modified).
    pixels : tuple of arrays
        ``np.where``-style (rows, cols) of the flagged pixels, absolute image indices.
    box : int
        Half size of the fit box (3 gives 7x7).
    degree : int
        Degree per axis of the tensor basis (3 gives 16 terms).
    legacy : bool
        Reproduce the original's edge and overwrite behaviour (see module docstring).

    Returns
    -------
    (numpy.ndarray, bool)
        New image and a success flag (always True unless ``legacy`` aborted).
    """
    rows = np.asarray(pixels[0], dtype=int).ravel()
    cols = np.asarray(pixels[1], dtype=int).ravel()
    work = np.array(image, dtype=float, copy=True)
    if rows.size == 0:
        return work, True
    ny, nx = work.shape
    flagged = np.zeros(work.shape, dtype=bool)
    flagged[rows, cols] = True
    n = 2 * box + 1
    grid = np.linspace(0.0, 1.0, n)
    xs, ys = np.meshgrid(grid, grid)
    design_full = poly_design(xs, ys, degree)
    if legacy:
        return _fix_legacy(image, work, flagged, rows, cols, box, design_full)
    nfail = 0
    out = work.copy()
    for r, c in zip(rows, cols, strict=True):
        if not (0 <= r < ny and 0 <= c < nx):
            continue
        r0, r1 = max(r - box, 0), min(r + box + 1, ny)
        c0, c1 = max(c - box, 0), min(c + box + 1, nx)
        sub = work[r0:r1, c0:c1]
        use = ~flagged[r0:r1, c0:c1] & np.isfinite(sub)
        dsub = design_full[r0 - (r - box) : r1 - (r - box), c0 - (c - box) : c1 - (c - box)]
        if np.count_nonzero(use) < dsub.shape[-1]:
            nfail += 1
            continue
        try:
            coeff = np.linalg.lstsq(dsub[use], sub[use], rcond=None)[0]
        except np.linalg.LinAlgError:
            nfail += 1
            continue
        out[r, c] = float(design_full[box, box] @ coeff)
    if nfail:
        log.warning("polynomial repair: %d of %d pixel(s) left unchanged (too few usable neighbours)", nfail, rows.size)
    return out, True


def _fix_legacy(image, work, flagged, rows, cols, box, design_full):
    """The original loop (spec section 4), including its edge behaviour."""
    ny, nx = work.shape
    mask_full_shape = design_full.shape[:2]
    try:
        for r, c in zip(rows, cols, strict=True):
            if r - box < 0 or c - box < 0:
                # negative slice start: the box is empty, lstsq gives zeros, nothing written
                continue
            sub = work[r - box : r + box + 1, c - box : c + box + 1]
            msub = flagged[r - box : r + box + 1, c - box : c + box + 1]
            if sub.shape != mask_full_shape:
                raise ValueError("box truncated at the image edge")
            good = ~msub
            coeff = np.linalg.lstsq(design_full[good], sub[good], rcond=None)[0]
            if np.min(coeff) != np.max(coeff):
                fit = design_full @ coeff
                work[r - box : r + box + 1, c - box : c + box + 1] = np.where(msub, fit, sub)
    except Exception as exc:  # noqa: BLE001 - the original's bare try/except
        log.warning("legacy polynomial repair aborted (%s): image left unchanged", exc)
        return np.array(image, dtype=float, copy=True), False
    return work, True


def median_replace(
    image: np.ndarray,
    xc: float,
    yc: float,
    badlimit: float,
    size: tuple[int, int] = C.MEDIAN_CUTOUT,
    filter_size: tuple[int, int] = C.MEDIAN_FILTER_SIZE,
    legacy: bool = False,
) -> tuple[np.ndarray, int]:
    """Median mode of ``getcircEE1a``: replace low pixels of a 40x40 cutout.

    ``Cutout2D(image, (xc, yc), size)`` (mode 'trim', so it is clipped at the edges) is
    median filtered with a 7x7 kernel (mode 'reflect') on its original values, and every
    cutout pixel below *badlimit* gets the filtered value.  The whole box is treated,
    core included (B11).  The default also treats non-finite pixels as low and filters
    with a NaN-aware median; ``legacy=True`` uses ``scipy.ndimage.median_filter`` as is.

    Parameters
    ----------
    image : numpy.ndarray
        2-D image (not modified).
    xc, yc : float
        Centre of the cutout (the centroid).
    badlimit : float
        Pixels strictly below this value are replaced.

    Returns
    -------
    (numpy.ndarray, int)
        New image and the number of replaced pixels.
    """
    from astropy.nddata import Cutout2D
    from scipy.ndimage import generic_filter, median_filter

    out = np.array(image, dtype=float, copy=True)
    cut = Cutout2D(out, (xc, yc), size, mode="trim", copy=False)
    sl = cut.slices_original
    data = out[sl]
    finite = np.isfinite(data)
    if legacy or finite.all():
        filtered = median_filter(data, size=filter_size, mode="reflect")
    else:
        filtered = generic_filter(data, np.nanmedian, size=filter_size, mode="reflect")
    low = data < badlimit
    if not legacy:
        low |= ~finite
    data[low] = filtered[low]
    return out, int(np.count_nonzero(low))
