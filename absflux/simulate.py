"""Simulated MIRI flux-calibration campaign: raw ramps, models, CRDS cache, truth.

:func:`simulate_campaign` writes, below one output directory::

    <out>/{HotStars,ADwarfs,SolarAnalogs}/<FILTER>/jw..._mirimage_uncal.fits
    <out>/Models/<key>_stis_001.fits, grieke23_<key>.dat, bandpass_<f>.dat
    <out>/crds_cache/ (+ crds_env.sh)         synthetic reference files
    <out>/truth.ecsv, truth_stars.ecsv        every injected quantity
    <out>/campaign.yaml                       the rules that made it
    <out>/sim_psfs/                           PSF library of the simulator

Count rates follow the calibration definition of the method:
``rate_total = 1e-6 F_nu[Jy] / (C_true(filter, t, subarray) x Omega_pix)``
where ``Omega_pix`` is the on-sky solid angle of the detector pixel under the
star, so that aperture photometry on the resampled mosaics, divided by the
model flux, gives back ``C_true``.  Ramps are built group by group (Poisson
noise in electrons, read noise per group, bias, cosmic-ray jumps, bad pixels,
hard saturation at 65535 DN) so Detector1 recovers the rate.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import yaml

from . import bands as B
from . import campaign as CP
from . import constants as C
from . import pointing as P
from . import sim_defaults as D
from . import spectra as S

log = logging.getLogger(__name__)

MU_EPOCH_JYEAR = 2000.0
CORONMSK = {"F1065C": "4QPM_1065", "F1140C": "4QPM_1140", "F1550C": "4QPM_1550", "F2300C": "LYOT_2300"}


class SimulationError(RuntimeError):
    """The simulation could not be written (message says why)."""


def _write_errnos():
    from .io_utils import WRITE_ERRNOS

    return WRITE_ERRNOS


# --------------------------------------------------------------------------
# Band fluxes of the simulated stars
# --------------------------------------------------------------------------
def star_band_fluxes(bandpasses: dict, stars=None) -> dict[str, dict[str, float]]:
    """True band flux densities [Jy] {star: {filter: F_nu}} from the true spectra."""
    out = {}
    for star in stars or C.STARS.values():
        wave, flam = S.star_spectrum(star)
        out[star.name] = {f: B.band_flux_jy(wave, flam, *bandpasses[f])[0] for f in bandpasses}
    return out


# --------------------------------------------------------------------------
# Detector
# --------------------------------------------------------------------------
@functools.cache
def bias_frame() -> np.ndarray:
    """Fixed per-pixel bias pattern of the FULL frame (DN)."""
    rng = np.random.default_rng(C.DETECTOR["bad_pixel_seed"] + 1)
    return (C.DETECTOR["bias"] + C.DETECTOR["bias_sigma"] * rng.standard_normal((1024, 1032))).astype(np.float32)


@functools.cache
def _bad_pixels() -> np.ndarray:
    from .crds_cache import bad_pixel_mask

    return bad_pixel_mask()


def subarray_slice(subarray: str) -> tuple[slice, slice]:
    s = C.SUBARRAYS[subarray]
    return slice(s.ystart - 1, s.ystart - 1 + s.ysize), slice(s.xstart - 1, s.xstart - 1 + s.xsize)


def make_ramp(rate: np.ndarray, subarray: str, ngroups: int, nints: int, rng, cr_rate: float) -> np.ndarray:
    """Raw uint16 ramp (nints, ngroups, ny, nx) for a count-rate image [DN/s].

    Group k (1-based) is read k x TGROUP after the reset; electrons accumulate
    with Poisson statistics, each read adds Gaussian read noise, cosmic rays add
    a persistent jump at a random group.  Values are clipped at 65535 DN.
    """
    tg = C.SUBARRAYS[subarray].tframe
    gain = C.DETECTOR["gain"]
    rn = C.DETECTOR["readnoise"]
    ys, xs = subarray_slice(subarray)
    bias = bias_frame()[ys, xs]
    ny, nx = rate.shape
    out = np.empty((nints, ngroups, ny, nx), np.uint16)
    lam = np.clip(rate, 0.0, None) * tg * gain
    n_cr = rng.poisson(cr_rate * 1e-3 * ny * nx * tg * ngroups) if cr_rate > 0 else 0
    for i in range(nints):
        acc = np.zeros((ny, nx), np.float64)
        jumps = np.zeros((ngroups, ny, nx), np.float32)
        for _ in range(n_cr):
            g = rng.integers(1, ngroups)
            jumps[g:, rng.integers(ny), rng.integers(nx)] += rng.uniform(50.0, 1500.0)
        for g in range(ngroups):
            acc += rng.poisson(lam)
            v = bias + acc / gain + rn * rng.standard_normal((ny, nx)) + jumps[g]
            out[i, g] = np.clip(np.rint(v), 0, 65535).astype(np.uint16)
    return out


# --------------------------------------------------------------------------
# PSFs
# --------------------------------------------------------------------------
def psf_kwargs(filt: str, kw: dict) -> dict:
    """PSF-model arguments of a filter.

    Coronagraphic PSFs are normalised to the exit pupil (total 1 through the
    coronagraph stop), as the original's coronagraphic model PSFs are: the
    calibration factor of a coronagraphic filter refers to the light that
    passes the stop.
    """
    out = dict(kw)
    if filt in C.CORON_FILTERS:
        out["normalize"] = "exit_pupil"
    return out


class PsfProvider:
    """Oversampled PSFs (with detector effects) of the project's physical model, cached on disk."""

    def __init__(self, cache_dir: Path, fov_pixels=256, oversample=4, nlambda=10, files: dict | None = None):
        """``files`` ({filter: file name in cache_dir}) pins the exact PSFs a campaign used."""
        self.cache_dir = Path(cache_dir)
        self.kw = {"fov_pixels": fov_pixels, "oversample": oversample, "nlambda": nlambda}
        self.files = dict(files or {})
        self._mem = {}

    def get(self, filt: str) -> np.ndarray:
        if filt not in self._mem:
            from astropy.io import fits

            if filt in self.files:
                with fits.open(self.cache_dir / self.files[filt]) as hdul:
                    self._mem[filt] = np.asarray(hdul["OVERDIST"].data, float)
            else:
                from .psf_model import psf_library

                hdul = psf_library(filt, self.cache_dir, **psf_kwargs(filt, self.kw))
                self._mem[filt] = np.asarray(hdul["OVERDIST"].data, float)
                self.files[filt] = f"miri_{filt}_psf_absflux_{hdul[0].header['CACHEKEY']}.fits"
        return self._mem[filt]

    def render(self, filt: str, x: float, y: float, shape, flux: float) -> np.ndarray:
        from .psf_model import render_psf

        return render_psf(self.get(filt), self.kw["oversample"], x, y, shape, flux)


# --------------------------------------------------------------------------
# One exposure
# --------------------------------------------------------------------------
def _mjd_to_isot(mjd: float) -> str:
    from astropy.time import Time

    return Time(mjd, format="mjd", scale="utc").isot


def psf_provider_for(campaign: Path) -> PsfProvider:
    """The PSFs (exact files) a simulated campaign was made with, from its truth file."""
    from astropy.table import Table

    meta = Table.read(Path(campaign) / "truth.ecsv").meta
    d = Path(meta.get("psf_dir", "sim_psfs"))
    d = d if d.is_absolute() else Path(campaign) / d
    return PsfProvider(d, files=meta.get("psf_files"), **meta["psf"])


def visit_sky_factor(exp: CP.Exposure, rules: dict) -> float:
    """Background level of ``exp`` relative to the filter's nominal sky: uniform in [0.97, 1.03] per visit.

    The thermal background drifts over days, not over the minutes between the
    dithers of one visit: every exposure of a visit and filter shares one level
    (drawn from the campaign seed and the visit), so the mosaics carry no
    artificial sky steps between dither positions.
    """
    key = [int(rules.get("seed", 0)), exp.program, exp.observation, exp.visit, C.ALL_FILTERS.index(exp.filter)]
    return float(np.random.default_rng(key).uniform(0.97, 1.03))


def simulate_exposure(exp: CP.Exposure, out_root: Path, psfs: PsfProvider, fluxes: dict, rules: dict) -> dict:
    """Write one ``*_uncal.fits`` and return its truth row."""
    from stdatamodels.jwst import datamodels as dm

    rng = np.random.default_rng(exp.seed)
    star = C.STARS[exp.star]
    sub = C.SUBARRAYS[exp.subarray]
    tg = sub.tframe
    expstart = exp.expstart
    expend = expstart + exp.duration / 86400.0
    expmid = 0.5 * (expstart + expend)

    ra, dec = P.apply_proper_motion(star.ra, star.dec, star.pmra, star.pmdec, MU_EPOCH_JYEAR, expmid)
    x0, y0 = P.target_pixel(exp.subarray, exp.filter, exp.xoffset, exp.yoffset)
    # small pointing error (realistic; the steps must find the star)
    x0 += float(rng.normal(0.0, 0.15))
    y0 += float(rng.normal(0.0, 0.15))
    pl = P.place_star(ra, dec, exp.subarray, x0, y0, exp.pa_v3)

    cal = CP.truth_calfactors(rules)
    ctrue = float(D.true_calfactor(exp.filter, expmid, exp.subarray, calfactors=cal))
    fnu = fluxes[star.name][exp.filter]
    total_rate = 1e-6 * fnu / (ctrue * pl.pixel_area_sr)
    sky = CP.truth_sky(rules)[exp.filter] * visit_sky_factor(exp, rules)

    shape = (sub.ysize, sub.xsize)
    star_img = psfs.render(exp.filter, x0, y0, shape, total_rate)
    rate = star_img + sky
    ys, xs = subarray_slice(exp.subarray)
    # reference-pixel columns see no light
    refcols = [c - xs.start for c in C.DETECTOR["refpix_columns"] if xs.start <= c < xs.stop]
    rate[:, refcols] = 0.0
    bad = _bad_pixels()[ys, xs]
    rate[bad] = 200.0  # hot pixels, flagged DO_NOT_USE by the mask
    ramp = make_ramp(rate, exp.subarray, exp.ngroups, exp.nints, rng, rules.get("cosmic_ray_rate", 0.05))

    # every uncal is validated by the tests; skip per-assignment validation for speed
    m = dm.Level1bModel(data=ramp, validate_on_assignment=False)
    _fill_meta(m, exp, star, pl, ra, dec, expstart, expmid, expend)
    path = out_root / exp.relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    m.meta.filename = path.name
    from .io_utils import atomic_path

    # unique hidden temporary, removed on any failure (a killed run's is cleaned with the work folder)
    with atomic_path(path) as tmp:
        m.save(tmp)
        m.close()
        _fix_filename(tmp, path.name)

    return {
        "filename": path.name,
        "startype": exp.startype,
        "name": star.name,
        "targname": exp.targname,
        "filter": exp.filter,
        "subarray": exp.subarray,
        "exp_type": exp.exp_type,
        "program": exp.program,
        "observation": exp.observation,
        "exposure": exp.exposure,
        "ngroups": exp.ngroups,
        "nints": exp.nints,
        "tgroup": tg,
        "expstart": expstart,
        "expmid": expmid,
        "ra": ra,
        "dec": dec,
        "x_sub": x0,
        "y_sub": y0,
        "x_full": pl.x_full,
        "y_full": pl.y_full,
        "pixel_area_sr": pl.pixel_area_sr,
        "flux_jy": fnu,
        "calfactor": ctrue,
        "sensitivity": float(D.relative_sensitivity(exp.filter, expmid)),
        "subarr_cor": C.SUBARR_COR[exp.subarray],
        "total_rate": total_rate,
        "rendered_rate": float(star_img.sum()),
        "sky_rate": sky,
    }


def _fix_filename(path: Path, name: str) -> None:
    """Saving to a temporary name records it in FILENAME; restore the real name."""
    from astropy.io import fits

    with fits.open(path, mode="update") as hdul:
        hdul[0].header["FILENAME"] = name


def _fill_meta(m, exp: CP.Exposure, star: C.Star, pl: P.Placement, ra, dec, expstart, expmid, expend) -> None:
    sub = C.SUBARRAYS[exp.subarray]
    meta = m.meta
    beg = _mjd_to_isot(expstart)
    meta.telescope = "JWST"
    meta.origin = "STSCI"
    meta.instrument.name = "MIRI"
    meta.instrument.detector = "MIRIMAGE"
    meta.instrument.filter = exp.filter
    if exp.filter in CORONMSK:
        meta.instrument.coronagraph = CORONMSK[exp.filter]
    meta.exposure.type = exp.exp_type
    meta.exposure.readpatt = exp.readpatt
    meta.exposure.nints = exp.nints
    meta.exposure.ngroups = exp.ngroups
    meta.exposure.nframes = 1
    meta.exposure.groupgap = 0
    meta.exposure.frame_divisor = 1
    meta.exposure.nresets_at_start = 0
    meta.exposure.nresets_between_ints = 1
    meta.exposure.frame_time = sub.tframe
    meta.exposure.group_time = sub.tframe
    meta.exposure.integration_time = exp.ngroups * sub.tframe
    meta.exposure.exposure_time = exp.nints * exp.ngroups * sub.tframe
    meta.exposure.duration = exp.duration
    meta.exposure.start_time = expstart
    meta.exposure.mid_time = expmid
    meta.exposure.end_time = expend
    meta.exposure.count = exp.exposure
    meta.exposure.sample_time = 10.0
    meta.exposure.nsamples = 1
    meta.observation.date = beg[:10]
    meta.observation.time = beg[11:]
    meta.observation.date_beg = beg
    meta.observation.date_end = _mjd_to_isot(expend)
    meta.observation.program_number = f"{exp.program:05d}"
    meta.observation.observation_number = f"{exp.observation:03d}"
    meta.observation.visit_number = f"{exp.visit:03d}"
    meta.observation.visit_group = f"{exp.visit_group:02d}"
    meta.observation.sequence_id = "1"
    meta.observation.activity_id = f"{exp.activity:02d}"
    meta.observation.exposure_number = str(exp.exposure)
    meta.observation.visit_id = f"{exp.program:05d}{exp.observation:03d}{exp.visit:03d}"
    meta.observation.obs_id = (
        f"V{exp.program:05d}{exp.observation:03d}{exp.visit:03d}P0000000{exp.visit_group:02d}1{exp.activity:02d}"
    )
    meta.visit.type = "PRIME_TARGETED_FIXED"
    meta.visit.engdb_pointing_quality = "CALCULATED_TRACK_TR_202111"
    meta.target.catalog_name = exp.targname
    meta.target.proposer_name = star.model_key.upper()
    meta.target.type = "FIXED"
    meta.target.ra = ra
    meta.target.dec = dec
    meta.target.proposer_ra = star.ra
    meta.target.proposer_dec = star.dec
    meta.target.proper_motion_ra = star.pmra / 1000.0
    meta.target.proper_motion_dec = star.pmdec / 1000.0
    meta.target.proper_motion_epoch = "2000-01-01 12:00:00.000"
    meta.target.ra_uncertainty = 0.05
    meta.target.dec_uncertainty = 0.05
    meta.subarray.name = exp.subarray
    meta.subarray.xstart = sub.xstart
    meta.subarray.ystart = sub.ystart
    meta.subarray.xsize = sub.xsize
    meta.subarray.ysize = sub.ysize
    meta.subarray.fastaxis = 1
    meta.subarray.slowaxis = 2
    meta.dither.primary_type = "4-POINT-SETS" if exp.ndither > 2 else ("2-POINT" if exp.ndither == 2 else "NONE")
    meta.dither.position_number = exp.exposure
    meta.dither.total_points = exp.ndither
    meta.dither.x_offset = exp.xoffset
    meta.dither.y_offset = exp.yoffset
    meta.aperture.name = pl.aperture
    meta.aperture.pps_name = pl.aperture
    meta.pointing.ra_v1 = pl.ra_v1
    meta.pointing.dec_v1 = pl.dec_v1
    meta.pointing.pa_v3 = pl.pa_v3
    meta.velocity_aberration.scale_factor = 1.0
    w = meta.wcsinfo
    w.v2_ref = pl.v2_ref
    w.v3_ref = pl.v3_ref
    w.v3yangle = pl.v3yangle
    w.vparity = pl.vparity
    w.ra_ref = pl.ra_ref
    w.dec_ref = pl.dec_ref
    w.roll_ref = pl.roll_ref
    w.siaf_xref_sci = pl.xref_sci
    w.siaf_yref_sci = pl.yref_sci
    for k, v in P.fits_wcs_keywords(pl).items():
        setattr(w, k, v)
    meta.aperture.position_angle = (pl.roll_ref - pl.vparity * pl.v3yangle) % 360.0


# --------------------------------------------------------------------------
# Whole campaign
# --------------------------------------------------------------------------
def software_versions() -> dict[str, str]:
    """Versions of the packages that shape the simulated data."""
    from .io_utils import software_versions as versions

    return versions(
        (
            "absflux",
            "jwst",
            "stdatamodels",
            "stcal",
            "crds",
            "poppy",
            "stpsf",
            "pysiaf",
            "photutils",
            "astropy",
            "numpy",
            "tynt",
        )
    )


_WORKER = {}


def _init_worker(out_root, psf_kw, psf_dir, fluxes, rules, psf_files=None):
    _WORKER.update(out_root=out_root, psfs=PsfProvider(psf_dir, files=psf_files, **psf_kw), fluxes=fluxes, rules=rules)


def _run_one(exp):
    w = _WORKER
    return simulate_exposure(exp, w["out_root"], w["psfs"], w["fluxes"], w["rules"])


def _simulate_one(task, out_root, psf_kw, psf_dir, rules, psf_files):
    """One exposure in a pool worker: ``task = (index, exposure, fluxes)`` -> ``(index, truth row)``."""
    i, exp, fluxes = task
    # one PSF provider per worker process (kept in _WORKER across the tasks it runs)
    if _WORKER.get("key") != (str(out_root), str(psf_dir)):
        _init_worker(out_root, psf_kw, psf_dir, fluxes, rules, psf_files)
        _WORKER["key"] = (str(out_root), str(psf_dir))
    return i, simulate_exposure(exp, out_root, _WORKER["psfs"], fluxes, rules)


def _ensure_psfs(filters, psf_dir, psf_kw, jobs):
    from .psf_model import psf_library

    todo = sorted(set(filters))
    if jobs > 1 and len(todo) > 1:
        from .procs import run_pool

        # workers die with this process (a killed parent leaves no orphan writing PSFs)
        run_pool(functools.partial(_psf_job, psf_dir=psf_dir, psf_kw=psf_kw), todo, jobs)
    else:
        for f in todo:
            psf_library(f, psf_dir, **psf_kwargs(f, psf_kw))


def _psf_job(filt, psf_dir, psf_kw):
    from .psf_model import psf_library

    psf_library(filt, psf_dir, **psf_kwargs(filt, psf_kw))
    return filt


def simulate_campaign(
    rules: dict,
    out: Path,
    jobs: int = 1,
    overwrite: bool = False,
    psf_cache: Path | None = None,
    progress: bool = True,
) -> dict:
    """Write a whole simulated campaign into ``out`` (atomically).

    Everything is built in a temporary sibling directory that is renamed to
    ``out`` at the end, so an interrupted run leaves no half campaign.

    Returns a summary dict (counts, sizes, timings).
    """
    out = Path(out).resolve()
    if int(jobs) < 1:
        raise SimulationError(f"--jobs must be >= 1, got {jobs}")
    if out.exists() and not out.is_dir():
        raise SimulationError(f"{out}: exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise SimulationError(f"{out}: output directory exists and is not empty (use --overwrite)")
    t_start = time.time()
    exps, skipped = CP.expand_campaign(rules)
    if not exps:
        raise SimulationError("the campaign has no exposures")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(out.parent)) from None
    # the work folder of a killed run (its writer's pid is dead) is removed by the next run
    from .io_utils import STAGING_PREFIX, clean_stale_temporaries

    clean_stale_temporaries(out.parent)
    try:
        work = Path(
            tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}_{out.name}.", dir=out.parent)
        )
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(out)) from None
    try:
        summary = _simulate_into(rules, exps, skipped, work, jobs, psf_cache, progress)
        write_crds_env_script(work / "crds_cache")
        if out.exists():
            shutil.rmtree(out)
        work.rename(out)
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        if exc.errno is None and "space on disk" in str(exc):
            # astropy reports a full disk as a bare OSError("Not enough space on disk ...")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out)) from None
        if exc.errno in _write_errnos() and (exc.filename is None or str(work) in str(exc.filename)):
            # the work folder is an internal name: report the campaign being written
            name = str(exc.filename).replace(str(work), str(out)) if exc.filename is not None else str(out)
            raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), name) from None
        raise
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    summary["wall_seconds"] = time.time() - t_start
    summary["disk_mb"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    return summary


def _simulate_into(rules, exps, skipped, work: Path, jobs, psf_cache, progress) -> dict:
    from astropy.table import Table
    from tqdm import tqdm

    from .crds_cache import build_crds_cache

    timings = {}
    t = time.time()
    bandpasses = B.load_bandpasses()
    models = work / "Models"
    models.mkdir()
    for f, (w, r) in bandpasses.items():
        src = "synthetic FND curve (absflux.bands.synthetic_fnd_bandpass)" if f == "FND" else "tynt SVO JWST/MIRI." + f
        B.write_bandpass(models / f"bandpass_{f.lower()}.dat", w, r, src)
    fluxes = star_band_fluxes(bandpasses)
    for star in C.STARS.values():
        wave, flam = S.calspec_spectrum(star)
        S.write_calspec_fits(models / f"{star.model_key}_stis_001.fits", star, wave, flam, "absflux simulated campaign")
        if star.grieke:
            w2, f2 = S.star_spectrum(star)
            S.write_grieke_dat(models / f"grieke23_{star.model_key}.dat", star, w2, f2)
    timings["models"] = time.time() - t

    t = time.time()
    cal = CP.truth_calfactors(rules)
    coeffs = D.true_time_coeffs()
    build_crds_cache(work / "crds_cache", calfactors=cal, time_coeffs=coeffs, subarr_cor=dict(C.SUBARR_COR))
    timings["crds_cache"] = time.time() - t

    t = time.time()
    psf_kw = {"fov_pixels": 256, "oversample": 4, "nlambda": 10} | (rules.get("psf", {}) or {})
    psf_dir = Path(psf_cache) if psf_cache else work / "sim_psfs"
    _ensure_psfs([e.filter for e in exps], psf_dir, psf_kw, jobs)
    pinned = PsfProvider(psf_dir, **psf_kw)
    for f in sorted({e.filter for e in exps}):
        pinned.get(f)
    psf_files = dict(pinned.files)
    timings["psfs"] = time.time() - t

    t = time.time()
    rows = []
    bar = tqdm(total=len(exps), desc="exposures", unit="exp", disable=not progress)
    from .procs import run_pool

    # workers die with this process: a killed parent leaves no orphan writing into the work folder
    job = functools.partial(
        _simulate_one, out_root=work, psf_kw=psf_kw, psf_dir=psf_dir, rules=rules, psf_files=psf_files
    )
    _WORKER.update(fluxes=fluxes)
    got = run_pool(job, [(i, e, fluxes) for i, e in enumerate(exps)], jobs, on_result=lambda _: bar.update())
    rows = [row for _, row in sorted(got, key=lambda r: r[0])]  # exposure order, whatever the completion order
    bar.close()
    timings["exposures"] = time.time() - t

    truth = Table(rows=rows)
    truth.meta.update(
        {
            "campaign": rules["name"],
            "seed": rules.get("seed", 0),
            "calfactors_full_t0": cal,
            "time_coeffs": coeffs,
            "time_model": "s(t) = (1 - lossperyear (t - t0)/365) (amplitude exp(-(t - t0)/tau) + const)",
            "calfactor_definition": "C(t, s) = C_FULL(t0) / (s(t) x subarr_cor[s]); rate = 1e-6 F_nu / (C x pixel_area_sr)",
            "subarr_cor": dict(C.SUBARR_COR),
            "sky_rate": CP.truth_sky(rules),
            "psf": psf_kw,
            "psf_dir": str(psf_dir) if psf_cache else "sim_psfs",
            "psf_files": psf_files,
            "bandpasses": "tynt (SVO MIRI profiles) for 13 filters, synthetic FND",
            "models": "synthetic blackbody spectra normalised to the 2022 CALSPEC 7.7 micron flux densities",
            "calspec_grieke_offset": S.CALSPEC_GRIEKE_OFFSET,
            "detector": {k: v for k, v in C.DETECTOR.items() if not isinstance(v, tuple)},
            "skipped": skipped,
            "software": software_versions(),
            "crds": "local simulated cache crds_cache/ (context jwst_sim_0001.pmap)",
        }
    )
    from .io_utils import atomic_write_text, write_table

    write_table(truth, work / "truth.ecsv", "ascii.ecsv")
    star_rows = [
        {"name": n, "startype": C.STARS[n].startype, "model_key": C.STARS[n].model_key} | {f: v for f, v in fl.items()}
        for n, fl in fluxes.items()
    ]
    write_table(Table(rows=star_rows), work / "truth_stars.ecsv", "ascii.ecsv")
    write_table(CP.exposures_table(exps), work / "exposures.ecsv", "ascii.ecsv")
    atomic_write_text(work / "campaign.yaml", yaml.safe_dump(rules, sort_keys=False))
    atomic_write_text(
        work / "vetted_sets.yaml",
        "# vetted_sets.yaml: data sets of the APCORR file (absflux steps 3-4; format in absflux/apcorr.py)\n"
        + yaml.safe_dump(vetted_sets_for(exps, rules), sort_keys=False),
    )
    if psf_cache is None:
        pass  # the PSF library stays with the campaign (sim_psfs/)
    return {
        "exposures": len(rows),
        "skipped": skipped,
        "timings": timings,
        "by_type": {t: sum(1 for r in rows if r["startype"] == t) for t in C.STAR_TYPES},
    }


def write_crds_env_script(cache_dir: Path, context: str = "jwst_sim_0001.pmap") -> Path:
    """Write ``<cache>/crds_env.sh``; ``source`` it to select the simulated cache.

    The cache path is resolved from the script's own location, so the campaign
    directory can be moved.
    """
    path = Path(cache_dir) / "crds_env.sh"
    text = f"""# Select the simulated local CRDS cache of this campaign (source this file).
_absflux_cache="$(cd "$(dirname "${{BASH_SOURCE[0]:-$0}}")" && pwd)"
export CRDS_PATH="$_absflux_cache"
export CRDS_SERVER_URL=https://127.0.0.1:9
export CRDS_MODE=local
export CRDS_CONTEXT={context}
export CRDS_READONLY_CACHE=1
unset _absflux_cache
"""
    from .io_utils import atomic_write_text

    return atomic_write_text(path, text)


#: Largest radius [mosaic pixels] the EE annulus (2.4 x fwhmfac x FWHM) may reach in a
#: SUB256 mosaic of a simulated campaign (half size ~128 px, minus the dither offsets).
EE_ANNULUS_MAX_PIX = 100.0
#: Sets of a filter averaged into a simulated campaign's APCORR file.
EE_SETS_PER_FILTER = 5


def psf_field_radius(rules: dict | None = None) -> float:
    """Radius [mosaic pixels] around the star that the campaign's PSFs cover (half their field of view)."""
    fov = ((rules or {}).get("psf", {}) or {}).get("fov_pixels", 256)
    return float(fov) / 2.0 - 1.0


def ee_fwhmfac(filt: str, field_radius: float | None = None) -> float:
    """Merge factor of a simulated campaign: the adopted one, reduced (scan grid) so the EE annulus fits.

    The far annulus (2.4 x fwhmfac x FWHM) must lie inside the SUB256 mosaics
    (imager) and inside the field of the campaign's PSFs (``field_radius``,
    every filter): the simulated stars have no light beyond that field, so a
    far annulus there would see none of the PSF wings that the EE
    normalisation accounts for.
    """
    limit = np.inf if field_radius is None else float(field_radius)
    if filt not in C.CORON_FILTERS and filt != C.FND_FILTER:
        limit = min(limit, EE_ANNULUS_MAX_PIX)
    fits_ = [n for n in C.FWHMFAC_SCAN if 2.4 * n * C.FWHM[filt] <= limit and n <= C.FWHMFAC[filt]]
    return max(fits_) if fits_ else min(C.FWHMFAC_SCAN)


def campaign_set_names(exps) -> dict[tuple[str, str], dict[str, list[str]]]:
    """{(star type, filter): {canonical star: [set names]}} as step 1 will name them.

    Same rule as ``absflux.pipeline.sort_uncal``: per header TARGNAME, sets are
    numbered in lexicographic order of the visit token.
    """
    tokens: dict[tuple[str, str, str], set] = {}
    for e in exps:
        tokens.setdefault((e.startype, e.filter, e.targname), set()).add(e.basename.split("_")[0])
    out: dict[tuple[str, str], dict[str, list[str]]] = {}
    for (stype, filt, targ), toks in tokens.items():
        names = [f"{targ}_set{i}" for i in range(1, len(toks) + 1)]
        out.setdefault((stype, filt), {})[C.canonical_name(targ)] = names
    return out


def vetted_sets_for(exps, rules: dict | None = None) -> dict:
    """The ``vetted_sets.yaml`` table of a simulated campaign (format of ``absflux/apcorr.py``).

    The original vetted BD+60 1753 (imager), del UMi (FND) and three bright
    stars (coronagraphy) by eye.  A simulated campaign is vetted by design
    instead: per filter, the ``EE_SETS_PER_FILTER`` sets with the highest
    predicted signal-to-noise in the merge-radius aperture, where the curve of
    growth is normalised (from the exposure plan, not from the truth), among
    those not in SUB128/SUB64 (too small for the merge radius), and a merge
    factor that keeps the EE annulus inside the mosaics and the PSF field
    (:func:`ee_fwhmfac`).
    """
    rules = rules or {}
    field = psf_field_radius(rules)
    sets = campaign_set_names(exps)
    snr: dict[tuple[str, str, str], float] = {}
    tokens: dict[tuple[str, str, str], list[str]] = {}
    small = {}
    for e in exps:
        key = (e.startype, e.filter, e.targname)
        # the merge-radius aperture must fit in the mosaic: no SUB128/SUB64 sets
        if e.subarray in ("SUB128", "SUB64"):
            small[(e.startype, e.filter, f"{e.targname}|{e.basename.split('_')[0]}")] = True
        tokens.setdefault(key, [])
        tok = e.basename.split("_")[0]
        if tok not in tokens[key]:
            tokens[key].append(tok)
        star = C.STARS[e.star]
        rate = CP.predicted_total_rate(star, e.filter, CP.truth_calfactors(rules))
        # the EE is normalised at the merge radius: the sky noise of that whole aperture counts
        r_n = ee_fwhmfac(e.filter, field) * C.FWHM[e.filter]
        s2 = (
            CP._snr(rate, CP.truth_sky(rules)[e.filter], e.filter, e.subarray, e.ngroups, e.nints, r_ap=r_n, frac=0.9)
            ** 2
        )
        snr[(e.startype, e.filter, f"{e.targname}|{tok}")] = (
            snr.get((e.startype, e.filter, f"{e.targname}|{tok}"), 0.0) + s2
        )
    table = {}
    for filt in C.PLOT_ORDER:
        cands = []
        for (stype, f, targ), toks in tokens.items():
            if f != filt:
                continue
            for i, tok in enumerate(sorted(toks), start=1):
                if not small.get((stype, f, f"{targ}|{tok}")):
                    cands.append((snr[(stype, f, f"{targ}|{tok}")] ** 0.5, f"{stype}/{targ}_set{i}"))
        if not cands:
            continue
        best = [name for _, name in sorted(cands, reverse=True)[:EE_SETS_PER_FILTER]]
        table[filt] = {
            "fwhmfac": ee_fwhmfac(filt, field),
            "sets": best,
            "reason": "highest predicted signal-to-noise sets of the simulation; fwhmfac fits the mosaics and the PSF field",
        }
    assert sets is not None
    return {
        "version": 1,
        "description": "vetted EE data sets of a simulated campaign (absflux simulate)",
        "filters": table,
    }


def exposure_dicts(exps) -> list[dict]:
    return [asdict(e) for e in exps]


os.environ.setdefault("MPLBACKEND", "Agg")
