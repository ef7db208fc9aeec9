"""Step 5: fixed-aperture photometry of the mosaics (spec 3.8 and 3.9).

:func:`aper_image` measures one star in one mosaic (or cal/i2d exposure) in
count-rate units (DN/s, PHOTMJSR undone); :func:`aper_one_filter` runs it on
every mosaic of one (star type, filter) with the aperture radius, sky annulus
and aperture correction of the APCORR file of step 4, and writes
``<type>/<F>[ext]_eefrac<e>_phot.fits``; :func:`aper_all` runs every (type,
filter, variant) of a campaign.

Fixes relative to the original ``aper_image`` (spec 7.14, 7.15, 3.8)
--------------------------------------------------------------------
* The expected position is propagated with the proper motion from the
  proposer epoch to the observation (``absflux.pipeline.expected_position``),
  instead of trusting TARG_RA/TARG_DEC.
* Outside-image test: x is compared with the number of columns and y with
  the number of rows (the original swapped the axes).  A star expected off
  the image is an error unless ``search_whole_image`` (the original fell back
  to the brightest peak of the whole image).
* Edge test: the aperture must lie inside the image, in full-image pixel
  coordinates (the original mixed cutout coordinates with the full-image shape).
* NaN count: only pixels the aperture actually touches are counted (the
  original counted every NaN in the aperture's bounding box).
* A background annulus with no valid pixel is an error (partial annuli use the
  pixels present; ``sky_annulus='filled'`` takes the statistics on the cutout
  whose NaNs ``interpolate_replace_nans`` filled, as the original).
* ``bkgsub``: the added median background ignores the zero (no coverage)
  pixels of the non-bkgsub mosaic (``bkg_median='all'``: the original's).
* ``indivcals``: the mosaic row is matched by exact set name (the original's
  substring test matched ``X_set1`` to ``X_set10``; the last match won).
* Tables are sorted stably by (name, timemid).
* Aperture parameters come from the APCORR file of step 4 (``--apcorr``, by
  default the one ``ApCor/latest_apcorr.txt`` names), row of the mosaic's
  subarray if present, else FULL (identical by construction).
* :func:`aper_image` returns the refined (recentred) centre, also in
  ``xcenter_full``/``ycenter_full``, where the original wrote the peak
  (``center_columns='peak'``); the peak is kept in the new columns
  ``x_peak``/``y_peak``.
* Sky annulus statistic (``annulus_stat``): by default the exact-area mean of
  the annulus.  The original's sigma-clipped mean (3 sigma, 10 iterations)
  clips the PSF's own rings and spikes in the [r(0.80), r(0.85)] annulus of a
  bright star, while the aperture correction's sky term assumes the mean of
  the PSF light there (5% of the flux over the annulus area); on the demo the
  clipped mean is ~45% below the true annulus level for the brightest F1000W
  stars, making their fluxes 0.5-1% too high.  ``annulus_stat='clipped'``
  reproduces the original.

``ORIGINAL_PHOT`` holds the original's choice of every option above
(``--original`` of aper_one_filter.py and aper_all.py); with it the photometry
equals an independent implementation of the original (tests/original_step5.py).
The count-rate columns (``RATE_COLUMNS``) are Quantities in DN/s as in the
original; :func:`rate_values` reads them from a table of either form.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from . import constants as C

log = logging.getLogger(__name__)

#: Sky-annulus statistics of :func:`aper_image`: 'mean' (exact-area mean, default) or 'clipped' (the original).
ANNULUS_STATS = ("mean", "clipped")
#: What ``xcenter_full``/``ycenter_full`` hold: the final (recentred) centre (default) or the peak (the original).
CENTER_COLUMNS = ("final", "peak")
#: Pixels of the sky annulus: those present (default) or the cutout after ``interpolate_replace_nans`` (original).
SKY_ANNULUS = ("unfilled", "filled")
#: Pixels of the bkgsub median background: covered ones (default) or every finite pixel, zeros included (original).
BKG_MEDIANS = ("covered", "all")
#: The current method (the defaults of aper_one_filter.py and aper_all.py).
DEFAULT_PHOT = {
    "annulus_stat": "mean",
    "center_columns": "final",
    "sky_annulus": "unfilled",
    "bkg_median": "covered",
    "search_whole_image": False,
}
#: The original scripts' choice for each step-5 option (``--original``).
ORIGINAL_PHOT = {
    "annulus_stat": "clipped",
    "center_columns": "peak",
    "sky_annulus": "filled",
    "bkg_median": "all",
    "search_whole_image": True,
}


def add_photometry_options(parser) -> None:
    """The step-5 method options and ``--original`` of aper_one_filter.py and aper_all.py.

    Every option defaults to None so that :func:`photometry_choices` can tell an
    explicit choice (which wins) from one that ``--original`` or the default fills.
    """
    import argparse

    parser.add_argument(
        "--annulus-stat",
        choices=ANNULUS_STATS,
        help="sky level of the annulus: mean = exact-area mean (default, what the aperture correction assumes); "
        "clipped = the original's sigma-clipped mean (3 sigma, 10 iterations; clips a bright star's own rings, "
        "fluxes up to 1%% high)",
    )
    parser.add_argument(
        "--center-columns",
        choices=CENTER_COLUMNS,
        help="what xcenter_full/ycenter_full hold: final = the recentred aperture centre (default), peak = the "
        "brightest pixel before the recentring, as the original (the peak is always in x_peak/y_peak)",
    )
    parser.add_argument(
        "--sky-annulus",
        choices=SKY_ANNULUS,
        help="pixels of the sky annulus: unfilled = the pixels present (default), filled = the cutout after "
        "interpolate_replace_nans filled its NaNs near the data, as the original (differs only where the "
        "annulus is partly uncovered)",
    )
    parser.add_argument(
        "--bkg-median",
        choices=BKG_MEDIANS,
        help="with --bkgsub, the median of the unsubtracted mosaic added to mean_bkg: covered = over the covered "
        "(non-zero) pixels (default), all = every finite pixel, zeros included, as the original",
    )
    parser.add_argument(
        "--search-whole-image",
        action=argparse.BooleanOptionalAction,
        help="if the star is expected off the image, take the brightest peak of the whole image (the original's "
        "fallback; default: an error)",
    )
    from .cli import add_original_switch

    add_original_switch(parser, "step 5", ORIGINAL_PHOT)


def photometry_choices(args) -> dict:
    """The step-5 method options of parsed arguments, with ``--original`` filling the ones not given.

    Returns
    -------
    dict
        annulus_stat, center_columns, sky_annulus, bkg_median, search_whole_image.
    """
    from .cli import resolve_choices

    return resolve_choices(args, DEFAULT_PHOT, ORIGINAL_PHOT)


def _check_choices(**choices) -> None:
    allowed = {"annulus_stat": ANNULUS_STATS, "center_columns": CENTER_COLUMNS, "sky_annulus": SKY_ANNULUS}
    allowed["bkg_median"] = BKG_MEDIANS
    for k, v in choices.items():
        if v not in allowed[k]:
            raise PhotometryError(f"{k} must be one of {', '.join(allowed[k])}, got {v!r}")


#: The count-rate columns (DN/s) of the photometry tables.
RATE_COLUMNS = (
    "aperture_sum",
    "aperture_sum_err",
    "pix_max",
    "mean_bkg",
    "mean_bkg_std",
    "total_bkg",
    "aperture_sum_bkgsub",
    "aperture_sum_bkgsub_err",
)


def rate_unit():
    """DN/s, the unit of the count-rate columns (astropy's ``u.DN`` per second).

    DN is not a FITS unit, so astropy keeps it in the table's serialized-column
    metadata instead of TUNITn: ``QTable.read`` gives a Quantity in DN/s and
    ``Table.read`` a Column with unit DN/s; the ``RATEUNIT`` keyword names it for
    other FITS readers.
    """
    import astropy.units as u

    return u.DN / u.s


def rate_values(col) -> np.ndarray:
    """The values in DN/s of a count-rate column, as a float ndarray, whatever the table's form.

    Parameters
    ----------
    col : Quantity, Column, MaskedColumn, array-like or scalar
        A column (or row value) of a photometry table: a Quantity (``QTable``), a
        Column with unit DN/s (``Table``), or a plain float column of a table
        written before the unit came back (taken as DN/s).  Masked entries are NaN.

    Returns
    -------
    numpy.ndarray
        Float values (0-d for a scalar).

    Raises
    ------
    PhotometryError
        The column has a unit that is not a count rate.
    """
    import astropy.units as u

    unit = getattr(col, "unit", None)
    if isinstance(col, u.Quantity):
        values = col.value
    else:
        values = np.ma.filled(np.ma.asarray(col).astype(float), np.nan)
    values = np.asarray(values, dtype=float)
    if unit is None:
        return values
    # a foreign FITS reader's TUNITn 'DN/s' arrives as an UnrecognizedUnit: parse it with astropy's own format
    unit = u.Unit(str(unit), parse_strict="silent") if isinstance(unit, u.UnrecognizedUnit) else u.Unit(unit)
    try:
        return values * unit.to(rate_unit())
    except (u.UnitsError, ValueError):
        raise PhotometryError(f"count-rate column in {unit}, not convertible to DN/s") from None


#: The 34 columns of spec 3.8.1, in order.
PHOT_COLUMNS = (
    "name",
    "ra_deg",
    "dec_deg",
    "exposure",
    "filter",
    "subarray",
    "readpattern",
    "nints",
    "ngroups",
    "tgroup",
    "timemid",
    "program",
    "filename",
    "aprad",
    "apcorr",
    "annrad1",
    "annrad2",
    "pixarea",
    "xcenter",
    "ycenter",
    "aperture_sum",
    "aperture_sum_err",
    "xcenter_full",
    "ycenter_full",
    "pix_max",
    "mean_bkg",
    "mean_bkg_std",
    "aperture_area",
    "total_bkg",
    "aperture_sum_bkgsub",
    "aperture_sum_bkgsub_err",
    "x_offset_from_expected",
    "y_offset_from_expected",
    "photmjysr",
)
#: Columns added by this implementation (after the 34 original ones).
EXTRA_COLUMNS = (
    "dataset",
    "targname",
    "eefraction",
    "ra_expected",
    "dec_expected",
    "x_peak",
    "y_peak",
    "recenter_shift",
    "nan_in_aperture",
    "nan_interpolated",
    "annulus_fraction",
    "date_beg",
    "visit_id",
)
#: Maximum number of NaN pixels in the aperture that are interpolated (spec 3.8.1 step 7).
MAX_NAN_INTERPOLATE = 10
#: Recentring threshold [pixels] (spec 3.8.1 step 9).
RECENTER_MIN_SHIFT = 0.01
#: Box size of find_peaks (spec 3.8.1 step 4).
PEAK_BOX_SIZE = 11
#: Star types and extra directories accepted by ``--dir``.
DIR_CHOICES = C.STAR_TYPES + C.EXTRA_DIRS + ("all",)
#: Default pointer to the APCORR file written by step 4 (relative to the root).
LATEST_APCORR_POINTER = Path("ApCor") / "latest_apcorr.txt"


class PhotometryError(ValueError):
    """Bad input for the photometry (one-line message naming the file)."""


class StarNotFoundError(PhotometryError):
    """The star is not on the image or no peak was found near its expected position."""


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------
def eefrac_tag(eefraction: float) -> str:
    """EE fraction as written in file names (Python float repr: 0.7 -> ``0.7``)."""
    return repr(float(eefraction))


def phot_ext(bkgsub: bool = False, indivmos: bool = False, indivcals: bool = False) -> str:
    """Photometry-table name extension: "", _bkgsub, _indivmos, _indivcals or _bkgsub_indivcals."""
    ext = "_bkgsub" if bkgsub else ""
    if indivmos:
        ext = "_indivmos"
    if indivcals:
        ext += "_indivcals"
    return ext


def phot_table_path(root, startype: str, filt: str, eefraction=C.EE_FRACTION_PHOT, **flags) -> Path:
    """``root/<type>/<F><ext>_eefrac<e>_phot.fits`` (flags: bkgsub, indivmos, indivcals)."""
    return Path(root) / startype / f"{filt}{phot_ext(**flags)}_eefrac{eefrac_tag(eefraction)}_phot.fits"


def mosaic_name(set_name: str, bkgsub: bool = False) -> str:
    """File name of a set's Image3 mosaic (step 1)."""
    return f"miri_{set_name}_stage3{'_bkgsub' if bkgsub else ''}_asn_i2d.fits"


def set_name_of(path) -> str:
    """Set directory name ("<TARGNAME>_setN") of a file inside ``<type>/<F>/<set>/``."""
    return Path(path).parent.name


# --------------------------------------------------------------------------
# Reading images
# --------------------------------------------------------------------------
@dataclass
class Image:
    """A mosaic (or cal/i2d exposure) in count-rate units.

    Attributes
    ----------
    path : Path
    data, err : ndarray
        SCI and ERR divided by PHOTMJSR (DN/s per pixel); exact zeros of SCI are NaN.
    wcs : astropy.wcs.WCS
        Celestial WCS of the SCI header.
    primary, sci : astropy.io.fits.Header
    photmjsr : float
        PHOTMJSR used (1.0 if absent).
    """

    path: Path
    data: np.ndarray
    err: np.ndarray
    wcs: object
    primary: object
    sci: object
    photmjsr: float

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the image."""
        return self.data.shape

    def world_to_pixel(self, ra: float, dec: float) -> tuple[float, float]:
        """0-based (x, y) pixel of (ra, dec) in degrees."""
        x, y = self.wcs.all_world2pix([[ra, dec]], 0)[0]
        return float(x), float(y)

    def pixel_to_world(self, x: float, y: float) -> tuple[float, float]:
        """(ra, dec) in degrees of the 0-based pixel (x, y)."""
        ra, dec = self.wcs.all_pix2world([[x, y]], 0)[0]
        return float(ra), float(dec)

    @property
    def pixel_area_sr(self) -> float:
        """Pixel solid angle of the WCS (proj_plane_pixel_area) in steradians."""
        from astropy.wcs.utils import proj_plane_pixel_area

        return float(proj_plane_pixel_area(self.wcs) * (np.pi / 180.0) ** 2)


def read_image(path, raw: bool = False, keep_zeros: bool = False) -> Image:
    """Read SCI/ERR, PHOTMJSR and the WCS of a mosaic or exposure.

    Parameters
    ----------
    path : str or Path
        i2d mosaic, i2d exposure or cal file.
    raw : bool
        Keep MJy/sr (do not divide by PHOTMJSR); zeros are still NaN.
    keep_zeros : bool
        Keep the exact zeros of SCI (uncovered pixels of old pipelines) instead of making them NaN.

    Returns
    -------
    Image

    Raises
    ------
    PhotometryError
        Missing file, unreadable FITS, no 2-D SCI extension or no celestial WCS.
    """
    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    from .io_utils import truncation_is_an_error

    path = Path(path)
    if not path.is_file():
        raise PhotometryError(f"{path}: mosaic not found")
    try:
        with warnings.catch_warnings(), truncation_is_an_error():
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            with fits.open(path, memmap=False) as hdul:
                len(hdul)  # reads every header, so a cut anywhere in the file is seen
                primary = hdul[0].header.copy()
                sci_hdu = hdul["SCI"]
                sci = sci_hdu.header.copy()
                data = np.array(sci_hdu.data, dtype=float)
                err = np.array(hdul["ERR"].data, dtype=float) if "ERR" in hdul else np.zeros_like(data)
    except PhotometryError:
        raise
    except Exception as exc:  # astropy raises OSError/KeyError/TypeError/ValueError for corrupt files
        raise PhotometryError(f"{path}: not a readable mosaic ({type(exc).__name__}: {exc})") from None
    if data.ndim != 2 or data.size == 0 or err.shape != data.shape:
        raise PhotometryError(f"{path}: SCI is not a 2-D image (shape {data.shape})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            wcs = WCS(sci, naxis=2)
        except Exception as exc:
            raise PhotometryError(f"{path}: no usable WCS in the SCI header ({exc})") from None
    if not wcs.has_celestial:
        raise PhotometryError(f"{path}: no celestial WCS in the SCI header")
    photmjsr = float(sci.get("PHOTMJSR", 1.0) or 1.0)
    if not keep_zeros:
        data[data == 0] = np.nan
    if not raw:
        data /= photmjsr
        err = err / photmjsr
    return Image(path, data, err, wcs, primary, sci, photmjsr)


def header_meta(primary) -> SimpleNamespace:
    """The datamodel-like ``meta`` that ``pipeline.expected_position`` reads, from a FITS header."""

    def num(key):
        v = primary.get(key)
        try:
            return None if v is None else float(v)
        except (TypeError, ValueError):
            return None

    date_beg = primary.get("DATE-BEG")
    if not date_beg:
        from astropy.time import Time

        t = num("EXPSTART") or num("EXPMID")
        if t is not None:
            date_beg = Time(t, format="mjd").isot
        elif primary.get("DATE-OBS"):
            date_beg = f"{primary['DATE-OBS']}T{primary.get('TIME-OBS', '00:00:00')}"
    target = SimpleNamespace(
        ra=num("TARG_RA"),
        dec=num("TARG_DEC"),
        proposer_ra=num("PROP_RA"),
        proposer_dec=num("PROP_DEC"),
        proper_motion_ra=num("MU_RA"),
        proper_motion_dec=num("MU_DEC"),
        proper_motion_epoch=primary.get("MU_EPOCH"),
    )
    if date_beg is None:  # no epoch: no propagation possible
        target.proposer_ra = None
    return SimpleNamespace(target=target, observation=SimpleNamespace(date_beg=date_beg))


def expected_radec(primary) -> tuple[float, float]:
    """Expected sky position of the target at the observation (proper motion applied)."""
    from .pipeline import expected_position

    meta = header_meta(primary)
    if meta.target.ra is None and meta.target.proposer_ra is None:
        raise PhotometryError("no TARG_RA/TARG_DEC or PROP_RA/PROP_DEC in the primary header")
    if meta.target.ra is None:
        meta.target.ra, meta.target.dec = meta.target.proposer_ra, meta.target.proposer_dec
    return expected_position(meta)


# --------------------------------------------------------------------------
# aper_image
# --------------------------------------------------------------------------
def _inside(x: float, y: float, shape) -> bool:
    """True when (x, y) (0-based pixel, x = column) lies on an image of ``shape`` (rows, columns)."""
    ny, nx = shape
    return -0.5 <= x <= nx - 0.5 and -0.5 <= y <= ny - 0.5


def find_peak(data: np.ndarray, x: float, y: float, size: float | None) -> tuple[float, float]:
    """Brightest peak (threshold median + 5 std, box 11) in a cutout of ``size`` around (x, y).

    ``size`` None searches the whole image.  Returns full-image (x, y).
    """
    from astropy.nddata import Cutout2D
    from astropy.stats import sigma_clipped_stats
    from photutils.detection import find_peaks

    if size is None:
        cut, x0, y0 = data, 0, 0
    else:
        c = Cutout2D(data, (x, y), (size, size), mode="trim", copy=True)
        cut = c.data
        x0, y0 = c.origin_original
    good = np.isfinite(cut)
    if good.sum() < 9:
        raise StarNotFoundError("no valid pixels around the expected position")
    _, med, std = sigma_clipped_stats(cut[good], sigma=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peaks = find_peaks(cut, threshold=med + 5.0 * std, box_size=PEAK_BOX_SIZE, mask=~good)
    if peaks is None or len(peaks) == 0:
        raise StarNotFoundError("no peak above median + 5 sigma near the expected position")
    k = int(np.argmax(peaks["peak_value"]))
    return float(peaks["x_peak"][k] + x0), float(peaks["y_peak"][k] + y0)


@dataclass
class _Measure:
    x: float
    y: float
    phot: object
    stats: object
    valid: bool
    nnan: int
    interpolated: bool


def _measure(data, err, x, y, aprad) -> _Measure:
    """NaN handling (step 7) and aperture photometry (step 8) at cutout position (x, y)."""
    from astropy.convolution import Gaussian2DKernel, interpolate_replace_nans
    from photutils.aperture import ApertureStats, CircularAperture, aperture_photometry

    aper = CircularAperture((x, y), r=aprad)
    mask = aper.to_mask(method="exact")
    weights = mask.to_image(data.shape)
    valid, nnan, interpolated = True, 0, False
    if weights is None or not np.any(weights > 0):
        valid = False
    else:
        nnan = int(np.count_nonzero(~np.isfinite(data) & (weights > 0)))
        if 0 < nnan < MAX_NAN_INTERPOLATE:
            kernel = Gaussian2DKernel(x_stddev=2, y_stddev=2)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = interpolate_replace_nans(data, kernel)
                err = interpolate_replace_nans(err, kernel)
            interpolated = True
            if np.count_nonzero(~np.isfinite(data) & (weights > 0)):
                valid = False
        elif nnan >= MAX_NAN_INTERPOLATE:
            valid = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phot = aperture_photometry(np.nan_to_num(data), aper, error=np.nan_to_num(err), method="exact")
        stats = ApertureStats(data, aper, sigma_clip=None)
    return _Measure(x, y, phot, stats, valid, nnan, interpolated)


def _filled_cutout(data: np.ndarray, x: float, y: float, aprad: float) -> np.ndarray:
    """The original's cutout after its step 7: NaNs filled when < 10 lie in the aperture's bounding box.

    ``interpolate_replace_nans`` fills every NaN within reach of the kernel, also
    in the sky annulus, and the original took the annulus statistics on that
    array; the NaNs are counted in the bounding box of the aperture at the peak
    (x, y) (``mask.multiply`` makes NaN x 0 a NaN).
    """
    from astropy.convolution import Gaussian2DKernel, interpolate_replace_nans
    from photutils.aperture import CircularAperture

    if not np.isnan(data).any():
        return data
    box = CircularAperture((x, y), r=aprad).to_mask(method="exact").multiply(data)
    if box is None or np.count_nonzero(np.isnan(box)) >= MAX_NAN_INTERPOLATE:
        return data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return interpolate_replace_nans(data, Gaussian2DKernel(x_stddev=2, y_stddev=2))


def aper_image(
    filename,
    filt: str,
    aprad: float,
    annrad,
    apcor: float,
    imgfile=None,
    return_center: bool = False,
    override_center=None,
    eefraction: float | None = None,
    search_whole_image: bool = False,
    image: Image | None = None,
    annulus_stat: str = "mean",
    center_columns: str = "final",
    sky_annulus: str = "unfilled",
):
    """Aperture photometry of the target in one image (spec 3.8.1, with the fixes of the module docstring).

    Parameters
    ----------
    filename : str or Path
        i2d mosaic, i2d exposure or cal file (read unless ``image`` is given).
    filt : str
        Filter (the header FILTER is faked for coronagraphy/FND and not used).
    aprad : float
        Aperture radius [pixels].
    annrad : (float, float)
        Inner and outer radius of the sky annulus [pixels].
    apcor : float
        Aperture correction written into the table.
    imgfile : str or Path or None
        Write the Fig. 4-style figure there (png/pdf by suffix).
    return_center : bool
        Also return the final centre as (ra, dec) degrees.
    override_center : (float, float) or None
        (ra, dec) of the centre to use: no peak search, no recentring.
    eefraction : float or None
        EE fraction of the aperture (recorded in the new ``eefraction`` column).
    search_whole_image : bool
        If the expected position is off the image, search the whole image for the
        brightest peak (the original's fallback) instead of raising.
    image : Image or None
        An already read :func:`read_image` result.
    annulus_stat : {'mean', 'clipped'}
        Sky level of the annulus: the exact-area mean (default; what the
        aperture correction's sky term assumes) or the original's sigma-clipped
        mean (3 sigma, 10 iterations; biased by the PSF structure of bright stars).
    center_columns : {'final', 'peak'}
        What ``xcenter_full``/``ycenter_full`` hold: the final (recentred)
        aperture centre (default) or, as the original, the peak before the
        recentring (always in ``x_peak``/``y_peak``).
    sky_annulus : {'unfilled', 'filled'}
        Annulus statistics on the pixels present (default) or, as the original,
        on the cutout whose NaNs ``interpolate_replace_nans`` filled when fewer
        than 10 NaNs lie in the aperture's bounding box at the peak (the filled
        pixels next to the data enter a partly uncovered annulus).

    Returns
    -------
    astropy.table.QTable (and (ra, dec) if ``return_center``)
        One row, the 34 columns of spec 3.8.1 in order, then ``EXTRA_COLUMNS``.
        Angles, pixels, times, the pixel area and the count-rate columns
        (``RATE_COLUMNS``, DN/s) carry astropy units, as in the original.

    Raises
    ------
    PhotometryError, StarNotFoundError
    """
    import astropy.units as u
    from astropy.nddata import Cutout2D
    from astropy.stats import SigmaClip
    from astropy.table import QTable
    from photutils.aperture import ApertureStats, CircularAnnulus

    _check_choices(annulus_stat=annulus_stat, center_columns=center_columns, sky_annulus=sky_annulus)
    img = image if image is not None else read_image(filename)
    path = img.path
    prim = img.primary
    aprad = float(aprad)
    annrad = (float(annrad[0]), float(annrad[1]))
    if not (aprad > 0 and 0 <= annrad[0] < annrad[1]):
        raise PhotometryError(f"{path}: bad aperture radius {aprad} or annulus {annrad}")
    targname = str(prim.get("TARGNAME", "")).strip()
    name = C.canonical_name(targname)
    ra_exp, dec_exp = expected_radec(prim)
    x_exp, y_exp = img.world_to_pixel(ra_exp, dec_exp)

    # step 4: centre
    if override_center is None:
        if not (np.isfinite(x_exp) and np.isfinite(y_exp)) or not _inside(x_exp, y_exp, img.shape):
            if not search_whole_image:
                raise StarNotFoundError(
                    f"{path}: star {name!r} expected at pixel ({x_exp:.1f}, {y_exp:.1f}), "
                    f"outside the {img.shape[1]} x {img.shape[0]} image"
                )
            size = None
        else:
            size = 8.0 * annrad[1]
        try:
            x_peak, y_peak = find_peak(img.data, x_exp, y_exp, size)
        except StarNotFoundError as exc:
            raise StarNotFoundError(f"{path}: star {name!r}: {exc}") from None
    else:
        x_peak, y_peak = img.world_to_pixel(float(override_center[0]), float(override_center[1]))
        if not _inside(x_peak, y_peak, img.shape):
            raise StarNotFoundError(
                f"{path}: override centre at pixel ({x_peak:.1f}, {y_peak:.1f}) is outside the image"
            )
    x_off, y_off = x_exp - x_peak, y_exp - y_peak  # step 5

    # step 6: refined cutout
    size = 3.0 * annrad[1]
    cut = Cutout2D(img.data, (x_peak, y_peak), (size, size), mode="trim", copy=True)
    cut_err = Cutout2D(img.err, (x_peak, y_peak), (size, size), mode="trim", copy=True).data
    ox, oy = cut.origin_original
    m = _measure(cut.data, cut_err, x_peak - ox, y_peak - oy, aprad)

    # step 9: one recentring on the centroid
    shift = 0.0
    if override_center is None and m.stats is not None:
        cx, cy = (float(v) for v in np.atleast_1d(m.stats.centroid))
        if np.isfinite(cx) and np.isfinite(cy):
            shift = float(np.hypot(cx - m.x, cy - m.y))
            if shift > RECENTER_MIN_SHIFT:
                m = _measure(cut.data, cut_err, cx, cy, aprad)
    xf, yf = m.x + ox, m.y + oy
    ra_c, dec_c = img.pixel_to_world(xf, yf)

    # step 10: edge test in full-image coordinates, invalid photometry
    ny, nx = img.shape
    off_edge = xf - aprad < -0.5 or xf + aprad > nx - 0.5 or yf - aprad < -0.5 or yf + aprad > ny - 0.5
    apsum = float(m.phot["aperture_sum"][0])
    apsum_err = float(m.phot["aperture_sum_err"][0])
    if off_edge or not m.valid:
        apsum = apsum_err = np.nan

    # step 11: background (by default the data after NaN interpolation is not reused: statistics ignore NaN)
    annulus = CircularAnnulus((m.x, m.y), r_in=annrad[0], r_out=annrad[1])
    sky = _filled_cutout(cut.data, x_peak - ox, y_peak - oy, aprad) if sky_annulus == "filled" else cut.data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clip = SigmaClip(sigma=3.0, maxiters=10) if annulus_stat == "clipped" else None
        bst = ApertureStats(sky, annulus, sigma_clip=clip, sum_method="exact")
    npix_ann = float(getattr(bst.sum_aper_area, "value", bst.sum_aper_area))
    if not np.isfinite(npix_ann) or npix_ann <= 0 or not np.isfinite(bst.mean):
        raise PhotometryError(
            f"{path}: the sky annulus [{annrad[0]:.2f}, {annrad[1]:.2f}] px around the star has no valid pixel"
        )
    area = np.pi * aprad**2
    if annulus_stat == "clipped":
        mean_bkg = float(bst.mean)
    else:
        mean_bkg = float(bst.sum) / npix_ann
    std_bkg = float(bst.std)
    total_bkg = mean_bkg * area
    apsum_bkgsub = apsum - total_bkg
    apsum_bkgsub_err = float(np.sqrt(apsum_err**2 + (std_bkg * np.sqrt(area)) ** 2))
    pix_max = float(m.stats.max) if m.stats is not None else np.nan
    rate = rate_unit()
    xc_full, yc_full = (x_peak, y_peak) if center_columns == "peak" else (xf, yf)

    row = {
        "name": name,
        "ra_deg": ra_c * u.deg,
        "dec_deg": dec_c * u.deg,
        "exposure": str(prim.get("EXPOSURE", "")),
        "filter": str(filt).upper(),
        "subarray": str(prim.get("SUBARRAY", "")).strip(),
        "readpattern": str(prim.get("READPATT", "")).strip(),
        "nints": int(prim.get("NINTS", 0) or 0),
        "ngroups": int(prim.get("NGROUPS", 0) or 0),
        "tgroup": float(prim.get("TGROUP", np.nan) or np.nan) * u.s,
        "timemid": float(prim.get("EXPMID", np.nan) or np.nan) * u.day,
        "program": str(prim.get("PROGRAM", "")).strip(),
        "filename": str(path),
        "aprad": aprad * u.pix,
        "apcorr": float(apcor),
        "annrad1": annrad[0] * u.pix,
        "annrad2": annrad[1] * u.pix,
        "pixarea": img.pixel_area_sr * u.sr,
        "xcenter": m.x * u.pix,
        "ycenter": m.y * u.pix,
        "aperture_sum": apsum * rate,
        "aperture_sum_err": apsum_err * rate,
        "xcenter_full": xc_full * u.pix,
        "ycenter_full": yc_full * u.pix,
        "pix_max": pix_max * rate,
        "mean_bkg": mean_bkg * rate,
        "mean_bkg_std": std_bkg * rate,
        "aperture_area": area * u.pix**2,
        "total_bkg": total_bkg * rate,
        "aperture_sum_bkgsub": apsum_bkgsub * rate,
        "aperture_sum_bkgsub_err": apsum_bkgsub_err * rate,
        "x_offset_from_expected": x_off * u.pix,
        "y_offset_from_expected": y_off * u.pix,
        "photmjysr": img.photmjsr,  # (MJy/sr) / (DN/s): not a FITS unit string
        # new columns
        "dataset": set_name_of(path),
        "targname": targname,
        "eefraction": np.nan if eefraction is None else float(eefraction),
        "ra_expected": ra_exp * u.deg,
        "dec_expected": dec_exp * u.deg,
        "x_peak": x_peak * u.pix,
        "y_peak": y_peak * u.pix,
        "recenter_shift": shift * u.pix,
        "nan_in_aperture": int(m.nnan),
        "nan_interpolated": bool(m.interpolated),
        "annulus_fraction": npix_ann / annulus.area,
        "date_beg": str(prim.get("DATE-BEG", "")),
        "visit_id": str(prim.get("VISIT_ID", "")),
    }
    tab = QTable([[v] for v in row.values()], names=list(row))
    if imgfile is not None:
        plot_aperture_figure(img, cut, m, annrad, aprad, (x_exp, y_exp), f"{name} / {str(filt).upper()}", imgfile)
    if return_center:
        return tab, (ra_c, dec_c)
    return tab


def _display_limits(values: np.ndarray, percentile: float) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return 0.0, 1.0
    if v.size > 200_000:  # a regular subsample is enough for display limits
        v = v[:: v.size // 200_000 + 1]
    lo, hi = np.percentile(v, [(100 - percentile) / 2, (100 + percentile) / 2])
    return float(lo), float(hi if hi > lo else lo + 1.0)


def _binned_for_display(data: np.ndarray, max_pixels: int = 300) -> tuple[np.ndarray, int]:
    """Block-average a large image for display (factor k); returns (image, k)."""
    k = int(np.ceil(max(data.shape) / max_pixels))
    if k <= 1:
        return data, 1
    ny, nx = (data.shape[0] // k) * k, (data.shape[1] // k) * k
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(data[:ny, :nx].reshape(ny // k, k, nx // k, k), axis=(1, 3)), k


def plot_aperture_figure(img: Image, cut, m: _Measure, annrad, aprad, expected, title: str, outfile) -> None:
    """Fig. 4-style figure: full image with the cutout box, cutout with aperture and annulus (spec 3.8.1 step 12).

    Left: the whole image (sqrt stretch, 99 % interval; block-averaged for
    display when larger than 300 pixels) with the cutout (white), a slightly
    larger box (black) and the expected position (red).  Right: the cutout
    (sqrt, 99.9 %) with the aperture (white), the annulus (blue), the aperture
    centre (blue +) and the centroid (black +).
    """
    import matplotlib

    matplotlib.use("Agg")
    from astropy.visualization import ImageNormalize, SqrtStretch
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, Rectangle

    fig = Figure(figsize=(10, 5))
    axes = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.1, top=0.88, wspace=0.18)
    ax = axes[0]
    show, k = _binned_for_display(img.data)
    lo, hi = _display_limits(img.data, 99.0)
    ny, nx = img.shape
    ext = (-0.5, show.shape[1] * k - 0.5, -0.5, show.shape[0] * k - 0.5)
    ax.imshow(
        show,
        origin="lower",
        norm=ImageNormalize(vmin=lo, vmax=hi, stretch=SqrtStretch()),
        cmap="afmhot",
        extent=ext,
        interpolation="nearest",
    )
    ox, oy = cut.origin_original
    ch, cw = cut.data.shape
    ax.add_patch(Rectangle((ox - 0.5, oy - 0.5), cw, ch, fill=False, color="w"))
    ax.add_patch(Rectangle((ox - 3, oy - 3), cw + 5, ch + 5, fill=False, color="k"))
    ax.add_patch(Rectangle((expected[0] - 5, expected[1] - 5), 10, 10, fill=False, color="r"))
    ax.set_xlim(-0.5, nx - 0.5)
    ax.set_ylim(-0.5, ny - 0.5)
    ax.set_title(Path(img.path).name, fontsize=8)
    ax.set_xlabel("x [pixel]")
    ax.set_ylabel("y [pixel]")
    ax.text(0.02, 0.02, "red: expected position", color="r", transform=ax.transAxes, fontsize=8)
    ax = axes[1]
    lo, hi = _display_limits(cut.data, 99.9)
    ax.imshow(
        cut.data,
        origin="lower",
        norm=ImageNormalize(vmin=lo, vmax=hi, stretch=SqrtStretch()),
        cmap="afmhot",
        interpolation="nearest",
    )
    ax.add_patch(Circle((m.x, m.y), aprad, fill=False, color="w", lw=2))
    ax.add_patch(Circle((m.x, m.y), annrad[0], fill=False, color="b", lw=2))
    ax.add_patch(Circle((m.x, m.y), annrad[1], fill=False, color="b", lw=2))
    ax.plot(m.x, m.y, "b+", ms=12)
    if m.stats is not None:
        cx, cy = np.atleast_1d(m.stats.centroid)
        ax.plot(cx, cy, "k+", ms=12)
    ax.set_xlabel("x [cutout pixel]")
    ax.set_title(
        f"aperture r = {aprad:.2f} px (white), sky annulus {annrad[0]:.2f}-{annrad[1]:.2f} px (blue)", fontsize=8
    )
    fig.suptitle(title)
    fmt = Path(outfile).suffix.lstrip(".").lower()
    fig.savefig(outfile, format=fmt if fmt in ("png", "pdf", "jpg", "svg") else "png", dpi=72)


# --------------------------------------------------------------------------
# APCORR lookup
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class ApertureParams:
    """Aperture radius, sky annulus and aperture correction of one (filter, subarray, EE)."""

    aprad: float
    annrad: tuple[float, float]
    apcorr: float
    subarray: str


def default_apcorr_file(root) -> Path:
    """The APCORR file step 4 wrote last: the name in ``root/ApCor/latest_apcorr.txt``."""
    root = Path(root)
    pointer = root / LATEST_APCORR_POINTER
    if not pointer.is_file():
        raise PhotometryError(f"{pointer}: no APCORR pointer; run create_apcor_reffile.py first or pass --apcorr FILE")
    name = pointer.read_text().strip().splitlines()[0].strip() if pointer.read_text().strip() else ""
    if not name:
        raise PhotometryError(f"{pointer}: empty APCORR pointer")
    path = Path(name)
    return path if path.is_absolute() else pointer.parent / path


def read_apcorr_table(path, check: bool = True):
    """The APCORR table of a reference file (astropy Table with str columns).

    Parameters
    ----------
    path : str or Path
        APCORR reference file (extension APCORR).
    check : bool
        Refuse the file when a row is physically impossible (:func:`check_apcorr_values`).

    Raises
    ------
    PhotometryError
        Missing or unreadable file, missing columns, or (``check``) a bad row.
    """
    from astropy.table import Table

    path = Path(path)
    if not path.is_file():
        raise PhotometryError(f"{path}: APCORR file not found")
    try:
        t = Table.read(path, hdu="APCORR")
    except Exception as exc:
        # astropy's format-guessing errors span many lines: keep the first
        first = (str(exc).strip().splitlines() or [""])[0]
        raise PhotometryError(f"{path}: not an APCORR reference file ({type(exc).__name__}: {first})") from None
    need = ("filter", "subarray", "eefraction", "radius", "apcorr", "skyin", "skyout")
    missing = [c for c in need if c not in t.colnames]
    if missing:
        raise PhotometryError(f"{path}: APCORR table lacks column(s) {', '.join(missing)}")
    for c in ("filter", "subarray"):
        t[c] = [(v.decode() if isinstance(v, bytes) else str(v)).strip().upper() for v in t[c]]
    if check:
        check_apcorr_values(t, path)
    return t


def check_apcorr_values(table, path="APCORR") -> None:
    """Physical sanity of every APCORR row: the values step 5 multiplies and measures with.

    A NaN or non-positive aperture correction or radius would give NaN or
    negative fluxes (and calibration factors) without any error downstream, so
    the file is refused as a whole.

    Parameters
    ----------
    table : astropy.table.Table
        Columns filter, subarray, eefraction, radius, apcorr, skyin, skyout.
    path : str or Path
        The file, for the message.

    Raises
    ------
    PhotometryError
        ``<path>: row <n> (<filter>/<subarray>/EE <e>): <what>`` for the first bad row:
        eefraction not in (0, 1), radius/apcorr/skyin/skyout not finite and > 0, or
        skyin >= skyout.
    """
    if len(table) == 0:
        raise PhotometryError(f"{path}: the APCORR table has no rows")
    cols = {}
    for c in ("eefraction", "radius", "apcorr", "skyin", "skyout"):
        try:
            cols[c] = np.asarray(table[c], dtype=float)
        except (TypeError, ValueError):
            raise PhotometryError(f"{path}: APCORR column {c!r} is not numeric") from None
    for i in range(len(table)):
        where = f"{path}: row {i + 1} ({table['filter'][i]}/{table['subarray'][i]}/EE {cols['eefraction'][i]:g})"
        e = cols["eefraction"][i]
        if not (np.isfinite(e) and 0.0 < e < 1.0):
            raise PhotometryError(f"{where}: eefraction = {e}, must be in (0, 1)")
        for c in ("apcorr", "radius", "skyin", "skyout"):
            v = cols[c][i]
            if not (np.isfinite(v) and v > 0):
                raise PhotometryError(f"{where}: {c} = {v}, must be finite and > 0")
        if not cols["skyin"][i] < cols["skyout"][i]:
            raise PhotometryError(
                f"{where}: sky annulus skyin = {cols['skyin'][i]} >= skyout = {cols['skyout'][i]} (inner must be < outer)"
            )


def aperture_params(table, filt: str, eefraction: float, subarray: str = "FULL", path="APCORR") -> ApertureParams:
    """Radius, annulus and apcorr for (filter, EE) from an APCORR table: the subarray's row, else FULL."""
    f = str(filt).split("_")[0].upper()
    sel = (np.asarray(table["filter"]) == f) & np.isclose(np.asarray(table["eefraction"], float), float(eefraction))
    if not sel.any():
        have = sorted(set(table["filter"]))
        if f not in have:
            raise PhotometryError(f"{path}: filter {f} is not in the APCORR file (it has {', '.join(have)})")
        raise PhotometryError(f"{path}: no row for filter {f} at EE {eefraction}")
    sub = str(subarray).strip().upper()
    rows = table[sel]
    pick = rows[np.asarray(rows["subarray"]) == sub]
    if len(pick) == 0:
        pick = rows[np.asarray(rows["subarray"]) == "FULL"]
        sub = "FULL"
    if len(pick) == 0:
        pick, sub = rows[:1], str(rows["subarray"][0])
    r = pick[0]
    return ApertureParams(float(r["radius"]), (float(r["skyin"]), float(r["skyout"])), float(r["apcorr"]), sub)


# --------------------------------------------------------------------------
# aper_one_filter
# --------------------------------------------------------------------------
def _image_pattern(bkgsub=False, indivmos=False, indivcals=False) -> str:
    """File pattern of the images of one set directory (spec 3.8.2)."""
    if indivmos:
        return "jw*mirimage_i2d.fits"
    if indivcals:
        return f"jw*mirimage{'_skysub' if bkgsub else ''}_cal.fits"
    return f"miri*stage3{'_bkgsub' if bkgsub else ''}_asn_i2d.fits"


def input_files(root, startype: str, filt: str, bkgsub=False, indivmos=False, indivcals=False) -> list[Path]:
    """Images of one (type, filter) for the default, indivmos or indivcals photometry (spec 3.8.2)."""
    base = Path(root) / startype / filt
    return sorted(base.glob("*/" + _image_pattern(bkgsub, indivmos, indivcals)))


def set_dirs(root, startype: str, filt: str) -> list[Path]:
    """Set directories ``<type>/<F>/<TARGNAME>_setN`` made by step 1 (hidden staging folders excluded)."""
    base = Path(root) / startype / filt
    if not base.is_dir():
        return []
    return sorted(d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".") and _SET_DIR_RE.match(d.name))


_SET_DIR_RE = re.compile(r".+_set\d+$")


def missing_inputs(root, startype: str, filt: str, bkgsub=False, indivmos=False, indivcals=False) -> list[Path]:
    """The images a table of one (type, filter) should contain but that are absent.

    Every set directory of step 1 must hold its mosaic (default and bkgsub
    photometry: ``miri_<set>_stage3[_bkgsub]_asn_i2d.fits``) or at least one
    exposure (indivmos, indivcals); a set without is a missing input, which
    would otherwise vanish from the table without notice.  A background-
    subtracted image also needs its unsubtracted counterpart (the median
    background added back to ``mean_bkg``).

    Returns
    -------
    list of Path
        The missing mosaic, ``<set dir>/<pattern>`` for the per-exposure variants,
        or the missing unsubtracted counterpart of a bkgsub image.
    """
    pattern = _image_pattern(bkgsub, indivmos, indivcals)
    out = []
    for d in set_dirs(root, startype, filt):
        if indivmos or indivcals:
            found = sorted(d.glob(pattern))
            if not found:
                out.append(d / pattern)
        else:
            m = d / mosaic_name(d.name, bkgsub)
            found = [m] if m.is_file() else []
            if not found:
                out.append(m)
        if bkgsub:
            out += [u for u in map(_unsubtracted_name, found) if not u.is_file()]
    return out


def missing_message(missing, root=None) -> str:
    """One line naming the missing inputs (the first three, then a count)."""
    names = [_relative(p, root) if root is not None else str(p) for p in missing]
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"missing input(s): {'; '.join(names[:3])}{more}"


def _relative(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)


def _mosaic_centres(root, startype, filt, eefraction) -> dict[str, tuple[float, float]]:
    """{set name: (ra, dec)} from the default mosaic photometry table (for indivcals)."""
    from astropy.table import Table

    path = phot_table_path(root, startype, filt, eefraction)
    if not path.is_file():
        raise PhotometryError(f"{path}: --indivcals needs the mosaic photometry table; run without it first")
    try:
        t = Table.read(path)
        out: dict[str, tuple[float, float]] = {}
        for row in t:
            sname = str(row["dataset"]).strip() if "dataset" in t.colnames else set_name_of(str(row["filename"]))
            if sname in out:
                raise PhotometryError(f"{path}: set {sname!r} appears twice")
            out[sname] = (float(row["ra_deg"]), float(row["dec_deg"]))
    except PhotometryError:
        raise
    except Exception as exc:  # a truncated or foreign table: astropy raises many types
        first = (str(exc).strip().splitlines() or [""])[0]
        raise PhotometryError(f"{path}: unreadable mosaic photometry table ({type(exc).__name__}: {first})") from None
    return out


@dataclass
class FilterResult:
    """Outcome of :func:`aper_one_filter`."""

    table: object
    path: Path | None
    failed: list[tuple[str, str]]
    n_files: int
    missing: list[Path] = field(default_factory=list)


def aper_one_filter(
    root,
    startype: str,
    filt: str,
    bkgsub: bool = False,
    eefraction: float = C.EE_FRACTION_PHOT,
    indivmos: bool = False,
    indivcals: bool = False,
    apcorr_file=None,
    png: bool = True,
    skip_bad: bool = False,
    search_whole_image: bool = False,
    write: bool = True,
    options: dict | None = None,
    annulus_stat: str = "mean",
    allow_missing: bool = False,
    center_columns: str = "final",
    sky_annulus: str = "unfilled",
    bkg_median: str = "covered",
) -> FilterResult:
    """Photometry of every image of one (star type, filter) (spec 3.8.2) and its table.

    Parameters
    ----------
    root : path
        Campaign root.
    startype : str
        Star-type directory (HotStars, ADwarfs, SolarAnalogs, Asteroids).
    filt : str
        Filter.
    bkgsub, indivmos, indivcals : bool
        Which images (spec 3.8.2); indivmos cannot be combined with bkgsub.
    eefraction : float
        EE fraction of the aperture (APCORR row).
    apcorr_file : path or None
        APCORR reference file; default :func:`default_apcorr_file`.
    png : bool
        Write the Fig. 4-style figure next to each image.
    skip_bad : bool
        Report and skip images that fail (missing star, corrupt file) instead of raising;
        they are listed in the table metadata (``NFAILED``, ``FAILED``).
    search_whole_image, annulus_stat, center_columns, sky_annulus
        See :func:`aper_image`.
    bkg_median : {'covered', 'all'}
        Pixels of the median background that ``bkgsub`` adds to ``mean_bkg``
        (:func:`median_background`; 'all' is the original's).
    write : bool
        Write ``<type>/<F><ext>_eefrac<e>_phot.fits`` (atomically).
    options : dict or None
        Options recorded in the provenance.
    allow_missing : bool
        A set directory without its image (:func:`missing_inputs`) is a warning
        and a recorded gap (``NMISSING``, ``MISSING`` in the table metadata)
        instead of an error.

    Returns
    -------
    FilterResult

    Raises
    ------
    PhotometryError
        Bad APCORR file/filter, no images, a missing image (without ``allow_missing``)
        or (without ``skip_bad``) any failing image; nothing is written then and a
        previous table is left as it was.
    """
    import contextlib

    from astropy.table import vstack

    from .io_utils import OutputSet, clean_stale_temporaries, provenance, tmp_path, write_errors, write_table

    root = Path(root)
    filt = str(filt).upper()
    _check_choices(
        annulus_stat=annulus_stat, center_columns=center_columns, sky_annulus=sky_annulus, bkg_median=bkg_median
    )
    if indivmos and bkgsub:
        raise PhotometryError("--indivmos cannot be combined with --bkgsub")
    apfile = Path(apcorr_file) if apcorr_file is not None else default_apcorr_file(root)
    aptable = read_apcorr_table(apfile)
    aperture_params(aptable, filt, eefraction, "FULL", apfile)  # fails early if the filter is absent
    files = input_files(root, startype, filt, bkgsub, indivmos, indivcals)
    missing = missing_inputs(root, startype, filt, bkgsub, indivmos, indivcals)
    if bkgsub:  # a bkgsub image whose unsubtracted counterpart is missing is a missing input, not a failure
        files = [f for f in files if _unsubtracted_name(f) not in set(missing)]
    if not files:
        why = f" ({missing_message(missing, root)})" if missing else ""
        raise PhotometryError(f"{root / startype / filt}: no images found for {filt}{phot_ext(bkgsub, indivmos)}{why}")
    if missing and not allow_missing:
        raise PhotometryError(
            f"{root / startype / filt}: {missing_message(missing, root)} (step 1 did not finish these sets; "
            "--allow-missing measures the others and records the gap)"
        )
    for m in missing:
        log.warning(
            "missing input %s: left out of the %s %s table (recorded in its MISSING keyword)", m, startype, filt
        )
    centres = _mosaic_centres(root, startype, filt, eefraction) if indivcals else {}
    if write:
        # temporaries of killed runs (their writers are gone) would otherwise stay for ever
        clean_stale_temporaries(root / startype)
        for d in {f.parent for f in files}:
            clean_stale_temporaries(d)
    ext = phot_ext(bkgsub, indivmos, indivcals)
    rows, failed, contexts = [], [], set()
    figtag = f"{ext}_eefrac{eefrac_tag(eefraction)}_absfluxapers.png"
    path = None
    with write_errors(), OutputSet() as out:
        for f in files:
            figfinal = f.with_name(f.name.replace(".fits", figtag))
            figtmp = tmp_path(figfinal) if png else None
            try:
                img = read_image(f)
                contexts.add(str(img.primary.get("CRDS_CTX", "")))
                p = aperture_params(aptable, filt, eefraction, str(img.primary.get("SUBARRAY", "FULL")), apfile)
                override = None
                if indivcals and startype != "Asteroids":
                    sname = set_name_of(f)
                    if sname not in centres:
                        raise PhotometryError(f"{f}: set {sname!r} is not in the mosaic photometry table")
                    override = centres[sname]
                bkg_level = median_background(_unsubtracted_name(f), bkg_median) if bkgsub else 0.0
                with write_errors(figfinal):
                    t = aper_image(
                        f,
                        filt,
                        p.aprad,
                        p.annrad,
                        p.apcorr,
                        imgfile=figtmp,
                        override_center=override,
                        eefraction=eefraction,
                        search_whole_image=search_whole_image,
                        image=img,
                        annulus_stat=annulus_stat,
                        center_columns=center_columns,
                        sky_annulus=sky_annulus,
                    )
                t["filename"] = [_relative(f, root)]
                t["mean_bkg"] += bkg_level * rate_unit()
                rows.append(t)
                if figtmp is not None:
                    os.replace(figtmp, out.stage(figfinal))
            except PhotometryError as exc:
                if not skip_bad:
                    raise
                log.warning("skipped: %s", exc)
                failed.append((str(f), str(exc)))
            finally:
                if figtmp is not None:
                    # clean-up must not hide the real error (a read-only folder refuses the unlink too)
                    with contextlib.suppress(OSError):
                        figtmp.unlink(missing_ok=True)
        if not rows:
            raise PhotometryError(f"{root / startype / filt}: every image failed ({failed[0][1]})")
        table = vstack(rows, metadata_conflicts="silent")
        table.sort(["name", "timemid"], kind="stable")
        table.meta["EEFRAC"] = float(eefraction)
        table.meta["FILTER"] = filt
        table.meta["STARTYPE"] = startype
        table.meta["PHOTEXT"] = ext or "default"
        table.meta["APCORFIL"] = apfile.name
        table.meta["ANNSTAT"] = (annulus_stat, "sky annulus statistic (mean or clipped)")
        table.meta["CENTCOLS"] = (center_columns, "xcenter_full/ycenter_full: final or peak")
        table.meta["SKYANN"] = (sky_annulus, "sky annulus: unfilled or filled (NaNs filled)")
        if bkgsub:
            table.meta["BKGMED"] = (bkg_median, "bkgsub median background: covered or all")
        table.meta["WHOLEIMG"] = (bool(search_whole_image), "whole-image peak search if star off the image")
        table.meta["NFAILED"] = len(failed)
        if failed:
            table.meta["FAILED"] = "; ".join(_relative(Path(f), root) for f, _ in failed)
        # a gap is recorded in the table itself, so a shorter table never passes for a complete one
        table.meta["NMISSING"] = (len(missing), "set directories without their image (left out)")
        if missing:
            table.meta["MISSING"] = "; ".join(_relative(m, root) for m in missing)
        table.meta["RATEUNIT"] = ("DN/s", "unit of the count-rate columns (astropy units)")
        table.meta["CRDS_CTX"] = ",".join(sorted(c for c in contexts if c)) or "offline"
        if write:
            path = phot_table_path(
                root, startype, filt, eefraction, bkgsub=bkgsub, indivmos=indivmos, indivcals=indivcals
            )
            notes = [f"failed: {f}: {e}" for f, e in failed]
            notes += [f"missing: {m}" for m in missing]
            notes.append(crds_note(contexts))
            prov = provenance("aper_one_filter", inputs=[apfile, *files], options=options or {}, notes=notes)
            with write_errors(path), warnings.catch_warnings():
                # DN/s is not a FITS unit: astropy keeps it in its column metadata (read back by astropy) and
                # says so each time; RATEUNIT names it for other readers
                warnings.filterwarnings("ignore", message="The unit 'DN / s' could not be saved")
                write_table(table, out.stage(path), "fits", prov)
    return FilterResult(table, path, failed, len(files), missing)


def _unsubtracted_name(path: Path) -> Path:
    """The non-background-subtracted counterpart of a bkgsub mosaic or skysub cal file."""
    name = path.name.replace("_stage3_bkgsub_asn", "_stage3_asn").replace("_skysub_cal", "_cal")
    if name == path.name:
        raise PhotometryError(f"{path}: not a bkgsub mosaic or skysub cal file")
    return path.with_name(name)


def crds_note(contexts) -> str:
    """Provenance note on the CRDS context(s) the inputs were calibrated with ("offline" if none)."""
    ctx = sorted({str(c).strip() for c in contexts if c and str(c).strip()})
    if not ctx:
        return "CRDS: offline (no CRDS context recorded in the inputs)"
    return "CRDS context of the inputs: " + ", ".join(ctx)


def median_background(path, pixels: str = "covered") -> float:
    """Median of a mosaic in DN/s.

    Parameters
    ----------
    path : str or Path
        The unsubtracted mosaic.
    pixels : {'covered', 'all'}
        Over the covered (non-zero, finite) pixels (default), or over every finite
        pixel, exact zeros included, as the original's ``nanmedian``.
    """
    _check_choices(bkg_median=pixels)
    img = read_image(path, keep_zeros=pixels == "all")
    vals = img.data[np.isfinite(img.data)]
    if vals.size == 0:
        raise PhotometryError(f"{path}: no valid pixels for the median background")
    return float(np.median(vals))


# --------------------------------------------------------------------------
# aper_all
# --------------------------------------------------------------------------
def aper_all_jobs(root, types=C.STAR_TYPES, filters=None) -> list[tuple[str, str, bool]]:
    """(type, filter, bkgsub) jobs of spec 3.9 for the type/filter directories that exist.

    Imager filters and FND: default; imager filters also bkgsub (not FND);
    coronagraphic filters: bkgsub only.
    """
    root = Path(root)
    order = C.IMAGER_FILTERS + (C.FND_FILTER,) + C.CORON_FILTERS
    jobs = []
    for t in types:
        for f in order:
            if filters and f not in filters:
                continue
            if not (root / t / f).is_dir():
                continue
            if f in C.CORON_FILTERS:
                jobs.append((t, f, True))
            else:
                jobs.append((t, f, False))
                if f != C.FND_FILTER:
                    jobs.append((t, f, True))
    return jobs


def _aper_job(args) -> dict:
    """Run one aper_all job; never raises for bad inputs (the error is returned)."""
    import time

    root, startype, filt, bkgsub, eefraction, apcorr_file, png, options, method, allow_missing = args
    t0 = time.time()
    job = {"startype": startype, "filter": filt, "bkgsub": bkgsub, "skipped": False, "missing": []}
    if not input_files(root, startype, filt, bkgsub):
        return {**job, "ok": False, "skipped": True, "error": "no mosaics", "failed": [], "n": 0, "seconds": 0.0}
    try:
        res = aper_one_filter(
            root,
            startype,
            filt,
            bkgsub=bkgsub,
            eefraction=eefraction,
            apcorr_file=apcorr_file,
            png=png,
            # a bad mosaic fails its table (the previous one stays) unless gaps are allowed
            skip_bad=allow_missing,
            options=options,
            allow_missing=allow_missing,
            **method,
        )
    except PhotometryError as exc:
        return {**job, "ok": False, "error": str(exc), "failed": [], "n": 0, "seconds": time.time() - t0}
    return {
        **job,
        "ok": True,
        "path": str(res.path),
        "n": len(res.table),
        "failed": res.failed,
        "missing": [str(m) for m in res.missing],
        "seconds": time.time() - t0,
    }


def aper_all(
    root,
    types=C.STAR_TYPES,
    filters=None,
    eefraction: float = C.EE_FRACTION_PHOT,
    apcorr_file=None,
    png: bool = True,
    jobs: int = 1,
    progress: bool = True,
    options: dict | None = None,
    annulus_stat: str = "mean",
    allow_missing: bool = False,
    center_columns: str = "final",
    sky_annulus: str = "unfilled",
    bkg_median: str = "covered",
    search_whole_image: bool = False,
) -> list[dict]:
    """Photometry of a whole campaign (spec 3.9, all star types).

    Parameters
    ----------
    root : path
        Campaign root.
    types : sequence of str
        Star-type directories (default the three types).
    filters : sequence of str or None
        Restrict to these filters.
    eefraction, apcorr_file, png, annulus_stat, center_columns, sky_annulus, bkg_median, search_whole_image
        See :func:`aper_one_filter` and :func:`aper_image` (``ORIGINAL_PHOT`` holds the original's choices).
    jobs : int
        Parallel processes (>= 1; they die with this process, :func:`absflux.procs.run_pool`).
    progress : bool
        tqdm progress bar on stderr.
    options : dict or None
        Recorded in every table's provenance.
    allow_missing : bool
        Missing mosaics (set directories without one) and bad mosaics are
        warnings and recorded gaps of their tables instead of errors.

    Returns
    -------
    list of dict
        One summary per (type, filter, bkgsub) job: ok, path, n (rows), failed
        [(file, error)], missing [file], error (when the whole job failed), seconds.

    Raises
    ------
    PhotometryError
        No job (no type/filter directory), no mosaic at all, the APCORR file is
        unusable, or (without ``allow_missing``) a set directory lacks its mosaic:
        all checked before any table is written.
    """
    from tqdm import tqdm

    from .procs import run_pool

    root = Path(root)
    if int(jobs) < 1:
        raise PhotometryError(f"--jobs must be >= 1, got {jobs}")
    method = {
        "annulus_stat": annulus_stat,
        "center_columns": center_columns,
        "sky_annulus": sky_annulus,
        "bkg_median": bkg_median,
        "search_whole_image": bool(search_whole_image),
    }
    _check_choices(**{k: v for k, v in method.items() if k != "search_whole_image"})
    apfile = Path(apcorr_file) if apcorr_file is not None else default_apcorr_file(root)
    read_apcorr_table(apfile)
    todo = aper_all_jobs(root, types, filters)
    if not todo:
        raise PhotometryError(f"{root}: no <type>/<filter> directories with data")
    if not any(input_files(root, t, f, b) for t, f, b in todo):
        raise PhotometryError(f"{root}: no mosaics found (run step 1 first)")
    # a job without any mosaic writes no table (reported as skipped); a job with some shrinks its table
    missing = [m for t, f, b in todo if input_files(root, t, f, b) for m in missing_inputs(root, t, f, b)]
    if missing and not allow_missing:
        raise PhotometryError(
            f"{root}: {missing_message(missing, root)} (step 1 did not finish these sets; "
            "--allow-missing measures the others and records the gap)"
        )
    args = [(root, t, f, b, eefraction, apfile, png, options, method, allow_missing) for t, f, b in todo]
    bar = tqdm(total=len(args), desc="aper_all", unit="job", disable=not progress)
    try:
        results = run_pool(_aper_job, args, jobs, on_result=lambda _: bar.update(1))
    finally:
        bar.close()
    key = {(t, f, b): i for i, (t, f, b) in enumerate(todo)}
    results.sort(key=lambda r: key[(r["startype"], r["filter"], r["bkgsub"])])
    return results


# --------------------------------------------------------------------------
# Closed-loop check against a simulated campaign
# --------------------------------------------------------------------------
def truth_comparison(
    root, eefraction: float = C.EE_FRACTION_PHOT, bkgsub: bool = False, types=C.STAR_TYPES, filters=None
):
    """aperture_sum_bkgsub x apcorr of every mosaic against the injected total rate of a simulated campaign.

    The injected ``total_rate`` (``truth.ecsv``) is in detector-pixel units; a
    mosaic sum in DN/s per 0.11" pixel equals ``total_rate x pixel_area_sr /
    MOSAIC_PIXEL_AREA_SR`` (averaged over the exposures of the set; the
    exposures are matched by visit token jwPPPPPOOOVVV and filter).  ``filters``
    restricts the comparison (and the tables read) to these filters.

    Returns
    -------
    astropy.table.Table
        startype, filter, dataset, subarray, measured, injected, ratio, err (relative
        1-sigma of the measurement), nsigma = (measured - injected) / error.
    """
    from astropy.io import fits
    from astropy.table import Table

    root = Path(root)
    truth = Table.read(root / "truth.ecsv", format="ascii.ecsv")
    tokens = np.array([str(f).split("_")[0] for f in truth["filename"]])
    rows = []
    for t in types:
        for f in C.ALL_FILTERS if filters is None else [g for g in C.ALL_FILTERS if g in filters]:
            path = phot_table_path(root, t, f, eefraction, bkgsub=bkgsub)
            if not path.is_file():
                continue
            ph = Table.read(path)
            sums = rate_values(ph["aperture_sum_bkgsub"])
            errs = rate_values(ph["aperture_sum_bkgsub_err"])
            for r, asum, aerr in zip(ph, sums, errs, strict=True):
                h = fits.getheader(root / str(r["filename"]))
                token = f"jw{h['PROGRAM']}{h['OBSERVTN']}{h['VISIT']}"
                sel = (tokens == token) & (np.asarray(truth["filter"]) == f)
                if not sel.any():
                    continue
                tr = truth[sel]
                inj = float(np.mean(tr["total_rate"] * tr["pixel_area_sr"] / C.MOSAIC_PIXEL_AREA_SR))
                meas = float(asum) * float(r["apcorr"])
                err = float(aerr) * float(r["apcorr"])
                rows.append(
                    (t, f, str(r["dataset"]), str(r["subarray"]), meas, inj, meas / inj, err / inj, (meas - inj) / err)
                )
    names = ("startype", "filter", "dataset", "subarray", "measured", "injected", "ratio", "err", "nsigma")
    return Table(rows=rows, names=names) if rows else Table(names=names, dtype=["U12"] * 4 + ["f8"] * 5)


# --------------------------------------------------------------------------
# Synthetic mosaics (tests and benchmarks)
# --------------------------------------------------------------------------
def gaussian_star(shape, x: float, y: float, flux: float, sigma: float) -> np.ndarray:
    """Pixel-integrated circular Gaussian (total ``flux``) centred at 0-based (x, y)."""
    from scipy.special import erf

    def edges(n, c):
        e = (np.arange(n + 1) - 0.5 - c) / (np.sqrt(2.0) * sigma)
        return np.diff(0.5 * erf(e))

    return flux * np.outer(edges(shape[0], y), edges(shape[1], x))


def uniform_disk(shape, x: float, y: float, radius: float, value: float = 1.0) -> np.ndarray:
    """Disk of surface brightness ``value`` and radius ``radius``, pixel values = exact overlap areas."""
    from .encircled_energy import circle_box_overlap

    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    dx, dy = xx - x, yy - y
    return value * circle_box_overlap(dx - 0.5, dx + 0.5, dy - 0.5, dy + 0.5, radius)


def synthetic_mosaic(
    path,
    image: np.ndarray,
    ra: float = 261.2178,
    dec: float = 60.4308,
    star_xy=None,
    targname: str = "BD+60 1753",
    photmjsr: float = 0.3,
    err=None,
    pm_arcsec_per_year=(0.0, 0.0),
    date_beg: str = "2023-06-01T00:00:00.000",
    targ_at_proposer_epoch: bool = False,
    header: dict | None = None,
) -> Path:
    """Write an i2d-like FITS mosaic (primary + SCI/ERR with a 0.11" TAN WCS) for tests and benchmarks.

    Parameters
    ----------
    path : path
        Output file.
    image : ndarray
        Count rate [DN/s per pixel]; written as SCI = image x PHOTMJSR (MJy/sr).
    ra, dec : float
        Sky position of the star at the observation (``DATE-BEG``).
    star_xy : (float, float) or None
        0-based pixel of (ra, dec); default the image centre.
    targname : str
        TARGNAME.
    photmjsr : float
        PHOTMJSR of the SCI header.
    err : ndarray, float or None
        ERR in DN/s (default 1 % of |image| + 0.01).
    pm_arcsec_per_year : (float, float)
        Proper motion (MU_RA = mu_alpha* and MU_DEC, arcsec/yr); PROP_RA/PROP_DEC are
        the position at MU_EPOCH (J2000) moved back from DATE-BEG.
    date_beg : str
        Observation date.
    targ_at_proposer_epoch : bool
        Write TARG_RA/TARG_DEC = the proposer (J2000) position instead of the
        position at the observation (to test the proper-motion fix).
    header : dict or None
        Extra primary keywords (SUBARRAY, EXPMID, PROGRAM, ...).

    Returns
    -------
    Path
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.io import fits
    from astropy.time import Time
    from astropy.wcs import WCS

    img = np.asarray(image, dtype=float)
    ny, nx = img.shape
    sx, sy = star_xy if star_xy is not None else ((nx - 1) / 2.0, (ny - 1) / 2.0)
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra, dec]
    w.wcs.crpix = [sx + 1.0, sy + 1.0]
    scale = C.MOSAIC_PIXEL_SCALE / 3600.0
    w.wcs.cd = [[-scale, 0.0], [0.0, scale]]
    w.wcs.cunit = ["deg", "deg"]
    pmra, pmdec = (float(v) for v in pm_arcsec_per_year)
    obs = Time(date_beg)
    c = SkyCoord(
        ra=ra * u.deg,
        dec=dec * u.deg,
        pm_ra_cosdec=pmra * 1000 * u.mas / u.yr,
        pm_dec=pmdec * 1000 * u.mas / u.yr,
        obstime=obs,
        distance=1 * u.kpc,
    )
    import warnings as _w

    with _w.catch_warnings():
        _w.simplefilter("ignore")
        p = c.apply_space_motion(new_obstime=Time("J2000"))
    ph = fits.Header()
    ph["TARGNAME"] = targname
    ph["TARG_RA"] = float(p.ra.deg) if targ_at_proposer_epoch else ra
    ph["TARG_DEC"] = float(p.dec.deg) if targ_at_proposer_epoch else dec
    ph["PROP_RA"] = float(p.ra.deg)
    ph["PROP_DEC"] = float(p.dec.deg)
    ph["MU_RA"] = pmra
    ph["MU_DEC"] = pmdec
    ph["MU_EPOCH"] = "2000-01-01 12:00:00.000"
    ph["DATE-BEG"] = date_beg
    ph["DATE-OBS"] = date_beg[:10]
    defaults = {
        "EXPOSURE": "1",
        "SUBARRAY": "SUB256",
        "READPATT": "FASTR1",
        "NINTS": 1,
        "NGROUPS": 10,
        "TGROUP": 0.29952,
        "EXPMID": float(obs.mjd),
        "PROGRAM": "01027",
        "OBSERVTN": "001",
        "VISIT": "001",
        "FILTER": "F770W",
        "CRDS_CTX": "jwst_test_0001.pmap",
    }
    defaults.update(header or {})
    for k, v in defaults.items():
        ph[k] = v
    sh = w.to_header()
    sh["PHOTMJSR"] = photmjsr
    sh["BUNIT"] = "MJy/sr"
    e = np.abs(img) * 0.01 + 0.01 if err is None else np.broadcast_to(np.asarray(err, float), img.shape)
    hdul = fits.HDUList(
        [
            fits.PrimaryHDU(header=ph),
            fits.ImageHDU((img * photmjsr).astype(np.float32), header=sh, name="SCI"),
            fits.ImageHDU((e * photmjsr).astype(np.float32), header=sh, name="ERR"),
        ]
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    hdul.writeto(path, overwrite=True)
    return path
