"""Telescope pointing and WCS keywords of simulated MIRI exposures.

A star is placed at a chosen pixel by pointing the telescope: the attitude is
built so that the star's sky position falls on the V2/V3 position of that
pixel (SIAF MIRIM_FULL polynomials, the same ones the synthetic distortion
reference file uses), and the WCS keywords the jwst ``assign_wcs`` step reads
(``RA_REF``, ``DEC_REF``, ``ROLL_REF`` at the aperture reference point
``V2_REF``/``V3_REF``) are derived from that attitude.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from . import constants as C

ARCSEC2_TO_SR = (np.pi / (180.0 * 3600.0)) ** 2


@functools.cache
def _siaf():
    import pysiaf

    return pysiaf.Siaf("MIRI")


def aperture(name: str):
    """pysiaf aperture (cached)."""
    return _siaf()[name]


@dataclass
class Placement:
    """Where a star lands and the pointing keywords that put it there."""

    x_sub: float  # 0-based column in the subarray
    y_sub: float  # 0-based row in the subarray
    x_full: float  # 0-based column in the FULL frame
    y_full: float
    v2: float  # arcsec, V2/V3 of the star
    v3: float
    ra_ref: float
    dec_ref: float
    roll_ref: float
    ra_v1: float
    dec_v1: float
    pa_v3: float
    v2_ref: float
    v3_ref: float
    v3yangle: float
    vparity: int
    xref_sci: float
    yref_sci: float
    pixel_area_sr: float  # on-sky solid angle of the detector pixel under the star
    aperture: str


def sub_to_full(x_sub, y_sub, subarray: str):
    s = C.SUBARRAYS[subarray]
    return x_sub + s.xstart - 1, y_sub + s.ystart - 1


@functools.cache
def _full_polynomials():
    full = aperture("MIRIM_FULL")
    coef = full.get_polynomial_coefficients()
    deg = int(full.Sci2IdlDeg)
    terms = [(i - j, j) for i in range(deg + 1) for j in range(i + 1)]
    ang = np.deg2rad(full.V3IdlYAngle)
    par = full.VIdlParity
    rot = np.array([[par * np.cos(ang), np.sin(ang)], [-par * np.sin(ang), np.cos(ang)]])
    return (
        terms,
        np.asarray(coef["Sci2IdlX"], float),
        np.asarray(coef["Sci2IdlY"], float),
        rot,
        (float(full.V2Ref), float(full.V3Ref)),
        (float(full.XSciRef), float(full.YSciRef)),
    )


def det_to_tel(x_full, y_full):
    """V2, V3 [arcsec] of 0-based FULL-frame pixel coordinates.

    Evaluates the MIRIM_FULL SIAF polynomials (sci -> ideal) and the planar
    ideal -> V2/V3 rotation directly (what pysiaf's ``det_to_tel`` does for
    this aperture, without rebuilding the models on every call).
    """
    terms, cx, cy, rot, (v2r, v3r), (xr, yr) = _full_polynomials()
    dx = np.asarray(x_full, float) + 1.0 - xr
    dy = np.asarray(y_full, float) + 1.0 - yr
    xi = sum(c * dx**a * dy**b for c, (a, b) in zip(cx, terms, strict=True))
    yi = sum(c * dx**a * dy**b for c, (a, b) in zip(cy, terms, strict=True))
    return v2r + rot[0, 0] * xi + rot[0, 1] * yi, v3r + rot[1, 0] * xi + rot[1, 1] * yi


def pixel_area_sr(x_full: float, y_full: float) -> float:
    """Solid angle of the detector pixel centred at (x_full, y_full) from the distortion Jacobian."""
    h = 0.5
    v2a, v3a = det_to_tel(x_full + h, y_full)
    v2b, v3b = det_to_tel(x_full - h, y_full)
    v2c, v3c = det_to_tel(x_full, y_full + h)
    v2d, v3d = det_to_tel(x_full, y_full - h)
    dx = np.array([v2a - v2b, v3a - v3b]) / (2 * h)
    dy = np.array([v2c - v2d, v3c - v3d]) / (2 * h)
    return float(abs(dx[0] * dy[1] - dx[1] * dy[0]) * ARCSEC2_TO_SR)


def target_pixel(subarray: str, filt: str, xoffset: float, yoffset: float) -> tuple[float, float]:
    """0-based subarray pixel of the star for a dither offset (ideal arcsec).

    Imager: the aperture reference point plus the dither offset.
    Coronagraphic filters: the star is observed off the mask, offset by
    constants.CORON_SOURCE_OFFSET_PIX from the mask centre, as in the
    original PSF set-up.
    """
    ap = aperture(C.SUBARRAYS[subarray].siaf_aperture)
    xs, ys = ap.idl_to_sci(xoffset, yoffset)
    if filt in C.CORON_FILTERS:
        xs += C.CORON_SOURCE_OFFSET_PIX[0]
        ys += C.CORON_SOURCE_OFFSET_PIX[1]
    return float(xs) - 1.0, float(ys) - 1.0


def place_star(ra: float, dec: float, subarray: str, x_sub: float, y_sub: float, pa: float) -> Placement:
    """Pointing keywords that put (ra, dec) at 0-based subarray pixel (x_sub, y_sub).

    ``pa`` is the position angle of V3 at the star [deg].
    """
    from pysiaf.utils import rotations

    ap = aperture(C.SUBARRAYS[subarray].siaf_aperture)
    xf, yf = sub_to_full(x_sub, y_sub, subarray)
    v2, v3 = det_to_tel(xf, yf)
    att = rotations.attitude(float(v2), float(v3), ra, dec, pa)
    ra_ref, dec_ref = rotations.pointing(att, ap.V2Ref, ap.V3Ref)
    roll_ref = rotations.posangle(att, ap.V2Ref, ap.V3Ref)
    ra_v1, dec_v1 = rotations.pointing(att, 0.0, 0.0)
    pa_v3 = rotations.posangle(att, 0.0, 0.0)
    return Placement(
        x_sub=x_sub,
        y_sub=y_sub,
        x_full=xf,
        y_full=yf,
        v2=float(v2),
        v3=float(v3),
        ra_ref=float(ra_ref),
        dec_ref=float(dec_ref),
        roll_ref=float(roll_ref) % 360.0,
        ra_v1=float(ra_v1),
        dec_v1=float(dec_v1),
        pa_v3=float(pa_v3) % 360.0,
        v2_ref=float(ap.V2Ref),
        v3_ref=float(ap.V3Ref),
        v3yangle=float(ap.V3IdlYAngle),
        vparity=int(ap.VIdlParity),
        xref_sci=float(ap.XSciRef),
        yref_sci=float(ap.YSciRef),
        pixel_area_sr=pixel_area_sr(xf, yf),
        aperture=ap.AperName,
    )


def fits_wcs_keywords(pl: Placement) -> dict:
    """Approximate FITS WCS (CRPIX at the aperture reference, TAN) for the SCI header."""
    pa_aper = np.deg2rad(pl.roll_ref - pl.vparity * pl.v3yangle)
    cdelt = 0.11 / 3600.0
    return {
        "crpix1": pl.xref_sci,
        "crpix2": pl.yref_sci,
        "crval1": pl.ra_ref,
        "crval2": pl.dec_ref,
        "cdelt1": cdelt,
        "cdelt2": cdelt,
        "ctype1": "RA---TAN",
        "ctype2": "DEC--TAN",
        "cunit1": "deg",
        "cunit2": "deg",
        "pc1_1": -np.cos(pa_aper),
        "pc1_2": np.sin(pa_aper),
        "pc2_1": np.sin(pa_aper),
        "pc2_2": np.cos(pa_aper),
    }


def apply_proper_motion(ra, dec, pmra_masyr, pmdec_masyr, epoch_from_jyear, mjd_to):
    """Position at ``mjd_to`` from a catalogue position at Julian year ``epoch_from_jyear``.

    Uses astropy's space-motion propagation (negligible parallax/RV).
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    c = SkyCoord(
        ra=ra * u.deg,
        dec=dec * u.deg,
        pm_ra_cosdec=pmra_masyr * u.mas / u.yr,
        pm_dec=pmdec_masyr * u.mas / u.yr,
        obstime=Time(epoch_from_jyear, format="jyear"),
        frame="icrs",
    )
    import warnings

    from erfa import ErfaWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ErfaWarning)
        n = c.apply_space_motion(new_obstime=Time(mjd_to, format="mjd"))
    return float(n.ra.deg), float(n.dec.deg)
