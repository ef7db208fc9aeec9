"""Paper tables: observation log (Tables 1-3) and the machine-readable data table (spec 3.36, 3.37).

* :func:`collect_observations` / :func:`obstable_latex` - per star type, star, program and subarray
  the filters observed, read from the primary headers of ``T/F/*uncal.fits``;
* :func:`filter_list_order` - the filter order of a row (F560W, F770W first, then lexicographic).
  The original moved F770W/F560W to the front by dropping the *last* element of the sorted list,
  which silently dropped FND whenever it was observed (spec 3.36 [FRAGILE]); here every filter is kept;
* :func:`read_photom_calfactors` - C(t) per (filter, subarray) from a photom file of the current
  (spec 2.2), old (2.3) or constant format;
* :func:`build_datatable` - the machine-readable table from the photometry tables of all star types.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

import numpy as np
from astropy.table import Table

from . import constants as C
from .calfactors import PhotomReference, read_photom_models

log = logging.getLogger(__name__)

#: Sort key of the data table: nominal wavelength, coronagraphic filters after the imager (spec 3.37).
DATATABLE_SORT_WAVE = {f: C.NOMINAL_WAVELENGTH[f] for f in C.IMAGER_FILTERS} | {
    "FND": 13.0,
    "F1065C": 106.5,
    "F1140C": 114.0,
    "F1550C": 155.0,
    "F2300C": 230.0,
}


class TableError(ValueError):
    """Bad or missing input of a paper table."""


# --------------------------------------------------------------------------
# Tables 1-3
# --------------------------------------------------------------------------
def program_id(program) -> str:
    """PID as printed: header PROGRAM without its first character ("01536" -> "1536")."""
    p = str(program).strip()
    return p[1:] if len(p) == 5 else p.lstrip("0") or p


def obstable_name(targname: str) -> str:
    """Canonical star name of a header TARGNAME (aliases of spec 0.5)."""
    return C.canonical_name(targname)


def filter_list_order(filters) -> list[str]:
    """Filters of one row: sorted lexicographically, then F560W and F770W moved to the front.

    Unlike the original (which dropped the last element of the sorted list), no filter is lost.
    """
    rest = sorted(set(filters) - {"F560W", "F770W"})
    return [f for f in ("F560W", "F770W") if f in set(filters)] + rest


def collect_observations(root, startypes=C.STAR_TYPES, filters=C.ALL_FILTERS) -> dict:
    """Observations of a campaign from the uncal primary headers.

    Parameters
    ----------
    root : str or Path
        Campaign root holding ``T/F/*uncal.fits``.
    startypes, filters : iterable of str
        Star-type directories and filter directories to scan.

    Returns
    -------
    dict
        ``{startype: {star: {pid: {subarray: set(filters)}}}}`` (header FILTER used).
    """
    from astropy.io import fits

    root = Path(root)
    out: dict = {}
    for t in startypes:
        stars: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(set)))
        for f in filters:
            for path in sorted((root / t / f).glob("*uncal.fits")):
                try:
                    h = fits.getheader(path, 0)
                    name = obstable_name(str(h["TARGNAME"]))
                    stars[name][program_id(h["PROGRAM"])][str(h["SUBARRAY"]).strip()].add(str(h["FILTER"]).strip())
                except (OSError, KeyError) as exc:
                    raise TableError(f"{path}: cannot read TARGNAME/PROGRAM/SUBARRAY/FILTER ({exc})") from None
        if stars:
            out[t] = stars
    return out


def obstable_latex(obs: dict) -> list[str]:
    """LaTeX rows of Tables 1-3 (spec 3.36).

    Per star type a header row, then per star (sorted), per PID, per subarray (sorted)
    ``name & PID & subarray & filters \\\\`` with name and PID blank on continuation rows.
    """
    lines = []
    for t in C.STAR_TYPES:
        if t not in obs:
            continue
        label = C.STAR_TYPE_LABEL.get(t, t)
        lines.append(rf"\hline \multicolumn{{4}}{{c}}{{{label}}} \\ \hline")
        for star in sorted(obs[t]):
            first_star = True
            for pid in sorted(obs[t][star], key=lambda p: (len(p), p)):
                first_pid = True
                for sub in sorted(obs[t][star][pid]):
                    filts = ", ".join(filter_list_order(obs[t][star][pid][sub]))
                    n = star if first_star else ""
                    p = pid if first_pid else ""
                    lines.append(f"{n} & {p} & {sub} & {filts} \\\\")
                    first_star = first_pid = False
    return lines


# --------------------------------------------------------------------------
# Photom files
# --------------------------------------------------------------------------
def read_photom_calfactors(path) -> tuple[dict[tuple[str, str], PhotomReference], dict[tuple[str, str], float]]:
    """C(t) models and uncertainties per (filter, subarray) of a photom file (see calfactors.read_photom_models)."""
    return read_photom_models(path, error=TableError)


# --------------------------------------------------------------------------
# Machine-readable data table
# --------------------------------------------------------------------------
DATATABLE_UNITS = {
    "PID": None,
    "time": "d",
    "pixrate": "DN/s",
    "pixwelldepth": "DN",
    "inttime": "s",
    "iflux": "DN/s",
    "ifluxunc": "DN/s",
    "ibkg": "DN/s",
    "flux": "mJy",
    "fluxunc": "mJy",
    "bkg": "MJy/sr",
}
DATATABLE_DESCRIPTIONS = {
    "name": "Star name",
    "PID": "JWST program identifier",
    "srctype": "Star type (HotStars, ADwarfs, SolarAnalogs)",
    "filter": "MIRI filter",
    "subarray": "Detector subarray",
    "time": "Mid-exposure time (MJD)",
    "pixrate": "Peak pixel count rate",
    "pixwelldepth": "Peak pixel counts in one integration (tgroup x ngroups x pixrate)",
    "inttime": "Integration time (tgroup x ngroups)",
    "iflux": "Background-subtracted aperture count rate",
    "ifluxunc": "Uncertainty of iflux",
    "ibkg": "Mean background count rate per pixel",
    "flux": "Aperture-corrected flux density",
    "fluxunc": "Uncertainty of flux",
    "bkg": "Background surface brightness",
}


def phot_path(root, startype: str, filt: str, eefraction: float = C.EE_FRACTION_PHOT) -> Path:
    """``T/F_eefrac<e>_phot.fits`` of a campaign root."""
    return Path(root) / startype / f"{filt}_eefrac{eefraction:g}_phot.fits"


def build_datatable(
    root,
    photom,
    startypes=C.STAR_TYPES,
    filters=C.IMAGER_FILTERS + C.CORON_FILTERS,
    eefraction: float = C.EE_FRACTION_PHOT,
    pixarea: str = "photom",
) -> tuple[Table, list[Path], list[str]]:
    """The machine-readable data table (spec 3.37) from the photometry tables.

    Parameters
    ----------
    root : str or Path
        Campaign root with ``T/F_eefrac<e>_phot.fits``.
    photom : str or Path
        Photom reference file giving C(t) per (filter, subarray).
    startypes, filters : iterable of str
        Star types and filters to include (paper: the three types, 13 filters without FND).
    eefraction : float
        EE fraction of the photometry tables.
    pixarea : {"photom", "table"}
        Pixel area in the flux conversion: the photom-metadata area 2.8606e-13 sr of the original
        (spec 3.37 [FRAGILE]) or the ``pixarea`` column of the photometry table (consistent with C).

    Returns
    -------
    (Table, list of Path, list of str)
        The sorted table, the photometry tables read, and messages about missing inputs.
    """
    refs, _ = read_photom_calfactors(photom)
    rows, used, missing = [], [], []
    for t in startypes:
        for f in filters:
            p = phot_path(root, t, f, eefraction)
            if not p.is_file():
                if (Path(root) / t / f).is_dir():  # observed (or at least a data folder) but not measured
                    missing.append(f"{p}: no photometry table")
                continue
            used.append(p)
            tab = Table.read(p)
            for r in tab:
                sub = str(r["subarray"]).strip()
                key = (f, sub) if (f, sub) in refs else (f, "FULL")
                if key not in refs:
                    missing.append(f"{photom}: no {f} row (needed by {p.name})")
                    break
                ct = float(refs[key].calfactor(float(r["timemid"])))
                area = C.PHOTOM_PIXELAREA_SR if pixarea == "photom" else float(r["pixarea"])
                conv = 1e9 * float(r["apcorr"]) * area * ct
                tint = float(r["tgroup"]) * float(r["ngroups"])
                rows.append(
                    (
                        C.canonical_name(str(r["name"])),
                        int(r["program"]),
                        t,
                        f,
                        sub,
                        float(r["timemid"]),
                        float(r["pix_max"]),
                        tint * float(r["pix_max"]),
                        tint,
                        float(r["aperture_sum_bkgsub"]),
                        float(r["aperture_sum_bkgsub_err"]),
                        float(r["mean_bkg"]),
                        float(r["aperture_sum_bkgsub"]) * conv,
                        float(r["aperture_sum_bkgsub_err"]) * conv,
                        float(r["mean_bkg"]) * ct,
                    )
                )
    names = ["name", "PID", "srctype", "filter", "subarray", "time", "pixrate", "pixwelldepth", "inttime"]
    names += ["iflux", "ifluxunc", "ibkg", "flux", "fluxunc", "bkg"]
    if not rows:
        return Table(names=names, dtype=[str] * 5 + [float] * 10), used, missing
    rows.sort(key=lambda r: (r[0], DATATABLE_SORT_WAVE.get(r[3], 999.0), r[5]))
    cols = list(zip(*rows, strict=True))
    out = Table()
    for k, n in enumerate(names):
        if n == "PID":
            out[n] = np.asarray(cols[k], dtype=np.int32)
        elif k < 5:
            out[n] = np.asarray(cols[k], dtype=str)
        elif n == "time":  # float32 MJD would lose ~0.004 d; the MRT writer also rejects it
            out[n] = np.asarray(cols[k], dtype=np.float64)
        else:
            out[n] = np.asarray(cols[k], dtype=np.float32)
        if DATATABLE_UNITS.get(n):
            out[n].unit = DATATABLE_UNITS[n]
        out[n].description = DATATABLE_DESCRIPTIONS[n]
    return out, used, missing


def datatable_latex_formats(table: Table) -> dict[str, str]:
    """Number formats of the AASTeX version: time .1f, inttime .2f, other floats .2e (spec 3.37)."""
    fmts = {}
    for n in table.colnames:
        if n == "time":
            fmts[n] = "%.1f"
        elif n == "inttime":
            fmts[n] = "%.2f"
        elif table[n].dtype.kind == "f":
            fmts[n] = "%.2e"
    return fmts
