"""Predicted NIRISS count rates of a spectrum with synphot (``NIRISScountrates``, spec section 9).

``countrate = Observation(spectrum, bandpass, binset).countrate(area=254009 cm^2)`` in
photons/s, which equals e-/s because the NIRISS total-system curves include the detector
quantum efficiency and quantum yield.

Throughput sources (``--throughputs DIR``; the first kind found per filter is used):

``pysynphot``
    The STScI NIRISS files of the original, ``jwst_nis_<f>_clear.fits`` (SW) and
    ``jwst_nis_clearp_<f>.fits`` (LW), columns WAVELENGTH [A], THROUGHPUT.  They are the
    complete system including the CLEARP pupil obscuration (factor 1).
``pandeia``
    ``jwst_niriss_<f>.dat`` with columns index, wavelength [A], throughput (or wavelength,
    throughput), e.g. ``../shared/data/bandpasses/niriss_pandeia``.  These curves are
    OTE x internal optics x filter x QE x quantum yield but do **not** include the 0.84
    CLEARP obscuration of the LW filters (it is a MASKSCAL header value in the component
    files, not part of any throughput column), so the LW curves are multiplied by 0.84.
``components``
    The NIRISS_magnitude_simulation ``standard_throughputs`` folder (also found as
    ``DIR/standard_throughputs``): ``jwst_niriss_<f>_trans.fits`` x OTE x internal optics
    x QE x Conversion (e-/photon) x the pupil element (CLEAR or CLEARP, including its
    MASKSCAL).  Wavelengths in microns.

Without the CLEARP factor the LW predictions from the pandeia curves are 17.5-18.7 % above
the published NIS-020 Table 3 while the SW ones agree within 0.6 %; with it all 12 agree
within 1.3 % (see ``niriss/README.rst``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from . import constants as C
from .io import NirissInputError

log = logging.getLogger(__name__)

__all__ = ["Prediction", "load_bandpass", "load_spectrum", "predict_countrates", "find_throughput_kind"]

PANDEIA_PATTERN = "jwst_niriss_{f}.dat"
COMPONENT_FILTER = "jwst_niriss_{f}_trans.fits"
COMPONENT_OTE = "jwst_telescope_ote_throughput_nis.fits"
COMPONENT_OPTICS = "jwst_niriss_internaloptics_throughput.fits"
COMPONENT_QE = "jwst_niriss_h2rg_qe.fits"
COMPONENT_PUPIL = {
    "SW": "jwst_niriss_internaloptics-clear_throughput.fits",
    "LW": "jwst_niriss_internaloptics-clearp_throughput.fits",
}


def pysynphot_name(f: str) -> str:
    """File name of the original's pysynphot throughput for filter *f*."""
    f = f.lower()
    return f"jwst_nis_clearp_{f}.fits" if f.upper() in C.LW_FILTERS else f"jwst_nis_{f}_clear.fits"


@dataclass
class Prediction:
    """Predicted count rate of one filter."""

    filter: str
    countrate: float
    kind: str
    path: str
    factor: float


def _fits_columns(path: str) -> tuple[np.ndarray, dict, object]:
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False) as hdul:
            hdu = hdul[1]
            data = hdu.data
            names = {n.upper(): n for n in data.columns.names}
            cols = {k: np.asarray(data[v], dtype=float) for k, v in names.items()}
            units = {}
            for i, n in enumerate(data.columns.names, start=1):
                units[n.upper()] = str(hdu.header.get(f"TUNIT{i}", "")).strip().lower()
            return cols, units, hdu.header.copy()
    except (OSError, IndexError, AttributeError, TypeError) as exc:
        raise NirissInputError(f"{path}: not a readable throughput table ({' '.join(str(exc).split())})") from None


def _wave_to_angstrom(w: np.ndarray, unit: str) -> np.ndarray:
    unit = unit.lower()
    if unit.startswith("micron") or unit in ("um", "mum"):
        return w * 1e4
    if unit in ("angstrom", "angstroms", "a", "aa"):
        return w
    if unit == "nm":
        return w * 10.0
    # no unit: NIRISS curves span 0.5-5.5 um; values below 100 must be microns
    return w * 1e4 if np.nanmax(w) < 100 else w


def _read_fits_curve(path: str, col: str = "THROUGHPUT") -> tuple[np.ndarray, np.ndarray, object]:
    cols, units, hdr = _fits_columns(path)
    if "WAVELENGTH" not in cols or col not in cols:
        raise NirissInputError(f"{path}: columns WAVELENGTH and {col} are required")
    return _wave_to_angstrom(cols["WAVELENGTH"], units.get("WAVELENGTH", "")), cols[col], hdr


def _read_dat_curve(path: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        d = np.loadtxt(path, comments="#", ndmin=2)
    except (OSError, ValueError) as exc:
        raise NirissInputError(f"{path}: not a readable throughput table ({' '.join(str(exc).split())})") from None
    if d.shape[1] >= 3:
        w, t = d[:, 1], d[:, 2]
    elif d.shape[1] == 2:
        w, t = d[:, 0], d[:, 1]
    else:
        raise NirissInputError(f"{path}: expected 2 or 3 columns")
    return _wave_to_angstrom(w, ""), t


def find_throughput_kind(directory: str, f: str) -> tuple[str, str]:
    """Return (kind, directory) of the throughput found for filter *f* in *directory*."""
    fl = f.lower()
    for d in (directory, os.path.join(directory, "standard_throughputs")):
        if os.path.isfile(os.path.join(d, pysynphot_name(fl))):
            return "pysynphot", d
        if os.path.isfile(os.path.join(d, PANDEIA_PATTERN.format(f=fl))):
            return "pandeia", d
        if os.path.isfile(os.path.join(d, COMPONENT_FILTER.format(f=fl))):
            return "components", d
    raise NirissInputError(f"{directory}: no throughput file for {f.upper()} (pysynphot, pandeia or component files)")


def load_bandpass(directory: str, f: str, clearp_factor: float | None = None):
    """Total-system bandpass of filter *f* from *directory*.

    Parameters
    ----------
    directory : str
        Throughput directory (see the module docstring for the recognised layouts).
    f : str
        Filter name.
    clearp_factor : float or None
        LW pupil factor.  None ('auto'): 1 for pysynphot files, 0.84 for pandeia curves,
        the CLEARP file's MASKSCAL x throughput for components.  A number replaces the
        automatic choice for the LW filters.

    Returns
    -------
    (synphot.SpectralElement, str, str, float)
        Bandpass, kind, file path and the pupil factor applied.
    """
    import astropy.units as u
    from synphot import SpectralElement
    from synphot.models import Empirical1D

    kind, d = find_throughput_kind(directory, f)
    fl = f.lower()
    lw = f.upper() in C.LW_FILTERS
    if kind == "pysynphot":
        path = os.path.join(d, pysynphot_name(fl))
        w, t, _ = _read_fits_curve(path)
        factor = (clearp_factor if clearp_factor is not None else 1.0) if lw else 1.0
        t = t * factor
    elif kind == "pandeia":
        path = os.path.join(d, PANDEIA_PATTERN.format(f=fl))
        w, t = _read_dat_curve(path)
        factor = (clearp_factor if clearp_factor is not None else C.CLEARP_FACTOR) if lw else 1.0
        t = t * factor
    else:
        path = os.path.join(d, COMPONENT_FILTER.format(f=fl))
        w, t, _ = _read_fits_curve(path)
        total = np.array(t, dtype=float)
        for name, col in (
            (COMPONENT_OTE, "THROUGHPUT"),
            (COMPONENT_OPTICS, "THROUGHPUT"),
            (COMPONENT_QE, "THROUGHPUT"),
        ):
            wc, tc, _ = _read_fits_curve(os.path.join(d, name), col)
            total *= np.interp(w, wc, tc, left=0.0, right=0.0)
        qpath = os.path.join(d, COMPONENT_QE)
        cols, _units, _ = _fits_columns(qpath)
        if "CONVERSION" in cols:
            wq, cq, _ = _read_fits_curve(qpath, "CONVERSION")
            total *= np.interp(w, wq, cq, left=1.0, right=1.0)
        pupil_path = os.path.join(d, COMPONENT_PUPIL["LW" if lw else "SW"])
        wp, tp, hp = _read_fits_curve(pupil_path)
        factor = float(hp.get("MASKSCAL", 1.0))
        if lw and clearp_factor is not None:
            factor = float(clearp_factor)
        t = total * np.interp(w, wp, tp, left=0.0, right=0.0) * factor
    order = np.argsort(w)
    w, t = w[order], np.clip(t[order], 0.0, None)
    bp = SpectralElement(Empirical1D, points=w * u.AA, lookup_table=t, keep_neg=False)
    return bp, kind, path, factor


def load_spectrum(path: str):
    """CALSPEC-style spectrum (FITS WAVELENGTH/FLUX) and its TARGETID (or the file stem).

    Raises
    ------
    NirissInputError
        Missing or unreadable file.
    """
    from astropy.io import fits
    from synphot import SourceSpectrum

    if not os.path.isfile(path):
        raise NirissInputError(f"{path}: file not found")
    try:
        sp = SourceSpectrum.from_file(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is bad input
        raise NirissInputError(f"{path}: not a readable spectrum ({' '.join(str(exc).split())[:120]})") from None
    target = None
    try:
        target = fits.getheader(path, 0).get("TARGETID")
    except OSError:
        target = None
    if not target:
        target = os.path.splitext(os.path.basename(path))[0]
    return sp, str(target).strip()


def predict_countrates(
    spectrum_path: str,
    throughput_dir: str,
    area_cm2: float = C.COLLECTING_AREA_CM2,
    force: str | None = None,
    clearp_factor: float | None = None,
    filters=C.FILTERS,
) -> tuple[str, list[Prediction]]:
    """Predicted count rates [e-/s] of a spectrum in the NIRISS filters.

    Parameters
    ----------
    spectrum_path : str
        CALSPEC FITS file.
    throughput_dir : str
        Throughput directory.
    area_cm2 : float
        Collecting area [cm^2] (254009).
    force : {None, 'taper', 'extrap'}
        synphot's handling of a spectrum that only partly covers a bandpass (None raises).
    clearp_factor : float or None
        See :func:`load_bandpass`.
    filters : sequence of str
        Filters, in output order.

    Returns
    -------
    (str, list of Prediction)
        Target name and one prediction per filter.
    """
    import astropy.units as u
    from synphot import Observation
    from synphot.exceptions import DisjointError, PartialOverlap

    if not os.path.isdir(throughput_dir):
        raise NirissInputError(f"{throughput_dir}: throughput directory not found")
    sp, target = load_spectrum(spectrum_path)
    waveset = _waveset(throughput_dir)
    out = []
    for f in filters:
        bp, kind, path, factor = load_bandpass(throughput_dir, f, clearp_factor)
        binset = waveset if waveset is not None else bp.waveset
        try:
            kw = {"force": force} if force else {}
            obs = Observation(sp, bp, binset=binset, **kw)
            cr = float(obs.countrate(area=area_cm2 * u.cm**2).value)
        except (PartialOverlap, DisjointError) as exc:
            raise NirissInputError(
                f"{spectrum_path}: spectrum does not cover the {f.upper()} bandpass ({type(exc).__name__}; "
                "use --force taper or extrap)"
            ) from None
        out.append(Prediction(f.upper(), cr, kind, path, factor))
    return target, out


def _waveset(directory: str):
    """``NIRISS_waveset.fits`` (ext 1 column 'wavelength', Angstrom) if the directory has it."""
    import astropy.units as u

    path = os.path.join(directory, "NIRISS_waveset.fits")
    if not os.path.isfile(path):
        return None
    cols, units, _ = _fits_columns(path)
    if "WAVELENGTH" not in cols:
        raise NirissInputError(f"{path}: no 'wavelength' column")
    unit = units.get("WAVELENGTH", "") or "angstrom"
    return _wave_to_angstrom(cols["WAVELENGTH"], unit) * u.AA


def printout(target: str, preds: list[Prediction]) -> str:
    """``# Predicted Count Rates for <target>``, the filter header and the values (``%.3e``)."""
    from .totals import format_header, format_row

    return "\n".join(
        [
            f"# Predicted Count Rates for {target}",
            format_header([p.filter for p in preds]),
            format_row([p.countrate for p in preds]),
        ]
    )
