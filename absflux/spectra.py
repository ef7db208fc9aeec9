"""Synthetic stellar spectra of the simulated campaign, and model-file I/O.

The embedded default cannot ship the real CALSPEC spectra (they are not on
PyPI), so the simulator writes synthetic ones in the CALSPEC FITS layout
(``Models/<key>_stis_NNN.fits``: WAVELENGTH [A], FLUX [erg s-1 cm-2 A-1],
STATERROR, SYSERROR, FWHM, DATAQUAL, TOTEXP) and, for the solar analogs, in
the G. Rieke ASCII layout (``Models/grieke23_<key>.dat``: wave_um,
flux_W_cm-2_um-1).  The shape is a blackbody of the star's effective
temperature normalised to the star's real 7.7 micron flux density (from the
2022 CALSPEC spectra), so count rates are realistic.  For the G. Rieke stars
the CALSPEC-format copy is deliberately offset by a few per cent
(``CALSPEC_GRIEKE_OFFSET``), mimicking the CALSPEC-vs-model differences noted
for the solar analogs; the G. Rieke model is then the truth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from . import constants as C

H_CGS = 6.62607015e-27
K_CGS = 1.380649e-16
C_CGS = 2.99792458e10

#: Relative offset of the CALSPEC-format copy of each G. Rieke star (truth is
#: the G. Rieke model).  Deterministic, a few per cent, in the sense of the
#: notes of the original ("CALSPEC high by 5-15%" for some stars).
CALSPEC_GRIEKE_OFFSET = {
    "p177d": 0.010,
    "p330e": 0.015,
    "16cygb": 0.060,
    "18sco": 0.020,
    "hd106252": 0.015,
    "hd142331": 0.010,
    "hd159222": 0.020,
    "hd167060": 0.080,
    "hd205905": 0.015,
    "hd37962": 0.070,
    "ngc2506g31": 0.010,
}


def wavelength_grid() -> np.ndarray:
    """Wavelength grid [Angstrom] of the synthetic spectra: 0.3-32 micron."""
    return np.geomspace(3000.0, 320000.0, 4000)


def blackbody_flambda(wave_angstrom, teff) -> np.ndarray:
    """Planck B_lambda shape (arbitrary normalisation) at ``wave_angstrom``."""
    lam = np.asarray(wave_angstrom, float) * 1e-8
    x = H_CGS * C_CGS / (lam * K_CGS * teff)
    return 1.0 / (lam**5 * np.expm1(x))


def star_spectrum(star: C.Star, wave_angstrom=None) -> tuple[np.ndarray, np.ndarray]:
    """True F_lambda [erg s-1 cm-2 A-1] of a simulated star.

    Normalised so that F_nu(7.7 micron) equals ``star.fnu_7p7`` Jy.
    """
    wave = wavelength_grid() if wave_angstrom is None else np.asarray(wave_angstrom, float)
    shape = blackbody_flambda(wave, star.teff)
    ref = blackbody_flambda(np.array([77000.0]), star.teff)[0]
    flam_ref = star.fnu_7p7 * 1e-23 * C_CGS * 1e8 / 77000.0**2
    return wave, shape * (flam_ref / ref)


def calspec_spectrum(star: C.Star, wave_angstrom=None) -> tuple[np.ndarray, np.ndarray]:
    """F_lambda of the CALSPEC-format model of a simulated star (offset for G. Rieke stars)."""
    wave, flam = star_spectrum(star, wave_angstrom)
    off = CALSPEC_GRIEKE_OFFSET.get(star.model_key, 0.0) if star.grieke else 0.0
    return wave, flam * (1.0 + off)


def write_calspec_fits(path: Path, star: C.Star, wave, flam, history: str = "") -> None:
    """Write a spectrum in the CALSPEC binary-table layout (atomically)."""
    wave = np.asarray(wave, float)
    flam = np.asarray(flam, float)
    cols = [
        fits.Column("WAVELENGTH", "D", unit="ANGSTROMS", array=wave),
        fits.Column("FLUX", "E", unit="FLAM", array=flam),
        fits.Column("STATERROR", "E", unit="FLAM", array=0.001 * flam),
        fits.Column("SYSERROR", "E", unit="FLAM", array=0.005 * flam),
        fits.Column("FWHM", "E", unit="ANGSTROMS", array=wave / 300.0),
        fits.Column("DATAQUAL", "I", unit="NONE", array=np.ones(wave.size, np.int16)),
        fits.Column("TOTEXP", "E", unit="SEC", array=np.zeros(wave.size)),
    ]
    hdr = fits.Header()
    hdr["TARGETID"] = star.model_key.upper()
    hdr["SIMULATD"] = (True, "synthetic spectrum of the absflux simulated campaign")
    hdr["SPTYPE"] = star.sptype
    hdr["TEFF"] = (star.teff, "[K] blackbody temperature of the synthetic shape")
    hdr["FNU7P7"] = (star.fnu_7p7, "[Jy] normalisation at 7.7 micron")
    if history:
        hdr["HISTORY"] = history
    hdul = fits.HDUList([fits.PrimaryHDU(header=hdr), fits.BinTableHDU.from_columns(cols, name="SCI")])
    _atomic_writeto(hdul, Path(path))


def write_grieke_dat(path: Path, star: C.Star, wave_angstrom, flam_cgs) -> None:
    """Write a G. Rieke-format model: columns wave_um, flux_W_cm-2_um-1."""
    wave_um = np.asarray(wave_angstrom, float) / 1e4
    # erg s-1 cm-2 A-1 -> W cm-2 um-1: 1e-7 W/erg x 1e4 A/um
    flux = np.asarray(flam_cgs, float) * 1e-3
    from .io_utils import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        fh.write(f"# synthetic G. Rieke-format model of {star.name} (absflux simulated campaign)\n")
        fh.write("wave_um flux_W_cm-2_um-1\n")
        for w, f in zip(wave_um, flux, strict=True):
            fh.write(f"{w:.6e} {f:.6e}\n")


def read_calspec(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read WAVELENGTH [A] and FLUX [erg s-1 cm-2 A-1] of a CALSPEC FITS file."""
    with fits.open(path) as hdul:
        d = hdul[1].data
        return np.asarray(d["WAVELENGTH"], float), np.asarray(d["FLUX"], float)


def read_grieke(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a G. Rieke model; returns wave [A] and F_lambda [erg s-1 cm-2 A-1]."""
    from astropy.io import ascii

    t = ascii.read(path, comment="#")
    return np.asarray(t["wave_um"], float) * 1e4, np.asarray(t["flux_W_cm-2_um-1"], float) * 1e3


def _atomic_writeto(hdul: fits.HDUList, path: Path) -> None:
    from .io_utils import atomic_path

    # unique temporary removed on any failure (io_utils), renamed on success
    with atomic_path(path) as tmp:
        hdul.writeto(tmp, overwrite=True)
