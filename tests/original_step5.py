"""An independent, straightforward implementation of the ORIGINAL step 5 (spec 3.8.1 and 3.8.2).

Written from the specification's text only, for the tests of ``--original``: it
does not import the project's photometry code.  ``aper_image`` follows the
spec's numbered steps one by one (photutils ``Cutout2D``/``find_peaks``/
``aperture_photometry``/``ApertureStats``, NaNs filled by
``interpolate_replace_nans``, one recentring on the centroid, the sigma-clipped
annulus mean, ``xcenter_full``/``ycenter_full`` = the peak before the
recentring), including the original's quirks (swapped axes of the outside-image
test, edge test against the full-image shape, NaNs counted in the aperture's
bounding box, the bkgsub median background over every pixel of the mosaic).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS


def read_mosaic(path):
    """SCI/ERR in DN/s (zeros -> NaN), WCS and headers of an i2d mosaic (spec 3.8.1 steps 1-3)."""
    with fits.open(path) as h:
        prim = h[0].header.copy()
        sci = h["SCI"].header.copy()
        photmjsr = float(sci.get("PHOTMJSR", 1.0))
        data = np.array(h["SCI"].data, dtype=float)
        err = np.array(h["ERR"].data, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FITSFixedWarning
        wcs = WCS(sci)
    data[data == 0] = np.nan
    return {"data": data / photmjsr, "err": err / photmjsr, "wcs": wcs, "primary": prim, "photmjsr": photmjsr}


def _photometry(data, err, x, y, aprad, annrad):
    """Steps 6-8: aperture and annulus at cutout (x, y), NaN handling, photometry and statistics.

    Returns (data, err, aperture, annulus, phot table, aperture stats, valid); ``data``/``err``
    are the (possibly NaN-filled) arrays, which the original goes on using.
    """
    from astropy.convolution import Gaussian2DKernel, interpolate_replace_nans
    from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry

    aper = CircularAperture((x, y), r=aprad)
    annulus = CircularAnnulus((x, y), r_in=annrad[0], r_out=annrad[1])
    masked = aper.to_mask(method="exact").multiply(data)
    valid = True
    if masked is None:
        valid = False
    elif np.count_nonzero(np.isnan(masked)) < 10:
        kernel = Gaussian2DKernel(x_stddev=2, y_stddev=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = interpolate_replace_nans(data, kernel)
            err = interpolate_replace_nans(err, kernel)
    else:
        valid = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phot = aperture_photometry(data, aper, error=err)
        stats = ApertureStats(data, aper, sigma_clip=None)
    return data, err, aper, annulus, phot, stats, valid


def aper_image(path, aprad, annrad, override_center=None):
    """The original ``aper_image`` (spec 3.8.1): a dict of the row's numbers.

    Parameters
    ----------
    path : str or Path
        i2d mosaic.
    aprad : float
        Aperture radius [pixels].
    annrad : (float, float)
        Sky annulus [pixels].
    override_center : (float, float) or None
        (ra, dec) of the centre: no peak search, no recentring.

    Returns
    -------
    dict
        aperture_sum, aperture_sum_err, mean_bkg, mean_bkg_std, total_bkg, aperture_sum_bkgsub,
        aperture_sum_bkgsub_err, pix_max, xcenter_full, ycenter_full (the peak), ra_deg, dec_deg
        (the final centre), x_offset_from_expected, y_offset_from_expected.
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.nddata import Cutout2D
    from astropy.stats import SigmaClip, sigma_clipped_stats
    from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry
    from photutils.detection import find_peaks

    img = read_mosaic(path)
    wcs, full = img["wcs"], img["data"]
    prim = img["primary"]
    expected = SkyCoord(float(prim["TARG_RA"]) * u.deg, float(prim["TARG_DEC"]) * u.deg)
    x_exp, y_exp = (float(v) for v in wcs.world_to_pixel(expected))

    # step 4: the brightest peak near the expected position (the original's axes are swapped)
    if override_center is None:
        shape = full.shape
        if x_exp < 0 or x_exp > shape[0] or y_exp < 0 or y_exp > shape[1]:
            search, swcs = full, wcs
        else:
            c = Cutout2D(full, (x_exp, y_exp), 8 * annrad[1], wcs=wcs)
            search, swcs = c.data, c.wcs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NaNs of uncovered pixels are clipped, with a warning
            _, median, std = sigma_clipped_stats(search, sigma=3.0)
            peaks = find_peaks(search, threshold=median + 5.0 * std, box_size=11)
        k = int(np.argmax(peaks["peak_value"]))
        ncoord = swcs.pixel_to_world(float(peaks["x_peak"][k]), float(peaks["y_peak"][k]))
    else:
        ncoord = SkyCoord(float(override_center[0]) * u.deg, float(override_center[1]) * u.deg)

    # step 5 and the table's xcenter_full/ycenter_full: the peak, before the recentring
    x_peak, y_peak = (float(v) for v in wcs.world_to_pixel(ncoord))

    # step 6: refined cutout
    size = 3 * annrad[1]
    cut = Cutout2D(full, ncoord, size, wcs=wcs)
    ecut = Cutout2D(img["err"], ncoord, size, wcs=wcs)
    x, y = (float(v) for v in cut.wcs.world_to_pixel(ncoord))
    data, err, aper, annulus, phot, stats, valid = _photometry(cut.data, ecut.data, x, y, aprad, annrad)

    # step 9: one recentring on the centroid (on the data already filled in step 7)
    if override_center is None:
        cx, cy = (float(v) for v in stats.centroid)
        if np.hypot(cx - x, cy - y) > 0.01:
            ncoord = cut.wcs.pixel_to_world(cx, cy)
            x, y = (float(v) for v in cut.wcs.world_to_pixel(ncoord))
            aper = CircularAperture((x, y), r=aprad)
            annulus = CircularAnnulus((x, y), r_in=annrad[0], r_out=annrad[1])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                phot = aperture_photometry(data, aper, error=err)
                stats = ApertureStats(data, aper, sigma_clip=None)

    # step 10: the original's edge test (cutout position against the full-image shape)
    apsum = float(phot["aperture_sum"][0])
    apsum_err = float(phot["aperture_sum_err"][0])
    shape = full.shape
    if aprad > x or aprad > shape[0] - x or aprad > y or aprad > shape[1] - y or not valid:
        apsum = apsum_err = np.nan

    # step 11: sigma-clipped annulus mean on the (filled) cutout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bst = ApertureStats(data, annulus, sigma_clip=SigmaClip(sigma=3.0, maxiters=10))
    mean_bkg = float(bst.mean)
    std_bkg = float(bst.std)
    area = float(aper.area)
    total_bkg = mean_bkg * area
    ra, dec = ncoord.ra.deg, ncoord.dec.deg
    return {
        "aperture_sum": apsum,
        "aperture_sum_err": apsum_err,
        "pix_max": float(stats.max),
        "mean_bkg": mean_bkg,
        "mean_bkg_std": std_bkg,
        "total_bkg": total_bkg,
        "aperture_sum_bkgsub": apsum - total_bkg,
        "aperture_sum_bkgsub_err": float(np.sqrt(apsum_err**2 + (std_bkg * np.sqrt(area)) ** 2)),
        "xcenter_full": x_peak,
        "ycenter_full": y_peak,
        "ra_deg": float(ra),
        "dec_deg": float(dec),
        "x_offset_from_expected": x_exp - x_peak,
        "y_offset_from_expected": y_exp - y_peak,
    }


def apcorr_full_row(apcorr_file, filt, eefraction=0.7):
    """(aprad, (skyin, skyout), apcorr) of the FULL row of an APCORR file (spec 3.8.2)."""
    from astropy.table import Table

    t = Table.read(apcorr_file, hdu="APCORR")
    fcol = np.char.strip(np.asarray(t["filter"]).astype(str))
    scol = np.char.strip(np.asarray(t["subarray"]).astype(str))
    sel = (fcol == filt.split("_")[0]) & (scol == "FULL") & (np.float32(t["eefraction"]) == np.float32(eefraction))
    r = t[sel][0]
    return float(r["radius"]), (float(r["skyin"]), float(r["skyout"])), float(r["apcorr"])


def aper_one_filter(root, startype, filt, apcorr_file, bkgsub=False, eefraction=0.7):
    """The original ``aper_one_filter`` on the default or bkgsub mosaics (spec 3.8.2).

    Returns
    -------
    dict
        {mosaic path relative to ``root``: aper_image dict}; with ``bkgsub`` the nanmedian of the
        whole unsubtracted mosaic (zeros included) over its PHOTMJSR is added to mean_bkg.
    """
    root = Path(root)
    aprad, annrad, _ = apcorr_full_row(apcorr_file, filt, eefraction)
    pattern = f"*/miri*stage3{'_bkgsub' if bkgsub else ''}_asn_i2d.fits"
    out = {}
    for f in sorted((root / startype / filt).glob(pattern)):
        row = aper_image(f, aprad, annrad)
        if bkgsub:
            plain = f.with_name(f.name.replace("_bkgsub", ""))
            with fits.open(plain) as h:
                row["mean_bkg"] += float(np.nanmedian(h["SCI"].data)) / float(h["SCI"].header.get("PHOTMJSR", 1.0))
        out[str(f.relative_to(root))] = row
    return out
