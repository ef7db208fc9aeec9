"""Step 10: the PHOTOM reference file (spec 2.2, 3.22) and its printing/comparison (spec 3.23).

Per filter (imager 9, then F1065C F1140C F1550C F2300C FND) and per subarray of
``constants.reffile_subarrays``:

* PHOTOM row: photmjsr = C / subarr_cor[subarray], uncertainty = C_unc / subarr_cor[subarray], with C and
  C_unc (std of the mean) from ``CalFacs/miri_calfactors[_bkgsub]_grieke_subarracor_timecor_<F>_ave.dat``
  (step 9; ``_bkgsub`` for the coronagraphic filters);
* TIMECOEFF_EXPONENTIAL row: t0, amplitude = fit_exp_amp, tau = -fit_exp_tau (days, positive), const;
* TIMECOEFF_LINEAR row: t0, lossperyear = -fit_linear_lossperyear (positive = loss);

from ``CalFacs/miri_calfactors[_bkgsub]_repeat_<F>_fit.dat`` (step 7).  The jwst photom step then uses
PHOTMJSR = photmjsr / ((1 - lossperyear dt/365) (amplitude exp(-dt/tau) + const)), dt = EXPMID - t0,
which is exactly the fitted product-form curve of step 7.

Differences from the original script: inputs, filters, output name (``--date``/``--version``), author and
pedigree are options (the pedigree defaults to the time span of the repeat-star data); ``meta.filename``
is the name actually written (the original wrote ``jwst_miri_photom_8oct25.fits`` into
``..._flight_8oct25.fits``); the file is validated with stdatamodels before it is published; missing or
bad inputs are one-line errors and nothing is written; provenance (software versions, CRDS context or
"offline", inputs) is recorded in HISTORY.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table

from . import calfactors as CF
from . import constants as C
from .crds_cache import _EXP_DTYPE, _LIN_DTYPE, _PHOT_DTYPE, P_EXPTYPE, _set_meta

log = logging.getLogger(__name__)

#: Filter order of the reference file (spec 3.22).
PHOTOM_FILTERS = C.IMAGER_FILTERS + C.CORON_FILTERS + (C.FND_FILTER,)
#: EXP_TYPEs the file applies to (spec 2.2; the synthetic cache's list).
PHOTOM_P_EXPTYPE = P_EXPTYPE
DEFAULT_AUTHOR = "absflux"
USEAFTER = "2022-04-01T00:00:00"
DESCRIPTION = "Photom reference file."
#: Metadata of spec 2.2 that the mirimg_photom schema may not define: set in the model when it does,
#: else written as primary-header keywords after saving.
SCHEMA_OPTIONAL_META = {"instrument.band": "N/A", "subarray.name": "GENERIC"}
PRIMARY_KEYWORDS = {"BAND": ("N/A", "wavelength band"), "SUBARRAY": ("GENERIC", "subarray used")}
HISTORY = (
    "The calibration factors are the weighted averages of the per-observation factors of the calibration "
    "stars, referred to the reference epoch t0 with the time dependence and to FULL with the subarray factors.",
    "The time dependence is given by exponential and linear fits (product form) to the time dependent "
    "calibration factors of the repeat star, referred to t0.",
)


class PhotomError(ValueError):
    """Bad inputs of the PHOTOM step (one-line message)."""


@dataclass(frozen=True)
class FilterCal:
    """Inputs of one filter: C, its uncertainty, npts, the time coefficients (fit-file convention)."""

    filt: str
    calfac: float
    calfac_unc: float
    npts: float
    time: CF.TimeCoeffs
    repeat_per: float
    ave_path: Path
    fit_path: Path
    mjd_first: float | None = None
    mjd_last: float | None = None


def ave_path(basedir, filt: str, grieke: bool = True) -> Path:
    """``CalFacs/miri_calfactors[_bkgsub][_grieke]_subarracor_timecor_<F>_ave.dat`` (step 9)."""
    opts = CF.CalfacOptions(
        basedir=Path(basedir), bkgsub=filt in C.BKGSUB_CALFAC_FILTERS, grieke=grieke, subarrcor=True, applytime=True
    )
    return CF.sidecar_path(CF.savefile_path(opts, filt), "ave")


def read_filter_inputs(basedir, filt: str, grieke: bool = True) -> FilterCal:
    """Read and check the step 7 and step 9 products of one filter.

    Raises
    ------
    PhotomError
        Missing file, missing column, too few points for the time fit, non-finite or non-positive values.
    """
    fpath = CF.repeat_fit_path(basedir, filt)
    if not fpath.is_file():
        prod = "plot_repeatability.py" if filt in C.IMAGER_FILTERS else "generate_coron_repeat_from_imager.py"
        raise PhotomError(f"{filt}: repeat-fit file {fpath} not found (run {prod} first)")
    try:
        tc = CF.read_repeat_fit(fpath, filt)
        fit = Table.read(fpath, format="ascii.commented_header")
    except CF.CalFactorError as exc:
        raise PhotomError(str(exc)) from None
    except Exception as exc:  # astropy raises several types for unreadable files
        raise PhotomError(f"{fpath}: cannot read ({exc})") from None

    def col(name, default=None):
        key = f"{name}_{filt}"
        return float(fit[key][0]) if key in fit.colnames else default

    npts, npar = col("fit_npts"), col("fit_npar")
    if npts is not None and npar is not None and not npts > npar:
        raise PhotomError(f"{filt}: the time fit in {fpath} used {npts:g} points for {npar:g} free parameters")
    vals = {"amp": tc.amp, "tau": tc.tau, "const": tc.const, "lossperyear": tc.lossperyear, "t0": tc.t0}
    bad = [k for k, v in vals.items() if not np.isfinite(v)]
    if bad:
        raise PhotomError(f"{filt}: non-finite time coefficient(s) {', '.join(bad)} in {fpath}")
    if abs(tc.amp + tc.const - 1.0) > 1e-4:
        log.warning("%s: amp + const = %.6f (not 1): photmjsr is not C(t0)", filt, tc.amp + tc.const)
    apath = ave_path(basedir, filt, grieke)
    if not apath.is_file():
        extra = " --bkgsub" if filt in C.BKGSUB_CALFAC_FILTERS else ""
        raise PhotomError(
            f"{filt}: average file {apath} not found (run plot_multi_calfacs.py --grieke --subarrcor, or "
            f"calc_calfactors.py --filter {filt} --grieke --subarrcor --applytime{extra})"
        )
    try:
        ave = Table.read(apath, format="ascii.commented_header")
        cal = float(ave[f"avecalfac_{filt}"][0])
        unc = float(ave[f"avecalfac_unc_{filt}"][0])
        n = float(ave[f"avecalfac_npts_{filt}"][0])
    except KeyError as exc:
        raise PhotomError(f"{apath}: missing column {exc}") from None
    except Exception as exc:  # astropy raises several types for unreadable files
        raise PhotomError(f"{apath}: cannot read ({exc})") from None
    if not (np.isfinite(cal) and cal > 0):
        raise PhotomError(f"{filt}: non-finite or non-positive calibration factor {cal} in {apath}")
    if not (np.isfinite(unc) and unc >= 0):
        fallback = _scatter_uncertainty(apath, filt)
        if fallback is None:
            raise PhotomError(f"{filt}: non-finite calibration-factor uncertainty {unc} in {apath}")
        unc = fallback
    if not (np.isfinite(n) and n > 0):
        raise PhotomError(f"{filt}: too few points (npts = {n}) in {apath}")
    return FilterCal(
        filt=filt,
        calfac=cal,
        calfac_unc=unc,
        npts=n,
        time=tc,
        repeat_per=col("fit_std_per", 0.0),
        ave_path=apath,
        fit_path=fpath,
        mjd_first=col("fit_mjd_first"),
        mjd_last=col("fit_mjd_last"),
    )


def _scatter_uncertainty(apath: Path, filt: str) -> float | None:
    """std/sqrt(N) of the per-observation factors (savefile next to the _ave.dat), or None.

    Step 9 leaves the uncertainty undefined (NaN) when the weights sum to 1 or less, i.e. when one star
    was observed (FND: del UMi only); the observation-to-observation scatter is the best available estimate.
    """
    per = apath.with_name(apath.name[: -len("_ave.dat")] + ".fits")
    if not per.is_file():
        return None
    try:
        v = np.asarray(Table.read(per)[f"calfac_{filt}"], float)
    except Exception:  # noqa: BLE001 - any unreadable file means no fallback
        return None
    v = v[np.isfinite(v)]
    if v.size < 2:
        return None
    unc = float(np.std(v, ddof=1) / np.sqrt(v.size))
    log.warning(
        "%s: uncertainty undefined in %s (one star): std/sqrt(N) of the %d observations in %s used (%.3g)",
        filt,
        apath.name,
        v.size,
        per.name,
        unc,
    )
    return unc


def photom_tables(cals: list[FilterCal], subarr_cor=None) -> dict[str, np.ndarray]:
    """PHOTOM, TIMECOEFF_EXPONENTIAL and TIMECOEFF_LINEAR rows (row-aligned, mirimg_photom dtypes)."""
    subarr_cor = C.SUBARR_COR if subarr_cor is None else subarr_cor
    phot, expo, lin = [], [], []
    for fc in cals:
        tc = fc.time
        for sub in C.reffile_subarrays(fc.filt):
            sc = float(subarr_cor[sub])
            key = (fc.filt.encode(), sub.encode())
            phot.append(key + (fc.calfac / sc, fc.calfac_unc / sc))
            expo.append(key + (tc.t0, tc.amp, -tc.tau, tc.const))
            lin.append(key + (tc.t0, -tc.lossperyear))
    return {
        "phot_table": np.array(phot, dtype=_PHOT_DTYPE),
        "timecoeff_exponential": np.array(expo, dtype=_EXP_DTYPE),
        "timecoeff_linear": np.array(lin, dtype=_LIN_DTYPE),
    }


def check_reffile_values(cals: list[FilterCal], tables: dict[str, np.ndarray]) -> None:
    """Physical sanity of every value the reference file will carry (before anything is written).

    photmjsr finite and > 0, its uncertainty finite and >= 0, every time coefficient finite, tau > 0
    (the file's convention) and a time correction amplitude + const > 0 at t0: the jwst photom step
    divides by these numbers, so a bad one would silently corrupt every calibrated image.

    Raises
    ------
    PhotomError
        The first bad value: filter, subarray, column, value and the input file it came from.
    """
    by_filter = {fc.filt: fc for fc in cals}
    checks = {
        "phot_table": (("photmjsr", "gt0"), ("uncertainty", "ge0")),
        "timecoeff_exponential": (("t0", "finite"), ("amplitude", "finite"), ("tau", "gt0"), ("const", "finite")),
        "timecoeff_linear": (("t0", "finite"), ("lossperyear", "finite")),
    }
    for name, cols in checks.items():
        rows = tables[name]
        for row in rows:
            filt = row["filter"].decode() if isinstance(row["filter"], bytes) else str(row["filter"])
            sub = row["subarray"].decode() if isinstance(row["subarray"], bytes) else str(row["subarray"])
            fc = by_filter.get(filt)
            src = (fc.ave_path if name == "phot_table" else fc.fit_path) if fc is not None else "inputs"
            for col, rule in cols:
                v = float(row[col])
                ok = np.isfinite(v) and (rule == "finite" or (v > 0 if rule == "gt0" else v >= 0))
                if not ok:
                    need = {"gt0": "finite and > 0", "ge0": "finite and >= 0", "finite": "finite"}[rule]
                    raise PhotomError(f"{src}: {filt} {sub}: {col} = {v:.6g} in {name} (must be {need})")
            if name == "timecoeff_exponential" and not float(row["amplitude"]) + float(row["const"]) > 0:
                raise PhotomError(
                    f"{src}: {filt} {sub}: amplitude + const = {float(row['amplitude']) + float(row['const']):.6g} "
                    "(the time correction at t0 must be > 0)"
                )


def coeff_table(cals: list[FilterCal]) -> Table:
    """The IPAC summary ``CalFacs/jwst_miri_photom_coeff.dat`` (spec 3.22; ``expconts`` spelled as the original)."""
    t = Table()
    t["filter"] = [fc.filt for fc in cals]
    t["photomjsr"] = [fc.calfac for fc in cals]
    t["expamplitude"] = [fc.time.amp for fc in cals]
    t["exptau"] = [-fc.time.tau for fc in cals]
    t["expconts"] = [fc.time.const for fc in cals]
    t["lossperyear"] = [-fc.time.lossperyear for fc in cals]
    t["startday"] = [fc.time.t0 for fc in cals]
    t["uncertainty"] = [fc.calfac_unc for fc in cals]
    return t


def latex_rows(cals: list[FilterCal], style: str = "current") -> list[str]:
    """Paper Table 6 rows.

    ``current``: F & C & loss & amp & tau & const & C_unc & C_unc% & npts & repeat% (spec 3.22);
    ``paper``: F & C & amp & amp% & tau & C_unc & C_unc% & npts & repeat% (spec 6).
    """
    rows = []
    for fc in cals:
        tc = fc.time
        cunc_per = 100.0 * fc.calfac_unc / fc.calfac
        if style == "paper":
            rows.append(
                f"{fc.filt} & {fc.calfac:.4f} & {tc.amp * fc.calfac:.4f} & {100 * tc.amp:.2f} & {-tc.tau:.1f} & "
                f"{fc.calfac_unc:.5f} & {cunc_per:.2f} & {fc.npts:.2f} & {fc.repeat_per:.2f} \\\\"
            )
        else:
            rows.append(
                f"{fc.filt} & {fc.calfac:.4f} & {-tc.lossperyear:.4f} & {tc.amp:.4f} & {-tc.tau:.1f} & "
                f"{tc.const:.4f} & {fc.calfac_unc:.5f} & {cunc_per:.2f} & {fc.npts:.2f} & {fc.repeat_per:.2f} \\\\"
            )
    return rows


def default_tag(today: _dt.date | None = None) -> str:
    """Date tag of the output name as the original used it, e.g. ``8oct25``."""
    d = today or _dt.date.today()
    return f"{d.day}{d.strftime('%b').lower()}{d.strftime('%y')}"


def output_path(basedir, date: str | None = None, version: str | None = None) -> Path:
    """``Photom/jwst_miri_photom_flight_<date or version>.fits``."""
    tag = version if version else (date or default_tag())
    if not tag or "/" in tag or tag.startswith("."):
        raise PhotomError(f"invalid date/version tag {tag!r}")
    return Path(basedir) / "Photom" / f"jwst_miri_photom_flight_{tag}.fits"


def crds_context() -> str:
    """CRDS context of this process's environment, or "offline" when none is configured."""
    ctx = os.environ.get("CRDS_CONTEXT")
    path = os.environ.get("CRDS_PATH")
    if ctx:
        return f"{ctx} ({path})" if path else ctx
    return "offline"


def _mjd_date(mjd: float) -> str:
    from astropy.time import Time

    return Time(mjd, format="mjd").to_value("iso", subfmt="date")


def default_pedigree(cals: list[FilterCal]) -> str:
    """``INFLIGHT <first> <last>`` from the repeat-star data span (falls back to t0 .. today)."""
    firsts = [fc.mjd_first for fc in cals if fc.mjd_first is not None]
    lasts = [fc.mjd_last for fc in cals if fc.mjd_last is not None]
    start = _mjd_date(min(firsts)) if firsts else _mjd_date(C.STARTDAY)
    end = _mjd_date(max(lasts)) if lasts else _dt.date.today().isoformat()
    return f"INFLIGHT {start} {end}"


def build_model(tables: dict, filename: str, author: str, pedigree: str, history=()):
    """The ``MirImgPhotomModel`` with the metadata of spec 2.2, validated (ValidationWarning -> PhotomError)."""
    from stdatamodels.jwst import datamodels as dm
    from stdatamodels.validate import ValidationWarning

    model = dm.MirImgPhotomModel(
        phot_table=tables["phot_table"],
        timecoeff_linear=tables["timecoeff_linear"],
        timecoeff_exponential=tables["timecoeff_exponential"],
    )
    m = model.meta
    m.date = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    m.filename = filename
    m.telescope = "JWST"
    m.instrument.name = "MIRI"
    m.instrument.detector = "MIRIMAGE"
    m.exposure.type = "MIR_IMAGE"
    m.exposure.p_exptype = PHOTOM_P_EXPTYPE
    m.photometry.pixelarea_steradians = C.PHOTOM_PIXELAREA_SR
    m.photometry.pixelarea_arcsecsq = C.PHOTOM_PIXELAREA_ARCSEC2
    for key, value in SCHEMA_OPTIONAL_META.items():
        _set_meta(model, key, value)
    m.reftype = "PHOTOM"
    m.author = author
    m.pedigree = pedigree
    m.useafter = USEAFTER
    m.description = DESCRIPTION
    for line in (*HISTORY, *history):
        model.add_history_entry(line)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ValidationWarning)
        try:
            model.validate()
        except (ValidationWarning, Exception) as exc:  # jsonschema and stdatamodels raise several types
            raise PhotomError(f"the PHOTOM model does not validate: {str(exc).splitlines()[0]}") from None
    return model


def write_model(model, path: Path) -> None:
    """Write ``model`` as FITS to ``path`` (any name; ``meta.filename`` is left as set)."""
    from astropy.io import fits

    with open(path, "wb") as fh:
        model.to_fits(fh, overwrite=True)
    with fits.open(path, mode="update") as hdul:
        for key, (value, comment) in PRIMARY_KEYWORDS.items():
            if key not in hdul[0].header:
                hdul[0].header[key] = (value, comment)


def validate_file(path) -> None:
    """Re-open a written PHOTOM file with strict stdatamodels validation (raises PhotomError)."""
    from astropy.io import fits
    from stdatamodels.jwst import datamodels as dm

    try:
        with fits.open(path) as hdul, dm.MirImgPhotomModel(hdul, strict_validation=True) as m:
            m.validate()
            n = len(m.phot_table)
            if len(m.timecoeff_exponential) != n or len(m.timecoeff_linear) != n:
                raise PhotomError(f"{path}: the time tables are not row-aligned with PHOTOM")
    except PhotomError:
        raise
    except Exception as exc:  # noqa: BLE001 - report any validation failure in one line
        raise PhotomError(f"{path}: does not validate ({str(exc).splitlines()[0]})") from None


def selected_filters(filters=None) -> list[str]:
    """The requested filters in reference-file order (default all of ``PHOTOM_FILTERS``)."""
    filters = list(filters) if filters else list(PHOTOM_FILTERS)
    unknown = [f for f in filters if f not in C.ALL_FILTERS]
    if unknown:
        raise PhotomError(f"unknown filter(s) {', '.join(unknown)}")
    return [f for f in PHOTOM_FILTERS if f in filters]


def run_create_photom(
    basedir,
    filters=None,
    date: str | None = None,
    version: str | None = None,
    author: str = DEFAULT_AUTHOR,
    pedigree: str | None = None,
    grieke: bool = True,
    table_style: str = "current",
    options: dict | None = None,
) -> tuple[Path, list[Path], list[str]]:
    """Write the PHOTOM reference file and the IPAC coefficient summary (create_photom_reffile.py).

    Returns
    -------
    path, written, latex
        The reference file, every written file, and the Table 6 rows (for stdout).

    Raises
    ------
    PhotomError
        Any bad input; nothing is written then.
    """
    from .io_utils import OutputSet, provenance, provenance_lines, write_table

    basedir = Path(basedir)
    if not basedir.is_dir():
        raise PhotomError(f"{basedir}: base directory does not exist")
    filters = selected_filters(filters)
    cals = [read_filter_inputs(basedir, f, grieke) for f in filters]
    path = output_path(basedir, date, version)
    inputs = [p for fc in cals for p in (fc.ave_path, fc.fit_path)]
    prov = provenance(
        "create_photom_reffile.py",
        inputs=inputs,
        options=options or {},
        notes=[f"CRDS context: {crds_context()}"],
    )
    tables = photom_tables(cals)
    check_reffile_values(cals, tables)
    model = build_model(
        tables,
        path.name,
        author,
        pedigree or default_pedigree(cals),
        history=[ln for ln in provenance_lines(prov) if not ln.startswith("options:")],
    )
    latex = latex_rows(cals, table_style)
    with OutputSet() as out:
        tmp = out.stage(path)
        write_model(model, tmp)
        validate_file(tmp)
        write_table(
            coeff_table(cals), out.stage(basedir / "CalFacs" / "jwst_miri_photom_coeff.dat"), "ascii.ipac", prov
        )
        written = out.finals
    model.close()
    for p in written:
        log.info("wrote %s", p)
    return path, written, latex


# --------------------------------------------------------------------------
# Reading photom files (current and old format) - print_photom_table.py, plot_srctype_allobs.py
# --------------------------------------------------------------------------
def read_photom_tables(path) -> dict[str, Table]:
    """Binary tables of a MIRI imager photom file: PHOTOM and the time tables present (string columns stripped)."""
    from astropy.io import fits

    path = Path(path)
    if not path.is_file():
        raise PhotomError(f"{path}: photom file does not exist")
    out = {}
    try:
        with fits.open(path) as hdul:
            for h in hdul[1:]:
                if h.name in ("PHOTOM", "TIMECOEFF", "TIMECOEFF_LINEAR", "TIMECOEFF_EXPONENTIAL"):
                    t = Table(h.data)
                    for c in t.colnames:
                        if t[c].dtype.kind in "SU":
                            t[c] = np.char.strip(np.asarray(t[c]).astype(str))
                    out[h.name] = t
    except OSError as exc:
        raise PhotomError(f"{path}: cannot read ({exc})") from None
    if "PHOTOM" not in out:
        raise PhotomError(f"{path}: no PHOTOM extension")
    return out


def filter_rows(tables: dict[str, Table], filt: str) -> dict[str, Table]:
    """Rows of ``filt`` in every table (the old-format TIMECOEFF has no filter column: row-aligned)."""
    sel = np.asarray(tables["PHOTOM"]["filter"]) == filt
    out = {}
    for name, t in tables.items():
        out[name] = t[np.asarray(t["filter"]) == filt] if "filter" in t.colnames else t[sel]
    return out


def full_row(tables: dict[str, Table], filt: str) -> tuple[float, float]:
    """photmjsr and uncertainty of the FULL (or GENERIC) row of ``filt``."""
    ph = tables["PHOTOM"]
    f = np.asarray(ph["filter"])
    s = np.asarray(ph["subarray"])
    for sub in ("FULL", "GENERIC"):
        idx = np.flatnonzero((f == filt) & (s == sub))
        if idx.size:
            i = int(idx[0])
            unc = float(ph["uncertainty"][i]) if "uncertainty" in ph.colnames else float("nan")
            return float(ph["photmjsr"][i]), unc
    raise PhotomError(f"no {filt} FULL row in the photom file")


def print_filter_lines(path, filt: str) -> list[str]:
    """Rows of ``filt`` in every table of a photom file, plus "p amp" = 100 amplitude / photmjsr (spec 3.23)."""
    tables = read_photom_tables(path)
    rows = filter_rows(tables, filt)
    lines = [f"{Path(path).name}: {filt}"]
    for name, t in rows.items():
        lines.append(f"  {name}:")
        lines += ["    " + ln for ln in t.pformat(max_lines=-1, max_width=-1)]
    ph = rows["PHOTOM"]
    if "TIMECOEFF" in rows and len(rows["TIMECOEFF"]) == len(ph):
        pamp = 100.0 * np.asarray(rows["TIMECOEFF"]["amplitude"], float) / np.asarray(ph["photmjsr"], float)
        lines.append("  p amp [%]: " + " ".join(f"{s}={p:.3f}" for s, p in zip(ph["subarray"], pamp, strict=True)))
    if "TIMECOEFF_EXPONENTIAL" in rows and len(rows["TIMECOEFF_EXPONENTIAL"]):
        amp = np.asarray(rows["TIMECOEFF_EXPONENTIAL"]["amplitude"], float)
        lines.append("  p amp [%]: " + " ".join(f"{s}={100 * a:.3f}" for s, a in zip(ph["subarray"], amp, strict=True)))
    return lines


def compare_lines(old, new, filters=None) -> list[str]:
    """photmjsr(old) / photmjsr(new), filter, subarray, new value for every row of ``old`` (Utils/comp_photom)."""
    a = read_photom_tables(old)["PHOTOM"]
    b = read_photom_tables(new)["PHOTOM"]
    idx = {(str(f), str(s)): float(v) for f, s, v in zip(b["filter"], b["subarray"], b["photmjsr"], strict=True)}
    lines = []
    for f, s, v in zip(a["filter"], a["subarray"], a["photmjsr"], strict=True):
        if filters and f not in filters:
            continue
        nv = idx.get((str(f), str(s)))
        if nv is None:
            lines.append(f"{'-':>8s} {f:8s} {s:14s} (not in {Path(new).name})")
        else:
            lines.append(f"{float(v) / nv:8.4f} {f:8s} {s:14s} {nv:.5f}")
    return lines
