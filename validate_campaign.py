#!/usr/bin/env python
"""Closed-loop validation: compare every recovered quantity of a simulated campaign with its injected truth.

Examples
--------
    python validate_campaign.py --basedir demo_run
    python validate_campaign.py --basedir tiny_run --filters F770W F2100W --tol-time 0.01
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
from astropy.table import Table

from absflux import constants as C
from absflux.cli import fail, run, setup_logging

log = logging.getLogger("validate_campaign")

EPILOG = """\
Compared quantities (truth from <basedir>/truth.ecsv, written by simulate_campaign.py):
  C         calibration factor at t0 in FULL per filter: the FULL row of the photom file (--photom; default
            the newest Photom/jwst_miri_photom_*.fits), or the step-9 _ave.dat files when there is no photom
            file; passes when |C/C_true - 1| <= max(--tol-c, --nsigma x uncertainty/C_true), the uncertainty
            combining that of the average (the spread of the stars, or the error their photometric errors
            imply - avecalfac_uncphot of the _ave.dat - when larger), the time curve's sigma(t) (see
            time) at the filter's observation epochs (median over its exposures), since C(t0) is the
            average of observations corrected by that curve, and the standard error of the filter's
            aperture correction (APCORR _full table: apcor_unc / sqrt(nsets - 1)), which every star shares;
            capped at --tol-time-max like the time curves.
  time      the time correction (1 - lossperyear dt/365)(amplitude exp(-dt/tau) + const) of the photom file
            (or the repeat-fit files) against the injected one, over the whole time span of the campaign
            (t0 to the last exposure, every --time-step days); the largest relative difference must be <=
            max(--tol-time, --nsigma x sigma(t)) at every epoch, sigma(t) = the statistical accuracy of the
            fitted curve: a seeded residual bootstrap of the step-7 fit (100 refits of the repeat series),
            or without photometry tables the fit's relative scatter x sqrt(free parameters / points) from
            the repeat-fit file; the interpolated coronagraphic filters and FND combine those of their two
            imager filters, hypot((1 - w) sigma_1, w sigma_2).  The allowance never exceeds --tol-time-max
            (default 0.02): a curve the data hardly constrain fails instead of passing on its own uncertainty.
  subarray  the factors derived by plot_subtrans_allobs.py --derive (CalFacs/subarray_factors_derived.dat)
            against the injected subarr_cor, for every imager subarray observed in the campaign (--tol-subarray).
  apcorr    if an APCORR file exists (--apcorr; default the newest ApCor/jwst_miri_apcorr_*.fits): the FULL
            aperture correction of every imager filter (and of the coronagraphic filters, from their
            background-subtracted mosaics, when three are measured to 1%) at the photometry EE (0.7)
            against the effective injected one, injected total rate / background-subtracted aperture sum
            (median over the default mosaics measured to better than 1%; the aperture correction that
            makes the photometry exact, resampling blur included); passes within max(--tol-apcorr,
            --nsigma x sigma), sigma combining the standard errors of the effective value and of the
            file's (apcor_unc / sqrt(nsets - 1) of its _full table).  Without photometry tables, and at
            the other --apcorr-ee fractions: against the injected PSF's
            (absflux.psf_model.true_aperture_corrections on the campaign's PSF files, no resampling blur).
Writes the table (ECSV, --out; default <basedir>/validation.ecsv, with provenance) and the figure
Figs/validate_campaign.png|pdf, and prints the table. Exit code: 0 all pass, 1 some value outside its
tolerance (or missing, unless --allow-missing), 2 bad inputs (one-line error).
"""

COLUMNS = ("quantity", "filter", "subarray", "key", "recovered", "uncertainty", "truth", "rel_diff", "tolerance")


def _newest(paths):
    paths = sorted(paths, key=lambda q: q.stat().st_mtime)
    return paths[-1] if paths else None


def default_photom(basedir: Path) -> Path | None:
    """Newest ``Photom/jwst_miri_photom_*.fits``."""
    return _newest((basedir / "Photom").glob("jwst_miri_photom_*.fits"))


def default_apcorr(basedir: Path) -> Path | None:
    """Newest ``ApCor/jwst_miri_apcorr_*.fits`` that is not a ``_full`` table."""
    return _newest(p for p in (basedir / "ApCor").glob("jwst_miri_apcorr_*.fits") if not p.stem.endswith("_full"))


class MissingResultError(ValueError):
    """A filter to validate has no recovered result (one-line error naming the missing file)."""


class Rows:
    """Accumulates the comparison rows."""

    def __init__(self):
        self.rows = []

    def add(self, quantity, filt, sub, key, rec, unc, truth, tol, source, note=""):
        rec = float(rec) if rec is not None else float("nan")
        truth = float(truth)
        rel = rec / truth - 1.0 if np.isfinite(rec) else float("nan")
        status = "missing" if not np.isfinite(rec) else ("pass" if abs(rel) <= tol else "FAIL")
        self.rows.append(
            {
                "quantity": quantity,
                "filter": filt,
                "subarray": sub,
                "key": float(key),
                "recovered": rec,
                "uncertainty": float(unc) if unc is not None else float("nan"),
                "truth": truth,
                "rel_diff": rel,
                "tolerance": float(tol),
                "status": status,
                "source": source,
                "note": note,
            }
        )

    def table(self) -> Table:
        names = (*COLUMNS, "status", "source", "note")
        if not self.rows:
            return Table(names=names, dtype=[str, str, str] + [float] * 6 + [str, str, str])
        return Table(rows=[[r[n] for n in names] for r in self.rows], names=names)


def _fit_sigma(basedir, filt: str) -> float | None:
    """Relative 1-sigma of a fitted time curve from its repeat-fit file (None when the file has no statistics)."""
    from absflux import calfactors as CF

    p = CF.repeat_fit_path(basedir, filt)
    if not p.is_file():
        return None
    t = Table.read(p, format="ascii.commented_header")
    cols = [f"fit_std_per_{filt}", f"fit_npts_{filt}", f"fit_npar_{filt}"]
    if not all(c in t.colnames for c in cols):
        return None
    per, npts, npar = (float(t[c][0]) for c in cols)
    if not (np.isfinite(per) and npts > npar > 0):
        return None
    return per / 100.0 * float(np.sqrt(npar / npts))


def time_sigma(basedir, filt: str, grid, cache: dict) -> np.ndarray:
    """sigma(t) of the time curve of ``filt`` on ``grid``: bootstrap, else the average sigma_curve, else 0.

    Interpolated filters (coronagraphic, FND; ``constants.CORON_INTERP_PAIRS``) combine the sigmas of
    their two imager filters with the interpolation weight w: hypot((1 - w) s_1, w s_2).
    """
    if filt in C.CORON_INTERP_PAIRS:
        # the curve is (1 - w) curve_1 + w curve_2 of two independent fits
        f1, f2 = C.CORON_INTERP_PAIRS[filt]
        lam, l1, l2 = (C.CORON_INTERP_PIVOTS[f] for f in (filt, f1, f2))
        w = (lam - l1) / (l2 - l1)
        s1, s2 = (time_sigma(basedir, f, grid, cache) for f in (f1, f2))
        return np.hypot((1.0 - w) * s1, w * s2)
    src = filt
    if filt not in C.IMAGER_FILTERS:
        src = min(C.IMAGER_FILTERS, key=lambda g: abs(C.PIVOT_WAVELENGTH[g] - C.PIVOT_WAVELENGTH[filt]))
    if src not in cache:
        cache[src] = bootstrap_curve_sigma(basedir, src, grid, models=_models(basedir, cache))
    sig = cache[src]
    if sig is None:
        sc = _fit_sigma(basedir, src)
        sig = np.full(len(grid), sc if sc is not None else 0.0)
    return np.asarray(sig, float)


def _models(basedir, cache: dict):
    """``Models/model_phot_grieke.fits`` read once per run (None when absent)."""
    if "_models" not in cache:
        from absflux import calfactors as CF

        mpath = Path(basedir) / "Models" / "model_phot_grieke.fits"
        try:
            cache["_models"] = CF.read_model_table(mpath) if mpath.is_file() else None
        except CF.CalFactorError as exc:
            log.info("no model fluxes for the bootstrap (%s)", exc)
            cache["_models"] = None
    return cache["_models"]


def bootstrap_curve_sigma(basedir, filt: str, grid, models=None, n: int = 100, seed: int = 1, model: str = "exp+line"):
    """Relative 1-sigma of the fitted time curve at each MJD of ``grid`` (residual bootstrap of step 7's fit).

    The repeat series of ``filt`` is fitted as plot_repeatability.py does (default exclusions and bridge
    window); ``n`` series made of the fitted curve plus residuals drawn with replacement (seeded) are
    refitted, and the standard deviation of their normalised curves y(t)/y(t0) is returned.  The residuals
    are scaled by sqrt(n / (n - p)) (n points, p free parameters), since a fit's residuals underestimate
    the scatter it was fitted to.  A
    statistical accuracy that, unlike the average of ``_fit_sigma``, grows where the epochs are sparse.
    ``models`` is the G. Rieke model-flux table.  None when the series cannot be built (no photometry
    tables or models).
    """
    from absflux import calfactors as CF
    from absflux import timedep as TD

    if filt not in C.IMAGER_FILTERS or models is None:
        return None
    try:
        series = TD.collect_repeat_series(basedir, filt, models)
        x = np.asarray(series.table["x"], float)
        y = np.asarray(series.table["y"], float)
        fit = TD.fit_model(model, x, y, filt)
    except (TD.TimeDepError, CF.CalFactorError, OSError, KeyError) as exc:
        log.info("%s: no bootstrap of the time fit (%s)", filt, exc)
        return None
    rng = np.random.default_rng(seed)
    base = fit.curve(x)
    # fitted residuals are smaller than the noise by sqrt((n - p) / n): rescale them (modified residuals)
    resid = (y - base) * np.sqrt(x.size / max(x.size - fit.npar, 1))
    xg = np.asarray(grid, float) - C.STARTDAY
    curves = []
    for _ in range(n):
        try:
            fb = TD.fit_model(model, x, base + rng.choice(resid, size=resid.size, replace=True), filt)
        except TD.TimeDepError:
            continue
        curves.append(fb.relative(xg))
    if len(curves) < n // 2:
        return None
    return np.std(np.array(curves), axis=0, ddof=1)


def photometric_c_error(basedir, filt: str) -> float | None:
    """The error of the average C implied by the photometric errors (``avecalfac_uncphot`` of step 9's _ave.dat).

    None when the file or the column (a new column: products of earlier versions lack it) is absent.
    """
    from absflux import photom_reffile as PR

    p = PR.ave_path(basedir, filt)
    if not p.is_file():
        return None
    ave = Table.read(p, format="ascii.commented_header")
    col = f"avecalfac_uncphot_{filt}"
    if col not in ave.colnames:
        return None
    v = float(ave[col][0])
    return v if np.isfinite(v) else None


def read_apcorr_full(apcorr) -> tuple[Table | None, Path | None]:
    """The ``_full`` table of an APCORR file and its path; (None, None) without it or its ``nsets`` column."""
    if apcorr is None:
        return None, None
    full = Path(apcorr).with_name(Path(apcorr).stem + "_full.fits")
    if not full.is_file():
        return None, None
    t = Table.read(full)
    if "nsets" not in t.colnames:
        return None, None
    return t, full


def apcorr_mean_error(
    apcorr, filt: str, eefraction: float = C.EE_FRACTION_PHOT, full=None
) -> tuple[float, Path | None]:
    """Relative standard error of the aperture correction of ``filt`` at ``eefraction`` in an APCORR file.

    From its ``_full`` table: apcor_unc (population std of the vetted sets) / sqrt(nsets - 1) / apcor, on the
    FULL row (or the filter's first row).  Every star of the filter is corrected by this one number, so its
    error adds to that of the average C.  (0, None) without the table or its ``nsets`` column.  ``full`` is
    :func:`read_apcorr_full`'s result, to read the table once for many filters.
    """
    t, path = full if full is not None else read_apcorr_full(apcorr)
    if t is None:
        return 0.0, None
    fcol = np.char.strip(np.asarray(t["filter"]).astype(str))
    scol = np.char.strip(np.asarray(t["subarray"]).astype(str))
    sel = (fcol == filt) & np.isclose(np.asarray(t["eefraction"], float), eefraction)
    idx = np.flatnonzero(sel & (scol == "FULL"))
    idx = idx if idx.size else np.flatnonzero(sel)
    if idx.size == 0:
        return 0.0, None
    r = t[int(idx[0])]
    n = int(r["nsets"])
    if n < 2 or not float(r["apcor"]) > 0:
        return 0.0, path
    return float(r["apcor_unc"]) / np.sqrt(n - 1.0) / float(r["apcor"]), path


def compare_c_and_time(basedir, truth, filters, photom, args, rows: Rows, curves: dict, apcorr=None) -> list[Path]:
    """C per filter and the time curves (photom file, or the step 7/9 files).

    The uncertainty of C combines the larger of the average's spread and its photometric error, the
    time curve's sigma(t) at the filter's epochs and the standard error of the filter's aperture
    correction (``apcorr``, the APCORR file; its ``_full`` table).
    """
    from absflux import calfactors as CF
    from absflux import photom_reffile as PR
    from absflux import sim_defaults as SD

    meta = truth.meta
    cal_true = meta["calfactors_full_t0"]
    tc_true = meta["time_coeffs"]
    t_end = float(np.max(truth["expmid"]))
    grid = np.arange(C.STARTDAY, t_end + args.time_step, args.time_step)
    grid[-1] = min(grid[-1], t_end)
    inputs = []
    tables = None
    if photom is not None:
        tables = PR.read_photom_tables(photom)
        inputs.append(photom)
    boot = {}  # filter -> bootstrap sigma(t), shared by the interpolated filters
    ap_full = read_apcorr_full(apcorr)  # once for all filters
    for f in filters:
        ctrue = float(cal_true[f])
        rec = unc = None
        corr = None
        missing = []  # what a missing recovered value lacks (named in the error or the row's note)
        if tables is not None:
            src = Path(photom).name
            try:
                rec, unc = PR.full_row(tables, f)
                ref = CF.read_photom_reference(photom, f)
                corr = ref.photmjsr / ref.calfactor(grid)
            except (PR.PhotomError, CF.CalFactorError) as exc:
                log.warning("%s", exc)
                missing.append(f"{photom}: {exc}")
        else:
            p = PR.ave_path(basedir, f)
            src = p.name
            if p.is_file():
                ave = Table.read(p, format="ascii.commented_header")
                rec, unc = float(ave[f"avecalfac_{f}"][0]), float(ave[f"avecalfac_unc_{f}"][0])
                inputs.append(p)
            else:
                missing.append(f"{p}: averaged result not found")
            fp = CF.repeat_fit_path(basedir, f)
            if fp.is_file():
                corr = CF.read_repeat_fit(fp, f).correction(grid)
                inputs.append(fp)
            else:
                missing.append(f"{fp}: repeat-fit file not found")
        if rec is None:
            if not args.allow_missing:
                raise MissingResultError(f"{f}: no recovered C: {missing[0] if missing else 'no input'}")
            # a recorded gap, never a silent shrink of the table
            note = "missing: " + "; ".join(missing)
            rows.add("C", f, "FULL", C.STARTDAY, None, None, ctrue, args.tol_c, src, note)
            strue = SD.relative_sensitivity(f, np.array([t_end]), coeffs=tc_true)
            rows.add("time", f, "FULL", t_end, None, None, strue[-1], args.tol_time, src, note)
            continue
        strue = SD.relative_sensitivity(f, grid, coeffs=tc_true)
        sig_t = time_sigma(basedir, f, grid, boot)
        # C(t0) comes from observations at later epochs corrected by the fitted curve: the curve's
        # uncertainty at those epochs (median over the filter's exposures) adds to the spread of the stars
        epochs = np.asarray(truth["expmid"][np.asarray(truth["filter"]) == f], float)
        sig_tc = float(np.median(np.interp(epochs, grid, sig_t))) if epochs.size else 0.0
        sig = unc if (unc is not None and np.isfinite(unc)) else 0.0
        # a few stars can agree by chance: never less than what their photometric errors imply
        uphot = photometric_c_error(basedir, f)
        sig = max(sig, uphot) if uphot is not None else sig
        sig_ap, ap_path = apcorr_mean_error(apcorr, f, full=ap_full)
        if ap_path is not None and ap_path not in inputs:
            inputs.append(ap_path)
        unc_tot = float(np.sqrt(sig**2 + (sig_tc * ctrue) ** 2 + (sig_ap * ctrue) ** 2)) if rec is not None else unc
        tol_c = min(max(args.tol_c, args.nsigma * unc_tot / ctrue), max(args.tol_c, args.tol_time_max))
        parts = [
            f"stars {100 * sig / ctrue:.2f}%" + (" (phot. errors)" if uphot is not None and uphot >= (unc or 0) else "")
        ]
        if sig_tc > 0:
            parts.append(f"time curve {100 * sig_tc:.2f}%")
        if sig_ap > 0:
            parts.append(f"apcorr {100 * sig_ap:.2f}%")
        note = "sigma: " + ", ".join(parts)
        rows.add("C", f, "FULL", C.STARTDAY, rec, unc_tot, ctrue, tol_c, src, note)
        # a curve the data hardly constrain must not pass on its own large uncertainty
        allowed = np.minimum(np.maximum(args.tol_time, args.nsigma * sig_t), max(args.tol_time, args.tol_time_max))
        if corr is not None and np.all(np.isfinite(corr)):
            dev = corr / strue - 1.0
            i = int(np.argmax(np.abs(dev) / allowed))
            curves[f] = (grid, dev)
            rows.add("time", f, "FULL", grid[i], corr[i], sig_t[i], strue[i], allowed[i], src, "worst epoch")
        else:
            rows.add("time", f, "FULL", t_end, None, sig_t[-1], strue[-1], allowed[-1], src)
    return inputs


def compare_subarrays(basedir, truth, args, rows: Rows) -> list[Path]:
    """Derived subarray factors against the injected ones, for the imager subarrays of the campaign."""
    from absflux import subarrays as SA

    observed = {str(s) for s, f in zip(truth["subarray"], truth["filter"], strict=True) if str(f) in C.IMAGER_FILTERS}
    subs = [s for s in C.IMAGER_SUBARRAYS if s in observed]
    path = Path(basedir) / "CalFacs" / SA.DERIVED_FILE
    injected = truth.meta.get("subarr_cor", C.SUBARR_COR)
    der = {}
    if path.is_file():
        t = SA.read_derived(path)
        der = {r["subarray"]: (float(r["derived"]), float(r["derived_unc"])) for r in t}
    else:
        log.warning("%s: not found (run plot_subtrans_allobs.py --derive)", path)
    for s in subs:
        rec, unc = der.get(s, (float("nan"), float("nan")))
        rows.add("subarray", "imager", s, 0.0, rec, unc, injected[s], args.tol_subarray, path.name)
    return [path] if path.is_file() else []


def effective_apcorr(basedir, filt: str, eefraction: float = C.EE_FRACTION_PHOT, max_err: float = 0.01):
    """Effective injected aperture correction of ``filt``: apcorr x median(injected / measured) of its mosaics.

    Uses the default (not background-subtracted) mosaics whose relative error is below ``max_err``.
    Returns (value, standard error, number of mosaics) or None without photometry tables.
    """
    from absflux.photometry import truth_comparison

    try:
        first = Path(basedir) / _first_phot(basedir, filt)
    except OSError:
        return None
    ph = Table.read(first)
    if ph.meta.get("SYNTHETI"):  # made from the truth: says nothing about the APCORR file
        return None
    try:
        t = truth_comparison(basedir, eefraction=eefraction, bkgsub=filt in C.CORON_FILTERS, filters=[filt])
    except (OSError, KeyError) as exc:
        log.warning("%s: effective aperture correction not measurable (%s)", filt, exc)
        return None
    t = t[(t["filter"] == filt) & np.isfinite(t["ratio"]) & (t["err"] < max_err)]
    if len(t) < 3:
        return None
    apc = float(np.median(np.asarray(ph["apcorr"], float)))
    ratio = np.asarray(t["ratio"], float)
    med = float(np.median(ratio))
    sem = 1.2533 * float(np.std(ratio, ddof=1)) / np.sqrt(ratio.size)
    return apc / med, apc * sem / med**2, len(t)


def _first_phot(basedir, filt: str) -> Path:
    from absflux.photometry import phot_table_path

    for t in C.STAR_TYPES:
        p = phot_table_path(basedir, t, filt, C.EE_FRACTION_PHOT, bkgsub=filt in C.CORON_FILTERS)
        if p.is_file():
            return p.relative_to(basedir)
    raise OSError(f"no {filt} photometry table below {basedir}")


def compare_apcorr(basedir, truth, filters, apcorr, args, rows: Rows) -> list[Path]:
    """APCORR FULL rows against the effective injected aperture corrections (or the injected PSFs')."""
    from astropy.io import fits

    from absflux import psf_model

    at = Table.read(apcorr, hdu="APCORR")
    ap_full = read_apcorr_full(apcorr)  # once for all filters
    fcol = np.char.strip(np.asarray(at["filter"]).astype(str))
    scol = np.char.strip(np.asarray(at["subarray"]).astype(str))
    psf_dir = Path(basedir) / truth.meta.get("psf_dir", "sim_psfs")
    files = truth.meta.get("psf_files", {})
    inputs = [apcorr]
    for f in filters:
        if f in C.CORON_FILTERS:
            # no resampling-free truth for the mask PSFs: the effective one only, when measurable
            sel = fcol == f
            sub = C.CORON_SUBARRAY[f] if np.any(sel & (scol == C.CORON_SUBARRAY[f])) else "FULL"
            eff = effective_apcorr(basedir, f, C.EE_FRACTION_PHOT)
            idx = np.flatnonzero(sel & (scol == sub) & np.isclose(np.asarray(at["eefraction"], float), 0.7))
            if eff is not None and idx.size:
                val, sem, n = eff
                rec = float(at["apcorr"][idx[0]])
                sem = float(np.hypot(sem, apcorr_mean_error(apcorr, f, C.EE_FRACTION_PHOT, full=ap_full)[0] * rec))
                tol = max(args.tol_apcorr, args.nsigma * sem / val)
                note = f"effective ({n} bkgsub mosaics)"
                rows.add("apcorr", f, sub, 0.7, rec, sem, val, tol, Path(apcorr).name, note)
            continue
        if f not in C.IMAGER_FILTERS or f not in files:
            continue
        with fits.open(psf_dir / files[f]) as h:
            tr = psf_model.true_aperture_corrections(f, psf=h)
        inputs.append(psf_dir / files[f])
        sel = fcol == f
        sub = "FULL" if np.any(sel & (scol == "FULL")) else (scol[sel][0] if np.any(sel) else "FULL")
        for ee in args.apcorr_ee:
            idx = np.flatnonzero(sel & (scol == sub) & np.isclose(np.asarray(at["eefraction"], float), ee))
            rec = float(at["apcorr"][idx[0]]) if idx.size else None
            eff = effective_apcorr(basedir, f, ee) if np.isclose(ee, C.EE_FRACTION_PHOT) else None
            if eff is not None:
                val, sem, n = eff
                # both are estimates: the effective one's and the vetted mean's standard errors
                if rec is not None:
                    sem = float(np.hypot(sem, apcorr_mean_error(apcorr, f, ee, full=ap_full)[0] * rec))
                tol = max(args.tol_apcorr, args.nsigma * sem / val)
                rows.add("apcorr", f, sub, ee, rec, sem, val, tol, Path(apcorr).name, f"effective ({n} mosaics)")
                continue
            t_i = np.flatnonzero(np.isclose(np.asarray(tr["eefraction"], float), ee))
            if t_i.size == 0:
                raise ValueError(f"EE {ee} is not one of the truth's EE fractions {list(tr['eefraction'])}")
            rows.add("apcorr", f, sub, ee, rec, None, float(tr["apcorr"][t_i[0]]), args.tol_apcorr, Path(apcorr).name)
    return inputs


def plot_validation(t: Table, curves: dict, path: Path, fmt: str, prov: dict, out) -> None:
    """Four panels: C, time curves, subarray factors, aperture corrections (relative differences in %)."""
    import matplotlib.pyplot as plt

    from absflux import plotting as P

    with plt.rc_context({"font.size": 12, "lines.linewidth": 2, "axes.linewidth": 1.5}):
        fig, axs = plt.subplots(2, 2, figsize=(14, 10))
        for ax, q, title in (
            (axs[0, 0], "C", "C(t0), FULL"),
            (axs[1, 0], "subarray", "subarray factors (derived)"),
            (axs[1, 1], "apcorr", "aperture corrections"),
        ):
            sel = t[t["quantity"] == q]
            ax.set_title(title)
            ax.axhline(0.0, color="k", lw=1)
            if len(sel) == 0:
                ax.text(0.5, 0.5, "not compared", transform=ax.transAxes, ha="center")
                continue
            labels = [f"{r['filter']}" if q != "subarray" else r["subarray"] for r in sel]
            if q == "apcorr":
                labels = [f"{r['filter']}\n{r['key']:.2f}" for r in sel]
            x = np.arange(len(sel))
            y = 100 * np.asarray(sel["rel_diff"], float)
            e = 100 * np.nan_to_num(np.asarray(sel["uncertainty"], float) / np.asarray(sel["truth"], float))
            col = ["g" if s == "pass" else "r" for s in sel["status"]]
            ax.errorbar(x, y, yerr=e, fmt="none", ecolor="grey")
            ax.scatter(x, y, c=col, zorder=3)
            ax.plot(x, 100 * np.asarray(sel["tolerance"]), "k_", ms=20)
            ax.plot(x, -100 * np.asarray(sel["tolerance"]), "k_", ms=20)
            ax.set_xticks(x, labels, rotation=45 if q != "apcorr" else 0, fontsize=9)
            ax.set_ylabel("recovered / truth - 1 [%]")
        ax = axs[0, 1]
        ax.set_title("time correction / injected - 1")
        for f, (grid, dev) in curves.items():
            ax.plot(grid - C.STARTDAY, 100 * dev, label=f, color=P.filter_color(f))
        tol = t[t["quantity"] == "time"]
        if len(tol):
            tv = 100 * float(np.max(tol["tolerance"]))
            ax.axhspan(-tv, tv, color="g", alpha=0.1)
        ax.axhline(0.0, color="k", lw=1)
        ax.set_xlabel(f"MJD - {C.STARTDAY:.0f} [days]")
        ax.set_ylabel("[%]")
        if curves:
            ax.legend(fontsize=8, ncols=2)
        fig.tight_layout()
        P.savefig_with_provenance(fig, out.stage(path), fmt, prov)
        plt.close(fig)


def format_table(t: Table) -> list[str]:
    """The comparison table as text lines."""
    lines = [
        f"{'quantity':9s} {'filter':7s} {'subarray':9s} {'at':>9s} {'recovered':>11s} {'unc':>9s} {'truth':>11s} "
        f"{'diff%':>8s} {'tol%':>6s}  status"
    ]
    for r in t:
        at = (
            f"{r['key']:9.1f}" if r["quantity"] == "time" else (f"{r['key']:9.2f}" if r["quantity"] == "apcorr" else "")
        )
        lines.append(
            f"{r['quantity']:9s} {r['filter']:7s} {r['subarray']:9s} {at:>9s} {r['recovered']:11.5g} "
            f"{r['uncertainty']:9.3g} {r['truth']:11.5g} {100 * r['rel_diff']:8.3f} {100 * r['tolerance']:6.2f}  "
            f"{r['status']}"
        )
    return lines


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--basedir", type=Path, default=Path("."), help="campaign root (default .)")
    p.add_argument("--truth", type=Path, help="truth table (default <basedir>/truth.ecsv)")
    p.add_argument("--filters", nargs="+", choices=C.ALL_FILTERS, metavar="F", help="filters (default: all observed)")
    p.add_argument("--photom", type=Path, help="photom reference file (default: newest Photom/jwst_miri_photom_*.fits)")
    p.add_argument("--apcorr", type=Path, help="APCORR reference file (default: newest ApCor/jwst_miri_apcorr_*.fits)")
    p.add_argument("--no-apcorr", action="store_true", help="do not compare aperture corrections")
    p.add_argument("--tol-c", type=float, default=0.005, help="relative tolerance of C (default 0.005)")
    p.add_argument(
        "--nsigma",
        type=float,
        default=2.0,
        help="C, the time curves and the aperture corrections also pass within NSIGMA uncertainties (default 2)",
    )
    p.add_argument("--tol-time", type=float, default=0.005, help="relative tolerance of the time curve (default 0.005)")
    p.add_argument(
        "--tol-time-max",
        type=float,
        default=0.02,
        help="largest statistical allowance of the time curve (default 0.02)",
    )
    p.add_argument("--time-step", type=float, default=1.0, help="days between compared epochs (default 1)")
    p.add_argument(
        "--tol-subarray", type=float, default=0.01, help="relative tolerance of the subarray factors (default 0.01)"
    )
    p.add_argument(
        "--tol-apcorr", type=float, default=0.005, help="relative tolerance of the aperture corrections (default 0.005)"
    )
    p.add_argument(
        "--apcorr-ee", nargs="+", type=float, default=[0.7], help="EE fractions of the apcorr comparison (default 0.7)"
    )
    p.add_argument("--allow-missing", action="store_true", help="missing recovered values do not fail the validation")
    p.add_argument("--out", type=Path, help="output table (default <basedir>/validation.ecsv)")
    fig = p.add_mutually_exclusive_group()
    fig.add_argument("--png", action="store_true", help="figure as PNG (default)")
    fig.add_argument("--pdf", action="store_true", help="figure as PDF")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    import matplotlib

    matplotlib.use("Agg")
    from absflux import photom_reffile as PR
    from absflux import subarrays as SA
    from absflux.io_utils import OutputSet, provenance, write_table

    basedir = args.basedir
    truth_path = args.truth or basedir / "truth.ecsv"
    if not truth_path.is_file():
        return fail(f"{truth_path}: truth file not found (validate_campaign.py needs a simulated campaign)")
    for name in ("tol_c", "nsigma", "tol_time", "tol_time_max", "tol_subarray", "tol_apcorr", "time_step"):
        if not getattr(args, name) > 0:
            return fail(f"--{name.replace('_', '-')} must be positive")
    truth = Table.read(truth_path, format="ascii.ecsv")
    for key in ("calfactors_full_t0", "time_coeffs"):
        if key not in truth.meta:
            return fail(f"{truth_path}: no {key} in the truth metadata")
    observed = {str(f) for f in truth["filter"]}
    filters = [f for f in C.ALL_FILTERS if f in (args.filters or observed)]
    missing_obs = [f for f in filters if f not in observed]
    if missing_obs:
        return fail(f"filter(s) {', '.join(missing_obs)} not observed in the campaign")
    photom = args.photom or default_photom(basedir)
    if args.photom and not args.photom.is_file():
        return fail(f"{args.photom}: photom file does not exist")
    apcorr = None if args.no_apcorr else (args.apcorr or default_apcorr(basedir))
    if args.apcorr and not args.apcorr.is_file():
        return fail(f"{args.apcorr}: APCORR file does not exist")
    rows, curves = Rows(), {}
    try:
        inputs = [truth_path]
        inputs += compare_c_and_time(basedir, truth, filters, photom, args, rows, curves, apcorr)
        inputs += compare_subarrays(basedir, truth, args, rows)
        if apcorr is not None:
            inputs += compare_apcorr(basedir, truth, filters, apcorr, args, rows)
        else:
            log.info("no APCORR file: aperture corrections not compared")
    except (PR.PhotomError, SA.SubarrayError, ValueError, KeyError, OSError) as exc:
        return fail(str(exc).splitlines()[0] if str(exc) else repr(exc))
    t = rows.table()
    prov = provenance("validate_campaign.py", inputs=inputs, options=vars(args))
    t.meta["tolerances"] = {
        k: getattr(args, k) for k in ("tol_c", "nsigma", "tol_time", "tol_time_max", "tol_subarray", "tol_apcorr")
    }
    out_path = args.out or basedir / "validation.ecsv"
    fmt = "pdf" if args.pdf else "png"
    with OutputSet() as out:
        write_table(t, out.stage(out_path), "ascii.ecsv", prov)
        plot_validation(t, curves, basedir / "Figs" / f"validate_campaign.{fmt}", fmt, prov, out)
    print("\n".join(format_table(t)))
    nfail = int(np.sum(t["status"] == "FAIL"))
    nmiss = int(np.sum(t["status"] == "missing"))
    print(f"{len(t)} comparisons: {len(t) - nfail - nmiss} pass, {nfail} FAIL, {nmiss} missing")
    if nfail or (nmiss and not args.allow_missing):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
