"""An independent, straightforward implementation of the ORIGINAL step 3 (spec 3.10 with 3.8.1).

Written from the specification's text only, for the tests of ``--original``: it
does not import the project's photometry or EE code.  Per radius it calls
photutils' aperture photometry on a cutout around the peak pixel, as the
original's ``aper_image`` did 100 times per mosaic; the model EE is
``poppy.utils.measure_ee`` (the spec's ``webbpsf.measure_ee``).  Slow on purpose.
"""

from __future__ import annotations

import warnings

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

#: FWHM [pixels] of the filters used by the tests (spec 0.4).
EE_FRACTIONS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85)


def _read(path):
    with fits.open(path) as h:
        prim = h[0].header
        sci = h["SCI"]
        photmjsr = float(sci.header.get("PHOTMJSR", 1.0))
        data = np.array(sci.data, dtype=float)
        err = np.array(h["ERR"].data, dtype=float) if "ERR" in h else np.zeros_like(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wcs = WCS(sci.header)
        return {
            "data": np.where(data == 0, np.nan, data) / photmjsr,
            "err": err / photmjsr,
            "wcs": wcs,
            "ra": float(prim["TARG_RA"]),
            "dec": float(prim["TARG_DEC"]),
        }


def peak_center(img, annrad):
    """Step 4 of spec 3.8.1: brightest ``find_peaks`` peak (box 11, median + 5 std) in the 8 x annrad[1] cutout."""
    from astropy.nddata import Cutout2D
    from astropy.stats import sigma_clipped_stats
    from photutils.detection import find_peaks

    x0, y0 = img["wcs"].world_to_pixel_values(img["ra"], img["dec"])
    cut = Cutout2D(img["data"], (float(x0), float(y0)), 8 * annrad[1], wcs=img["wcs"])
    _, med, std = sigma_clipped_stats(cut.data, sigma=3.0)
    peaks = find_peaks(cut.data, threshold=med + 5 * std, box_size=11)
    k = int(np.argmax(peaks["peak_value"]))
    xp, yp = float(peaks["x_peak"][k]), float(peaks["y_peak"][k])
    return cut.wcs.pixel_to_world_values(xp, yp)  # (ra, dec) of the peak pixel


def aperture_sum_bkgsub(img, center_radec, aprad, annrad):
    """Steps 6-11 of spec 3.8.1 with an override centre (no recentring)."""
    from astropy.convolution import Gaussian2DKernel, interpolate_replace_nans
    from astropy.nddata import Cutout2D
    from astropy.stats import SigmaClip
    from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry

    xf, yf = img["wcs"].world_to_pixel_values(*center_radec)
    size = 3 * annrad[1]
    cut = Cutout2D(img["data"], (float(xf), float(yf)), size, wcs=img["wcs"])
    ecut = Cutout2D(img["err"], (float(xf), float(yf)), size, wcs=img["wcs"])
    x, y = cut.wcs.world_to_pixel_values(*center_radec)
    x, y = float(x), float(y)
    aper = CircularAperture((x, y), r=aprad)
    annulus = CircularAnnulus((x, y), r_in=annrad[0], r_out=annrad[1])
    data, err = cut.data, ecut.data
    mm = aper.to_mask(method="exact").multiply(data)
    valid = True
    if mm is None:
        valid = False
    elif np.count_nonzero(np.isnan(mm)) < 10:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            k = Gaussian2DKernel(x_stddev=2, y_stddev=2)
            data = interpolate_replace_nans(data, k)
            err = interpolate_replace_nans(err, k)
    else:
        valid = False
    phot = aperture_photometry(data, aper, error=err)
    full = img["data"].shape
    asum = float(phot["aperture_sum"][0])
    if aprad > x or aprad > full[0] - x or aprad > y or aprad > full[1] - y or not valid:
        asum = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st = ApertureStats(data, annulus, sigma_clip=SigmaClip(sigma=3.0, maxiters=10))
    return asum - float(st.mean) * aper.area


def model_ee_measure(psf_path, filt, radii, coron_filters):
    """Spec 3.10 step 1: ``measure_ee`` of extension 2; radii in mosaic pixels -> arcsec."""
    from poppy.utils import measure_ee

    with fits.open(psf_path) as h:
        h0, h2 = h[0].header, h[2].header
        center = None
        if h2.get("PSFCENX") is not None:
            center = (float(h2["PSFCENX"]), float(h2["PSFCENY"]))
        elif filt in coron_filters:
            center = (896, 315)
        ee = measure_ee(h, ext=2, center=center)
        scale = float(h0["PIXELSCL"]) * float(h0["DET_SAMP"])
    return np.asarray(ee(np.asarray(radii) * scale), dtype=float)


def original_apcor(
    mosaic, bkg_mosaic, psf_path, filt, fwhm, fwhmfac, coron_filters=("F1065C", "F1140C", "F1550C", "F2300C")
):
    """The per-set aperture-correction table (ee, radii, apcor) of the original step 3."""
    f, n = float(fwhm), float(fwhmfac)
    radii = np.logspace(np.log10(0.1 * f), np.log10(2 * n * f), 100)
    ee_mod = model_ee_measure(psf_path, filt, radii, coron_filters)
    annulus = (radii.max(), radii.max() * 1.2)
    img = _read(mosaic)
    img_bkg = img if str(bkg_mosaic) == str(mosaic) else _read(bkg_mosaic)
    center = peak_center(img_bkg, (5 * f, 6 * f))
    apsum = np.array([aperture_sum_bkgsub(img, center, r, annulus) for r in radii])
    apsum_bkg = np.array([aperture_sum_bkgsub(img_bkg, center, r, annulus) for r in radii])
    ee_obs = apsum / np.nanmax(apsum)
    ee_obs_bkg = apsum_bkg / np.nanmax(apsum)
    r_n = n * f
    m_n = np.interp(r_n, radii, ee_mod)
    ee_obs = ee_obs * m_n / np.interp(r_n, radii, ee_obs)
    ee_obs_bkg = ee_obs_bkg * m_n / np.interp(r_n, radii, ee_obs_bkg)
    ee = (ee_obs_bkg if filt in coron_filters else ee_obs).copy()
    ee[radii > r_n] = ee_mod[radii > r_n]
    if filt == "F2550W":
        ee = ee_mod.copy()
    fr = np.array(EE_FRACTIONS)
    r = np.interp(fr, ee, radii)
    b = (0.85 - 0.80) / (np.pi * (r[-1] ** 2 - r[-2] ** 2))
    apcor = 1.0 / (fr - b * np.pi * r**2)
    apcor[-1] = 1.0
    return Table({"ee": fr, "radii": r, "apcor": apcor}), {"center": center, "ee": ee, "radii": radii}
