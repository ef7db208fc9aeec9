"""Averaging the per-dither EE tables (``meanflux1``) and SB tables (``meansb1``).

Spec sections 5 and 7.
"""

from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass

import numpy as np

from .io import NirissInputError, read_table_columns

log = logging.getLogger(__name__)

__all__ = [
    "find_ee_tables",
    "find_sb_tables",
    "combine_ee",
    "combine_ee_files",
    "combine_sb",
    "combine_sb_files",
    "avtab_table",
    "avsbtab_table",
]


def find_ee_tables(root: str, legacy: bool = False) -> list[str]:
    """``sorted(glob(root + '*.radtab'))`` without the PSF tables.

    The original drops every path that contains ``'psf'`` anywhere (B17: also a
    directory name); the corrected code tests the file name only.
    """
    files = sorted(glob.glob(glob.escape(root) + "*.radtab"))
    if legacy:
        return [f for f in files if "psf" not in f]
    return [f for f in files if "psf" not in os.path.basename(f)]


def find_sb_tables(root: str) -> list[str]:
    """``sorted(glob(root + '*.sbtab'))`` (no psf exclusion)."""
    return sorted(glob.glob(glob.escape(root) + "*.sbtab"))


@dataclass
class EECombination:
    """Result of :func:`combine_ee` (arrays indexed [file, radius] or [radius])."""

    rad: np.ndarray
    rad_as: np.ndarray
    flux: np.ndarray
    fluxerr: np.ndarray
    flag: np.ndarray
    av_flux: np.ndarray
    av_fluxerr: np.ndarray
    n_good: np.ndarray


def combine_ee(flux: np.ndarray, fluxerr: np.ndarray, legacy: bool = False):
    """The meanflux1 weighted mean over dithers (spec section 5).

    ``flag[i, j] = 0`` when ``flux[i, j] <= flux[i, j-1]`` (comparison with the previous
    *raw* value, ties count as a decrease); weights ``flag / err**2``; where no dither has
    weight, the plain mean with error ``sqrt(sum err**2) / N`` and ``n_Good = 0``.
    The corrected code (default) also gives zero weight to entries whose error is not
    positive or whose value/error is not finite (B12/B13: the original divides by zero
    or propagates NaN).

    Parameters
    ----------
    flux, fluxerr : numpy.ndarray
        Arrays of shape (nfiles, nradii).
    legacy : bool
        Keep the original's division by zero / NaN propagation.

    Returns
    -------
    (flag, av_flux, av_fluxerr, n_good)
    """
    flux = np.asarray(flux, dtype=float)
    err = np.asarray(fluxerr, dtype=float)
    n = flux.shape[0]
    flag = np.ones(flux.shape, dtype=int)
    flag[:, 1:] = np.where(flux[:, 1:] <= flux[:, :-1], 0, 1)
    wflag = flag.astype(float)
    if not legacy:
        usable = np.isfinite(flux) & np.isfinite(err) & (err > 0)
        flag = np.where(usable, flag, 0)
        wflag = flag.astype(float)
        err_w = np.where(usable, err, 1.0)
        flux_w = np.where(usable, flux, 0.0)
    else:
        err_w, flux_w = err, flux
    with np.errstate(divide="ignore", invalid="ignore"):
        W = np.sum(wflag / err_w**2, axis=0)
        S = np.sum(wflag * flux_w / err_w**2, axis=0)
        weighted = S / W
        weighted_err = 1.0 / np.sqrt(W)
    plain = np.sum(flux / n, axis=0)
    plain_err = np.sqrt(np.sum(err**2, axis=0)) / n
    ngood = np.sum(flag, axis=0)
    none = ngood == 0
    av = np.where(none, plain, weighted)
    av_err = np.where(none, plain_err, weighted_err)
    return flag, av, av_err, ngood


def combine_ee_files(files: list[str], legacy: bool = False) -> EECombination:
    """Read the EE tables (columns by position) and combine them with :func:`combine_ee`.

    Raises
    ------
    NirissInputError
        No files, unreadable tables or tables with different radii.
    """
    if not files:
        raise NirissInputError("no candidate input files are present")
    cols = [read_table_columns(f, 4, "EE table") for f in files]
    rad, rad_as = cols[0][0], cols[0][1]
    for f, c in zip(files, cols, strict=True):
        if c[0].shape != rad.shape or not np.allclose(c[0], rad):
            raise NirissInputError(f"{f}: radii differ from those of {files[0]}")
    flux = np.array([c[2] for c in cols])
    err = np.array([c[3] for c in cols])
    flag, av, av_err, ngood = combine_ee(flux, err, legacy)
    return EECombination(rad, rad_as, flux, err, flag, av, av_err, ngood)


def avtab_table(comb: EECombination, comments=None):
    """The ``.avtab`` QTable: Rad_Pix, Arcsec, (Flux{i}, Fluxerr{i}, Flag{i})..., avFlux, avFluxerr, n_Good."""
    from astropy.table import QTable

    t = QTable()
    t["Rad_Pix"] = comb.rad
    t["Rad_Pix"].info.format = "%7.0f"
    t["Arcsec"] = comb.rad_as
    t["Arcsec"].info.format = "10.4f"
    for i in range(comb.flux.shape[0]):
        t[f"Flux{i}"] = comb.flux[i]
        t[f"Flux{i}"].info.format = "13.4e"
        t[f"Fluxerr{i}"] = comb.fluxerr[i]
        t[f"Fluxerr{i}"].info.format = "13.4e"
        t[f"Flag{i}"] = comb.flag[i].astype(float)
        t[f"Flag{i}"].info.format = "5.0f"
    t["avFlux"] = comb.av_flux
    t["avFlux"].info.format = "13.4e"
    t["avFluxerr"] = comb.av_fluxerr
    t["avFluxerr"].info.format = "13.4e"
    t["n_Good"] = comb.n_good.astype(float)
    t["n_Good"].info.format = "5.0f"
    if comments:
        t.meta["comments"] = list(comments)
    return t


@dataclass
class SBCombination:
    """Result of :func:`combine_sb_files`."""

    rad: np.ndarray
    sb: np.ndarray
    sberr_out: np.ndarray
    av_sb: np.ndarray
    av_sberr: np.ndarray


def combine_sb(sb: np.ndarray, sberr: np.ndarray, legacy: bool = False):
    """The meansb1 weighted mean (spec section 7).

    Errors <= 0 are replaced by 1000 for the weights; ``av_sb = sum(w sb) / sum(w)``,
    ``av_sberr = 1/sqrt(sum w)`` if ``sum w > 0.1`` else the population std of the SB.
    The original aliased the error array, so the per-file output columns show 1000
    (B13): ``legacy=True`` keeps that, the default reports the input errors.
    NaN entries (e.g. an empty clipped annulus) get zero weight in the corrected code.

    Returns
    -------
    (sberr_out, av_sb, av_sberr)
    """
    sb = np.asarray(sb, dtype=float)
    err_in = np.asarray(sberr, dtype=float)
    err = np.where(err_in <= 0, 1000.0, err_in)
    w = 1.0 / err**2
    if not legacy:
        ok = np.isfinite(sb) & np.isfinite(err)
        w = np.where(ok, w, 0.0)
        sbw = np.where(ok, sb, 0.0)
    else:
        sbw = sb
    sw = np.sum(w, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        av = np.sum(w * sbw, axis=0) / sw
        av_err = np.where(sw > 0.1, 1.0 / np.sqrt(sw), np.std(sb, axis=0))
    return (err if legacy else err_in), av, av_err


def combine_sb_files(files: list[str], legacy: bool = False) -> SBCombination:
    """Read the SB tables (columns by position) and combine them."""
    if not files:
        raise NirissInputError("no candidate input files are present")
    cols = [read_table_columns(f, 3, "SB table") for f in files]
    rad = cols[0][0]
    for f, c in zip(files, cols, strict=True):
        if c[0].shape != rad.shape or not np.allclose(c[0], rad):
            raise NirissInputError(f"{f}: radii differ from those of {files[0]}")
    sb = np.array([c[1] for c in cols])
    err = np.array([c[2] for c in cols])
    err_out, av, av_err = combine_sb(sb, err, legacy)
    return SBCombination(rad, sb, err_out, av, av_err)


def avsbtab_table(comb: SBCombination, comments=None):
    """The ``.avsbtab`` Table: Rad_Pix (``%7.0f``), sb{i}, sberr{i}, av_sb, av_sberr (``10.5f``)."""
    from astropy.table import Table

    t = Table()
    t["Rad_Pix"] = comb.rad
    t["Rad_Pix"].info.format = "%7.0f"
    for i in range(comb.sb.shape[0]):
        t[f"sb{i}"] = comb.sb[i]
        t[f"sb{i}"].info.format = "10.5f"
        t[f"sberr{i}"] = comb.sberr_out[i]
        t[f"sberr{i}"].info.format = "10.5f"
    t["av_sb"] = comb.av_sb
    t["av_sb"].info.format = "10.5f"
    t["av_sberr"] = comb.av_sberr
    t["av_sberr"].info.format = "10.5f"
    if comments:
        t.meta["comments"] = list(comments)
    return t
