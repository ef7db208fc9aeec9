"""Small synthetic inputs with analytic answers (used by the tests and for experiments).

* :func:`write_exposure` writes a minimal NIRISS-like pipeline product (primary header
  with EFFINTTM, NGROUPS, NINTS, PUPIL, FILTER, SUBARRAY; SCI, ERR, DQ) or a single-HDU
  image;
* :func:`gaussian_image` gives a pixel-integrated circular Gaussian of known total;
* :func:`bicubic_surface` gives a tensor polynomial that the surface repair restores
  exactly.
"""

from __future__ import annotations

import numpy as np

__all__ = ["write_exposure", "gaussian_image", "bicubic_surface", "DEFAULT_PRIMARY"]

DEFAULT_PRIMARY = {
    "TELESCOP": "JWST",
    "INSTRUME": "NIRISS",
    "EFFINTTM": 10.0,
    "NGROUPS": 10,
    "NINTS": 2,
    "PUPIL": "F150W",
    "FILTER": "CLEAR",
    "SUBARRAY": "SUB128",
}


def write_exposure(
    path,
    sci: np.ndarray,
    dq: np.ndarray | None = None,
    primary: dict | None = None,
    photmjsr: float | None = None,
    single_hdu: bool = False,
    drop: tuple[str, ...] = (),
) -> str:
    """Write a synthetic exposure.

    Parameters
    ----------
    path : str or path-like
        Output FITS file.
    sci : numpy.ndarray
        Image in DN/s (multiplied by *photmjsr* if given, which is then written to the
        SCI header, as in a ``_cal`` file).
    dq : numpy.ndarray, optional
        DQ array (zeros by default).
    primary : dict, optional
        Primary-header keywords (default :data:`DEFAULT_PRIMARY`).
    photmjsr : float, optional
        PHOTMJSR of the SCI header.
    single_hdu : bool
        Write the image as the primary HDU only (WebbPSF-model style).
    drop : tuple of str
        Primary keywords to leave out (to make bad inputs).

    Returns
    -------
    str
        The path.
    """
    from astropy.io import fits

    sci = np.asarray(sci, dtype=float)
    if single_hdu:
        fits.PrimaryHDU(sci.astype(np.float32 if sci.dtype == np.float32 else np.float64)).writeto(path, overwrite=True)
        return str(path)
    hdr = fits.Header()
    for k, v in {**DEFAULT_PRIMARY, **(primary or {})}.items():
        if k not in drop:
            hdr[k] = v
    scale = photmjsr if photmjsr is not None else 1.0
    sci_hdu = fits.ImageHDU(sci * scale, name="SCI")
    if photmjsr is not None:
        sci_hdu.header["PHOTMJSR"] = photmjsr
        sci_hdu.header["BUNIT"] = "MJy/sr"
    dq = np.zeros(sci.shape, dtype=np.uint32) if dq is None else np.asarray(dq).astype(np.uint32)
    hdul = fits.HDUList(
        [
            fits.PrimaryHDU(header=hdr),
            sci_hdu,
            fits.ImageHDU(np.zeros_like(sci), name="ERR"),
            fits.ImageHDU(dq, name="DQ"),
        ]
    )
    hdul.writeto(path, overwrite=True)
    return str(path)


def gaussian_image(shape, x0: float, y0: float, sigma: float, total: float) -> np.ndarray:
    """Pixel-integrated circular Gaussian of the given total (exact, via erf)."""
    from scipy.special import erf

    ny, nx = shape

    def _1d(n, c):
        edges = np.arange(n + 1) - 0.5 - c
        cdf = 0.5 * (1 + erf(edges / (np.sqrt(2) * sigma)))
        return np.diff(cdf)

    return total * np.outer(_1d(ny, y0), _1d(nx, x0))


def bicubic_surface(shape, coeff=None) -> np.ndarray:
    """``sum_ij c_ij x**i y**j`` (i, j <= 3) on pixel coordinates scaled by 1/6.

    Within any 7x7 box this is an exact member of the repair's tensor basis, so the
    polynomial repair must restore flagged pixels to machine precision.
    """
    ny, nx = shape
    if coeff is None:
        coeff = np.array(
            [
                [5.0, 0.3, -0.02, 0.001],
                [0.2, 0.01, 0.002, -0.0001],
                [-0.03, 0.001, 0.0002, 0.0],
                [0.002, 0.0, 0.0, 1e-5],
            ]
        )
    y, x = np.mgrid[0:ny, 0:nx] / 6.0
    out = np.zeros(shape)
    for i in range(4):
        for j in range(4):
            out += coeff[i, j] * x**i * y**j
    return out
