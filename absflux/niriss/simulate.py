"""Simulated NIRISS imaging data set for the embedded default (WD 1057+719).

The layout is that of program 1094 observation 1 (spec Table A1): for each selected
subarray every listed filter with two dithers, dither 1 near (c, c) and dither 2 near
(c + 5, c + 5), c = 32, 64, 128, 1024 for SUB64, SUB128, SUB256, FULL, with the
NGROUPS/NINTS of Table A1.  Each exposure is a ``_cal`` (or ``_rate``) file with NIRISS
primary/SCI headers, SCI (MJy/sr, PHOTMJSR in the SCI header) or DN/s, ERR and DQ.

The star's injected total count rate [e-/s] is by default the NIS-020 expected rate
(Table 3), the PSF has the WebbPSF encircled energy of the filter
(:mod:`absflux.niriss.psfmodel`), the sky is flat, and the noise is Poisson plus a
simple read-noise term.  A detector-fixed bad-pixel map (dead, hot, warm, low-QE pixels
and, in FULL frame, the 4-pixel reference border) is the same in all exposures; a few
dead pixels are placed on purpose 6-14 px from the star positions so that the low-pixel
repair has something to do.  The truths are written to ``truth.ecsv``, the exposure list
for the batch driver to ``exposures.txt`` and the WebbPSF EE tables (spec section 14) of
the filters to ``psf/<filter>_psf.radtab``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass

import numpy as np

from . import constants as C
from .psfmodel import profile_for_filter, render_psf

log = logging.getLogger(__name__)

__all__ = [
    "SimExposure",
    "frame_time",
    "plan_exposures",
    "bad_pixel_map",
    "simulate_exposure",
    "simulate_dataset",
    "psf_table_text",
]

DEFAULT_SUBARRAYS = ("SUB64", "SUB128", "FULL")
#: Dead pixels placed on purpose (row offset, column offset) from each subarray centre c.
DELIBERATE_DEAD = ((-3, 8), (7, -6), (10, 9))
#: Radius around the star positions kept free of random hot/dead pixels [px].
STAR_KEEPOUT = 16
PEAK_FULL_WELL_DN = 60000.0


@dataclass
class SimExposure:
    """Plan and truth of one simulated exposure."""

    number: int
    visit: int
    subarray: str
    pupil: str
    filter_wheel: str
    filter: str
    ngroups: int
    nints: int
    dither: int
    x_guess: float
    y_guess: float
    x_true: float
    y_true: float
    total_e: float
    tframe: float
    effinttm: float
    sky_dn: float
    photmjsr: float
    filename: str = ""
    root: str = ""


def frame_time(subarray: str) -> float:
    """Frame time [s] of a NIRISS imaging readout: ``(n/namps + 12) (n + 1) 10 us``.

    FULL is read with 4 amplifiers (10.737 s), the square imaging subarrays with one.
    """
    n = C.SUBARRAY_SIZE[subarray.upper()]
    namps = 4 if subarray.upper() == "FULL" else 1
    return (n / namps + 12) * (n + 1) * 1e-5


def plan_exposures(
    subarrays=DEFAULT_SUBARRAYS,
    seed: int = 1094,
    rates: dict | None = None,
    scale: float = 1.0,
    product: str = "cal",
) -> list[SimExposure]:
    """Exposure list of Table A1 restricted to *subarrays*, with seeded sub-pixel star positions.

    Parameters
    ----------
    subarrays : sequence of str
        Any of SUB64, SUB128, SUB256, FULL.
    seed : int
        Seed of the star positions.
    rates : dict, optional
        Total count rate [e-/s] per filter (default: NIS-020 Table 3 for WD 1057+719).
    scale : float
        Factor applied to all rates.
    product : {'cal', 'rate'}
        File type (name suffix).
    """
    subs = [s.upper() for s in subarrays]
    for s in subs:
        if s not in C.SUBARRAY_SIZE:
            raise ValueError(f"unknown subarray {s!r}; use any of {', '.join(C.SUBARRAY_SIZE)}")
    rates = dict(C.WD1057_EXPECTED if rates is None else rates)
    rng = np.random.default_rng(seed)
    plans = []
    dither_count: dict = {}
    for number, sub, pupil, fw, ngroups, nints in C.TABLE_A1:
        # draw for every row so that positions do not depend on the subarray selection
        dx, dy = rng.uniform(-0.3, 0.3, size=2)
        if sub not in subs:
            continue
        filt = fw if pupil == "CLEARP" else pupil
        key = (sub, filt)
        dither = dither_count.get(key, 0) + 1
        dither_count[key] = dither
        c = C.SUBARRAY_CENTRE[sub] + (dither - 1) * C.DITHER_OFFSET
        tframe = frame_time(sub)
        visit = 2 if number >= 55 else 1
        sky = C.SIM_SKY_LW if filt in C.LW_FILTERS else C.SIM_SKY_SW
        exp = SimExposure(
            number=number,
            visit=visit,
            subarray=sub,
            pupil=pupil,
            filter_wheel=fw,
            filter=filt,
            ngroups=ngroups,
            nints=nints,
            dither=dither,
            x_guess=float(c),
            y_guess=float(c),
            x_true=float(c + dx),
            y_true=float(c + dy),
            total_e=float(rates[filt]) * scale,
            tframe=tframe,
            effinttm=(ngroups - 1) * tframe,
            sky_dn=sky,
            photmjsr=C.SIM_PHOTMJSR[filt] if product == "cal" else 1.0,
        )
        exp.filename = f"jw01094001{visit:03d}_01101_{number:05d}_nis_{product}.fits"
        exp.root = f"{filt.lower()}_{sub.lower()}_{dither}"
        plans.append(exp)
    return plans


def bad_pixel_map(seed: int = 2048, density: float = 1.5e-3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detector-fixed bad pixels in full-frame 0-based coordinates.

    Returns
    -------
    (rows, cols, kinds)
        ``kinds`` are strings 'dead', 'hot', 'warm', 'lowqe'.  Random pixels avoid
        :data:`STAR_KEEPOUT` px around every star position of Table A1; the deliberate
        dead pixels of :data:`DELIBERATE_DEAD` are added around each subarray centre.
    """
    rng = np.random.default_rng(seed)
    n = C.SUBARRAY_SIZE["FULL"]
    npix = int(density * n * n)
    rows = rng.integers(0, n, npix)
    cols = rng.integers(0, n, npix)
    kinds = rng.choice(np.array(["dead", "hot", "warm", "lowqe"]), size=npix, p=[0.25, 0.15, 0.45, 0.15])
    keep = np.ones(npix, dtype=bool)
    for c in set(C.SUBARRAY_CENTRE.values()):
        for cc in (c, c + C.DITHER_OFFSET):
            keep &= np.hypot(rows - cc, cols - cc) > STAR_KEEPOUT
    rows, cols, kinds = rows[keep], cols[keep], kinds[keep]
    extra_r, extra_c = [], []
    for c in sorted(set(C.SUBARRAY_CENTRE.values())):
        for dr, dc in DELIBERATE_DEAD:
            extra_r.append(c + dr)
            extra_c.append(c + dc)
    rows = np.concatenate([rows, extra_r])
    cols = np.concatenate([cols, extra_c])
    kinds = np.concatenate([kinds, ["dead"] * len(extra_r)])
    return rows, cols, kinds


def _primary_header(exp: SimExposure, star: str, seed: int, product: str):
    from astropy.io import fits

    from .io import software_versions

    n = C.SUBARRAY_SIZE[exp.subarray]
    h = fits.Header()
    cards = [
        ("DATE", "2022-06-01T00:00:00.000", "UTC date file created"),
        ("ORIGIN", "ABSFLUX", "simulated by absflux.niriss.simulate"),
        ("TIMESYS", "UTC", ""),
        ("FILENAME", exp.filename, "Name of the file"),
        ("FILETYPE", "calibrated" if product == "cal" else "countrate", "Type of data in the file"),
        ("DATAMODL", "ImageModel", "Type of data model"),
        ("TELESCOP", "JWST", "Telescope used to acquire the data"),
        ("CAL_VER", "simulated", "Calibration software version number"),
        ("SIMULATD", True, "simulated data (absflux simulate_niriss)"),
        ("TITLE", "NIRISS Photometric Zeropoints (simulated)", ""),
        ("PROGRAM", "01094", "JWST program number"),
        ("OBSERVTN", "001", "Observation number"),
        ("VISIT", f"{exp.visit:03d}", "Visit number"),
        ("VISITGRP", "01", ""),
        ("SEQ_ID", "1", ""),
        ("ACT_ID", "01", ""),
        ("EXPOSURE", f"{exp.number:05d}", "Exposure request number"),
        ("TARGPROP", star.replace(" ", ""), "Proposer's name for the target"),
        ("TARGNAME", star, "Standard astronomical catalog name for target"),
        ("INSTRUME", "NIRISS", "Instrument used to acquire the data"),
        ("DETECTOR", "NIS", "Name of detector used to acquire the data"),
        ("FILTER", exp.filter_wheel, "Name of the filter element used"),
        ("PUPIL", exp.pupil, "Name of the pupil element used"),
        ("EXP_TYPE", "NIS_IMAGE", "Type of data in the exposure"),
        ("READPATT", "NISRAPID", "Readout pattern"),
        ("NINTS", exp.nints, "Number of integrations in exposure"),
        ("NGROUPS", exp.ngroups, "Number of groups in integration"),
        ("NFRAMES", 1, "Number of frames per group"),
        ("GROUPGAP", 0, "Number of frames dropped between groups"),
        ("TFRAME", round(exp.tframe, 5), "[s] Time between frames"),
        ("TGROUP", round(exp.tframe, 5), "[s] Time between groups"),
        ("EFFINTTM", round(exp.effinttm, 5), "[s] Effective integration time"),
        ("EFFEXPTM", round(exp.effinttm * exp.nints, 5), "[s] Effective exposure time"),
        ("DURATION", round(exp.ngroups * exp.tframe * exp.nints, 5), "[s] Total duration of exposure"),
        ("NRSTSTRT", 1, ""),
        ("SUBARRAY", exp.subarray, "Subarray used"),
        ("SUBSTRT1", 1, "Starting pixel in axis 1 direction"),
        ("SUBSTRT2", 1, "Starting pixel in axis 2 direction"),
        ("SUBSIZE1", n, "Number of pixels in axis 1 direction"),
        ("SUBSIZE2", n, "Number of pixels in axis 2 direction"),
        ("FASTAXIS", -2, "Fast readout axis direction"),
        ("SLOWAXIS", -1, "Slow readout axis direction"),
        ("PATTTYPE", "NONE", ""),
        ("NUMDTHPT", 2, "Total number of points in pattern"),
        ("PATT_NUM", exp.dither, "Position number in primary pattern"),
        ("SIMSEED", seed, "seed of the simulation"),
        ("SIMTOTAL", exp.total_e, "[e-/s] injected total count rate of the star"),
        ("SIMX", exp.x_true, "injected star x (0-based column)"),
        ("SIMY", exp.y_true, "injected star y (0-based row)"),
    ]
    for k, v, c in cards:
        h[k] = (v, c)
    h["HISTORY"] = "Simulated by absflux.niriss.simulate: " + software_versions()
    return h


def simulate_exposure(
    exp: SimExposure,
    badpix: tuple[np.ndarray, np.ndarray, np.ndarray],
    rng: np.random.Generator,
    noise: bool = True,
    star: str = C.DEFAULT_STAR,
    seed: int = 0,
    product: str = "cal",
):
    """Build the HDUList of one exposure.

    Returns
    -------
    astropy.io.fits.HDUList
        PRIMARY, SCI, ERR, DQ.
    """
    from astropy.io import fits

    n = C.SUBARRAY_SIZE[exp.subarray]
    shape = (n, n)
    total_dn = exp.total_e / C.GAIN
    profile = profile_for_filter(exp.filter)
    rate = render_psf(shape, exp.x_true, exp.y_true, total_dn, profile) + exp.sky_dn  # DN/s
    dq = np.zeros(shape, dtype=np.uint32)
    rows, cols, kinds = badpix
    on = (rows < n) & (cols < n)
    r_on, c_on, k_on = rows[on], cols[on], kinds[on]
    for kind, flag in (
        ("dead", C.DQ_DEAD | C.DQ_DO_NOT_USE),
        ("hot", C.DQ_HOT | C.DQ_DO_NOT_USE),
        ("warm", C.DQ_WARM),
        ("lowqe", C.DQ_LOW_QE),
    ):
        sel = k_on == kind
        dq[r_on[sel], c_on[sel]] |= np.uint32(flag)
    if exp.subarray == "FULL":
        b = C.REFPIX_BORDER
        border = np.ones(shape, dtype=bool)
        border[b:-b, b:-b] = False
        dq[border] |= np.uint32(C.DQ_REFERENCE_PIXEL | C.DQ_DO_NOT_USE)
    texp = exp.effinttm * exp.nints
    electrons = rate * C.GAIN * texp
    if noise:
        counts = rng.poisson(np.clip(electrons, 0, None)).astype(float)
        ng = max(exp.ngroups, 2)
        rn_rate = C.SIM_READNOISE_E * np.sqrt(12.0 / (ng**3 - ng)) / exp.tframe / np.sqrt(exp.nints)
        meas_e = counts / texp + rng.normal(0.0, rn_rate, shape)
    else:
        rn_rate = 0.0
        meas_e = electrons / texp
    var_e = np.clip(electrons, 0, None) / texp**2 + rn_rate**2
    sci = meas_e / C.GAIN
    err = np.sqrt(var_e) / C.GAIN
    # detector defects
    dead = (dq & C.DQ_DEAD) > 0
    sci[dead] = 0.0
    sci[(dq & C.DQ_HOT) > 0] += 30.0
    sci[(dq & C.DQ_WARM) > 0] += 0.3
    lowqe = (dq & C.DQ_LOW_QE) > 0
    sci[lowqe] *= 0.7
    if exp.subarray == "FULL":
        sci[(dq & C.DQ_REFERENCE_PIXEL) > 0] = 0.0
    peak_dn = rate * exp.ngroups * exp.tframe
    dq[peak_dn > PEAK_FULL_WELL_DN] |= np.uint32(C.DQ_SATURATED)
    scale = exp.photmjsr if product == "cal" else 1.0
    phdu = fits.PrimaryHDU(header=_primary_header(exp, star, seed, product))
    sci_hdu = fits.ImageHDU((sci * scale).astype(np.float32), name="SCI")
    sh = sci_hdu.header
    sh["BUNIT"] = ("MJy/sr" if product == "cal" else "DN/s", "physical units of the array values")
    if product == "cal":
        sh["PHOTMJSR"] = (exp.photmjsr, "Flux density (MJy/sr) producing 1 cnt/s")
        sh["PHOTUJA2"] = (exp.photmjsr * 1e12 / 4.25451703e10, "Flux density (uJy/arcsec2) producing 1 cnt/s")
        sh["PIXAR_SR"] = (C.PIXAR_SR, "Nominal pixel area in steradians")
        sh["PIXAR_A2"] = (C.PIXSCALE**2, "Nominal pixel area in arcsec^2")
    err_hdu = fits.ImageHDU((err * scale).astype(np.float32), name="ERR")
    err_hdu.header["BUNIT"] = sh["BUNIT"]
    dq_hdu = fits.ImageHDU(dq, name="DQ")
    return fits.HDUList([phdu, sci_hdu, err_hdu, dq_hdu])


def psf_table_text(filt: str) -> str:
    """The WebbPSF EE table of *filt* in the layout of the shipped ``*_psf.radtab``."""
    ee = C.WEBBPSF_EE[filt.upper()]
    lines = [
        f"# WebbPSF EE of {filt.upper()} (NIS-020; NIRISS_FLUXCAL_SPEC section 14), written by absflux simulate_niriss",
        "Radius Rad_arcsec Flux errFlux",
    ]
    for r, e in zip(C.EE_RADII, ee, strict=True):
        lines.append(f"{r} {r * C.PIXSCALE:.4f} {e:.4e} {np.sqrt(e):.4e}")
    return "\n".join(lines) + "\n"


def simulate_dataset(
    out: str,
    subarrays=DEFAULT_SUBARRAYS,
    seed: int = 1094,
    rates: dict | None = None,
    scale: float = 1.0,
    noise: bool = True,
    product: str = "cal",
    star: str = C.DEFAULT_STAR,
    progress: bool = False,
) -> list[SimExposure]:
    """Write the simulated data set to *out*.

    Files: one FITS per exposure, ``exposures.txt`` (file x y root, for the batch driver),
    ``truth.ecsv`` (injected positions and totals) and ``psf/<f>_psf.radtab``.  Every file
    is written under a temporary name and renamed when complete.

    Returns
    -------
    list of SimExposure
    """
    from astropy.table import Table

    from .io import provenance, write_outputs

    plans = plan_exposures(subarrays, seed, rates, scale, product)
    os.makedirs(out, exist_ok=True)
    badpix = bad_pixel_map()
    it = plans
    if progress:
        from tqdm import tqdm

        it = tqdm(plans, desc="simulate", unit="exp")
    for exp in it:
        rng = np.random.default_rng([seed, exp.number])
        hdul = simulate_exposure(exp, badpix, rng, noise=noise, star=star, seed=seed, product=product)
        write_outputs([(_HDUWriter(hdul), os.path.join(out, exp.filename), {})])
        log.debug("wrote %s", exp.filename)
    truth = Table(rows=[asdict(p) for p in plans])
    truth.meta["comments"] = provenance(
        "simulate_niriss",
        options=f"seed={seed} subarrays={','.join(subarrays)} scale={scale} noise={noise} product={product}",
    )
    truth.meta["star"] = star
    truth.meta["units"] = {"total_e": "e-/s", "sky_dn": "DN/s/pix", "effinttm": "s", "photmjsr": "(MJy/sr)/(DN/s)"}
    lines = ["# file x y root   (x, y: 0-based guesses as in do_getcircEE1; paths relative to this file)"]
    lines += [f"{p.filename} {p.x_guess:g} {p.y_guess:g} {p.root}" for p in plans]
    items = [
        (truth, os.path.join(out, "truth.ecsv"), {"format": "ascii.ecsv"}),
        ("\n".join(lines) + "\n", os.path.join(out, "exposures.txt"), {}),
    ]
    for f in sorted({p.filter for p in plans}, key=C.FILTERS.index):
        items.append((psf_table_text(f), os.path.join(out, "psf", f"{f.lower()}_psf.radtab"), {}))
    os.makedirs(os.path.join(out, "psf"), exist_ok=True)
    write_outputs(items)
    return plans


class _HDUWriter:
    """Adapter giving an HDUList the ``write(path, overwrite=..)`` interface of tables."""

    def __init__(self, hdul):
        self.hdul = hdul

    def write(self, path, overwrite=True, **_kw):
        self.hdul.writeto(path, overwrite=overwrite)
