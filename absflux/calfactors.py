"""Step 9: calibration factors, their statistics and diagnostics (spec 3.14 and 3.16).

The calibration factor of one observation is

    C = 1e-6 F_model[Jy] / (rate[DN/s] x apcorr x pixel area[sr])    in (MJy/sr)/(DN/s/pix)

with ``rate`` the background-subtracted aperture sum of the photometry table
(step 5, spec 3.8.1), optionally referred to t0 = 59720 with the time
dependence (``--applytime``) and to the FULL array with the subarray factors
(``--subarrcor``).  The average of a filter is the sigma-clipped weighted mean
of :func:`compute_stats` with weight 1/N_obs per star.

The module is organised as pure functions (file names, reading and checking
tables, calibration factors, statistics, binned statistics, time fit, output
tables) plus plotting helpers and the two drivers used by the scripts
``calc_calfactors.py`` and ``plot_multi_calfacs.py``.

Differences from the original scripts (bugs fixed, see spec section 7):

* savefile names encode every option that changes the numbers, in one order
  shared with the photometry-table names: ``_bkgsub``, ``_indivmos``,
  ``_indivcals``, ``_repeat``, ``_subtrans``, ``_grieke``, ``_subarracor``,
  ``_timecor`` (the original replaced ``_bkgsub`` by ``_indivmos``/``_indivcals``
  and left ``_subtrans`` out, overwriting the plain file).  With ``--repeat`` the
  time-fit sidecar is ``..._repeat_<F>_calfit.dat`` because ``..._repeat_<F>_fit.dat``
  is the time-dependence step's product that ``--applytime`` reads (the original
  overwrote it);
* ``calfac_<F>_med_dev`` is C / median (the original divided by the std) and
  ``modflux_<F>`` is always the model flux in mJy (the original stored whatever
  the x axis was, e.g. the integration time for ``--detmulti``);
* the photometry tables are looked up (and read) below ``basedir`` with their
  full names (the original tested existence relative to the CWD without the
  indivmos/indivcals suffixes);
* an ``eefraction`` recorded in a photometry table's metadata is compared with
  ``np.isclose``;
* the categorical x jitter uses a seeded generator; figures are written to
  files (``plt.show`` only on request); the comparison with a delivered photom
  file is opt-in (``--photom-compare FILE``);
* a star without a model flux, a missing photometry table and an empty
  selection are errors with a one-line message (the original called ``exit()``);
* the calibration-factor uncertainty is scaled with the time correction like the
  flux (the original divided the uncorrected uncertainty by the corrected flux);
* a weighted std whose weights sum to 1 or less (e.g. ``--repeat``: one star) is
  undefined with ddof=1 and reported as NaN (the original's statsmodels call
  divided by zero);
* the paper-era BD+60 1753 exclusion coded with the ``"timmid"`` typo never ran
  and is not reproduced.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
from astropy.table import Table

from . import constants as C
from .photometry import RATE_COLUMNS, PhotometryError, eefrac_tag, phot_ext, rate_values  # noqa: F401

log = logging.getLogger(__name__)

XAXIS_CHOICES = ("mflux", "timemid", "rate", "welldepth", "bkg", "inttime", "srctype", "subarr", "dither")
MULTI_XAXIS_CHOICES = ("mflux", "timemid", "rate", "welldepth", "bkg", "inttime", "srctype", "subarr")
TIME_MODELS = ("exp", "exp+line")
DEFAULT_TIME_MODEL = "exp+line"

#: Columns of the photometry table this step needs (spec 3.8.1).
PHOT_REQUIRED = ("name", "subarray", "timemid", "aperture_sum_bkgsub", "aperture_sum_bkgsub_err", "apcorr", "pixarea")
#: Extra columns needed by some x axes.
PHOT_XCOLUMNS = {
    "rate": ("pix_max",),
    "welldepth": ("pix_max", "tgroup", "ngroups"),
    "bkg": ("mean_bkg",),
    "inttime": ("tgroup", "ngroups"),
    "dither": ("exposure",),
}

#: Categorical x positions and markers (spec 3.14.3 step 2).
SRCTYPE_POS = {"HotStars": 0, "ADwarfs": 1, "SolarAnalogs": 2}
SUBARR_POS = {
    "FULL": 0,
    "BRIGHTSKY": 1,
    "SUB256": 2,
    "SUB128": 3,
    "SUB64": 4,
    "MASK1065": 5,
    "MASK1140": 6,
    "MASK1550": 7,
    "MASKLYOT": 8,
}
SUBARR_MARKER = {
    "FULL": "o",
    "BRIGHTSKY": "s",
    "SUB256": "p",
    "SUB128": "P",
    "SUB64": "*",
    "MASK1065": "^",
    "MASK1140": ">",
    "MASK1550": "<",
    "MASKLYOT": "v",
}
TYPE_COLOR = {"HotStars": "b", "ADwarfs": "g", "SolarAnalogs": "r"}
DITHER_BINS = ("1", "2", "3", "4")
JITTER_SIGMA = 0.12
DEFAULT_JITTER_SEED = 20220521

XLABELS = {
    "mflux": "Model flux density [mJy]",
    "timemid": f"Time [MJD - {C.STARTDAY:.0f}]",
    "rate": "Peak pixel rate [DN/s]",
    "welldepth": "Peak pixel well depth [DN]",
    "bkg": "Mean background [DN/s/pix]",
    "inttime": "Integration time [s]",
    "srctype": "Source type",
    "subarr": "Subarray",
    "dither": "Dither position",
}
LOG_XAXES = ("rate", "bkg", "inttime", "mflux")


class CalFactorError(ValueError):
    """Bad calibration-factor inputs (one-line message naming the file, star or option)."""


# --------------------------------------------------------------------------
# Options and file names
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class CalfacOptions:
    """Options that select the inputs and the corrections of one calibration-factor run.

    Attributes
    ----------
    basedir : campaign root (holds HotStars/, ADwarfs/, SolarAnalogs/, Models/, CalFacs/, Figs/).
    bkgsub, indivmos, indivcals : which photometry table (spec 3.8.2).
    eefraction : encircled-energy fraction of the photometry (file-name tag).
    repeat : only the repeat star; subtrans : only the dedicated subarray-transfer visit.
    grieke : model table with the G. Rieke models.
    subarrcor : multiply C by subarr_cor[subarray] (FULL-equivalent values).
    applytime : refer the rates to t0 with the time dependence.
    noignore : keep the ignore-listed stars in the averages.
    time_truth : truth.ecsv of a simulated campaign giving the time coefficients (implies applytime).
    time_model : model of the time fit when plotting against time without applytime.
    startday : reference epoch t0 (MJD).
    """

    basedir: Path = Path(".")
    bkgsub: bool = False
    indivmos: bool = False
    indivcals: bool = False
    eefraction: float = C.EE_FRACTION_PHOT
    repeat: bool = False
    subtrans: bool = False
    grieke: bool = False
    subarrcor: bool = False
    applytime: bool = False
    noignore: bool = False
    time_truth: Path | None = None
    time_model: str = DEFAULT_TIME_MODEL
    startday: float = C.STARTDAY

    def validate(self) -> None:
        """Raise :class:`CalFactorError` for inconsistent options."""
        if self.bkgsub and self.indivmos:
            raise CalFactorError("--bkgsub cannot be combined with --indivmos (no such photometry table)")
        if self.indivmos and self.indivcals:
            raise CalFactorError("--indivmos and --indivcals are exclusive")
        if self.repeat and self.subtrans:
            raise CalFactorError("--repeat and --subtrans select different stars: give only one")
        if self.time_model not in TIME_MODELS:
            raise CalFactorError(f"unknown time model {self.time_model!r} (choose {', '.join(TIME_MODELS)})")
        if not 0.0 < float(self.eefraction) < 1.0:
            raise CalFactorError(f"--eefrac must be in (0, 1), got {self.eefraction}")
        if not Path(self.basedir).is_dir():
            raise CalFactorError(f"{self.basedir}: base directory does not exist")

    @property
    def timecor(self) -> bool:
        return self.applytime or self.time_truth is not None


def phot_table_path(basedir, startype: str, filt: str, opts: CalfacOptions) -> Path:
    """``basedir/<type>/<F><ext>_eefrac<e>_phot.fits``."""
    ext = phot_ext(opts.bkgsub, opts.indivmos, opts.indivcals)
    return Path(basedir) / startype / f"{filt}{ext}_eefrac{eefrac_tag(opts.eefraction)}_phot.fits"


def savefile_ext(opts: CalfacOptions) -> str:
    """Extension of the CalFacs products; every option that changes the numbers is encoded."""
    ext = phot_ext(opts.bkgsub, opts.indivmos, opts.indivcals)
    if opts.repeat:
        ext += "_repeat"
    if opts.subtrans:
        ext += "_subtrans"
    if opts.grieke:
        ext += "_grieke"
    if opts.subarrcor:
        ext += "_subarracor"
    if opts.timecor:
        ext += "_timecor"
    return ext


def savefile_path(opts: CalfacOptions, filt: str) -> Path:
    """``basedir/CalFacs/miri_calfactors<ext>_<F>.fits``."""
    return Path(opts.basedir) / "CalFacs" / f"miri_calfactors{savefile_ext(opts)}_{filt}.fits"


def sidecar_path(savefile: Path, kind: str) -> Path:
    """``<savefile>.fits -> <savefile>_<kind>.dat`` (ave, fit, subarr, srctype, dithernum)."""
    savefile = Path(savefile)
    return savefile.with_name(savefile.name[: -len(".fits")] + f"_{kind}.dat")


def repeat_fit_path(basedir, filt: str) -> Path:
    """Time-dependence coefficients of a filter: ``CalFacs/miri_calfactors[_bkgsub]_repeat_<F>_fit.dat``."""
    rstr = "_bkgsub" if filt in C.BKGSUB_REPEAT_FILTERS else ""
    return Path(basedir) / "CalFacs" / f"miri_calfactors{rstr}_repeat_{filt}_fit.dat"


def time_fit_sidecar(opts: CalfacOptions, savefile: Path) -> Path:
    """Sidecar of the time fit: ``_fit.dat``, or ``_calfit.dat`` where ``_fit.dat`` would be the repeat-fit product."""
    return sidecar_path(savefile, "calfit" if opts.repeat else "fit")


def figure_path(opts: CalfacOptions, name: str, fmt: str) -> Path:
    """``Figs/<name>_eefrac<e>[_bkgsub][_indivmos][_indivcals][_repeat][_subtrans][_grieke].<fmt>``."""
    s = f"{name}_eefrac{eefrac_tag(opts.eefraction)}"
    for flag, tag in (
        (opts.bkgsub, "_bkgsub"),
        (opts.indivmos, "_indivmos"),
        (opts.indivcals, "_indivcals"),
        (opts.repeat, "_repeat"),
        (opts.subtrans, "_subtrans"),
        (opts.grieke, "_grieke"),
    ):
        if flag:
            s += tag
    return Path(opts.basedir) / "Figs" / f"{s}.{fmt}"


def model_table_path(basedir, grieke: bool) -> Path:
    """``Models/model_phot_grieke.fits`` or ``Models/model_phot.fits``."""
    return Path(basedir) / "Models" / ("model_phot_grieke.fits" if grieke else "model_phot.fits")


# --------------------------------------------------------------------------
# Time dependence
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeCoeffs:
    """Time dependence in the convention of the ``_repeat_<F>_fit.dat`` files (spec 3.14.2).

    correction(t) = (1 + lossperyear dt/365) (amp exp(dt/tau) + const), dt = t - t0,
    with ``lossperyear`` and ``tau`` negative for a loss; ``rate / correction(t)``
    is the rate the source would have given at t0.
    """

    amp: float
    tau: float
    const: float
    lossperyear: float
    t0: float
    source: str = ""

    def correction(self, mjd):
        """Relative sensitivity at ``mjd`` (1 at t0 when amp + const = 1)."""
        dt = np.asarray(mjd, float) - self.t0
        return (1.0 + self.lossperyear * dt / 365.0) * (self.amp * np.exp(dt / self.tau) + self.const)


def read_repeat_fit(path, filt: str) -> TimeCoeffs:
    """Read the time coefficients of ``filt`` from a ``_repeat_<F>_fit.dat`` file."""
    path = Path(path)
    if not path.is_file():
        raise CalFactorError(
            f"{path}: time-dependence coefficients not found (--applytime needs the time-dependence step's "
            "output, or --time-coeffs-from-truth TRUTH.ecsv for a simulated campaign)"
        )
    try:
        t = Table.read(path, format="ascii.commented_header")
    except Exception as exc:  # astropy raises several types for unreadable files
        raise CalFactorError(f"{path}: cannot read time coefficients ({exc})") from None
    need = [f"fit_exp_amp_{filt}", f"fit_exp_tau_{filt}", f"fit_exp_const_{filt}", f"fit_startday_{filt}"]
    missing = [c for c in need if c not in t.colnames]
    if missing:
        raise CalFactorError(f"{path}: missing column(s) {', '.join(missing)} (paper-era files are not supported)")
    loss = float(t[f"fit_linear_lossperyear_{filt}"][0]) if f"fit_linear_lossperyear_{filt}" in t.colnames else 0.0
    tc = TimeCoeffs(
        amp=float(t[need[0]][0]),
        tau=float(t[need[1]][0]),
        const=float(t[need[2]][0]),
        lossperyear=loss,
        t0=float(t[need[3]][0]),
        source=str(path),
    )
    if not (np.isfinite(tc.tau) and tc.tau != 0.0):
        raise CalFactorError(f"{path}: invalid tau {tc.tau} for {filt}")
    return tc


def time_coeffs_from_truth(path, filt: str) -> TimeCoeffs:
    """Injected time coefficients of a simulated campaign (``truth.ecsv`` meta ``time_coeffs``).

    The truth uses s(t) = (1 - loss dt/365)(amplitude exp(-dt/tau) + const) with
    positive tau and loss; they are converted to the fit-file convention.
    """
    path = Path(path)
    if not path.is_file():
        raise CalFactorError(f"{path}: truth file does not exist")
    try:
        meta = Table.read(path, format="ascii.ecsv").meta
    except Exception as exc:  # astropy raises several types for unreadable files
        raise CalFactorError(f"{path}: cannot read truth file ({exc})") from None
    coeffs = (meta.get("time_coeffs") or {}).get(filt)
    if coeffs is None:
        raise CalFactorError(f"{path}: no time_coeffs for {filt} in the truth metadata")
    return TimeCoeffs(
        amp=float(coeffs["amplitude"]),
        tau=-float(coeffs["tau"]),
        const=float(coeffs["const"]),
        lossperyear=-float(coeffs["lossperyear"]),
        t0=float(coeffs["t0"]),
        source=f"{path} (injected truth)",
    )


def load_time_coeffs(opts: CalfacOptions, filt: str) -> TimeCoeffs | None:
    """Time coefficients for ``filt`` from the truth file or the repeat-fit file (None without applytime)."""
    if opts.time_truth is not None:
        return time_coeffs_from_truth(opts.time_truth, filt)
    if opts.applytime:
        return read_repeat_fit(repeat_fit_path(opts.basedir, filt), filt)
    return None


# --------------------------------------------------------------------------
# Reading the inputs
# --------------------------------------------------------------------------
def read_model_table(path) -> Table:
    """Read and check a model photometry table (unique names)."""
    path = Path(path)
    if not path.is_file():
        grieke = "_grieke" in path.name
        raise CalFactorError(
            f"{path}: model table not found (run model_fluxes.py{' --grieke' if grieke else ''} first)"
        )
    try:
        t = Table.read(path)
    except Exception as exc:  # astropy raises several types for unreadable files
        raise CalFactorError(f"{path}: cannot read model table ({exc})") from None
    if "name" not in t.colnames:
        raise CalFactorError(f"{path}: model table has no 'name' column")
    names = [str(n).strip() for n in t["name"]]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CalFactorError(f"{path}: model table has several rows for {', '.join(dup)}")
    t["name"] = names
    t.meta["path"] = str(path)
    return t


def model_flux(models: Table, name: str, filt: str) -> float:
    """Model flux density [Jy] of star ``name`` (aliases allowed) in ``filt``."""
    path = models.meta.get("path", "model table")
    if filt not in models.colnames:
        raise CalFactorError(f"{path}: no {filt} column in the model table")
    key = C.canonical_name(name)
    idx = np.flatnonzero(np.asarray(models["name"]) == key)
    if idx.size == 0:
        raise CalFactorError(f"star {name!r} ({filt} photometry) has no model flux in {path}")
    return float(models[filt][idx[0]])


def read_phot_table(path, eefraction: float, xaxisval: str = "mflux") -> Table:
    """Read a photometry table and check the columns this step needs.

    The count-rate columns come back as plain floats in DN/s whether the table
    carries the unit (step 5 writes DN/s Quantities) or not (older tables).
    """
    path = Path(path)
    try:
        t = Table.read(path)
    except Exception as exc:  # astropy raises several types for unreadable files
        raise CalFactorError(f"{path}: cannot read photometry table ({exc})") from None
    need = list(PHOT_REQUIRED) + list(PHOT_XCOLUMNS.get(xaxisval, ()))
    missing = [c for c in need if c not in t.colnames]
    if missing:
        raise CalFactorError(f"{path}: photometry table lacks column(s) {', '.join(missing)}")
    for key in ("EEFRAC", "eefraction", "EEFRACTION"):
        if key in t.meta:
            if not np.isclose(float(t.meta[key]), float(eefraction)):
                raise CalFactorError(f"{path}: photometry made at EE {t.meta[key]}, not {eefraction}")
            break
    t["name"] = [str(n).strip() for n in t["name"]]
    t["subarray"] = [str(s).strip() for s in t["subarray"]]
    for c in RATE_COLUMNS:
        if c in t.colnames:
            try:
                t[c] = rate_values(t[c])
            except PhotometryError as exc:
                raise CalFactorError(f"{path}: column {c}: {exc}") from None
    return t


def select_rows(phot: Table, filt: str, repeat: bool = False, subtrans: bool = False) -> Table:
    """Rows of the repeat star (``repeat``) or of the dedicated subarray-transfer visit (``subtrans``)."""
    names = np.array([C.canonical_name(n) for n in phot["name"]])
    if repeat:
        return phot[names == C.REPEAT_STAR]
    if subtrans:
        star, mjd, half = C.SUBTRANS_SELECTION.get(filt, C.SUBTRANS_SELECTION["F770W"])
        keep = (names == star) & (np.abs(np.asarray(phot["timemid"], float) - mjd) < half)
        return phot[keep]
    return phot


def _xvalues(phot: Table, xaxisval: str, startype: str, mflux_jy: np.ndarray, startday: float) -> np.ndarray:
    n = len(phot)
    if xaxisval == "timemid":
        return np.asarray(phot["timemid"], float) - startday
    if xaxisval == "rate":
        return rate_values(phot["pix_max"])
    if xaxisval == "welldepth":
        return np.asarray(phot["tgroup"], float) * np.asarray(phot["ngroups"], float) * rate_values(phot["pix_max"])
    if xaxisval == "bkg":
        return rate_values(phot["mean_bkg"])
    if xaxisval == "inttime":
        return np.asarray(phot["tgroup"], float) * np.asarray(phot["ngroups"], float)
    if xaxisval == "srctype":
        return np.full(n, startype, dtype=object)
    if xaxisval == "subarr":
        return np.asarray(phot["subarray"], dtype=object)
    if xaxisval == "dither":
        return np.array([str(e).strip() for e in phot["exposure"]], dtype=object)
    return mflux_jy * 1e3


def calfactors_from_phot(
    phot: Table,
    filt: str,
    startype: str,
    models: Table,
    xaxisval: str = "mflux",
    time_coeffs: TimeCoeffs | None = None,
    startday: float = C.STARTDAY,
    source=None,
) -> Table:
    """Calibration factors of the rows of one photometry table.

    Parameters
    ----------
    phot : Table
        Photometry rows (spec 3.8.1 columns).
    filt : str
        Filter (column of the model table).
    startype : str
        Star-type directory of the table (x value of the srctype axis).
    models : Table
        Model table from :func:`read_model_table`.
    xaxisval : str
        Quantity of the ``x`` column (spec 3.14.2).
    time_coeffs : TimeCoeffs, optional
        Refer the rates to t0 (``--applytime``).
    startday : float
        Epoch subtracted from the time axis.
    source : str or Path, optional
        File the rows were read from (named in the errors).

    Returns
    -------
    Table
        Columns name, startype, subarray, timemid, exposure, x, mflux [Jy], calfac, calfac_unc,
        photmjsr (NaN if absent); rows with a non-finite rate are dropped.

    Raises
    ------
    CalFactorError
        A star without a model flux (names the star and the model table), or a measured row whose
        calibration factor is not finite and positive (names the file, the star and the filter).
    """
    names = [C.canonical_name(n) for n in phot["name"]]
    mflux = np.array([model_flux(models, n, filt) for n in names], float)
    oflux = rate_values(phot["aperture_sum_bkgsub"])
    ounc = rate_values(phot["aperture_sum_bkgsub_err"])
    if time_coeffs is not None:
        corr = time_coeffs.correction(np.asarray(phot["timemid"], float))
        oflux = oflux / corr
        ounc = ounc / corr
    apcorr = np.asarray(phot["apcorr"], float)
    pixarea = np.asarray(phot["pixarea"], float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cal = 1e-6 * mflux / (oflux * apcorr * pixarea)
        cal_unc = np.abs(ounc / oflux) * cal
    x = _xvalues(phot, xaxisval, startype, mflux, startday)
    check_calfactors(cal, oflux, names, filt, source, apcorr=apcorr, pixarea=pixarea, mflux=mflux)
    good = np.isfinite(oflux) & np.isfinite(cal)
    if np.any(~good):
        log.info("%s %s: %d observation(s) without a finite rate dropped", startype, filt, int(np.sum(~good)))
    out = Table()
    out["name"] = np.array(names, dtype=str)[good] if names else np.array([], dtype=str)
    out["startype"] = np.full(int(good.sum()), startype)
    out["subarray"] = np.asarray(phot["subarray"], dtype=str)[good]
    out["timemid"] = np.asarray(phot["timemid"], float)[good]
    if "exposure" in phot.colnames:
        out["exposure"] = np.array([str(e).strip() for e in phot["exposure"]], dtype=str)[good]
    else:
        out["exposure"] = np.full(int(good.sum()), "")
    xs = x[good]
    out["x"] = xs.astype(str) if xs.dtype == object else xs
    out["mflux"] = mflux[good]
    out["calfac"] = cal[good]
    out["calfac_unc"] = cal_unc[good]
    if "photmjysr" in phot.colnames:
        out["photmjsr"] = np.asarray(phot["photmjysr"], float)[good]
    else:
        out["photmjsr"] = np.full(int(good.sum()), np.nan)
    return out


def check_calfactors(cal, oflux, names, filt: str, source=None, **inputs) -> None:
    """Refuse a calibration factor that is not finite and positive (a physical impossibility).

    A row whose rate was not measured (non-finite ``oflux``) is dropped by the caller; every other
    row must give 0 < C < inf: a negative or zero flux, aperture correction, pixel area or model flux
    would otherwise be averaged into the reference file without a word.

    Parameters
    ----------
    cal, oflux : array
        Calibration factors and the background-subtracted aperture sums they came from.
    names : sequence of str
        Star of each row.
    filt : str
        Filter.
    source : str or Path, optional
        The photometry table (named in the error).
    **inputs : array
        Other per-row factors of C (apcorr, pixarea, mflux), quoted in the error.

    Raises
    ------
    CalFactorError
        The first bad row: file, star, filter, value and its factors.
    """
    cal = np.asarray(cal, float)
    measured = np.isfinite(np.asarray(oflux, float))
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(measured & ~(np.isfinite(cal) & (cal > 0)))
    if bad.size == 0:
        return
    i = int(bad[0])
    parts = [f"aperture_sum_bkgsub {float(np.asarray(oflux)[i]):.4g}"]
    parts += [f"{k} {float(np.asarray(v)[i]):.4g}" for k, v in inputs.items()]
    where = f"{source}: " if source is not None else ""
    more = f" (and {bad.size - 1} more row(s))" if bad.size > 1 else ""
    raise CalFactorError(
        f"{where}{names[i]} in {filt}: calibration factor {cal[i]:.4g} is not finite and positive "
        f"({', '.join(parts)}){more}"
    )


def get_calfactors(
    startype: str,
    filt: str,
    opts: CalfacOptions,
    models: Table,
    xaxisval: str = "mflux",
    time_coeffs: TimeCoeffs | None = None,
) -> tuple[Table, Path] | None:
    """Calibration factors of one star type in one filter (spec 3.14.2).

    Returns None when the photometry table of that type does not exist, else the
    table of :func:`calfactors_from_phot` (after the repeat/subtrans selection)
    and the path it was read from.
    """
    path = phot_table_path(opts.basedir, startype, filt, opts)
    if not path.is_file():
        return None
    phot = read_phot_table(path, opts.eefraction, xaxisval)
    phot = select_rows(phot, filt, opts.repeat, opts.subtrans)
    return calfactors_from_phot(phot, filt, startype, models, xaxisval, time_coeffs, opts.startday, source=path), path


def star_weights(names) -> np.ndarray:
    """Weight 1/N_obs of each observation, N_obs = number of observations of that star."""
    names = np.asarray(names)
    _, inv, counts = np.unique(names, return_inverse=True, return_counts=True)
    return 1.0 / counts[inv].astype(float) if names.size else np.zeros(0)


def collect_calfactors(filt: str, opts: CalfacOptions, models: Table, xaxisval: str = "mflux") -> tuple[Table, list]:
    """Calibration factors of every star type pooled, with weights and the subarray correction.

    Returns
    -------
    table : Table
        :func:`calfactors_from_phot` columns plus ``calfac_raw`` (before the subarray
        correction), ``weight`` (1/N_obs per star, counted before ignore and clipping)
        and ``ignored``.
    inputs : list of Path
        The photometry tables read (and the time-coefficient source).

    Raises
    ------
    CalFactorError
        No photometry table for the filter, or no usable observation after the selection.
    """
    types = ("ADwarfs",) if (opts.repeat or opts.subtrans) else C.STAR_TYPES
    looked = [phot_table_path(opts.basedir, t, filt, opts) for t in types]
    if not any(p.is_file() for p in looked):
        # before the time coefficients: a filter without photometry is not an error of the time step
        raise CalFactorError(f"no photometry table for {filt}: looked for {', '.join(str(p) for p in looked)}")
    tc = load_time_coeffs(opts, filt)
    parts, inputs = [], []
    for t in types:
        res = get_calfactors(t, filt, opts, models, xaxisval, tc)
        if res is None:
            continue
        tab, path = res
        inputs.append(path)
        if len(tab):
            parts.append(tab)
    if not inputs:
        raise CalFactorError(f"no photometry table for {filt}: looked for {', '.join(str(p) for p in looked)}")
    if not parts:
        if opts.repeat:
            what = f"--repeat: no observation of {C.REPEAT_STAR}"
        elif opts.subtrans:
            star, mjd, half = C.SUBTRANS_SELECTION.get(filt, C.SUBTRANS_SELECTION["F770W"])
            what = f"--subtrans: no observation of {star} within {half:g} d of MJD {mjd}"
        else:
            what = "no observation with a finite rate"
        raise CalFactorError(f"{what} in {filt} ({', '.join(str(p) for p in inputs)})")
    from astropy.table import vstack

    table = vstack(parts, join_type="exact", metadata_conflicts="silent")
    table["calfac_raw"] = table["calfac"].copy()
    if opts.subarrcor:
        unknown = sorted({s for s in table["subarray"] if s not in C.SUBARR_COR})
        if unknown:
            raise CalFactorError(f"{filt}: no subarray correction for {', '.join(unknown)}")
        sc = np.array([C.SUBARR_COR[s] for s in table["subarray"]])
        table["calfac"] = table["calfac"] * sc
        table["calfac_unc"] = table["calfac_unc"] * sc
    table["weight"] = star_weights(table["name"])
    ignore = () if opts.noignore else C.IGNORE_STARS
    table["ignored"] = np.isin(np.asarray(table["name"]), ignore)
    if tc is not None:
        inputs.append(Path(tc.source.split(" (")[0]))
    return table, inputs


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------
class Stats(NamedTuple):
    """Result of :func:`compute_stats` (all None for empty input)."""

    mean: float | None
    std: float | None
    std_mean: float | None
    masked: np.ma.MaskedArray | None
    npts: float | None


def compute_stats(values, weights, sigcut: float, maxiters: int = C.SIGCLIP_MAXITERS) -> Stats:
    """Sigma-clipped weighted statistics (spec 3.14.1).

    Parameters
    ----------
    values : array_like
        Calibration factors.
    weights : array_like
        Weights (1/N_obs per star, so they sum to the number of stars).
    sigcut : float
        Clipping threshold of ``astropy.stats.sigma_clip`` (unweighted, median centre, std).
    maxiters : int
        Clipping iterations (5).

    Returns
    -------
    Stats
        mean = weighted mean of the unclipped values; if more than 3 values were given
        (counted before clipping): std = sqrt(sum w (x - mean)^2 / (sum w - 1)) over the
        unclipped values (ddof=1 on the weights, as statsmodels DescrStatsW) and
        std_mean = std / sqrt(sum w), else both 0; the clipped masked array; npts = sum of
        the unclipped weights.  A std with sum w <= 1 is undefined and returned as NaN.
    """
    from astropy.stats import sigma_clip

    values = np.asarray(values, float)
    weights = np.asarray(weights, float)
    if values.size == 0:
        return Stats(None, None, None, None, None)
    if weights.shape != values.shape:
        raise ValueError("values and weights must have the same shape")
    clipped = sigma_clip(values, sigma=sigcut, maxiters=maxiters)
    keep = ~np.ma.getmaskarray(clipped)
    x, w = values[keep], weights[keep]
    sw = float(np.sum(w))
    mean = float(np.sum(w * x) / sw)
    if values.size > 3:
        dof = sw - 1.0
        if dof > 0:
            std = float(np.sqrt(np.sum(w * (x - mean) ** 2) / dof))
            std_mean = std / np.sqrt(sw)
        else:
            log.warning("weighted std undefined: the unclipped weights sum to %.3g (<= 1)", sw)
            std = std_mean = float("nan")
    else:
        std = std_mean = 0.0
    return Stats(mean, std, float(std_mean), clipped, sw)


def propagated_std_mean(uncertainties, weights, cap: float | None = None) -> float:
    """Uncertainty of the weighted mean from the measurement errors: sqrt(sum w^2 s^2) / sum w.

    With weights 1/N_obs per star this is the error of the average of the stars' means that their
    photometric errors alone imply.  Unlike ``std_mean`` (the spread of a few stars, spec 3.14.1) it
    does not shrink when a handful of noisy stars happen to agree.  NaN for empty input or a
    non-finite error.

    Parameters
    ----------
    uncertainties : array_like
        1-sigma errors of the values (same units as the values).
    weights : array_like
        Their weights (same shape).
    cap : float, optional
        Largest error an observation contributes.  Sigma clipping keeps a value only within
        +- sigcut x std of the centre, so a value far noisier than that window is, if kept, spread
        about uniformly over it: ``cap = sigcut x std / sqrt(3)`` bounds its contribution.
    """
    s = np.asarray(uncertainties, float)
    w = np.asarray(weights, float)
    if s.shape != w.shape:
        raise ValueError("uncertainties and weights must have the same shape")
    sw = float(np.sum(w))
    if s.size == 0 or not sw > 0 or not np.all(np.isfinite(s)):
        return float("nan")
    if cap is not None and np.isfinite(cap) and cap > 0:
        s = np.minimum(s, cap)
    return float(np.sqrt(np.sum((w * s) ** 2)) / sw)


def binned_stats(table: Table, column: str, bins, sigcut: float, reference: str) -> Table:
    """Statistics per category (subarray, star type or dither) of the used points.

    Returns a table with columns name, calfacs, calfacs_unc (std), calfacs_uncmean
    (std of the mean); zeros for an empty bin (spec 3.14.3 step 6).  The ratio of
    each bin to ``reference`` is logged.
    """
    rows = []
    for b in bins:
        sel = np.asarray(table[column]) == b
        st = compute_stats(np.asarray(table["calfac"])[sel], np.asarray(table["weight"])[sel], sigcut)
        if st.mean is None:
            rows.append((b, 0.0, 0.0, 0.0))
        else:
            rows.append((b, st.mean, st.std, st.std_mean))
    out = Table(rows=rows, names=("name", "calfacs", "calfacs_unc", "calfacs_uncmean"))
    ref = {r[0]: r[1] for r in rows}.get(reference, 0.0)
    if ref > 0:
        log.info(
            "%s ratio to %s: %s",
            column,
            reference,
            ", ".join(f"{r[0]} {r[1] / ref:.4f}" for r in rows if r[1] > 0),
        )
    return out


# --------------------------------------------------------------------------
# Time fit
# --------------------------------------------------------------------------
def _fit_model(model, x, y):
    import warnings

    from astropy.modeling.fitting import TRFLSQFitter
    from astropy.utils.exceptions import AstropyUserWarning

    fitter = TRFLSQFitter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyUserWarning)
        return fitter(model, x, y, maxiter=2000)


def fit_time_dependence(x, cal, filt: str, model: str = DEFAULT_TIME_MODEL) -> dict | None:
    """Fit the time dependence of C(t) (x = days since t0, unweighted, x sorted).

    ``exp`` (calc_calfactors of the original, spec 3.14.3 step 7):
    C(x) = A exp(x/tau) + c, A <= 0, tau = -200 d fixed.
    ``exp+line`` (the current method, spec 3.17): the flux-like y = C_ref/C is fit with
    A exp(x/tau) + intercept + slope x (slope <= 0; tau = -100 d fixed for F560W-F1280W,
    else in [-400, -1]); the coefficients are normalised at t0 as in spec 3.17 step 8.

    Returns
    -------
    dict or None
        model, amp, tau, const, lossperyear, startday-relative curve function ``curve``
        (C at x), mod_dev (rms of C - model, dof N - p), per_dev (percent), npar, or None
        when there are not more points than free parameters.
    """
    from astropy.modeling.models import Const1D, Exponential1D, Linear1D

    x = np.asarray(x, float)
    cal = np.asarray(cal, float)
    order = np.argsort(x, kind="stable")
    x, cal = x[order], cal[order]
    n = x.size
    if model == "exp":
        npar = 2
        if n <= npar:
            log.warning("%s: %d point(s), too few for the %s time fit", filt, n, model)
            return None
        med = float(np.median(cal))
        m = Exponential1D(amplitude=-0.2 * med, tau=-200.0, bounds={"amplitude": (None, 0.0)}) + Const1D(med)
        m.tau_0.fixed = True
        fit = _fit_model(m, x, cal)
        amp, tau, const = float(fit.amplitude_0.value), float(fit.tau_0.value), float(fit.amplitude_1.value)

        def curve(xx):
            return amp * np.exp(np.asarray(xx, float) / tau) + const

        res = {"model": model, "amp": amp, "tau": tau, "const": const, "lossperyear": 0.0}
    else:
        fixed_tau = filt in ("F560W", "F770W", "F1000W", "F1130W", "F1280W")
        npar = 3 if fixed_tau else 4
        if n <= npar:
            log.warning("%s: %d point(s), too few for the %s time fit", filt, n, model)
            return None
        cref = float(np.median(cal))
        y = cref / cal
        m = Exponential1D(amplitude=0.2, tau=-100.0) + Linear1D(slope=-0.5 / 365.0, intercept=1.0)
        m.slope_1.bounds = (None, 0.0)
        if fixed_tau:
            m.tau_0.fixed = True
        else:
            m.tau_0.bounds = (-400.0, -1.0)
        fit = _fit_model(m, x, y)
        a, tau = float(fit.amplitude_0.value), float(fit.tau_0.value)
        slope, icept = float(fit.slope_1.value), float(fit.intercept_1.value)
        norm = icept + a

        def curve(xx):
            xx = np.asarray(xx, float)
            return cref / (a * np.exp(xx / tau) + icept + slope * xx)

        res = {
            "model": model,
            "amp": a / norm,
            "tau": tau,
            "const": icept / norm,
            "lossperyear": 365.0 * slope / norm,
            "c0": cref / norm,
        }
    mod = curve(x)
    res["npar"] = npar
    res["mod_dev"] = float(np.sqrt(np.sum((mod - cal) ** 2) / (n - npar)))
    res["per_dev"] = float(100.0 * np.sqrt(np.sum(((mod - cal) / mod) ** 2) / (n - npar)))
    res["curve"] = curve
    return res


# --------------------------------------------------------------------------
# Analysis of one filter
# --------------------------------------------------------------------------
@dataclass
class CalfacResult:
    """Everything computed for one filter (input of the writers and the plots)."""

    filt: str
    opts: CalfacOptions
    table: Table
    stats: Stats
    sigcut: float
    used: np.ndarray  # not ignored and not clipped
    clipped: np.ndarray
    median: float
    inputs: list = field(default_factory=list)
    binned: dict = field(default_factory=dict)  # kind -> Table
    fit: dict | None = None


def analyse_calfactors(
    table: Table, filt: str, opts: CalfacOptions, xaxisvals=("mflux",), inputs=(), quiet: bool = False
) -> CalfacResult:
    """Statistics, binned statistics and the time fit of a pooled calibration-factor table.

    Parameters
    ----------
    table : Table
        From :func:`collect_calfactors`.
    filt : str
        Filter.
    opts : CalfacOptions
        Options (noignore, applytime, time_model).
    xaxisvals : iterable of str
        Axes that will be shown; ``subarr``/``srctype``/``dither`` add the binned statistics,
        ``timemid`` without applytime adds the time fit.
    inputs : list
        Input files (provenance).
    quiet : bool
        Log the average at DEBUG level (extra panels of a multi-panel figure).
    """
    sigcut = C.SIGCUT[filt]
    good = ~np.asarray(table["ignored"], bool)
    if not np.any(good):
        raise CalFactorError(f"{filt}: every observation is of an ignored star ({', '.join(C.IGNORE_STARS)})")
    cal = np.asarray(table["calfac"], float)
    w = np.asarray(table["weight"], float)
    st = compute_stats(cal[good], w[good], sigcut)
    clipped = np.zeros(len(table), bool)
    clipped[good] = np.ma.getmaskarray(st.masked)
    used = good & ~clipped
    if np.any(clipped):
        log.info("%s clipped: %s", filt, ", ".join(sorted({str(n) for n in table["name"][clipped]})))
    res = CalfacResult(
        filt=filt,
        opts=opts,
        table=table,
        stats=st,
        sigcut=sigcut,
        used=used,
        clipped=clipped,
        median=float(np.median(cal[used])),
        inputs=list(inputs),
    )
    sub = table[used]
    if "subarr" in xaxisvals and filt in C.IMAGER_FILTERS:
        res.binned["subarr"] = binned_stats(sub, "subarray", C.IMAGER_SUBARRAYS, sigcut, "SUB256")
    if "srctype" in xaxisvals:
        res.binned["srctype"] = binned_stats(sub, "startype", C.STAR_TYPES, sigcut, "ADwarfs")
    if "dither" in xaxisvals:
        res.binned["dithernum"] = binned_stats(sub, "exposure", DITHER_BINS, sigcut, "1")
    if "timemid" in xaxisvals and not opts.timecor:
        res.fit = fit_time_dependence(
            np.asarray(sub["timemid"], float) - opts.startday, sub["calfac"], filt, opts.time_model
        )
        if res.fit:
            f = res.fit
            log.info(
                "%s time fit (%s): amp %.4f tau %.1f const %.4f lossperyear %.4f, dev %.2f%%",
                filt,
                f["model"],
                f["amp"],
                f["tau"],
                f["const"],
                f["lossperyear"],
                f["per_dev"],
            )
    log.log(
        logging.DEBUG if quiet else logging.INFO,
        "%s average C = %.5f +- %.5f (std %.5f, %.2f%%; effective stars %.2f; %d obs used of %d)",
        filt,
        st.mean,
        st.std_mean if st.std_mean is not None else float("nan"),
        st.std,
        100 * st.std / st.mean if st.mean else float("nan"),
        st.npts,
        int(used.sum()),
        len(table),
    )
    return res


def ave_table(res: CalfacResult) -> Table:
    """The ``_ave.dat`` (or ``_fit.dat``) row: avecalfac, unc (std of mean), std, npts [+ fit]."""
    f = res.filt
    st = res.stats
    t = Table()
    t[f"avecalfac_{f}"] = [st.mean]
    t[f"avecalfac_unc_{f}"] = [st.std_mean]
    t[f"avecalfac_std_{f}"] = [st.std]
    t[f"avecalfac_npts_{f}"] = [st.npts]
    # new column (after the original four): the error the photometric errors imply (each capped at the
    # clipping window, sigcut x std / sqrt(3))
    used = res.used
    cap = res.sigcut * st.std / np.sqrt(3.0) if st.std else None
    t[f"avecalfac_uncphot_{f}"] = [
        propagated_std_mean(
            np.asarray(res.table["calfac_unc"], float)[used], np.asarray(res.table["weight"], float)[used], cap
        )
        if "calfac_unc" in res.table.colnames and np.any(used)
        else float("nan")
    ]
    return t


def fit_table(res: CalfacResult) -> Table:
    """The time-fit sidecar: the ``_ave`` columns plus fit_exp_amp/tau/const/std (+ lossperyear, startday)."""
    t = ave_table(res)
    f = res.filt
    fit = res.fit or {"amp": np.nan, "tau": np.nan, "const": np.nan, "mod_dev": np.nan, "lossperyear": np.nan}
    t[f"fit_exp_amp_{f}"] = [fit["amp"]]
    t[f"fit_exp_tau_{f}"] = [fit["tau"]]
    t[f"fit_exp_const_{f}"] = [fit["const"]]
    t[f"fit_exp_std_{f}"] = [fit["mod_dev"]]
    if res.opts.time_model == "exp+line":
        t[f"fit_linear_lossperyear_{f}"] = [fit["lossperyear"]]
        t[f"fit_startday_{f}"] = [res.opts.startday]
    return t


def per_observation_table(res: CalfacResult) -> Table:
    """The savefile: name, calfac_F, calfac_F_mean_dev (C/mean), calfac_F_med_dev (C/median), modflux_F [mJy].

    New columns after the original five: calfac_F_unc (photometric 1-sigma error of C), weight (1/N_obs
    per star) and used (in the average: neither an ignored star nor sigma-clipped).
    """
    f = res.filt
    t = Table()
    cal = np.asarray(res.table["calfac"], float)
    t["name"] = np.asarray(res.table["name"], dtype=str)
    t[f"calfac_{f}"] = cal
    t[f"calfac_{f}_mean_dev"] = cal / res.stats.mean
    t[f"calfac_{f}_med_dev"] = cal / res.median
    t[f"modflux_{f}"] = np.asarray(res.table["mflux"], float) * 1e3
    t[f"modflux_{f}"].unit = "mJy"
    t[f"calfac_{f}_unc"] = (
        np.asarray(res.table["calfac_unc"], float) if "calfac_unc" in res.table.colnames else np.full(len(cal), np.nan)
    )
    t["weight"] = np.asarray(res.table["weight"], float)
    t["used"] = np.asarray(res.used, bool)
    return t


def stage_outputs(res: CalfacResult, out, prov: dict, savefile: Path | None = None, with_ave: bool = True) -> None:
    """Stage the savefile and its sidecars of ``res`` in the :class:`~absflux.io_utils.OutputSet` ``out``."""
    from .io_utils import write_table

    opts = res.opts
    savefile = savefile or savefile_path(opts, res.filt)
    write_table(per_observation_table(res), out.stage(savefile), "fits", prov)
    if with_ave:
        if res.fit is not None:
            write_table(fit_table(res), out.stage(time_fit_sidecar(opts, savefile)), "ascii.commented_header", prov)
        else:
            write_table(ave_table(res), out.stage(sidecar_path(savefile, "ave")), "ascii.commented_header", prov)
    for kind, tab in res.binned.items():
        write_table(tab, out.stage(sidecar_path(savefile, kind)), "ascii.commented_header", prov)


# --------------------------------------------------------------------------
# Comparison with a delivered photom reference file (opt-in)
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class PhotomReference:
    """C(t) of one filter (FULL) from a photom reference file (formats of spec 2.2 and 2.3)."""

    path: Path
    kind: str  # "current", "old" or "constant"
    photmjsr: float
    amp: float = 0.0
    tau: float = 1.0
    t0: float = C.STARTDAY
    const: float = 1.0
    lossperyear: float = 0.0

    def calfactor(self, mjd):
        """C at ``mjd`` in (MJy/sr)/(DN/s/pix)."""
        t = np.asarray(mjd, float)
        dt = t - self.t0
        if self.kind == "current":
            return self.photmjsr / (
                (1.0 - self.lossperyear * dt / 365.0) * (self.amp * np.exp(-dt / self.tau) + self.const)
            )
        if self.kind == "old":
            return self.photmjsr + self.amp * np.exp(-dt / self.tau)
        return np.full(t.shape, self.photmjsr)


def read_photom_models(path, error=None, missing: str = "photom file does not exist"):
    """C(t) models and uncertainties per (filter, subarray) of a photom reference file.

    Parameters
    ----------
    path : str or Path
        Photom file in the current (TIMECOEFF_EXPONENTIAL/LINEAR), old (TIMECOEFF,
        one row per PHOTOM row) or constant format.
    error : exception class
        Raised (one-line message naming the file) for a missing or unreadable file;
        default :class:`CalFactorError`.
    missing : str
        Message used when the file does not exist.

    Returns
    -------
    (dict, dict)
        ``{(filter, subarray): PhotomReference}`` and ``{(filter, subarray): uncertainty}``.
    """
    from astropy.io import fits

    error = error or CalFactorError
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {missing}")
    try:
        with fits.open(path) as hdul:
            names = [h.name for h in hdul]
            ph = Table(hdul["PHOTOM"].data)
            lin = Table(hdul["TIMECOEFF_LINEAR"].data) if "TIMECOEFF_LINEAR" in names else None
            expo = Table(hdul["TIMECOEFF_EXPONENTIAL"].data) if "TIMECOEFF_EXPONENTIAL" in names else None
            old = Table(hdul["TIMECOEFF"].data) if "TIMECOEFF" in names else None
    except (OSError, KeyError) as exc:
        raise error(f"{path}: not a MIRI photom file ({exc})") from None

    def strip(col):
        return np.char.strip(np.asarray(col).astype(str))

    def index(t):
        return {key: i for i, key in enumerate(zip(strip(t["filter"]), strip(t["subarray"]), strict=True))}

    refs, uncs = {}, {}
    iexp = index(expo) if expo is not None else {}
    ilin = index(lin) if lin is not None else {}
    for i, key in enumerate(zip(strip(ph["filter"]), strip(ph["subarray"]), strict=True)):
        if key in refs:  # the first row of a (filter, subarray) wins
            continue
        c = float(ph["photmjsr"][i])
        uncs[key] = float(ph["uncertainty"][i]) if "uncertainty" in ph.colnames else np.nan
        if key in iexp:
            e = expo[iexp[key]]
            loss = float(lin["lossperyear"][ilin[key]]) if key in ilin else 0.0
            refs[key] = PhotomReference(
                path, "current", c, float(e["amplitude"]), float(e["tau"]), float(e["t0"]), float(e["const"]), loss
            )
        elif old is not None and i < len(old):
            r = old[i]
            refs[key] = PhotomReference(path, "old", c, float(r["amplitude"]), float(r["tau"]), float(r["t0"]))
        else:
            refs[key] = PhotomReference(path, "constant", c)
    return refs, uncs


def read_photom_reference(path, filt: str) -> PhotomReference:
    """The FULL-row C(t) model of ``filt`` in a photom file (current, old or constant format)."""
    refs, _ = read_photom_models(path, missing="photom file for --photom-compare does not exist")
    if (filt, "FULL") not in refs:
        raise CalFactorError(f"{Path(path)}: no {filt} FULL row")
    return refs[(filt, "FULL")]


# --------------------------------------------------------------------------
# Plotting
# --------------------------------------------------------------------------
def _xpos(table: Table, xaxisval: str, rng) -> np.ndarray:
    x = np.asarray(table["x"])
    if xaxisval in ("srctype", "subarr", "dither"):
        if xaxisval == "srctype":
            base = np.array([SRCTYPE_POS.get(str(v), -1) for v in x], float)
        elif xaxisval == "subarr":
            base = np.array([SUBARR_POS.get(str(v), -1) for v in x], float)
        else:
            base = np.array([float(v) if str(v).strip().isdigit() else 0.0 for v in x], float)
        return base + rng.normal(0.0, JITTER_SIGMA, base.size)
    x = x.astype(float)
    if xaxisval == "welldepth":
        x = np.minimum(x, 60000.0)
    return x


def plot_calfactors(
    ax,
    res: CalfacResult,
    xaxisval: str,
    showleg: bool = True,
    shownames: bool = False,
    x2ndaxis: bool = True,
    notext: bool = False,
    legonly: bool = False,
    fontsize: int = 14,
    nofiltername: bool = False,
    jitter_seed: int = DEFAULT_JITTER_SEED,
    photom_ref: PhotomReference | None = None,
) -> None:
    """Draw the calibration factors of ``res`` against ``xaxisval`` on ``ax`` (spec 3.14.3 steps 2-12)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    filt = res.filt
    if filt == C.FND_FILTER:
        markers = {"FULL": "o"}
    elif filt in C.CORON_FILTERS:
        markers = {k: v for k, v in SUBARR_MARKER.items() if k.startswith("MASK")}
    else:
        markers = {k: v for k, v in SUBARR_MARKER.items() if not k.startswith("MASK")}
    type_handles = [Patch(color=TYPE_COLOR[t], label=C.STAR_TYPE_LABEL[t]) for t in C.STAR_TYPES]
    type_handles.append(Line2D([], [], ls="none", marker="o", mfc="none", mec="m", ms=12, label="Not in average"))
    sub_handles = [Line2D([], [], ls="none", marker=m, color="k", label=s) for s, m in markers.items()]
    if legonly:
        leg = ax.legend(handles=type_handles, loc="upper left", fontsize=fontsize)
        ax.add_artist(leg)
        ax.legend(handles=sub_handles, loc="upper right", fontsize=fontsize, ncols=2)
        ax.set_axis_off()
        return

    t = res.table
    rng = np.random.default_rng(jitter_seed)
    x = _xpos(t, xaxisval, rng)
    y = np.asarray(t["calfac"], float)
    types = np.asarray(t["startype"])
    subs = np.asarray(t["subarray"])
    for ty in C.STAR_TYPES:
        for s in np.unique(subs):
            sel = (types == ty) & (subs == s)
            if np.any(sel):
                ax.scatter(x[sel], y[sel], marker=SUBARR_MARKER.get(s, "o"), c=TYPE_COLOR[ty], alpha=0.5, s=60)
    ign = np.asarray(t["ignored"], bool)
    if np.any(ign):
        ax.scatter(x[ign], y[ign], s=150, facecolors="none", edgecolors="m")
    if np.any(res.clipped):
        ax.scatter(x[res.clipped], y[res.clipped], s=200, facecolors="none", edgecolors="m", lw=1.5)
    if shownames:
        for xi, yi, n in zip(x, y, t["name"], strict=True):
            ax.annotate(str(n), (xi, yi), fontsize=max(fontsize - 6, 6), alpha=0.7)
    st = res.stats
    ax.axhline(st.mean, color="k", ls="-", lw=1.5)
    if st.std and np.isfinite(st.std):
        ax.axhline(st.mean + st.std, color="k", ls=":", lw=1.5)
        ax.axhline(st.mean - st.std, color="k", ls=":", lw=1.5)

    if xaxisval == "timemid":
        xmax = max(float(np.max(x)), 1.0) if len(x) else 1.0
        xx = np.linspace(0.0, xmax, 300)
        if res.fit is not None:
            f = res.fit
            ax.plot(xx, f["curve"](xx), "k--", lw=2)
            label = f"fit ({f['model']}): {f['per_dev']:.2f}% dev"
            if f["model"] == "exp":
                label += f" [amp: {100 * f['amp'] / f['const']:.1f}%]"
            else:
                label += f" [amp {100 * f['amp']:.1f}%, {100 * f['lossperyear']:.2f}%/yr]"
            ax.text(0.02, 0.04, label, transform=ax.transAxes, fontsize=fontsize - 2)
            pm = np.asarray(t["photmjsr"], float)
            if np.any(np.isfinite(pm)):
                ax.scatter(x, pm, marker="x", c="c", s=20, label="pipeline PHOTMJSR")
        if photom_ref is not None:
            if res.opts.timecor:
                ax.axhline(float(photom_ref.calfactor(res.opts.startday)), color="c", ls="--", lw=1.5)
            else:
                ax.plot(xx, photom_ref.calfactor(res.opts.startday + xx), "c--", lw=1.5)
    elif photom_ref is not None:
        ax.axhline(float(photom_ref.calfactor(res.opts.startday)), color="c", ls="--", lw=1.5)

    if not notext and st.mean:
        pstd = 100 * st.std / st.mean if np.isfinite(st.std) else float("nan")
        pmean = 100 * st.std_mean / st.mean if np.isfinite(st.std_mean) else float("nan")
        ax.text(
            0.98,
            0.04,
            f"average: {st.mean:.4f} $\\pm$ {st.std:.4f} ({pstd:.1f}% / {pmean:.2f}%)",
            transform=ax.transAxes,
            ha="right",
            fontsize=fontsize - 2,
        )
    if not nofiltername:
        ax.text(0.02, 0.92, filt, transform=ax.transAxes, fontsize=fontsize, fontweight="bold")
    if xaxisval in LOG_XAXES and len(x) and np.all(np.asarray(x, float) > 0):
        from matplotlib.ticker import NullFormatter

        ax.set_xscale("log")
        # within one decade matplotlib labels the minor ticks too, and they overlap
        ax.xaxis.set_minor_formatter(NullFormatter())
    if xaxisval == "srctype":
        ax.set_xticks(list(SRCTYPE_POS.values()), [C.STAR_TYPE_LABEL[k] for k in SRCTYPE_POS])
        ax.set_xlim(-0.5, 2.5)
    elif xaxisval == "subarr":
        ax.set_xticks(list(SUBARR_POS.values()), list(SUBARR_POS), rotation=45)
        ax.set_xlim((4.5, 8.5) if filt in C.CORON_FILTERS else (-0.5, 4.5))
    elif xaxisval == "dither":
        ax.set_xticks([1, 2, 3, 4])
    ax.set_xlabel(XLABELS[xaxisval], fontsize=fontsize)
    ax.set_ylabel("C [(MJy/sr) / (DN/s/pix)]", fontsize=fontsize)
    ax.set_ylim(0.9 * st.mean, 1.1 * st.mean)
    if x2ndaxis:
        mean = st.mean
        sec = ax.secondary_yaxis("right", functions=(lambda v: 100 * (v / mean - 1), lambda p: mean * (1 + p / 100)))
        sec.set_ylabel("% of average", fontsize=fontsize)
    if showleg:
        leg = ax.legend(handles=type_handles, loc="upper right", fontsize=fontsize - 4)
        ax.add_artist(leg)
        ax.legend(handles=sub_handles, loc="upper center", fontsize=fontsize - 4, ncols=3)


def _rc(fontsize: int) -> dict:
    return {
        "font.size": fontsize,
        "lines.linewidth": 2,
        "axes.linewidth": 2,
        "xtick.major.width": 2,
        "ytick.major.width": 2,
    }


# --------------------------------------------------------------------------
# Drivers
# --------------------------------------------------------------------------
def run_calc_calfactors(
    filt: str,
    opts: CalfacOptions,
    xaxisval: str = "mflux",
    layout: str = "single",
    shownames: bool = False,
    fig_format: str = "png",
    show: bool = False,
    jitter_seed: int = DEFAULT_JITTER_SEED,
    photom_compare=None,
    options: dict | None = None,
) -> tuple[CalfacResult, list[Path]]:
    """Calibration factors of one filter: statistics, output tables and figure (calc_calfactors.py).

    Parameters
    ----------
    filt : str
        Filter.
    opts : CalfacOptions
        Input selection and corrections.
    xaxisval : str
        x axis of the single-panel figure.
    layout : {"single", "detmulti", "sourcemulti"}
        One panel, or the 2x2 detector (rate, inttime, welldepth, subarr) or source (mflux,
        bkg, timemid, srctype) panels.
    shownames : bool
        Annotate the points with the star names.
    fig_format : {"png", "pdf"}
        Figure format (files in ``basedir/Figs``).
    show : bool
        Also display the figure interactively.
    jitter_seed : int
        Seed of the categorical x jitter.
    photom_compare : Path, optional
        Photom reference file drawn for comparison.
    options : dict, optional
        Options recorded in the provenance.

    Returns
    -------
    result, written files
        All files are written together at the end; an error leaves nothing behind.
    """
    from .io_utils import OutputSet, provenance

    opts.validate()
    if filt not in C.ALL_FILTERS:
        raise CalFactorError(f"unknown filter {filt!r}")
    if xaxisval not in XAXIS_CHOICES:
        raise CalFactorError(f"unknown x axis {xaxisval!r}")
    panels = {
        "single": (xaxisval,),
        "detmulti": ("rate", "inttime", "welldepth", "subarr"),
        "sourcemulti": ("mflux", "bkg", "timemid", "srctype"),
    }[layout]
    mpath = model_table_path(opts.basedir, opts.grieke)
    models = read_model_table(mpath)
    ref = read_photom_reference(photom_compare, filt) if photom_compare else None
    results = {}
    for xv in dict.fromkeys(panels):
        table, inputs = collect_calfactors(filt, opts, models, xv)
        results[xv] = analyse_calfactors(table, filt, opts, (xv,), inputs=[mpath, *inputs], quiet=bool(results))
    # the numbers do not depend on the x axis: one savefile and _ave (or _fit) file, plus the
    # binned tables and the time fit of every panel (same names as the single-panel runs)
    first = results[panels[0]]
    main = replace(
        first,
        binned={k: v for r in results.values() for k, v in r.binned.items()},
        fit=next((r.fit for r in results.values() if r.fit is not None), None),
    )
    if ref is not None:
        c0 = float(ref.calfactor(opts.startday))
        log.info("%s: average C / %s C(t0) = %.4f", filt, ref.path.name, main.stats.mean / c0)
    inputs = main.inputs + ([Path(photom_compare)] if photom_compare else [])
    prov = provenance("calc_calfactors.py", inputs=inputs, options=options or {})

    import matplotlib.pyplot as plt

    fontsize = 14 if layout == "single" else 10
    with plt.rc_context(_rc(fontsize)):
        if layout == "single":
            fig, ax = plt.subplots(figsize=(10, 7))
            axes = [ax]
            name = f"miri_calfactors_{filt}_{xaxisval}"
        else:
            fig, axs = plt.subplots(2, 2, figsize=(14, 10))
            axes = list(axs.flat)
            name = f"miri_calfactors_{filt}_{layout}"
        for ax, xv in zip(axes, panels, strict=True):
            plot_calfactors(
                ax,
                results[xv],
                xv,
                showleg=(ax is axes[0]),
                shownames=shownames,
                fontsize=fontsize,
                jitter_seed=jitter_seed,
                photom_ref=ref,
            )
        fig.tight_layout()
        with OutputSet() as out:
            stage_outputs(main, out, prov)
            from .plotting import savefig_with_provenance

            savefig_with_provenance(fig, out.stage(figure_path(opts, name, fig_format)), fig_format, prov)
            written = out.finals
        if show:
            plt.show()
        plt.close(fig)
    for p in written:
        log.info("wrote %s", p)
    return main, written


def run_plot_multi(
    opts: CalfacOptions,
    xaxisval: str = "mflux",
    fig_format: str = "png",
    show: bool = False,
    jitter_seed: int = DEFAULT_JITTER_SEED,
    options: dict | None = None,
    filters=None,
) -> tuple[dict, list[Path]]:
    """The 14-filter summary figure and the per-filter CalFacs products (plot_multi_calfacs.py, spec 3.16).

    Every filter uses the time correction (``opts`` must give it, from the repeat-fit
    files or a truth file); the coronagraphic filters use the background-subtracted
    photometry.  By default, filters without any photometry table are skipped with a
    warning (their panel says "no data"); an error in a filter that has data aborts the
    run and nothing is written.  With ``filters`` only those are processed (the other
    panels say "not selected") and each of them must have photometry.
    """
    from .io_utils import OutputSet, provenance

    opts = replace(opts, applytime=True)
    opts.validate()
    if xaxisval not in XAXIS_CHOICES:
        raise CalFactorError(f"unknown x axis {xaxisval!r}")
    mpath = model_table_path(opts.basedir, opts.grieke)
    models = read_model_table(mpath)
    if filters:
        unknown = [f for f in filters if f not in C.PLOT_ORDER]
        if unknown:
            raise CalFactorError(f"unknown filter(s) {', '.join(unknown)}")
    results, skipped, inputs = {}, [], [mpath]
    for filt in C.PLOT_ORDER:
        if filters and filt not in filters:
            continue
        fopts = replace(opts, bkgsub=filt in C.BKGSUB_CALFAC_FILTERS)
        try:
            table, ins = collect_calfactors(filt, fopts, models, xaxisval)
        except CalFactorError as exc:
            # a filter asked for by name must have data: never a silent gap
            if str(exc).startswith("no photometry table") and not filters:
                skipped.append(filt)
                continue
            raise
        results[filt] = analyse_calfactors(table, filt, fopts, (xaxisval,), inputs=[mpath, *ins])
        inputs += ins
    if not results:
        raise CalFactorError(f"no photometry table for any filter below {opts.basedir}")
    if skipped:
        log.warning("no photometry for %s: panels left empty", ", ".join(skipped))
    prov = provenance("plot_multi_calfacs.py", inputs=list(dict.fromkeys(inputs)), options=options or {})

    import matplotlib.pyplot as plt

    with plt.rc_context(_rc(12)):
        fig, axs = plt.subplots(8, 2, figsize=(14, 16), sharex=True)
        first = next(iter(results.values()))
        plot_calfactors(axs[0, 0], first, xaxisval, legonly=True, fontsize=12)
        axs[0, 1].set_axis_off()
        for k, filt in enumerate(C.PLOT_ORDER):
            ax = axs[(k + 2) // 2, (k + 2) % 2]
            if filt not in results:
                why = "not selected" if filters and filt not in filters else "no data"
                ax.text(0.5, 0.5, f"{filt}: {why}", transform=ax.transAxes, ha="center", va="center")
                ax.set_yticks([])
                continue
            plot_calfactors(
                ax,
                results[filt],
                xaxisval,
                showleg=False,
                fontsize=12,
                nofiltername=True,
                jitter_seed=jitter_seed,
            )
            ax.set_ylabel("C")
            ax.set_xlabel("")
            ax.text(0.02, 0.85, filt, transform=ax.transAxes, fontsize=12, fontweight="bold")
        for ax in axs[-1]:
            ax.set_xlabel(XLABELS[xaxisval])
        lims = {"welldepth": (1e2, 65000), "rate": (1e1, 1e5), "inttime": (0.1, 400), "subarr": (-0.5, 8.5)}
        if xaxisval in lims:
            axs[1, 0].set_xlim(*lims[xaxisval])
        fig.tight_layout()
        name = f"multi_calfacs_{xaxisval}" + ("_grieke" if opts.grieke else "")
        with OutputSet() as out:
            for r in results.values():
                stage_outputs(r, out, prov)
            from .plotting import savefig_with_provenance

            savefig_with_provenance(
                fig, out.stage(Path(opts.basedir) / "Figs" / f"{name}.{fig_format}"), fig_format, prov
            )
            written = out.finals
        if show:
            plt.show()
        plt.close(fig)
    log.info("wrote %d files (figure %s)", len(written), Path(opts.basedir) / "Figs" / f"{name}.{fig_format}")
    return results, written


# --------------------------------------------------------------------------
# Synthetic photometry tables (stand-in for step 5, for tests and benchmarks)
# --------------------------------------------------------------------------
def synthetic_phot_tables(
    truth_path,
    root,
    noise: float = 0.003,
    seed: int = 1,
    eefraction: float = C.EE_FRACTION_PHOT,
    apcorr: float = 1.0 / C.EE_FRACTION_PHOT,
    bkgsub: bool = True,
) -> list[Path]:
    """Photometry tables in the format of spec 3.8.1 built from a simulated campaign's truth.

    The aperture sum is the injected total rate transferred to the 0.11" mosaic pixels
    (x pixel_area_sr / mosaic pixel area) divided by ``apcorr``, with Gaussian relative
    noise ``noise``; so C computed from the table equals the injected C within the noise.
    Writes ``root/<type>/<F>_eefrac<e>_phot.fits`` (and ``_bkgsub`` copies with independent
    noise when ``bkgsub``) and returns their paths.  This is not the photometry step: it
    lets the calibration-factor code be exercised before step 5 outputs exist.
    """
    from .io_utils import provenance, write_table

    truth = Table.read(truth_path, format="ascii.ecsv")
    rng = np.random.default_rng(seed)
    root = Path(root)
    written = []
    sky = truth.meta.get("sky_rate", {})
    from .campaign import PEAK_FRACTION

    keys = sorted({(str(r["startype"]), str(r["filter"])) for r in truth})
    for ext in ("", "_bkgsub") if bkgsub else ("",):
        for startype, filt in keys:
            sel = (truth["startype"] == startype) & (truth["filter"] == filt)
            t = truth[sel]
            n = len(t)
            rate = np.asarray(t["total_rate"], float) * np.asarray(t["pixel_area_sr"], float) / C.MOSAIC_PIXEL_AREA_SR
            ideal = rate / apcorr
            meas = ideal * (1.0 + noise * rng.standard_normal(n))
            err = noise * ideal
            aprad = 2.0 * C.FWHM[filt]
            area = np.pi * aprad**2
            bkg = np.array([float(sky.get(filt, 1.0))] * n)
            p = Table()
            p["name"] = np.asarray(t["name"], dtype=str)
            p["ra_deg"] = np.asarray(t["ra"], float)
            p["dec_deg"] = np.asarray(t["dec"], float)
            p["exposure"] = np.array([str(int(e)) for e in t["exposure"]])
            p["filter"] = np.full(n, filt)
            p["subarray"] = np.asarray(t["subarray"], dtype=str)
            p["readpattern"] = np.full(n, C.READPATT)
            p["nints"] = np.asarray(t["nints"], int)
            p["ngroups"] = np.asarray(t["ngroups"], int)
            p["tgroup"] = np.asarray(t["tgroup"], float)
            p["timemid"] = np.asarray(t["expmid"], float)
            p["program"] = np.asarray(t["program"], int)
            p["filename"] = np.asarray(t["filename"], dtype=str)
            p["aprad"] = np.full(n, aprad)
            p["apcorr"] = np.full(n, apcorr)
            p["annrad1"] = np.full(n, 3.0 * aprad)
            p["annrad2"] = np.full(n, 4.0 * aprad)
            p["pixarea"] = np.full(n, C.MOSAIC_PIXEL_AREA_SR)
            p["xcenter"] = np.full(n, 3.0 * 4.0 * aprad / 2)
            p["ycenter"] = np.full(n, 3.0 * 4.0 * aprad / 2)
            p["aperture_sum"] = meas + bkg * area
            p["aperture_sum_err"] = err
            p["xcenter_full"] = np.asarray(t["x_sub"], float)
            p["ycenter_full"] = np.asarray(t["y_sub"], float)
            p["pix_max"] = np.asarray(t["total_rate"], float) * np.array([PEAK_FRACTION[filt]] * n) + bkg
            p["mean_bkg"] = bkg
            p["mean_bkg_std"] = np.sqrt(bkg)
            p["aperture_area"] = np.full(n, area)
            p["total_bkg"] = bkg * area
            p["aperture_sum_bkgsub"] = meas
            p["aperture_sum_bkgsub_err"] = err
            p["x_offset_from_expected"] = np.zeros(n)
            p["y_offset_from_expected"] = np.zeros(n)
            p["photmjysr"] = np.asarray(t["calfactor"], float)
            p.meta["EEFRAC"] = float(eefraction)
            p.meta["SYNTHETI"] = True
            path = root / startype / f"{filt}{ext}_eefrac{eefrac_tag(eefraction)}_phot.fits"
            path.parent.mkdir(parents=True, exist_ok=True)
            prov = provenance(
                "absflux.calfactors.synthetic_phot_tables",
                inputs=[truth_path],
                options={"noise": noise, "seed": seed, "apcorr": apcorr},
                notes=["synthetic stand-in for the photometry step, built from the injected truth"],
            )
            write_table(p, path, "fits", prov)
            written.append(path)
    return written
