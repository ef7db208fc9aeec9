"""Batch driver: the EE/SB steps for a list of exposures, the means and the totals.

Replaces the wrapper scripts ``do_getcircEE1``, ``do_sb1``, ``do_meanflux1`` and
``do_meansb1`` of the original (spec section 10).  The exposure list holds one line per
exposure, ``<file> <x> <y> <root>``; the root is ``<filter>_<subarray>_<dither>``.

Output layout under ``out``::

    ee/         <root>.fluxes, <root>.radtab        (polynomial mode, getcircEE1)
                <filter>_<sub>.avtab                (meanflux1)
    ee_median/  <root>a.fluxes, <root>a.radtab      (median mode, getcircEE1a)
                <filter>_<sub>.avtab
    sb/         <root>.sbtab, <filter>_<sub>.avsbtab (getcircSB1, meansb1)
    totfluxes_<sub>.out, totfluxes_<sub>.txt        (totfluxes on ee_median/*a.radtab)
    summary.txt

The two EE sets live in separate folders because meanflux1's glob ``<root>*.radtab``
would otherwise average the polynomial and the median tables together (spec section 10).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from . import constants as C
from .io import NirissInputError, provenance, write_outputs

log = logging.getLogger(__name__)

__all__ = ["Entry", "read_exposure_list", "process_exposure", "run_batch", "BatchSummary", "group_root"]

FIXED_WIDTH = {"format": "ascii.fixed_width", "delimiter": None}
_ROOT_RE = re.compile(r"^(?P<group>.+)_(?P<dither>\d+)$")


@dataclass
class Entry:
    """One line of the exposure list."""

    path: str
    x: float
    y: float
    root: str
    lineno: int = 0


def group_root(root: str) -> str:
    """``f115w_sub128_2`` -> ``f115w_sub128`` (the meanflux1/meansb1 root)."""
    m = _ROOT_RE.match(root)
    return m.group("group") if m else root


def read_exposure_list(path: str) -> list[Entry]:
    """Read and validate the exposure list.

    Raises
    ------
    NirissInputError
        Missing list, malformed line, duplicate root, or a listed file that does not exist.
    """
    if not os.path.isfile(path):
        raise NirissInputError(f"{path}: file not found")
    base = os.path.dirname(os.path.abspath(path))
    entries: list[Entry] = []
    roots = set()
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, start=1):
            s = line.split("#", 1)[0].strip()
            if not s:
                continue
            parts = s.split()
            if len(parts) != 4:
                raise NirissInputError(f"{path}: line {i}: expected '<file> <x> <y> <root>', got {s!r}")
            try:
                x, y = float(parts[1]), float(parts[2])
            except ValueError:
                raise NirissInputError(f"{path}: line {i}: x and y must be numbers") from None
            fpath = parts[0] if os.path.isabs(parts[0]) else os.path.join(base, parts[0])
            if not os.path.isfile(fpath):
                raise NirissInputError(f"{path}: line {i}: {parts[0]}: file not found")
            root = parts[3]
            if "/" in root or root in roots:
                raise NirissInputError(f"{path}: line {i}: root {root!r} is duplicated or contains '/'")
            roots.add(root)
            entries.append(Entry(fpath, x, y, root, i))
    if not entries:
        raise NirissInputError(f"{path}: no exposures listed")
    return entries


def _outdirs(out: str) -> dict:
    return {k: os.path.join(out, k) for k in ("ee", "ee_median", "sb")}


def process_exposure(entry: Entry, out: str, steps, legacy: bool = False, dq_mode: str = "range") -> dict:
    """Run the per-exposure steps (``ee``, ``median``, ``sb``) on one exposure.

    Returns
    -------
    dict
        ``root``, ``ok``, ``error`` and, per step, the centroid, max counts and the
        number of repaired pixels; the original's printed lines under ``messages``.
    """
    from .ee import ee_photometry, ee_table, fluxes_table
    from .io import read_exposure
    from .sb import sb_profile, sb_table

    dirs = _outdirs(out)
    status = {"root": entry.root, "file": entry.path, "ok": True, "error": "", "messages": []}
    try:
        exp = read_exposure(entry.path)
        items = []
        opts = f"x={entry.x:g} y={entry.y:g} legacy={legacy} dq_mode={dq_mode}"
        if "ee" in steps:
            res = ee_photometry(exp, entry.x, entry.y, legacy=legacy, dq_mode=dq_mode)
            com = provenance("getcircEE1", [entry.path], opts + " mode=polynomial")
            stem = os.path.join(dirs["ee"], entry.root)
            items += [
                (fluxes_table(res, com), stem + ".fluxes", {"format": "ascii"}),
                (ee_table(res, com), stem + ".radtab", FIXED_WIDTH),
            ]
            status.update(xc=res.xc, yc=res.yc, maxcounts=res.maxcounts, nrep=res.nrepaired)
            status["messages"] += res.messages
        if "median" in steps:
            res = ee_photometry(exp, entry.x, entry.y, median=True, legacy=legacy, dq_mode=dq_mode)
            com = provenance("getcircEE1", [entry.path], opts + " mode=median")
            stem = os.path.join(dirs["ee_median"], entry.root + "a")
            items += [
                (fluxes_table(res, com), stem + ".fluxes", {"format": "ascii"}),
                (ee_table(res, com), stem + ".radtab", FIXED_WIDTH),
            ]
            status.update(xc=res.xc, yc=res.yc, maxcounts=res.maxcounts, nrep_median=res.nrepaired)
            if "ee" not in steps:
                status["messages"] += res.messages
        if "sb" in steps:
            res = sb_profile(exp, entry.x, entry.y, legacy=legacy, dq_mode=dq_mode)
            com = provenance("getcircSB1", [entry.path], opts + " clip=True")
            items.append((sb_table(res, com), os.path.join(dirs["sb"], entry.root + ".sbtab"), FIXED_WIDTH))
        write_outputs(items)
    except NirissInputError as exc:
        status.update(ok=False, error=" ".join(str(exc).split()))
    return status


def _process_star_indexed(item):
    """``(index, task)`` -> ``(index, status)``: the pool returns results in completion order."""
    i, task = item
    return i, _process_star(task)


def _process_star(args):
    return process_exposure(*args)


@dataclass
class BatchSummary:
    """What :func:`run_batch` did."""

    nexposures: int = 0
    nfailed: int = 0
    statuses: list = field(default_factory=list)
    means: list = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    comparison: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    elapsed: float = 0.0
    text: str = ""


def run_batch(
    entries: list[Entry],
    out: str,
    psfdir: str,
    steps=("ee", "median", "sb", "means", "totals"),
    legacy: bool = False,
    dq_mode: str = "range",
    apcor_radii=C.APCOR_RADII,
    truth: str | None = None,
    jobs: int = 1,
    progress: bool = True,
) -> BatchSummary:
    """Run the whole NIRISS chain on a list of exposures.

    Parameters
    ----------
    entries : list of Entry
        From :func:`read_exposure_list`.
    out : str
        Output folder (created).
    psfdir : str
        Folder of the WebbPSF ``<f>_psf.radtab`` tables.
    steps : iterable of str
        Any of ``ee``, ``median``, ``sb``, ``means``, ``totals``.
    legacy : bool
        Reproduce the original's bugs.
    dq_mode : {'range', 'bitwise'}
        DQ logic.
    apcor_radii : sequence of float
        totfluxes radii.
    truth : str, optional
        ``truth.ecsv`` of a simulation, to report measured/injected totals.
    jobs : int
        Worker processes for the per-exposure steps.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    BatchSummary
    """
    from tqdm import tqdm

    steps = set(steps)
    t0 = time.time()
    truth_table = _read_truth(truth) if truth else None
    for d in _outdirs(out).values():
        os.makedirs(d, exist_ok=True)
    summ = BatchSummary(nexposures=len(entries))
    per_exp = [s for s in ("ee", "median", "sb") if s in steps]
    if per_exp:
        tasks = [(e, out, per_exp, legacy, dq_mode) for e in entries]
        bar = tqdm(total=len(tasks), desc="EE/SB", unit="exp", disable=not progress)
        from ..procs import run_pool

        # workers die with this process (no orphan keeps writing after a kill); statuses in input order
        done = run_pool(_process_star_indexed, list(enumerate(tasks)), jobs, on_result=lambda _: bar.update(1))
        summ.statuses.extend(st for _, st in sorted(done, key=lambda r: r[0]))
        bar.close()
    summ.nfailed = sum(1 for s in summ.statuses if not s["ok"])
    for s in summ.statuses:
        if not s["ok"]:
            log.error("%s: %s", s["root"], s["error"])

    groups = list(OrderedDict.fromkeys(group_root(e.root) for e in entries))
    if "means" in steps:
        summ.means = _run_means(out, groups, per_exp, legacy, summ)
    if "totals" in steps:
        _run_totals(out, groups, psfdir, apcor_radii, "median" in steps, summ)
        if truth_table is not None:
            summ.comparison = _compare_truth(truth_table, summ.totals)
    summ.elapsed = time.time() - t0
    summ.text = _summary_text(summ, out)
    write_outputs([(summ.text + "\n", os.path.join(out, "summary.txt"), {})])
    return summ


def _run_means(out, groups, per_exp, legacy, summ) -> list:
    from .combine import avsbtab_table, avtab_table, combine_ee_files, combine_sb_files, find_ee_tables, find_sb_tables

    dirs = _outdirs(out)
    done = []
    for g in groups:
        for step, key in (("ee", "ee"), ("median", "ee_median")):
            if step not in per_exp:
                continue
            files = find_ee_tables(os.path.join(dirs[key], g))
            try:
                comb = combine_ee_files(files, legacy=legacy)
            except NirissInputError as exc:
                summ.errors.append(f"meanflux1 {key}/{g}: {exc}")
                continue
            path = os.path.join(dirs[key], g + ".avtab")
            write_outputs([(avtab_table(comb, provenance("meanflux1", files, f"legacy={legacy}")), path, FIXED_WIDTH)])
            done.append(path)
        if "sb" in per_exp:
            files = find_sb_tables(os.path.join(dirs["sb"], g))
            try:
                comb = combine_sb_files(files, legacy=legacy)
            except NirissInputError as exc:
                summ.errors.append(f"meansb1 sb/{g}: {exc}")
                continue
            path = os.path.join(dirs["sb"], g + ".avsbtab")
            write_outputs([(avsbtab_table(comb, provenance("meansb1", files, f"legacy={legacy}")), path, FIXED_WIDTH)])
            done.append(path)
    return done


def _run_totals(out, groups, psfdir, radii, use_median, summ) -> None:
    from .totals import printout, total_countrates, totfluxes_table

    indir = os.path.join(out, "ee_median" if use_median else "ee")
    suffix = "a" if use_median else ""
    subs = list(OrderedDict.fromkeys(g.split("_")[1] for g in groups if "_" in g))
    for sub in subs:
        try:
            res = total_countrates(sub, indir, psfdir, radii, suffix)
        except NirissInputError as exc:
            summ.errors.append(f"totfluxes {sub}: {exc}")
            continue
        files = [f for r in res for f in r.files]
        opts = f"subarray={sub} radii={','.join(map(str, radii))} suffix={suffix} psfdir={psfdir}"
        text = "\n".join([r.message for r in res if r.message] + [printout(res)]) + "\n"
        write_outputs(
            [
                (
                    totfluxes_table(res, provenance("totfluxes", files, opts)),
                    os.path.join(out, f"totfluxes_{sub}.out"),
                    FIXED_WIDTH,
                ),
                (text, os.path.join(out, f"totfluxes_{sub}.txt"), {}),
            ]
        )
        summ.totals[sub] = res


def _read_truth(truth_path: str):
    from astropy.table import Table

    if not os.path.isfile(truth_path):
        raise NirissInputError(f"{truth_path}: file not found")
    try:
        truth = Table.read(truth_path, format="ascii.ecsv")
    except (OSError, ValueError) as exc:
        raise NirissInputError(f"{truth_path}: not a readable truth table ({' '.join(str(exc).split())})") from None
    missing = [c for c in ("subarray", "filter", "total_e") if c not in truth.colnames]
    if missing:
        raise NirissInputError(f"{truth_path}: truth table lacks column(s) {', '.join(missing)}")
    return truth


def _compare_truth(truth, totals: dict) -> list:
    rows = []
    for sub, res in totals.items():
        for r in res:
            sel = (np.char.lower(np.asarray(truth["subarray"], dtype=str)) == sub) & (
                np.asarray(truth["filter"], dtype=str) == r.filter
            )
            if not np.any(sel) or not np.isfinite(r.countrate):
                continue
            inj = float(np.mean(np.asarray(truth["total_e"])[sel]))
            rows.append((sub, r.filter, r.countrate, r.error, inj, r.countrate / inj))
    return rows


def _summary_text(summ: BatchSummary, out: str) -> str:
    lines = [f"# NIRISS batch summary ({out})", f"exposures: {summ.nexposures}, failed: {summ.nfailed}"]
    for s in summ.statuses:
        if not s["ok"]:
            lines.append(f"  FAILED {s['root']}: {s['error']}")
    if summ.means:
        lines.append(f"mean tables written: {len(summ.means)}")
    for e in summ.errors:
        lines.append(f"  ERROR {e}")
    from .totals import printout

    for sub, res in summ.totals.items():
        lines.append(f"totfluxes {sub}:")
        lines += ["  " + ln for ln in printout(res).splitlines()]
    if summ.comparison:
        lines.append("measured / injected total count rates [e-/s]:")
        lines.append(f"  {'sub':8s}{'filter':>7s}{'measured':>12s}{'error':>11s}{'injected':>12s}{'ratio':>8s}")
        for sub, f, m, e, inj, ratio in summ.comparison:
            lines.append(f"  {sub:8s}{f:>7s}{m:12.4e}{e:11.3e}{inj:12.4e}{ratio:8.4f}")
        worst = max(abs(c[-1] - 1) for c in summ.comparison)
        lines.append(f"  largest deviation: {100 * worst:.2f} %")
    lines.append(f"elapsed: {summ.elapsed:.1f} s")
    return "\n".join(lines)
