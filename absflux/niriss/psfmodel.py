"""Radially symmetric NIRISS PSF model with a prescribed encircled energy.

The simulated data set needs stars whose encircled energy is known exactly, so that the
aperture-corrected totals can be checked against the injected ones.  The model takes the
WebbPSF EE table of a filter (spec section 14), interpolates the EE monotonically (PCHIP)
in ``s = r**2`` (so the central surface brightness ``dEE/ds / pi`` is finite), continues it
beyond the last radius with ``1 - EE(r) = (1 - EE(r_max)) (r_max / r)``, and integrates the
surface brightness over the pixels by sub-sampling.

For the LW filters the WebbPSF tables include the 0.84 CLEARP obscuration; the model PSF
is normalised to 1 (the obscuration is part of the count rate, not of the PSF shape), so
``EE_model = EE_table / 0.84`` there.
"""

from __future__ import annotations

import numpy as np

from . import constants as C

__all__ = ["EEProfile", "profile_for_filter", "render_psf"]


class EEProfile:
    """Continuous encircled-energy profile through tabulated points.

    Parameters
    ----------
    radii : sequence of float
        Radii [px], increasing.
    ee : sequence of float
        Encircled energy of a unit-total PSF at *radii*, increasing, < 1.
    tail_power : float
        Power p of the outer law ``1 - EE ~ r**-p``.
    """

    def __init__(self, radii, ee, tail_power: float = 1.0):
        from scipy.interpolate import PchipInterpolator

        r = np.asarray(radii, dtype=float)
        e = np.asarray(ee, dtype=float)
        if np.any(np.diff(r) <= 0) or np.any(np.diff(e) <= 0) or e[-1] >= 1 or e[0] <= 0:
            raise ValueError("EE profile must increase with radius and stay below 1")
        self.rmax = float(r[-1])
        self.ee_max = float(e[-1])
        self.p = float(tail_power)
        s = np.concatenate([[0.0], r**2])
        self._pchip = PchipInterpolator(s, np.concatenate([[0.0], e]))
        self._dpchip = self._pchip.derivative()

    def ee(self, r):
        """Encircled energy within radius *r* (array-like)."""
        r = np.asarray(r, dtype=float)
        inner = self._pchip(np.clip(r, 0, self.rmax) ** 2)
        outer = 1.0 - (1.0 - self.ee_max) * (self.rmax / np.maximum(r, self.rmax)) ** self.p
        return np.where(r <= self.rmax, inner, outer)

    def surface_brightness(self, r):
        """Surface brightness [fraction / px^2] at radius *r*."""
        r = np.asarray(r, dtype=float)
        inner = self._dpchip(np.clip(r, 0, self.rmax) ** 2) / np.pi
        rr = np.maximum(r, self.rmax)
        outer = (1.0 - self.ee_max) * self.p * self.rmax**self.p / rr ** (self.p + 1) / (2 * np.pi * rr)
        return np.where(r <= self.rmax, inner, outer)


def profile_for_filter(filt: str, clearp_factor: float = C.CLEARP_FACTOR) -> EEProfile:
    """EE profile of a unit-total PSF from the WebbPSF table of *filt* (LW divided by 0.84)."""
    f = filt.upper()
    ee = np.asarray(C.WEBBPSF_EE[f], dtype=float)
    if f in C.LW_FILTERS:
        ee = ee / clearp_factor
    return EEProfile(C.EE_RADII, ee)


def render_psf(
    shape: tuple[int, int],
    x0: float,
    y0: float,
    total: float,
    profile: EEProfile,
    halfsize: int = 45,
    oversample: int = 11,
) -> np.ndarray:
    """Pixel-integrated image of a PSF of the given total centred at (x0, y0).

    Only a ``2*halfsize+1`` square around the star is rendered (the flux beyond it is not
    placed on the image); the part of that square off the image is dropped.

    Parameters
    ----------
    shape : tuple
        (ny, nx) of the output image.
    x0, y0 : float
        0-based position of the PSF centre.
    total : float
        Total of the unit-normalised PSF (e.g. DN/s).
    profile : EEProfile
        Radial profile.
    halfsize : int
        Half size of the rendered square [px].
    oversample : int
        Sub-samples per pixel and axis (odd keeps the pixel centre sampled).

    Returns
    -------
    numpy.ndarray
        Float64 image of *shape* (zeros outside the rendered square).
    """
    ny, nx = shape
    img = np.zeros(shape, dtype=float)
    cx, cy = int(round(x0)), int(round(y0))
    x_lo, x_hi = max(cx - halfsize, 0), min(cx + halfsize + 1, nx)
    y_lo, y_hi = max(cy - halfsize, 0), min(cy + halfsize + 1, ny)
    if x_lo >= x_hi or y_lo >= y_hi:
        return img
    sub = (np.arange(oversample) + 0.5) / oversample - 0.5
    xs = (np.arange(x_lo, x_hi)[:, None] + sub[None, :]).ravel() - x0
    ys = (np.arange(y_lo, y_hi)[:, None] + sub[None, :]).ravel() - y0
    # evaluate row block by row block to bound memory
    block = np.empty((y_hi - y_lo, x_hi - x_lo))
    for j in range(y_hi - y_lo):
        yy = ys[j * oversample : (j + 1) * oversample][:, None]
        r = np.hypot(xs[None, :], yy)
        sb = profile.surface_brightness(r)
        block[j] = sb.reshape(oversample, x_hi - x_lo, oversample).sum(axis=(0, 2))
    img[y_lo:y_hi, x_lo:x_hi] = block * total / oversample**2
    return img
