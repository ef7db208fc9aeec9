"""Aperture-corrected total count rates (``totfluxes``, spec section 8).

For filter f:  ``CR_tot = c_f * mean_{r in R} [ max_d CR_d(r) / EE_f(r) ]`` and
``err = c_f * max_{r in R} [ err_d*(r) / EE_f(r) ]``, where d runs over the per-dither EE
tables ``<f>_<sub>*a.radtab``, ``EE_f`` is the WebbPSF table ``<f>_psf.radtab``, R the
aperture-correction radii (7, 8, 9 px in the original code) and ``c_f = 0.84`` for the
CLEARP (LW) filters, whose WebbPSF tables include the CLEARP obscuration.

Corrections of the original (spec section 11): results are indexed by filter and the
0.84 factor is chosen by filter name (B5: the original shifted every later result one slot
left when a filter was missing); ``full`` is an accepted subarray; the subarray is matched
case-insensitively; the radii are given by value (B6); the table is written with
``ascii.fixed_width`` (B4: the original's ``ascii.fixed_format`` does not exist).
"""

from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass, field

import numpy as np

from . import constants as C
from .io import NirissInputError, read_table_columns

log = logging.getLogger(__name__)

__all__ = ["FilterTotal", "total_countrates", "filter_total", "totfluxes_table", "printout", "read_psf_table"]


@dataclass
class FilterTotal:
    """Total count rate of one filter (NaN when not measured)."""

    filter: str
    countrate: float = np.nan
    error: float = np.nan
    files: list = field(default_factory=list)
    message: str = ""


def read_psf_table(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Radius and EE columns (1st and 3rd, by position) of a WebbPSF ``*_psf.radtab``."""
    cols = read_table_columns(path, 4, "PSF EE table")
    return cols[0], cols[2]


def filter_total(
    files: list[str],
    psf_path: str,
    radii=C.APCOR_RADII,
    factor: float = 1.0,
    combine: str = "max",
) -> tuple[float, float]:
    """Aperture-corrected total of one filter from its per-dither EE tables.

    Parameters
    ----------
    files : list of str
        Per-dither EE tables (columns by position: radius, arcsec, CountRate, err).
    psf_path : str
        WebbPSF EE table of the filter.
    radii : sequence of float
        Aperture-correction radii [px]; they must be present in both tables.
    factor : float
        ``c_f`` (0.84 for the LW filters, 1 otherwise).
    combine : {'max', 'wmean'}
        Per-radius maximum over the dithers (original; the error is that of the same
        dither, ties keep the earlier file) or the meanflux1 weighted mean.

    Returns
    -------
    (float, float)
        Total count rate and its error [e-/s].
    """
    from .combine import combine_ee

    tabs = [read_table_columns(f, 4, "EE table") for f in files]
    rad = tabs[0][0]
    for f, t in zip(files, tabs, strict=True):
        if t[0].shape != rad.shape or not np.allclose(t[0], rad):
            raise NirissInputError(f"{f}: radii differ from those of {files[0]}")
    cr = np.array([t[2] for t in tabs])
    er = np.array([t[3] for t in tabs])
    if combine == "max":
        best = np.zeros(rad.size, dtype=int)
        for d in range(1, cr.shape[0]):
            better = cr[d] > cr[best, np.arange(rad.size)]
            best = np.where(better, d, best)
        cmax = cr[best, np.arange(rad.size)]
        emax = er[best, np.arange(rad.size)]
    elif combine == "wmean":
        _flag, cmax, emax, _n = combine_ee(cr, er)
    else:
        raise ValueError(f"unknown combine mode {combine!r}")
    prad, ee = read_psf_table(psf_path)
    idx_t, idx_p = [], []
    for r in radii:
        it = np.nonzero(np.isclose(rad, r))[0]
        ip = np.nonzero(np.isclose(prad, r))[0]
        if it.size == 0:
            raise NirissInputError(f"{files[0]}: aperture-correction radius {r:g} px not in the EE table")
        if ip.size == 0:
            raise NirissInputError(f"{psf_path}: aperture-correction radius {r:g} px not in the PSF table")
        idx_t.append(it[0])
        idx_p.append(ip[0])
    tot = cmax[idx_t] / ee[idx_p]
    etot = emax[idx_t] / ee[idx_p]
    return factor * float(np.mean(tot)), factor * float(np.max(etot))


def total_countrates(
    subarray: str,
    indir: str = ".",
    psfdir: str = ".",
    radii=C.APCOR_RADII,
    suffix: str = "a",
    clearp_factor: float = C.CLEARP_FACTOR,
    combine: str = "max",
    filters=C.FILTERS,
) -> list[FilterTotal]:
    """Totals of all filters for one subarray.

    Parameters
    ----------
    subarray : str
        One of :data:`constants.TOTFLUX_SUBARRAYS` (case-insensitive).
    indir : str
        Directory holding the per-dither EE tables ``<f>_<sub>*<suffix>.radtab``.
    psfdir : str
        Directory holding ``<f>_psf.radtab``.
    radii : sequence of float
        Aperture-correction radii [px].
    suffix : str
        The file-name ending before ``.radtab`` (``'a'``: the median-mode outputs).
    clearp_factor : float
        Factor for the LW filters (0.84).
    combine : {'max', 'wmean'}
        See :func:`filter_total`.
    filters : sequence of str
        Filters to process, in output order.

    Returns
    -------
    list of FilterTotal
        One entry per filter, in the order of *filters*.

    Raises
    ------
    NirissInputError
        Unknown subarray, or no EE table for any filter.
    """
    sub = subarray.lower()
    if sub not in C.TOTFLUX_SUBARRAYS:
        raise NirissInputError(f"{subarray} is not a NIRISS subarray (one of {', '.join(C.TOTFLUX_SUBARRAYS)})")
    out = []
    for f in filters:
        fl = f.lower()
        pattern = os.path.join(glob.escape(indir), f"{fl}_{sub}*{glob.escape(suffix)}.radtab")
        files = sorted(glob.glob(pattern))
        res = FilterTotal(f.upper(), files=files)
        if not files:
            res.message = f"Filter  {fl} : no candidate input files are present."
            out.append(res)
            continue
        psf = os.path.join(psfdir, f"{fl}_psf.radtab")
        if not os.path.isfile(psf):
            res.message = f"Filter  {fl} : WebbPSF EE table {psf} is not present."
            out.append(res)
            continue
        factor = clearp_factor if f.upper() in C.LW_FILTERS else 1.0
        res.countrate, res.error = filter_total(files, psf, radii, factor, combine)
        out.append(res)
    if not any(r.files for r in out):
        raise NirissInputError(
            f"{os.path.join(indir, '')}: no EE tables <filter>_{sub}*{suffix}.radtab for subarray {subarray}"
        )
    if all(np.isnan(r.countrate) for r in out):
        raise NirissInputError(f"{psfdir}: no WebbPSF EE table <filter>_psf.radtab for the measured filters")
    return out


def totfluxes_table(results: list[FilterTotal], comments=None):
    """Table ``Filter``, ``CountRate``, ``CountRateErr`` (``12.3e``) for ``ascii.fixed_width``."""
    from astropy.table import Table

    t = Table()
    t["Filter"] = [r.filter for r in results]
    t["CountRate"] = [r.countrate for r in results]
    t["CountRate"].info.format = "12.3e"
    t["CountRateErr"] = [r.error for r in results]
    t["CountRateErr"].info.format = "12.3e"
    if comments:
        t.meta["comments"] = list(comments)
    return t


def format_row(values) -> str:
    """``%.3e`` values, each right-aligned in a 10-character field."""
    return "".join(f"{v:10.3e}" for v in values)


def format_header(names) -> str:
    """Filter names right-aligned in 10-character fields (aligned with :func:`format_row`)."""
    return "".join(f"{n:>10s}" for n in names)


def printout(results: list[FilterTotal], star: str = C.DEFAULT_STAR) -> str:
    """The intended three-part printout: title, filter header, count rates, errors."""
    lines = [
        f"# {star} Measured Count Rates",
        format_header([r.filter for r in results]),
        format_row([r.countrate for r in results]),
        format_row([r.error for r in results]),
    ]
    return "\n".join(lines)
