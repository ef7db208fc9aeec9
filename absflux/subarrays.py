"""Step 8: subarray dependence (spec 3.19, 3.20; paper Fig. 6, Table 5) and source-type dependence (3.21, Fig. 8).

Subarray factors are rate(subarray) / rate(FULL) for the same source (``constants.SUBARR_COR``).  They are
measured two ways:

* dedicated transfer visits (``constants.SUBTRANS_SELECTION``: one star observed in every subarray within
  hours): y = mean(C) / C per observation, averaged per subarray, relative to FULL
  (``CalFacs/subarray_transfer_<F>.dat``, :func:`subtrans_ratios`);
* all observations: the per-subarray averages of the time-corrected calibration factors of step 9
  (``CalFacs/miri_calfactors_grieke_timecor_<F>_subarr.dat``), relative flux = C(SUB256) / C(subarray)
  (:func:`allobs_ratios`).

The adopted factors stay the configuration table (the original tuned them by hand);
:func:`derive_factors` combines the measurements into factors with uncertainties so that they can be
printed next to the adopted ones (``plot_subtrans_allobs.py --derive``).

Differences from the original scripts: the reference of the dedicated ratios is FULL when observed, else
SUB256 (recorded in the file); uncertainties are propagated (the original did not invert them); subarrays
without data are left out instead of giving inf; the y range of the figures adapts to the data; the
source-type figure selects the FULL row of the photom file by name (the original took the first row), takes
the photom file as an option, and its y label says what is plotted (C / C(srctype)); jitter is seeded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table

from . import calfactors as CF
from . import constants as C

log = logging.getLogger(__name__)

#: Series offsets (x) in Fig. 6.
SERIES_OFFSET = 0.05
SUBTRANS_FILTERS = tuple(C.SUBTRANS_SELECTION)
DERIVED_FILE = "subarray_factors_derived.dat"


class SubarrayError(ValueError):
    """Bad inputs of the subarray/source-type steps (one-line message)."""


# --------------------------------------------------------------------------
# Dedicated transfer observations (plot_subtrans.py)
# --------------------------------------------------------------------------
def subtrans_path(basedir, filt: str) -> Path:
    """``CalFacs/subarray_transfer_<F>.dat``."""
    return Path(basedir) / "CalFacs" / f"subarray_transfer_{filt}.dat"


def subtrans_ratios(basedir, filt: str, eefraction: float = C.EE_FRACTION_PHOT) -> tuple[Table, Table, list]:
    """Ratios of the dedicated subarray-transfer visit of ``filt`` (spec 3.19).

    Returns
    -------
    ratios : Table
        name (subarray), FracChange (mean y relative to the reference subarray), FracChange_unc (this
        subarray's own standard error, relative x FracChange; NaN for one point), npts; meta ``reference``.
    obs : Table
        Per observation: subarray, timemid, y = mean(C) / C.
    inputs : list of Path
    """
    if filt not in C.SUBTRANS_SELECTION:
        raise SubarrayError(
            f"no dedicated subarray-transfer selection for {filt} (choose {', '.join(SUBTRANS_FILTERS)})"
        )
    opts = CF.CalfacOptions(basedir=Path(basedir), subtrans=True, eefraction=eefraction)
    mpath = CF.model_table_path(basedir, False)
    try:
        models = CF.read_model_table(mpath)
        res = CF.get_calfactors("ADwarfs", filt, opts, models, "timemid")
    except CF.CalFactorError as exc:
        raise SubarrayError(str(exc)) from None
    if res is None:
        raise SubarrayError(f"no photometry table {CF.phot_table_path(basedir, 'ADwarfs', filt, opts)}")
    tab, path = res
    star, mjd, half = C.SUBTRANS_SELECTION[filt]
    if len(tab) == 0:
        raise SubarrayError(f"{filt}: no observation of {star} within {half:g} d of MJD {mjd} in {path}")
    tab.sort("timemid")
    cal = np.asarray(tab["calfac"], float)
    y = np.mean(cal) / cal
    subs = np.asarray(tab["subarray"], dtype=str)
    present = [s for s in C.IMAGER_SUBARRAYS if s in subs]
    if not present:
        raise SubarrayError(f"{filt}: the transfer visit has no imager subarray ({', '.join(sorted(set(subs)))})")
    ref = "FULL" if "FULL" in present else ("SUB256" if "SUB256" in present else present[0])
    if ref != "FULL":
        log.warning("%s: FULL not observed in the transfer visit: ratios relative to %s", filt, ref)
    stats = {}
    for s in present:
        v = y[subs == s]
        sem = float(np.std(v, ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")
        stats[s] = (float(np.mean(v)), sem, v.size)
    r0 = stats[ref][0]
    out = Table()
    out["name"] = present
    out["FracChange"] = [stats[s][0] / r0 for s in present]
    out["FracChange_unc"] = [stats[s][1] / r0 for s in present]
    out["npts"] = [stats[s][2] for s in present]
    out.meta["reference"] = ref
    out.meta["comments"] = [
        f"{filt} dedicated transfer visit of {star} (MJD {mjd} +- {half:g} d): mean of y = mean(C)/C per subarray "
        f"relative to {ref}; FracChange_unc = own standard error"
    ]
    obs = Table({"subarray": subs, "timemid": np.asarray(tab["timemid"], float), "y": y})
    return out, obs, [mpath, path]


def read_subtrans(path) -> Table | None:
    """Read a ``subarray_transfer_<F>.dat`` file (None if absent); FracChange_unc NaN if not recorded."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        t = Table.read(path, format="ascii.commented_header")
    except Exception as exc:  # astropy raises several types for unreadable files
        raise SubarrayError(f"{path}: cannot read ({exc})") from None
    if not {"name", "FracChange"} <= set(t.colnames):
        raise SubarrayError(f"{path}: needs the columns name, FracChange")
    if "FracChange_unc" not in t.colnames:
        t["FracChange_unc"] = np.nan
    t["name"] = [str(n).strip() for n in t["name"]]
    return t


def table5_lines(names, values) -> list[str]:
    """Paper Table 5 input: ``SUB & value \\\\`` lines."""
    return [f"{n} & {v:.4f} \\\\" for n, v in zip(names, values, strict=True)]


# --------------------------------------------------------------------------
# All observations and derived factors (plot_subtrans_allobs.py)
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """One measurement of rate(subarray) / rate(SUB256)."""

    source: str  # "dedicated" or "allobs"
    filt: str
    subarray: str
    value: float
    unc: float  # NaN when unknown


def allobs_path(basedir, filt: str) -> Path:
    """``CalFacs/miri_calfactors_grieke_timecor_<F>_subarr.dat`` (plot_multi_calfacs --grieke --xaxisval subarr --noignore)."""
    opts = CF.CalfacOptions(basedir=Path(basedir), grieke=True, applytime=True)
    return CF.sidecar_path(CF.savefile_path(opts, filt), "subarr")


def allobs_ratios(path, filt: str) -> list[Estimate]:
    """Relative flux C(SUB256) / C(subarray) from a ``_subarr.dat`` file (spec 3.20); absent subarrays left out.

    The uncertainty combines the standard errors of both averages; an average of 3 or fewer points has
    none (step 9 reports 0) and gives NaN.
    """
    try:
        t = Table.read(path, format="ascii.commented_header")
    except Exception as exc:  # astropy raises several types for unreadable files
        raise SubarrayError(f"{path}: cannot read ({exc})") from None
    names = [str(n).strip() for n in t["name"]]
    cal = dict(zip(names, np.asarray(t["calfacs"], float), strict=True))
    um = dict(zip(names, np.asarray(t["calfacs_uncmean"], float), strict=True))
    if not cal.get("SUB256", 0.0) > 0:
        log.warning("%s: no SUB256 average: not used", path)
        return []

    def rel_unc(s):
        return um[s] / cal[s] if um[s] > 0 else float("nan")

    out = []
    for s in C.IMAGER_SUBARRAYS:
        if s == "SUB256" or not cal.get(s, 0.0) > 0:
            continue
        rel = cal["SUB256"] / cal[s]
        out.append(Estimate("allobs", filt, s, rel, rel * float(np.hypot(rel_unc(s), rel_unc("SUB256")))))
    return out


def dedicated_estimates(tab: Table, filt: str) -> list[Estimate]:
    """rate(subarray)/rate(SUB256) from a transfer-ratio table (needs SUB256)."""
    d = {n: (float(v), float(u)) for n, v, u in zip(tab["name"], tab["FracChange"], tab["FracChange_unc"], strict=True)}
    if "SUB256" not in d:
        log.warning("%s transfer ratios have no SUB256: not used", filt)
        return []
    v0, u0 = d["SUB256"]
    out = []
    for s, (v, u) in d.items():
        if s == "SUB256":
            continue
        rel = v / v0
        out.append(Estimate("dedicated", filt, s, rel, rel * float(np.hypot(u / v, u0 / v0))))
    return out


def derive_factors(estimates: list[Estimate]) -> Table:
    """Subarray factors derived from the measurements, next to the adopted ones.

    Per subarray: the weighted mean (1/unc^2) of the estimates with a known uncertainty, its standard
    error scaled up by sqrt(reduced chi^2) when the estimates scatter more than their errors; without any
    known uncertainty, the mean and std/sqrt(n) of the estimates left after a 3-sigma clip about their
    median (NaN for one estimate).  SUB256 is 1 by definition.
    The factors relative to FULL are rel / rel(FULL) with the uncertainties added in quadrature.

    Returns
    -------
    Table
        subarray, adopted_rel_sub256, derived_rel_sub256, derived_rel_sub256_unc, nest, adopted
        (``constants.SUBARR_COR``), derived, derived_unc (NaN when FULL could not be derived).
    """
    rel, unc, nest = {}, {}, {}
    for s in C.IMAGER_SUBARRAYS:
        if s == "SUB256":
            rel[s], unc[s], nest[s] = 1.0, 0.0, 0
            continue
        es = [e for e in estimates if e.subarray == s and np.isfinite(e.value)]
        nest[s] = len(es)
        known = [e for e in es if np.isfinite(e.unc) and e.unc > 0]
        if known:
            v = np.array([e.value for e in known])
            w = 1.0 / np.array([e.unc for e in known]) ** 2
            m = float(np.sum(w * v) / np.sum(w))
            u = float(1.0 / np.sqrt(np.sum(w)))
            if len(known) > 1:
                chi2 = float(np.sum(w * (v - m) ** 2) / (len(known) - 1))
                u *= max(1.0, np.sqrt(chi2))
        elif es:
            # without uncertainties one wild estimate (a filter with a poor time correction) would pull a
            # plain mean: clip at 3 sigma about the median first
            from astropy.stats import sigma_clip

            v = np.array([e.value for e in es])
            if v.size > 2:
                v = np.asarray(v[~sigma_clip(v, sigma=3.0, maxiters=5).mask])
            m = float(np.mean(v))
            u = float(np.std(v, ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")
        else:
            m = u = float("nan")
        rel[s], unc[s] = m, u
    adopted_rel = dict(zip(C.IMAGER_SUBARRAYS, C.SUBARR_ADOPTED_REL_SUB256, strict=True))
    t = Table()
    t["subarray"] = list(C.IMAGER_SUBARRAYS)
    t["adopted_rel_sub256"] = [adopted_rel[s] for s in C.IMAGER_SUBARRAYS]
    t["derived_rel_sub256"] = [rel[s] for s in C.IMAGER_SUBARRAYS]
    t["derived_rel_sub256_unc"] = [unc[s] for s in C.IMAGER_SUBARRAYS]
    t["nest"] = [nest[s] for s in C.IMAGER_SUBARRAYS]
    t["adopted"] = [C.SUBARR_COR[s] for s in C.IMAGER_SUBARRAYS]
    fr, fu = rel["FULL"], unc["FULL"]
    der, der_u = [], []
    for s in C.IMAGER_SUBARRAYS:
        d = rel[s] / fr
        der.append(d)
        der_u.append(0.0 if s == "FULL" else d * float(np.hypot(unc[s] / rel[s], fu / fr)))
    t["derived"] = der
    t["derived_unc"] = der_u
    if not np.isfinite(fr):
        log.warning("no measurement of FULL: the factors relative to FULL cannot be derived")
    return t


def derived_lines(t: Table) -> list[str]:
    """Printable comparison of the adopted and derived factors."""
    lines = [
        f"{'subarray':10s} {'adopted':>8s} {'derived':>8s} {'+-':>7s}   {'adopt/256':>9s} {'der/256':>8s} {'+-':>7s} {'n':>3s}"
    ]
    for r in t:
        lines.append(
            f"{r['subarray']:10s} {r['adopted']:8.4f} {r['derived']:8.4f} {r['derived_unc']:7.4f}   "
            f"{r['adopted_rel_sub256']:9.4f} {r['derived_rel_sub256']:8.4f} {r['derived_rel_sub256_unc']:7.4f} "
            f"{r['nest']:3d}"
        )
    return lines


def read_derived(path) -> Table:
    """Read ``CalFacs/subarray_factors_derived.dat``."""
    path = Path(path)
    if not path.is_file():
        raise SubarrayError(f"{path}: derived subarray factors not found (run plot_subtrans_allobs.py --derive)")
    t = Table.read(path, format="ascii.commented_header")
    t["subarray"] = [str(s).strip() for s in t["subarray"]]
    return t


def _rc(fontsize):
    return {"font.size": fontsize, "lines.linewidth": 2, "axes.linewidth": 2}


def _save(fig, out, path: Path, fmt: str, prov: dict) -> None:
    from .plotting import savefig_with_provenance

    savefig_with_provenance(fig, out.stage(path), fmt, prov)


def run_subtrans(basedir, filt: str, eefraction=C.EE_FRACTION_PHOT, fig_format="png", show=False, options=None):
    """Dedicated transfer ratios of one filter: table, Table 5 lines and ``Figs/subtrans_<F>`` (plot_subtrans.py).

    Returns
    -------
    ratios, lines, written
    """
    import matplotlib.pyplot as plt

    from .io_utils import OutputSet, provenance, write_table

    ratios, obs, inputs = subtrans_ratios(basedir, filt, eefraction)
    prov = provenance("plot_subtrans.py", inputs=inputs, options=options or {})
    ref = ratios.meta["reference"]
    lines = table5_lines(ratios["name"], ratios["FracChange"])
    r0 = float(np.mean(obs["y"][obs["subarray"] == ref]))
    with plt.rc_context(_rc(14)):
        fig, ax = plt.subplots(figsize=(9, 6))
        yy = np.asarray(obs["y"]) / r0
        xs = np.arange(len(obs))
        for s in C.IMAGER_SUBARRAYS:
            sel = np.asarray(obs["subarray"]) == s
            if np.any(sel):
                ax.plot(xs[sel], yy[sel], ls="none", ms=9, label=s, marker=CF.SUBARR_MARKER[s])
        ax.set_xticks(xs, list(obs["subarray"]), rotation=45)
        ax.axhline(1.0, color="k", ls=":")
        lo, hi = float(np.min(yy)), float(np.max(yy))
        pad = max(0.002, 0.15 * (hi - lo))
        ax.set_ylim(min(0.99, lo - pad), max(1.01, hi + pad))
        ax.set_ylabel(f"Flux density relative to {ref}")
        ax.set_xlabel("Observation (time order)")
        ax.set_title(f"{filt} subarray transfer ({C.SUBTRANS_SELECTION[filt][0]})", fontsize=12)
        ax.legend(fontsize=10)
        fig.tight_layout()
        with OutputSet() as out:
            write_table(ratios, out.stage(subtrans_path(basedir, filt)), "ascii.commented_header", prov)
            _save(fig, out, Path(basedir) / "Figs" / f"subtrans_{filt}.{fig_format}", fig_format, prov)
            written = out.finals
        if show:
            plt.show()
        plt.close(fig)
    for p in written:
        log.info("wrote %s", p)
    return ratios, lines, written


def run_subtrans_allobs(basedir, derive=False, fig_format="png", show=False, options=None):
    """Fig. 6: adopted, dedicated and all-observation subarray ratios (plot_subtrans_allobs.py).

    Returns
    -------
    lines, derived, written
        Table 5 lines (adopted / adopted[FULL]), the derived-factor table (None without ``derive``), files.
    """
    import matplotlib.pyplot as plt

    from .io_utils import OutputSet, provenance, write_table

    basedir = Path(basedir)
    estimates, inputs, series = [], [], []
    for f in SUBTRANS_FILTERS:
        p = subtrans_path(basedir, f)
        t = read_subtrans(p)
        if t is None:
            log.warning("no dedicated transfer ratios %s (run plot_subtrans.py --filter %s)", p, f)
            continue
        inputs.append(p)
        es = dedicated_estimates(t, f)
        estimates += es
        series.append((f"{f} dedicated", es))
    for f in C.IMAGER_FILTERS:
        p = allobs_path(basedir, f)
        if not p.is_file():
            log.info("no all-observation subarray averages for %s (%s)", f, p)
            continue
        inputs.append(p)
        es = allobs_ratios(p, f)
        estimates += es
        series.append((f"{f} all obs", es))
    if not estimates:
        raise SubarrayError(
            f"no subarray measurement below {basedir}/CalFacs (run plot_subtrans.py and plot_multi_calfacs.py "
            "--grieke --xaxisval subarr --noignore first)"
        )
    adopted = np.array(C.SUBARR_ADOPTED_REL_SUB256)
    lines = table5_lines(C.IMAGER_SUBARRAYS, adopted / adopted[0])
    derived = derive_factors(estimates) if derive else None
    prov = provenance("plot_subtrans_allobs.py", inputs=inputs, options=options or {})
    pos = {s: i for i, s in enumerate(C.IMAGER_SUBARRAYS)}
    with plt.rc_context(_rc(14)):
        fig, ax = plt.subplots(figsize=(10, 7))
        xs = np.arange(len(C.IMAGER_SUBARRAYS))
        ax.plot(xs, adopted, "k*-", ms=16, label="Adopted", zorder=4)
        cmap = plt.get_cmap("viridis")
        allv = list(adopted)
        for k, (label, es) in enumerate(series):
            off = SERIES_OFFSET * (k + 1)
            x = [pos[e.subarray] + off for e in es] + [pos["SUB256"] + off]
            y = [e.value for e in es] + [1.0]
            u = [e.unc if np.isfinite(e.unc) else 0.0 for e in es] + [0.0]
            marker = "s" if "dedicated" in label else "o"
            ax.errorbar(x, y, yerr=u, fmt=marker, color=cmap(k / max(1, len(series) - 1)), label=label, alpha=0.8)
            allv += y
        if derived is not None:
            ax.errorbar(
                xs - 0.1,
                derived["derived_rel_sub256"],
                yerr=np.nan_to_num(np.asarray(derived["derived_rel_sub256_unc"], float)),
                fmt="D",
                color="grey",
                ms=9,
                label="Derived",
            )
            allv += [v for v in derived["derived_rel_sub256"] if np.isfinite(v)]
        ax.set_xticks(xs, C.IMAGER_SUBARRAYS)
        ax.set_ylabel("Flux Density relative to SUB256")
        ax.set_ylim(min(0.92, min(allv) - 0.01), max(1.06, max(allv) + 0.01))
        ax.legend(fontsize=9, ncols=2)
        fig.tight_layout()
        with OutputSet() as out:
            if derived is not None:
                d = derived.copy()
                d.meta["comments"] = [
                    "subarray factors rate(subarray)/rate(FULL): adopted (constants.SUBARR_COR) and derived from "
                    "the dedicated transfer visits and the all-observation averages"
                ]
                write_table(d, out.stage(basedir / "CalFacs" / DERIVED_FILE), "ascii.commented_header", prov)
            _save(fig, out, basedir / "Figs" / f"subtrans_allobs.{fig_format}", fig_format, prov)
            written = out.finals
        if show:
            plt.show()
        plt.close(fig)
    for p in written:
        log.info("wrote %s", p)
    return lines, derived, written


# --------------------------------------------------------------------------
# Source-type dependence (plot_srctype_allobs.py)
# --------------------------------------------------------------------------
def srctype_path(basedir, filt: str) -> Path:
    """``CalFacs/miri_calfactors_grieke_subarracor_timecor_<F>_srctype.dat`` (plot_multi_calfacs --xaxisval srctype)."""
    opts = CF.CalfacOptions(basedir=Path(basedir), grieke=True, subarrcor=True, applytime=True)
    return CF.sidecar_path(CF.savefile_path(opts, filt), "srctype")


def weighted_type_stats(rel, unc) -> tuple[float, float, float, int]:
    """Weighted mean (1/unc^2), weighted std (ddof 1; 0 for 3 or fewer values) and std/sqrt(N)."""
    rel = np.asarray(rel, float)
    unc = np.asarray(unc, float)
    n = rel.size
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    w = 1.0 / unc**2
    mean = float(np.sum(w * rel) / np.sum(w))
    if n > 3:
        std = float(np.sqrt(np.sum(w * (rel - mean) ** 2) / np.sum(w) * n / (n - 1)))
    else:
        std = 0.0
    return mean, std, std / np.sqrt(n), n


def run_srctype(basedir, photom, fig_format="png", show=False, jitter_seed=CF.DEFAULT_JITTER_SEED, options=None):
    """Fig. 8: C / C(source type) per imager filter and the weighted average per type (plot_srctype_allobs.py).

    Returns
    -------
    stats, written
        Table (type, mean, std, std_mean, nfilters) and the written files.
    """
    import matplotlib.pyplot as plt

    from .io_utils import OutputSet, provenance, write_table
    from .photom_reffile import PhotomError, full_row, read_photom_tables

    basedir = Path(basedir)
    try:
        tables = read_photom_tables(photom)
    except PhotomError as exc:
        raise SubarrayError(str(exc)) from None
    pts = {t: [] for t in C.STAR_TYPES}  # type -> [(filter, rel, unc)]
    inputs = [Path(photom)]
    for f in C.IMAGER_FILTERS:
        p = srctype_path(basedir, f)
        if not p.is_file():
            log.info("no source-type averages for %s (%s)", f, p)
            continue
        try:
            c0, u0 = full_row(tables, f)
        except PhotomError as exc:
            log.warning("%s: %s", photom, exc)
            continue
        inputs.append(p)
        t = Table.read(p, format="ascii.commented_header")
        for name, cal, um in zip(t["name"], t["calfacs"], t["calfacs_uncmean"], strict=True):
            name = str(name).strip()
            if name in pts and um > 0 and cal > 0:
                rel = c0 / cal
                unc = rel * float(np.hypot(um / cal, (u0 / c0) if np.isfinite(u0) else 0.0))
                pts[name].append((f, rel, unc))
    if not any(pts.values()):
        raise SubarrayError(
            f"no source-type averages with uncertainties below {basedir}/CalFacs (run plot_multi_calfacs.py "
            "--grieke --subarrcor --xaxisval srctype first)"
        )
    stats = Table(names=("type", "mean", "std", "std_mean", "nfilters"), dtype=(str, float, float, float, int))
    for ty, rows in pts.items():
        m, s, sm, n = weighted_type_stats([r[1] for r in rows], [r[2] for r in rows])
        stats.add_row((ty, m, s, sm, n))
        if n:
            log.info("%s: C/C(type) = %.4f +- %.4f (std %.4f, %d filters)", ty, m, sm, s, n)
    prov = provenance("plot_srctype_allobs.py", inputs=inputs, options=options or {})
    rng = np.random.default_rng(jitter_seed)
    with plt.rc_context(_rc(14)):
        fig, ax = plt.subplots(figsize=(10, 7))
        for k, ty in enumerate(C.STAR_TYPES):
            rows = pts[ty]
            if not rows:
                continue
            x = k + rng.normal(0.0, CF.JITTER_SIGMA, len(rows))
            ax.errorbar(
                x,
                [r[1] for r in rows],
                yerr=[r[2] for r in rows],
                fmt="o",
                color=CF.TYPE_COLOR[ty],
                alpha=0.6,
                label=C.STAR_TYPE_LABEL[ty],
            )
            st = stats[k]
            ax.errorbar(k + 0.35, st["mean"], yerr=5 * st["std_mean"], fmt="*", color="k", ms=16)
        ax.plot([], [], "k*", ms=12, label=r"Average $\pm$ 5$\sigma$")
        ax.axhline(1.0, color="k", ls=":")
        ax.set_xticks(range(len(C.STAR_TYPES)), [C.STAR_TYPE_LABEL[t] for t in C.STAR_TYPES])
        allv = [r[1] for rows in pts.values() for r in rows]
        ax.set_ylim(min(0.97, min(allv) - 0.005), max(1.03, max(allv) + 0.005))
        ax.set_ylabel("C / C(srctype)")
        ax.legend(fontsize=10)
        fig.tight_layout()
        with OutputSet() as out:
            write_table(stats, out.stage(basedir / "CalFacs" / "srctype_allobs.dat"), "ascii.commented_header", prov)
            _save(fig, out, basedir / "Figs" / f"srctype_allobs.{fig_format}", fig_format, prov)
            written = out.finals
        if show:
            plt.show()
        plt.close(fig)
    for p in written:
        log.info("wrote %s", p)
    return stats, written
