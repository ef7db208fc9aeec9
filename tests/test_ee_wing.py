"""The annulus-wing term of the EE normalisation on an analytic Airy PSF, inside and beyond the model's field."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from scipy.special import j0, j1

from absflux import constants as C
from absflux.encircled_energy import annulus_wing

OVERSAMPLE = 4
SCALE = 0.11 / OVERSAMPLE  # arcsec per oversampled pixel
LAMBDA_OVER_D = 0.25  # arcsec: FWHM ~ 2.3 mosaic pixels, close to F770W


def airy_file(npix: int) -> fits.HDUList:
    """Oversampled Airy PSF (unit total flux over the infinite plane), centred in an npix x npix image."""
    c = (npix - 1) / 2.0
    y, x = np.indices((npix, npix), dtype=float)
    k = np.pi * SCALE / LAMBDA_OVER_D  # x = k r with r in oversampled pixels
    u = k * np.hypot(x - c, y - c)
    with np.errstate(invalid="ignore", divide="ignore"):
        amp = np.where(u > 0, 2 * j1(u) / u, 1.0)
    img = k**2 / (4 * np.pi) * amp**2
    h0 = fits.PrimaryHDU()
    h0.header.update(PIXELSCL=SCALE, DET_SAMP=OVERSAMPLE)
    h2 = fits.ImageHDU(img, name="OVERDIST")
    h2.header.update(PIXELSCL=SCALE, PSFCENX=c, PSFCENY=c)
    return fits.HDUList([h0, fits.ImageHDU(img, name="OVERSAMP"), h2])


def analytic_wing(r_in: float, r_out: float) -> float:
    """Mean surface brightness of the Airy pattern in an annulus (mosaic pixels), from EE = 1 - J0^2 - J1^2."""
    k = np.pi * 0.11 / LAMBDA_OVER_D

    def ee(r):
        return 1 - j0(k * r) ** 2 - j1(k * r) ** 2

    return (ee(r_out) - ee(r_in)) / (np.pi * (r_out**2 - r_in**2))


@pytest.mark.parametrize("fac", [10.0, 15.0])
def test_wing_from_the_model_when_the_field_holds_the_annulus(fac):
    r_n = fac * C.FWHM["F770W"]
    annulus = (2 * r_n, 2.4 * r_n)
    s, source = annulus_wing(airy_file(1024), "F770W", annulus)  # field radius 128 mosaic pixels
    assert source == "model"
    assert s == pytest.approx(analytic_wing(*annulus), rel=0.03)


@pytest.mark.parametrize("fac", [10.0, 15.0, 20.0])
def test_wing_extrapolated_beyond_the_field_matches_the_analytic_halo(fac):
    r_n = fac * C.FWHM["F770W"]
    annulus = (2 * r_n, 2.4 * r_n)
    hd = airy_file(360)  # field radius 45 mosaic pixels: every annulus above lies beyond it
    s, source = annulus_wing(hd, "F770W", annulus)
    assert source == "extrapolated"
    truth = analytic_wing(*annulus)
    # the r^-3 halo: 10% of a term that is itself a few 1e-4 of the flux at r_n
    assert s == pytest.approx(truth, rel=0.10)
    # ... and the term matters: ignoring it (the old fallback) is off by 100%
    assert s * np.pi * r_n**2 > 2e-4


def test_no_wing_term_when_the_field_is_too_small_to_fit_the_halo():
    s, source = annulus_wing(airy_file(40), "F770W", (50.0, 60.0))
    assert (s, source) == (0.0, "none")
