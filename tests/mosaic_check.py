"""Independent measurement of a star's count rate in a mosaic, for the step-1 tests.

Deliberately simple (photutils exact apertures, sigma-clipped annulus) and
independent of the project's own photometry (step 5), so it can check it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from absflux import constants as C


def mosaic_rate(i2d: Path, ra: float, dec: float, r: float, r_in: float, r_out: float):
    """(background-subtracted rate [DN/s], its 1-sigma error, PHOTMJSR) in a circular aperture."""
    from astropy.stats import SigmaClip
    from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry
    from stdatamodels.jwst import datamodels as dm

    with dm.ImageModel(i2d) as m:
        conv = m.meta.photometry.conversion_megajanskys
        data = np.array(m.data, float) / conv
        err = np.array(m.err, float) / conv
        x, y = m.meta.wcs.invert(ra, dec)
    data[data == 0] = np.nan
    ap = CircularAperture((x, y), r)
    an = CircularAnnulus((x, y), r_in, r_out)
    ph = aperture_photometry(np.nan_to_num(data), ap, error=np.nan_to_num(err))
    st = ApertureStats(data, an, sigma_clip=SigmaClip(sigma=3.0, maxiters=10))
    bkg = st.mean * ap.area
    val = float(ph["aperture_sum"][0]) - bkg
    # drizzle with pixfrac 1 at the native scale correlates the noise of
    # neighbouring pixels: sigma of a sum is R = 1 / (1 - 1/3) = 1.5 times the
    # naive one (Fruchter & Hook 2002)
    unc = float(np.hypot(1.5 * ph["aperture_sum_err"][0], st.std * ap.area / np.sqrt(max(st.sum_aper_area.value, 1))))
    return val, unc, conv


def expected_rate(campaign: Path, rows, r: float, r_in: float, r_out: float) -> float:
    """Injected star rate the same aperture measures, averaged over the exposures (mosaic units).

    The noise-free star is re-rendered on the detector; radii scale with the
    pixel size ratio, and the detector sum is converted to mosaic-pixel units
    (x Omega_det / Omega_mosaic).
    """
    from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry

    from absflux.simulate import psf_provider_for

    psfs = psf_provider_for(campaign)
    vals = []
    for row in rows:
        s = C.SUBARRAYS[row["subarray"]]
        img = psfs.render(row["filter"], row["x_sub"], row["y_sub"], (s.ysize, s.xsize), row["total_rate"])
        k = np.sqrt(C.MOSAIC_PIXEL_AREA_SR / row["pixel_area_sr"])
        pos = (row["x_sub"], row["y_sub"])
        a = aperture_photometry(img, CircularAperture(pos, r * k))["aperture_sum"][0]
        an = CircularAnnulus(pos, r_in * k, r_out * k)
        b = ApertureStats(img, an).mean * CircularAperture(pos, r * k).area
        vals.append((a - b) * row["pixel_area_sr"] / C.MOSAIC_PIXEL_AREA_SR)
    return float(np.mean(vals))
