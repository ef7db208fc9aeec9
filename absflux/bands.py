"""Bandpasses and band-averaged flux densities (spec section 3.13).

The band flux is the photon-counting "flat reference spectrum" average of
Gordon et al. (2022):

    <F_lambda> = int(lambda R F_lambda dlambda) / int(lambda R dlambda)

converted to F_nu [Jy] at the pivot wavelength
lambda_p = sqrt(int(lambda R dlambda) / int(R / lambda dlambda)).

Bandpass sources, in order of preference:

1. a directory given by the user (``--bandpasses DIR``) holding one curve per
   filter (e.g. pandeia total-system throughputs);
2. the offline default: the SVO profiles shipped (FFT-compressed) in the PyPI
   package ``tynt`` for the 13 imager and coronagraphic filters, and a
   documented synthetic curve for FND, which no offline package carries.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from . import constants as C

log = logging.getLogger(__name__)

C_ANGSTROM_PER_S = 2.99792458e18
FLAM_CGS_TO_JY = 1e23  # erg s-1 cm-2 Hz-1 -> Jy


class BandpassError(ValueError):
    """A bandpass file or source is unusable."""


def _trapz(y, x):
    return float(np.trapezoid(y, x))


def pivot_wavelength(wave, resp) -> float:
    """Pivot wavelength (same unit as ``wave``) of a response curve."""
    wave = np.asarray(wave, float)
    resp = np.asarray(resp, float)
    return float(np.sqrt(_trapz(wave * resp, wave) / _trapz(resp / wave, wave)))


def band_flux_flambda(wave_model, flam_model, wave_band, resp) -> float:
    """Photon-weighted band average of F_lambda (units of ``flam_model``).

    The model is linearly interpolated onto the bandpass grid (trapezoid rule on
    that grid), as the original does.  Model points outside the model range
    are an error, not a silent extrapolation.
    """
    wave_band = np.asarray(wave_band, float)
    resp = np.asarray(resp, float)
    inband = resp > 0
    lo, hi = wave_band[inband].min(), wave_band[inband].max()
    if lo < np.min(wave_model) or hi > np.max(wave_model):
        raise BandpassError(
            f"model spectrum covers {np.min(wave_model):.4g}-{np.max(wave_model):.4g} but the band needs {lo:.4g}-{hi:.4g}"
        )
    f = np.interp(wave_band, wave_model, flam_model)
    return _trapz(wave_band * resp * f, wave_band) / _trapz(wave_band * resp, wave_band)


def band_flux_jy(wave_angstrom, flam_cgs, wave_band_angstrom, resp) -> tuple[float, float]:
    """Band flux density in Jy at the pivot wavelength, and the pivot [micron].

    Parameters
    ----------
    wave_angstrom, flam_cgs : model spectrum, Angstrom and erg s-1 cm-2 A-1.
    wave_band_angstrom, resp : bandpass, Angstrom and throughput.
    """
    flam = band_flux_flambda(wave_angstrom, flam_cgs, wave_band_angstrom, resp)
    lp = pivot_wavelength(wave_band_angstrom, resp)
    fnu = flam * lp**2 / C_ANGSTROM_PER_S * FLAM_CGS_TO_JY
    return fnu, lp / 1e4


# --------------------------------------------------------------------------
# Sources of bandpasses
# --------------------------------------------------------------------------
def synthetic_fnd_bandpass(npts: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic FND curve (Angstrom, relative throughput).

    No offline package carries the FND neutral-density filter.  This smooth
    curve (logistic edges at 8.3 and 19.5 micron, gently falling inside,
    peak 1e-3 to mimic the neutral density) has a pivot wavelength of about
    12.9 micron, the value the original uses.  Real users should pass the
    pandeia FND curve with ``--bandpasses``.
    """
    wave_um = np.linspace(6.5, 24.0, npts)
    rise = 1.0 / (1.0 + np.exp(-(wave_um - 8.3) / 0.25))
    fall = 1.0 / (1.0 + np.exp((wave_um - 19.5) / 0.6))
    shape = rise * fall * (1.0 - 0.0435 * (wave_um - 8.3))
    return wave_um * 1e4, 1e-3 * np.clip(shape, 0.0, None)


def tynt_bandpass(filt: str) -> tuple[np.ndarray, np.ndarray]:
    """SVO MIRI profile from tynt (Angstrom, throughput); FND is synthetic."""
    if filt == C.FND_FILTER:
        return synthetic_fnd_bandpass()
    import tynt

    f = tynt.FilterGenerator().reconstruct(f"JWST/MIRI.{filt}")
    wave = np.asarray(f.wavelength.to_value("Angstrom"), float)
    resp = np.clip(np.asarray(f.transmittance, float), 0.0, None)
    return wave, resp


_DIGITS = re.compile(r"f0*(\d+)([wc])$")


def _filter_from_stem(stem: str) -> str | None:
    s = stem.lower()
    if s.endswith("fnd"):
        return "FND"
    m = _DIGITS.search(s)
    if not m:
        return None
    return f"F{int(m.group(1))}{m.group(2).upper()}"


def read_bandpass_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a 2- or 3-column ASCII bandpass (last two columns: wave [A], throughput).

    ``bandpass_<f>.dat`` files written by this project have a commented header
    ``wave bandpass`` with the wavelength in Angstrom.
    """
    try:
        data = np.loadtxt(path, comments="#", ndmin=2)
    except (OSError, ValueError) as exc:
        raise BandpassError(f"{path}: cannot read bandpass ({exc})") from None
    if data.shape[1] < 2 or data.shape[0] < 3:
        raise BandpassError(f"{path}: expected at least 3 rows of (wavelength, throughput)")
    wave, resp = data[:, -2], data[:, -1]
    if np.any(np.diff(wave) <= 0):
        raise BandpassError(f"{path}: wavelengths are not strictly increasing")
    if wave.max() < 1000:  # given in micron
        wave = wave * 1e4
    return wave, np.clip(resp, 0.0, None)


def load_bandpasses(source: str | Path | None = None, filters=C.ALL_FILTERS) -> dict[str, tuple]:
    """Bandpasses for ``filters`` as {filter: (wave [A], resp)}.

    ``source`` None or ``"tynt"`` gives the offline default; a directory is
    searched for files whose name ends in the filter (``bandpass_f770w.dat``,
    ``jwst_miri_f0770w.dat``, ``...fnd.dat``).  A filter missing from the
    directory is an error naming the directory.
    """
    out = {}
    if source is None or str(source) == "tynt":
        for f in filters:
            out[f] = tynt_bandpass(f)
        return out
    d = Path(source)
    if not d.is_dir():
        raise BandpassError(f"{d}: bandpass directory does not exist")
    found = {}
    for p in sorted(d.iterdir()):
        if p.suffix.lower() not in (".dat", ".txt", ".csv"):
            continue
        f = _filter_from_stem(p.stem)
        if f is None:
            continue
        if f in found:
            raise BandpassError(f"{d}: two bandpass files for {f}: {found[f].name} and {p.name}")
        found[f] = p
    missing = [f for f in filters if f not in found]
    if missing:
        raise BandpassError(f"{d}: no bandpass file for {', '.join(missing)}")
    for f in filters:
        out[f] = read_bandpass_file(found[f])
    return out


def write_bandpass(path: Path, wave, resp, source: str) -> None:
    """Write ``Models/bandpass_<f>.dat`` (commented header: wave bandpass)."""
    from .io_utils import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        fh.write(f"# source: {source}\n# wave [Angstrom], bandpass [throughput]\n# wave bandpass\n")
        for w, r in zip(wave, resp, strict=True):
            fh.write(f"{w:.6e} {r:.6e}\n")
