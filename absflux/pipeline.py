"""Step 1: reduction of one (star type, filter) with the jwst pipeline (spec 3.1-3.4).

The functions here wrap the official ``Detector1Pipeline``, ``Image2Pipeline``
and ``Image3Pipeline`` with the MIRI flux-calibration choices of the original
scripts, sort raw files into ``<TARGNAME>_setN`` directories, build the
per-visit median sky (``make_sky``), fake the coronagraphic/FND headers for
Image3, and record provenance.  Products are written to a staging directory
and moved into place file by file with an atomic rename, so an interrupted run
never leaves a truncated product behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import constants as C
from .io_utils import (
    STAGING_PREFIX,
    atomic_path,
    atomic_write_text,
    clean_stale_temporaries,
    remove_quietly,
    write_error,
)

log = logging.getLogger(__name__)

DO_NOT_USE = 1
#: Staging folders of this version: ``.staging_<pid>-<token>_...`` (older versions had no process id).
_STAGING_OURS = re.compile(r"^\.staging_\d+-[0-9a-f]{8}_")
STAGES = ("stage1", "stage2", "stage3", "stage23", "all")
#: Default override files of the original, relative to the campaign root (spec 3.4).
DEFAULT_OVERRIDES = {
    "nmasks": "Masks/jwst_miri_mask_{filter}.fits",
    "omask": "/grp/crds/jwst/references/jwst/jwst_miri_mask_0028.fits",
    "nrscd": "RSCD/MIRI_MIRIMAGE_RSCD_10.00.00.fits",
    "nflats": "Flats_2025/jwst_miri_flat_{filter}_master.fits",
}


class PipelineInputError(ValueError):
    """Bad input for step 1 (one-line message naming the file and the problem)."""


class SetError(RuntimeError):
    """A set's processing failed; the message names the file (or set folder) and the stage."""


# --------------------------------------------------------------------------
# Sorting raw files into sets
# --------------------------------------------------------------------------
@dataclass
class BadFile:
    """A raw file that cannot be reduced, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class DataSet:
    """One (TARGNAME, visit) set of raw files.

    ``bad`` lists the raw files of the visit that cannot be reduced: such a set
    is blocked (reported as failed, never reduced from the remaining files, as
    the mosaic would silently miss an exposure).  A bad file whose visit has no
    readable file is an entry of its own, named by the file (``files`` empty).
    """

    name: str  # "<TARGNAME>_set<N>", or the file name of an unplaceable bad file
    targname: str
    visit_token: str
    files: list[Path] = field(default_factory=list)
    bad: list[BadFile] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        """True when a raw file of this set is bad (the set is not reduced)."""
        return bool(self.bad)


#: Extensions a jwst ``*_uncal.fits`` must have (stdatamodels reads the ASDF tree, the ramps are in SCI).
UNCAL_EXTENSIONS = ("SCI", "ASDF")


def inspect_uncal(path: Path, filt: str | None = None) -> tuple[dict | None, str | None]:
    """Header keywords of a raw file and the reason it cannot be reduced (None when it can).

    The file must be a readable FITS file with TARGNAME and FILTER in the
    primary header, FILTER equal to ``filt`` (when given), the extensions of
    :data:`UNCAL_EXTENSIONS`, and be complete: every HDU's declared data must
    lie inside the file (a file cut short still opens, and the jwst pipeline
    then fails much later with an error that names no file).

    Parameters
    ----------
    path : Path
        The ``*_uncal.fits`` file.
    filt : str, optional
        Expected FILTER keyword.

    Returns
    -------
    tuple
        (``{"TARGNAME": ..., "FILTER": ...}`` or None when the primary header is
        unreadable, problem text or None).
    """
    import warnings

    from astropy.io import fits

    path = Path(path)
    hdr = None
    try:
        size = path.stat().st_size
        with warnings.catch_warnings():
            # astropy warns about a truncated file; the size check below reports it as an error
            warnings.simplefilter("ignore")
            with fits.open(path, lazy_load_hdus=False) as hdul:
                h = hdul[0].header
                missing = [k for k in ("TARGNAME", "FILTER") if k not in h]
                if missing:
                    return None, f"missing header keyword {', '.join(missing)}"
                hdr = {"TARGNAME": str(h["TARGNAME"]).strip(), "FILTER": str(h["FILTER"]).strip()}
                if filt is not None and hdr["FILTER"] != filt:
                    return hdr, f"FILTER {hdr['FILTER']} differs from the directory's filter {filt}"
                for hdu in hdul:
                    end = hdu.fileinfo()["datLoc"] + hdu.size
                    if end > size:
                        return hdr, (
                            f"truncated file ({size} bytes, HDU {hdu.name} needs {end}): copy or download it again"
                        )
                names = {hdu.name for hdu in hdul}
                lacking = [e for e in UNCAL_EXTENSIONS if e not in names]
                if lacking and size % 2880:
                    return hdr, (
                        f"truncated file ({size} bytes, not a whole number of 2880-byte FITS blocks; "
                        f"no {' or '.join(lacking)} extension): copy or download it again"
                    )
                if lacking:
                    return hdr, f"not a jwst raw file (no {' or '.join(lacking)} extension)"
    except Exception as exc:  # astropy raises OSError/ValueError/TypeError/IndexError for corrupt files
        return hdr, f"not a readable FITS file ({type(exc).__name__}: {' '.join(str(exc).split())})"
    return hdr, None


def read_uncal_header(path: Path, filt: str | None = None) -> dict:
    """TARGNAME and FILTER of a good raw file; :class:`PipelineInputError` naming the file otherwise."""
    hdr, problem = inspect_uncal(path, filt)
    if problem:
        raise PipelineInputError(f"{path}: {problem}")
    return hdr


def sort_uncal(filter_dir: Path, filt: str) -> list[DataSet]:
    """Group ``filter_dir/*_uncal.fits`` by TARGNAME and visit (spec 0.2).

    Sets are numbered 1..n per target in lexicographic order of the visit
    token (``jwPPPPPOOOVVV``, the first ``_`` token of the file name).  Every
    file's FILTER must equal ``filt`` (the part before any ``_``).

    A bad raw file (unreadable, truncated, not a jwst raw file, wrong FILTER;
    see :func:`inspect_uncal`) blocks only the set of its visit: that set is
    returned with ``bad`` filled in and every other set is normal.  A file
    whose target is still readable keeps its visit in the numbering, so the
    other sets keep their names; a bad file that shares its visit with no
    placeable file is returned as an entry of its own, named by the file, and
    since its target is unknown it also blocks every set whose visit comes
    after it (their numbers could shift once the file is readable).

    Raises
    ------
    PipelineInputError
        The directory does not exist or holds no raw file.
    """
    filter_dir = Path(filter_dir)
    if not filter_dir.is_dir():
        raise PipelineInputError(f"{filter_dir}: filter directory does not exist")
    files = sorted(filter_dir.glob("*_uncal.fits"))
    if not files:
        raise PipelineInputError(f"{filter_dir}: no *_uncal.fits files")
    want = filt.split("_")[0]
    by_target: dict[str, dict[str, list[Path]]] = defaultdict(lambda: defaultdict(list))
    bad: dict[str, list[BadFile]] = defaultdict(list)
    for f in files:
        token = f.name.split("_")[0]
        hdr, problem = inspect_uncal(f, want)
        if problem is None:
            by_target[hdr["TARGNAME"]][token].append(f)
            continue
        bad[token].append(BadFile(f, problem))
        if hdr is not None and hdr["FILTER"] == want and hdr["TARGNAME"]:
            # a readable target keeps the visit in the numbering: the later sets keep their names
            by_target[hdr["TARGNAME"]].setdefault(token, [])
    placed = {token for targ in by_target for token in by_target[targ]}
    unplaced = sorted(set(bad) - placed)
    sets = []
    for targ in sorted(by_target):
        for i, token in enumerate(sorted(by_target[targ]), start=1):
            blocked = list(bad.get(token, []))
            # a bad file of unknown target may belong to this target's earlier visit: every set after it
            # could be numbered one too low, i.e. reduced into another set's folder, so it waits too
            blocked += [
                BadFile(b.path, f"{b.reason}; its target is unknown, so the numbering of {targ}_set{i} is uncertain")
                for t in unplaced
                if t < token
                for b in bad[t]
            ]
            sets.append(DataSet(f"{targ}_set{i}", targ, token, sorted(by_target[targ][token]), blocked))
    for token in unplaced:
        sets.extend(DataSet(b.path.name, "", token, [], [b]) for b in bad[token])
    return sets


# --------------------------------------------------------------------------
# Step parameters (spec 3.1)
# --------------------------------------------------------------------------
def detector1_steps(
    jump_sigma: float = 5.0,
    maskfile: str | None = None,
    rscdfile: str | None = None,
    maximum_cores: str = "half",
    save_jump_info: bool = True,
    firstframe: bool = True,
    reset: bool = True,
    darksub: bool = True,
) -> dict:
    """Detector1 step parameters of the MIRI flux calibration."""
    steps: dict = {
        "ipc": {"skip": True},
        "emicorr": {"skip": True},
        "jump": {
            "rejection_threshold": jump_sigma,
            "maximum_cores": maximum_cores,
            "after_jump_flag_dn1": 0.0,
            "after_jump_flag_time1": 0.0,
            "after_jump_flag_dn2": 0.0,
            "after_jump_flag_time2": 0.0,
            "expand_large_events": False,
            "find_showers": False,
        },
        "ramp_fit": {"maximum_cores": maximum_cores},
    }
    if maskfile:
        steps["dq_init"] = {"override_mask": str(maskfile)}
    if rscdfile:
        steps["rscd"] = {"override_rscd": str(rscdfile)}
    if not firstframe:
        steps["firstframe"] = {"skip": True}
    if not reset:
        steps["reset"] = {"skip": True}
    if not darksub:
        steps["dark_current"] = {"skip": True}
    if save_jump_info:
        steps["ramp_fit"].update({"save_opt": True})
    return steps


def image2_steps(flatfile: str | None = None, photomfile: str | None = None, pixel_scale: float = 0.11) -> dict:
    """Image2 step parameters: square-kernel resampling at 0.11", exptime weights."""
    steps: dict = {"resample": {"kernel": "square", "pixel_scale": pixel_scale, "weight_type": "exptime"}}
    if flatfile:
        steps["flat_field"] = {"override_flat": str(flatfile)}
    if photomfile:
        steps["photom"] = {"override_photom": str(photomfile)}
    return steps


def image3_steps(sourcecat: bool = True, matchbkg: bool = True, pixel_scale: float = 0.11, snr: float = 5.0) -> dict:
    """Image3 step parameters: no tweakreg/outlier detection, skymatch lower=0, square kernel."""
    steps: dict = {
        "tweakreg": {"skip": True},
        "outlier_detection": {"skip": True},
        "resample": {"kernel": "square", "pixel_scale": pixel_scale, "weight_type": "exptime"},
        "source_catalog": {"snr_threshold": snr} if sourcecat else {"skip": True},
        "skymatch": {"lower": 0.0} if matchbkg else {"skip": True},
    }
    return steps


def merge_step_parameters(steps: dict, override: dict | None) -> dict:
    """Overlay user step parameters ({step: {param: value}}) on ``steps``."""
    out = {k: dict(v) for k, v in steps.items()}
    for step, pars in (override or {}).items():
        out.setdefault(step, {}).update(pars)
    return out


def load_step_parameter_file(path: Path) -> dict[str, dict]:
    """Read a step-parameter file: {pipeline: {step: {param: value}}}.

    Accepted: YAML/JSON with top-level keys ``detector1``, ``image2``,
    ``image3`` (each a mapping of step name to parameters), or an stpipe ASDF
    parameter file of a pipeline (``class`` ... ``steps`` list), which is
    mapped onto the pipeline it names.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise PipelineInputError(f"{path}: step-parameter file does not exist")
    if path.suffix.lower() == ".asdf":
        import asdf

        with asdf.open(path) as af:
            tree = dict(af.tree)
        cls = str(tree.get("class", "")).lower()
        key = next((k for k in ("detector1", "image2", "image3") if k in cls), None)
        if key is None:
            raise PipelineInputError(f"{path}: ASDF parameter file of an unsupported class {tree.get('class')!r}")
        steps = {}
        for s in tree.get("steps", []):
            steps[s["name"]] = dict(s.get("parameters", {}))
        return {key: steps}
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise PipelineInputError(f"{path}: not valid YAML/JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not set(data) <= {"detector1", "image2", "image3"}:
        raise PipelineInputError(f"{path}: top-level keys must be among detector1, image2, image3")
    for k, v in data.items():
        if not isinstance(v, dict) or not all(isinstance(p, dict) for p in v.values()):
            raise PipelineInputError(f"{path}: {k} must map step names to parameter mappings")
    return data


# --------------------------------------------------------------------------
# Logging and staging helpers
# --------------------------------------------------------------------------
PIPELINE_LOGGERS = ("stpipe", "jwst", "stcal", "CRDS", "crds", "asdf", "gwcs", "tweakwcs", "drizzle")


def quiet_pipeline_console() -> None:
    """Keep the jwst/stpipe records out of the console (they still go to the stage logs)."""
    for name in PIPELINE_LOGGERS:
        logging.getLogger(name).propagate = False


@contextlib.contextmanager
def stage_log(logfile: Path):
    """Send the stpipe/jwst/stcal/crds log records to ``logfile`` for the duration."""
    handler = logging.FileHandler(logfile, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    handler.setLevel(logging.INFO)
    loggers = [logging.getLogger(n) for n in PIPELINE_LOGGERS]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
        handler.close()


def _name_product(exc: OSError, tmp_dir: Path, final_dir: Path) -> OSError:
    """The OSError with the final product (or folder) named instead of the staging path."""
    where = final_dir
    if exc.filename is not None and str(exc.filename).startswith(str(tmp_dir)):
        where = final_dir / Path(exc.filename).name
    elif exc.filename is not None:
        return exc
    return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(where))


@contextlib.contextmanager
def staging(final_dir: Path):
    """A temporary directory whose files are moved atomically into ``final_dir`` on success.

    The directory is named ``.staging_<pid>-<token>_...`` so that
    :func:`absflux.io_utils.clean_stale_temporaries` removes it after a kill -9,
    and two runs on one set never share it.  An output that cannot be written
    (disk full, read-only folder) raises an OSError naming the product in
    ``final_dir``, not the staging path.
    """
    final_dir = Path(final_dir)
    final_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}_"
    try:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=final_dir))
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(final_dir)) from exc
    try:
        yield tmp
        for p in sorted(tmp.iterdir()):
            if p.is_file():
                os.replace(p, final_dir / p.name)
    except OSError as exc:
        err = write_error(exc)
        if err is not None:
            raise _name_product(err, tmp, final_dir) from exc
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def tidy_folder(folder: Path) -> list[Path]:
    """Remove the temporaries that killed runs left in ``folder`` (not those of running processes).

    Besides this version's temporaries (process id in the name, see
    :func:`absflux.io_utils.clean_stale_temporaries`), the ``.part_*`` files and
    ``.staging_*`` folders of earlier versions (no process id) are removed.
    """
    folder = Path(folder)
    removed = clean_stale_temporaries(folder)
    if folder.is_dir():
        for p in sorted(folder.glob(".part_*")) + sorted(folder.glob(f"{STAGING_PREFIX}*")):
            if _STAGING_OURS.match(p.name):
                continue  # this version's: removed above when its process is dead
            if remove_quietly(p):
                removed.append(p)
    return removed


def freeze_heap() -> None:
    """Collect garbage once, then freeze the surviving objects.

    stpipe runs a full ``gc.collect()`` before every step; with jwst, astropy
    and the CRDS rules loaded each collection takes ~0.25 s, more than most
    steps themselves.  Freezing the long-lived objects makes those collections
    scan only new objects (Detector1 on a SUB256 exposure: 8.4 s -> 2.3 s).
    """
    import gc

    gc.collect()
    gc.freeze()


def _clean_runtime_output(logtext: str) -> list[str]:
    return [line for line in logtext.splitlines() if "CRDS - ERROR" in line]


# --------------------------------------------------------------------------
# Sky subtraction (spec 3.2)
# --------------------------------------------------------------------------
def expected_position(meta) -> tuple[float, float]:
    """Sky position of the target at the observation (degrees).

    The proposer position (PROP_RA/PROP_DEC, at MU_EPOCH) is propagated with
    the proper motion to DATE-BEG.  Without proposer coordinates TARG_RA/TARG_DEC
    (already at mid-exposure in JWST headers) are used as they are.
    """
    t = meta.target
    if t.proposer_ra is None or t.proposer_dec is None or t.proper_motion_ra is None:
        return float(t.ra), float(t.dec)
    import warnings

    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.time import Time
    from erfa import ErfaWarning

    epoch = Time(str(t.proper_motion_epoch).replace(" ", "T")) if t.proper_motion_epoch else Time("J2000")
    c = SkyCoord(
        ra=t.proposer_ra * u.deg,
        dec=t.proposer_dec * u.deg,
        pm_ra_cosdec=(t.proper_motion_ra or 0.0) * 1000 * u.mas / u.yr,
        pm_dec=(t.proper_motion_dec or 0.0) * 1000 * u.mas / u.yr,
        obstime=epoch,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ErfaWarning)
        n = c.apply_space_motion(new_obstime=Time(meta.observation.date_beg))
    return float(n.ra.deg), float(n.dec.deg)


def find_star(data: np.ndarray, wcs, ra: float, dec: float, fwhm: float, size_fwhm: float = 10.0):
    """Brightest peak near (ra, dec): cutout of size_fwhm x FWHM, threshold median + 5 std.

    Returns (x, y) full-image pixel coordinates or None when no peak is found.
    """
    from astropy.stats import sigma_clipped_stats
    from photutils.detection import find_peaks

    x0, y0 = wcs.invert(ra, dec)
    half = int(np.ceil(size_fwhm * fwhm / 2))
    ny, nx = data.shape
    if not (np.isfinite(x0) and np.isfinite(y0)):
        return None
    xi, yi = int(round(x0)), int(round(y0))
    ys, xs = slice(max(yi - half, 0), min(yi + half + 1, ny)), slice(max(xi - half, 0), min(xi + half + 1, nx))
    cut = data[ys, xs]
    if cut.size == 0 or not np.any(np.isfinite(cut)):
        return None
    _, med, std = sigma_clipped_stats(cut[np.isfinite(cut)], sigma=3.0)
    std = min(std, 10.0)
    box = max(int(round(2 * fwhm)), 3)
    peaks = find_peaks(np.nan_to_num(cut, nan=med), threshold=med + 5 * std, box_size=box)
    if peaks is None or len(peaks) == 0:
        return None
    k = int(np.argmax(peaks["peak_value"]))
    return float(peaks["x_peak"][k] + xs.start), float(peaks["y_peak"][k] + ys.start)


#: ``--sky-star-wings`` choices: keep = the original (wings beyond the mask enter the sky), subtract = remove them first.
SKY_STAR_WINGS = ("keep", "subtract")


def star_wing_image(data: np.ndarray, xc: float, yc: float, r_in: float, width: float) -> np.ndarray:
    """Azimuthally averaged light of the star beyond ``r_in`` above the image median.

    ``data`` is a sky image with the star (NaN inside ``r_in`` and at bad
    pixels).  In rings of ``width`` pixels from ``r_in`` outwards the mean of
    the pixels within 5 robust sigma of the ring median, minus the median of
    the whole image, is the star's wing (a fixed detector pattern is not
    centred on the star and averages out in a ring); the profile is
    interpolated linearly in radius, negative values are set to zero, and the
    image is zero inside ``r_in``.

    Returns
    -------
    numpy.ndarray
        The wing image (same shape as ``data``).
    """
    if not (r_in > 0 and width > 0):
        raise ValueError(f"star_wing_image: r_in and width must be positive, got {r_in}, {width}")
    yy, xx = np.indices(data.shape)
    r = np.hypot(xx - xc, yy - yc)
    ok = np.isfinite(data)
    if not ok.any():
        return np.zeros(data.shape)
    level = float(np.median(data[ok]))
    sel = ok & (r >= r_in)
    rv, dv = r[sel], data[sel]
    ring = ((rv - r_in) // width).astype(np.int64)
    order = np.argsort(ring, kind="stable")
    ring, rv, dv = ring[order], rv[order], dv[order]
    starts = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
    centres, prof = [], []
    for a, b in zip(starts, np.r_[starts[1:], ring.size], strict=True):
        if b - a >= 20:
            v = dv[a:b]
            med = float(np.median(v))
            rsig = 1.4826 * float(np.median(np.abs(v - med)))
            # a mean (not the median) keeps the PSF's spikes and rings, which the other dithers see;
            # the 5-sigma cut drops cosmic-ray residuals and other sources
            keep = np.abs(v - med) <= 5.0 * rsig if rsig > 0 else np.ones(v.size, bool)
            centres.append(float(np.mean(rv[a:b])))
            prof.append(float(np.mean(v[keep])) - level)
    wing = np.zeros(data.shape)
    if not centres:
        return wing
    out = r >= r_in
    wing[out] = np.clip(np.interp(r[out], centres, prof, right=0.0), 0.0, None)
    return wing


def make_sky(
    cal_files: list[Path], filt: str, scalebkg: bool = True, star_wings: str = "keep"
) -> tuple[np.ndarray, list[Path]]:
    """Per-visit median sky and sky-subtracted cal files (spec 3.2, with fixes).

    Writes ``*_cal_mask.fits`` and ``*_skysub_cal.fits`` next to the inputs and
    returns (sky image, skysub files).  Fixes relative to the original: the DQ
    of replaced pixels is OR-ed with DO_NOT_USE (the original AND-ed it), a
    single exposure is a clear error, the target position includes proper
    motion from the proposer coordinates (not twice), and the star is masked
    at its expected position as well as at the peak found near it (the
    original masked only the peak, which for a faint star can be noise, so
    that the star entered the sky and was subtracted from itself).

    ``star_wings='subtract'`` (not in the original) removes each exposure's
    azimuthal wing profile beyond the 3 FWHM mask (:func:`star_wing_image`)
    before the exposures are combined.  With 'keep' (the original) the sky at
    the star's position in one exposure comes from the others, where the
    star's wings lie at the dither offset; broad PSFs with two close dithers
    (coronagraphy, F2550W) then lose 0.5-1.5% of their flux inside the
    aperture in the bkgsub mosaics.
    """
    if star_wings not in SKY_STAR_WINGS:
        raise PipelineInputError(f"star_wings must be one of {', '.join(SKY_STAR_WINGS)}, got {star_wings!r}")
    import warnings

    from astropy.stats import sigma_clipped_stats
    from astropy.utils.exceptions import AstropyUserWarning
    from stdatamodels.jwst import datamodels as dm

    files = sorted(Path(f) for f in cal_files)
    if len(files) < 2:
        raise PipelineInputError(
            f"{files[0] if files else 'no files'}: make_sky needs at least 2 dithered exposures (got {len(files)})"
        )
    fwhm = C.FWHM[filt]
    with dm.ImageModel(files[1]) as ref:
        ra, dec = expected_position(ref.meta)
        pos = find_star(ref.data, ref.meta.wcs, ra, dec, fwhm)
        centres = [(ra, dec)]
        if pos is None:
            log.warning("%s: no star found near the target position: sky mask at the expected position", files[1])
        else:
            centres.append(tuple(float(v) for v in ref.meta.wcs(*pos)))
    # exclusion radius in pixels (the cal images have ~0.11" pixels, the FWHM table is in those)
    rmask = 3.0 * fwhm

    stack, meds = [], []
    for f in files:
        with dm.ImageModel(f) as m:
            d = np.array(m.data, dtype=np.float64)
            d[(m.dq & DO_NOT_USE) > 0] = np.nan
            yy, xx = np.indices(d.shape)
            # The star is masked at its expected position and at the peak found there: for a faint star
            # the brightest peak may be noise, and an unmasked star would be subtracted from itself.
            for cra, cdec in centres:
                xc, yc = m.meta.wcs.invert(cra, cdec)
                d[np.hypot(xx - xc, yy - yc) <= rmask] = np.nan
            masked = m.copy()
            masked.data = d.astype(np.float32)
            _save_model(masked, f.with_name(f.name.replace("_cal.fits", "_cal_mask.fits")))
            masked.close()
            if star_wings == "subtract":
                # (xc, yc) is the last centre: the peak found in the image, else the expected position
                d = d - star_wing_image(d, float(xc), float(yc), rmask, max(2.0, 0.5 * fwhm))
            meds.append(float(np.nanmedian(d)))
            stack.append(d)
    stack = np.array(stack)
    medsky = float(np.mean(meds))
    if scalebkg:
        stack = stack + (medsky - np.array(meds))[:, None, None]
    with warnings.catch_warnings():
        # pixels masked in every exposure stay NaN and are flagged DO_NOT_USE below
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", AstropyUserWarning)
        sky, _, _ = sigma_clipped_stats(stack, axis=0, sigma_lower=3.0, sigma_upper=1.0, maxiters=5)
    sky = np.asarray(sky, dtype=np.float64)

    out_files = []
    for k, f in enumerate(files):
        with dm.ImageModel(f) as m:
            d = np.array(m.data, dtype=np.float64) - sky
            if scalebkg:
                d += medsky - meds[k]
            bad = ~np.isfinite(d)
            d[bad] = 0.0
            m.dq[bad] = m.dq[bad] | DO_NOT_USE
            m.data = d.astype(np.float32)
            out = f.with_name(f.name.replace("_cal.fits", "_skysub_cal.fits"))
            _save_model(m, out)
            out_files.append(out)
    return sky, out_files


def _save_model(model, path: Path) -> None:
    """Save a datamodel atomically (a temporary removed on any failure, e.g. a full disk, then a rename)."""
    path = Path(path)
    # the final name, in the FITS header and the ASDF tree alike (stdatamodels keeps meta.filename
    # when it is given a Path rather than a str to write to)
    model.meta.filename = path.name
    with atomic_path(path) as tmp:
        model.to_fits(Path(tmp), overwrite=True)


def fake_imager_headers(cal_files: list[Path], filt: str) -> list[Path]:
    """Copies ``*_newcal.fits`` with EXP_TYPE=MIR_IMAGE and the fake imager FILTER (spec 3.4)."""
    from astropy.io import fits

    out = []
    for f in cal_files:
        new = f.with_name(f.name.replace("_cal.fits", "_newcal.fits"))
        with fits.open(f) as hdul, atomic_path(new) as tmp:
            hdul[0].header["EXP_TYPE"] = "MIR_IMAGE"
            hdul[0].header["FILTER"] = C.FAKE_IMAGER_FILTER[filt]
            hdul[0].header["FILENAME"] = new.name
            hdul[0].header["HISTORY"] = f"absflux: EXP_TYPE/FILTER faked for Image3 (true filter {filt})"
            hdul.writeto(tmp, overwrite=True)
        out.append(new)
    return out


def write_association(files: list[Path], product_name: str, out_dir: Path) -> Path:
    """Level-3 association (rule DMS_Level3_Base) written into the set directory."""
    from jwst.associations import asn_from_list
    from jwst.associations.lib.rules_level3_base import DMS_Level3_Base

    asn = asn_from_list.asn_from_list([f.name for f in files], rule=DMS_Level3_Base, product_name=product_name)
    _, serialized = asn.dump(format="json")
    return atomic_write_text(out_dir / f"{product_name}.json", serialized)


# --------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------
def software_versions() -> dict:
    """Versions recorded in the step-1 provenance."""
    from .io_utils import software_versions as versions

    return versions(
        ("absflux", "jwst", "stcal", "stdatamodels", "stpipe", "crds", "photutils", "stpsf", "astropy", "numpy")
    )


def crds_provenance() -> dict:
    """CRDS context and mode as configured in this process's environment."""
    env = {k: os.environ.get(k) for k in ("CRDS_PATH", "CRDS_SERVER_URL", "CRDS_MODE", "CRDS_CONTEXT")}
    path = env.get("CRDS_PATH") or ""
    local = (
        bool(path)
        and (Path(path) / "config" / "jwst" / "server_config").is_file()
        and "127.0.0.1" in (env.get("CRDS_SERVER_URL") or "")
    )
    return {
        "mode": "local simulated cache (offline)" if local else "CRDS server " + str(env.get("CRDS_SERVER_URL")),
        "context": env.get("CRDS_CONTEXT") or "server default",
        "env": env,
    }


def write_provenance(set_dir: Path, stage: str, inputs: list[Path], steps: dict, extra: dict | None = None) -> Path:
    """Record versions, CRDS context and step parameters next to the products."""
    record = {
        "stage": stage,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "software": software_versions(),
        "crds": crds_provenance(),
        "inputs": [Path(p).name for p in inputs],
        "step_parameters": steps,
    } | (extra or {})
    return atomic_write_text(set_dir / f"provenance_{stage}.json", json.dumps(record, indent=2, default=str))


# --------------------------------------------------------------------------
# Running one set / one (type, filter)
# --------------------------------------------------------------------------
@dataclass
class PipelineOptions:
    """Options of step 1 (the original's CLI plus the new ones)."""

    stage: str = "all"
    bkgsub: bool = False
    onlynew: bool = False
    flatfile: Path | None = None
    maskfile: Path | None = None
    rscdfile: Path | None = None
    photomfile: Path | None = None
    nflats: bool = False
    step_parameters: dict = field(default_factory=dict)
    maximum_cores: str = "half"
    save_ramps: bool = False
    jump_sigma: float = 5.0
    sky_star_wings: str = "keep"


@dataclass
class SetResult:
    """Outcome of one set: ``done``, ``skipped`` (finished before, ``--onlynew``) or ``failed``.

    ``kind`` of a failure: ``input`` (a bad raw file or input the user can fix;
    ``errors`` holds one ``<file>: <problem>`` line each), ``write`` (an output
    could not be written: disk full, read-only folder) or ``error`` (the
    pipeline failed; ``reason`` names the file where known).
    """

    startype: str
    filter: str
    set: str
    status: str  # done | skipped | failed
    reason: str = ""
    seconds: float = 0.0
    products: list[str] = field(default_factory=list)
    kind: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``<type>/<filter>/<set>``."""
        return f"{self.startype}/{self.filter}/{self.set}"


def blocked_result(startype: str, filt: str, ds: DataSet) -> SetResult:
    """The failed result of a set blocked by bad raw files (each named with its problem)."""
    errors = [str(b) for b in ds.bad]
    return SetResult(startype, filt, ds.name, "failed", "; ".join(errors), kind="input", errors=errors)


def failed_result(startype: str, filt: str, name: str, exc: BaseException, seconds: float = 0.0) -> SetResult:
    """The failed result of a set whose processing raised ``exc`` (classified for the exit code)."""
    if isinstance(exc, PipelineInputError):
        return SetResult(startype, filt, name, "failed", str(exc), seconds, kind="input", errors=[str(exc)])
    err = write_error(exc)
    if err is not None:
        from .cli import oserror_message

        msg = f"cannot write {oserror_message(err)}"
        return SetResult(startype, filt, name, "failed", msg, seconds, kind="write", errors=[msg])
    reason = str(exc) if isinstance(exc, SetError) else f"{type(exc).__name__}: {exc}"
    return SetResult(startype, filt, name, "failed", reason, seconds, kind="error")


def exit_code(results: list[SetResult]) -> int:
    """0 when every set asked for was done or skipped, 2 when the failures are bad input or unwritable output
    (the user can fix them; see :func:`error_lines`), 1 when the pipeline itself failed on a set."""
    failed = [r for r in results if r.status == "failed"]
    if not failed:
        return 0
    return 1 if any(r.kind not in ("input", "write") for r in failed) else 2


def error_lines(results: list[SetResult]) -> list[str]:
    """One ``<file>: <problem>`` line per bad input or unwritable output of the failed sets (no duplicates)."""
    out: list[str] = []
    for r in results:
        if r.status == "failed":
            out += [e for e in r.errors if e not in out]
    return out


def resolve_overrides(root: Path, filt: str, nmasks=False, omask=False, nrscd=False, nflats=False, paths=None):
    """Override file paths of the original's flags; error before processing if one is missing.

    ``paths`` maps the flag names (nmasks, omask, nrscd, nflats) to path
    templates (``{filter}`` is replaced), defaulting to the original names.
    """
    paths = DEFAULT_OVERRIDES | (paths or {})
    out = {}
    flags = {"nmasks": nmasks, "omask": omask, "nrscd": nrscd, "nflats": nflats and filt not in C.CORON_FILTERS}
    for flag, on in flags.items():
        if not on:
            continue
        p = Path(paths[flag].format(filter=filt))
        if not p.is_absolute():
            p = root / p
        if not p.is_file():
            raise PipelineInputError(f"{p}: override file for --{flag} does not exist")
        out[flag] = p
    return out


def _stage_flags(stage: str) -> tuple[bool, bool, bool]:
    if stage not in STAGES:
        raise PipelineInputError(f"unknown stage {stage!r} (choose from {', '.join(STAGES)})")
    return stage in ("stage1", "all"), stage in ("stage2", "stage23", "all"), stage in ("stage3", "stage23", "all")


def _complete(set_dir: Path, products: list[Path], stage_tag: str) -> bool:
    # The provenance record is written after the stage's products are in place: a product newer
    # than it (or no record) means a run was interrupted between the two, or is still running.
    prov = set_dir / f"provenance_{stage_tag}.json"
    if not prov.is_file():
        return False
    t = prov.stat().st_mtime_ns
    return all(p.is_file() and p.stat().st_mtime_ns <= t for p in products)


def mosaic_name(sname: str, bkgsub: bool = False) -> str:
    """File name of a set's stage-3 mosaic."""
    return f"miri_{sname}_stage3{'_bkgsub' if bkgsub else ''}_asn_i2d.fits"


def set_finished(set_dir: Path, sname: str, bkgsub: bool) -> bool:
    """True when a set is finished: its stage-3 mosaic (and bkgsub mosaic if due) is complete.

    A mosaic counts when its stage's provenance record (written after the
    products are in place) exists and is not older than it, so a set whose run
    was killed, even after the mosaic was moved into place, is not finished.

    Parameters
    ----------
    set_dir : Path
        The set folder.
    sname : str
        The set name (``<TARGNAME>_setN``).
    bkgsub : bool
        Whether the background-subtracted mosaic is due too.

    Returns
    -------
    bool
    """
    set_dir = Path(set_dir)
    ok = _complete(set_dir, [set_dir / mosaic_name(sname)], "stage3")
    return ok and (not bkgsub or _complete(set_dir, [set_dir / mosaic_name(sname, True)], "stage3_bkgsub"))


def run_finished(set_dir: Path, ds: DataSet, opts: PipelineOptions) -> bool:
    """True when the last stage ``opts`` asks for is complete for ``ds`` (what ``--onlynew`` skips).

    Stage 3: its mosaic (the bkgsub one with ``opts.bkgsub``); stage 2 only:
    every exposure's ``_cal.fits``; stage 1 only: every ``_rate.fits``; each
    with its provenance record not older than the products (see :func:`set_finished`).
    """
    set_dir = Path(set_dir)
    _, do2, do3 = _stage_flags(opts.stage)
    if do3:
        tag = "stage3_bkgsub" if opts.bkgsub else "stage3"
        return _complete(set_dir, [set_dir / mosaic_name(ds.name, opts.bkgsub)], tag)
    stems = [f.name.replace("_uncal.fits", "") for f in ds.files]
    if do2:
        return _complete(set_dir, [set_dir / f"{s}_cal.fits" for s in stems], "stage2")
    return _complete(set_dir, [set_dir / f"{s}_rate.fits" for s in stems], "stage1")


@contextlib.contextmanager
def _naming(what: str, out_dir: Path):
    """Re-raise a failure of ``what`` (a file and a pipeline) as a SetError that names them.

    Input errors pass unchanged (they name the file already); an output that
    cannot be written becomes an OSError naming it (or ``out_dir``), for a
    one-line error with exit code 2.
    """
    try:
        yield
    except (PipelineInputError, SetError):
        raise
    except Exception as exc:
        err = write_error(exc, out_dir)
        if err is not None:
            if err is exc:
                raise
            raise err from exc
        raise SetError(f"{what}: {type(exc).__name__}: {exc}") from exc


def run_set(ds: DataSet, set_dir: Path, filt: str, opts: PipelineOptions) -> list[str]:
    """Run the requested stages on one set; returns the product file names.

    The temporaries that killed runs left in the set and filter folders are
    removed first.  A failure raises :class:`SetError` naming the file and the
    pipeline involved, :class:`PipelineInputError` for bad input, or an
    OSError naming the product that could not be written.
    """
    if ds.blocked:
        raise PipelineInputError("; ".join(str(b) for b in ds.bad))
    do1, do2, do3 = _stage_flags(opts.stage)
    set_dir = Path(set_dir)
    set_dir.mkdir(parents=True, exist_ok=True)
    tidy_folder(set_dir.parent)
    tidy_folder(set_dir)
    if do1 or do2 or do3:
        import jwst.pipeline  # noqa: F401  (import before freezing, so the modules are frozen too)

        freeze_heap()
    sname = ds.name
    user = opts.step_parameters or {}
    products = []
    if do1:
        from jwst.pipeline import Detector1Pipeline

        steps = merge_step_parameters(
            detector1_steps(opts.jump_sigma, opts.maskfile, opts.rscdfile, opts.maximum_cores), user.get("detector1")
        )
        with stage_log(set_dir / f"{sname}_stage1.log"), staging(set_dir) as tmp:
            for f in ds.files:
                with _naming(f"{f}: Detector1Pipeline", set_dir):
                    Detector1Pipeline.call(
                        str(f),
                        output_dir=str(tmp),
                        save_results=True,
                        save_calibrated_ramp=opts.save_ramps,
                        steps=steps,
                        configure_log=False,
                    )
        write_provenance(set_dir, "stage1", ds.files, steps)
    if do2:
        from jwst.pipeline import Image2Pipeline

        rates = sorted(set_dir / f.name.replace("_uncal.fits", "_rate.fits") for f in ds.files)
        missing = [r for r in rates if not r.is_file()]
        if missing:
            raise PipelineInputError(f"{missing[0]}: no such rate file for stage2 (run stage1 first)")
        steps = merge_step_parameters(image2_steps(opts.flatfile, opts.photomfile), user.get("image2"))
        with stage_log(set_dir / f"{sname}_stage2.log"), staging(set_dir) as tmp:
            for f in rates:
                with _naming(f"{f}: Image2Pipeline", set_dir):
                    Image2Pipeline.call(
                        str(f), output_dir=str(tmp), save_results=True, steps=steps, configure_log=False
                    )
        write_provenance(set_dir, "stage2", rates, steps)
    suffix, msuffix = "", ""
    if opts.bkgsub:
        cals = sorted(set_dir.glob("*mirimage_cal.fits"))
        if not cals:
            raise PipelineInputError(f"{set_dir}: no *mirimage_cal.fits files for the sky subtraction")
        with _naming(f"{set_dir}: sky subtraction", set_dir):
            sky, _ = make_sky(cals, filt, star_wings=opts.sky_star_wings)
        from astropy.io import fits

        with atomic_path(set_dir / f"{filt}_median_bkg.fits") as tmp:
            fits.PrimaryHDU(sky.astype(np.float32)).writeto(tmp)
        suffix, msuffix = "_skysub", "_bkgsub"
    if do3:
        from jwst.pipeline import Image3Pipeline

        cals = sorted(set_dir.glob(f"*mirimage{suffix}_cal.fits"))
        if not cals:
            raise PipelineInputError(f"{set_dir}: no *mirimage{suffix}_cal.fits files for stage3")
        if filt in C.CORON_FILTERS or filt == C.FND_FILTER:
            cals = fake_imager_headers(cals, filt)
        product = f"miri_{sname}_stage3{msuffix}_asn"
        asn = write_association(cals, product, set_dir)
        steps = merge_step_parameters(image3_steps(sourcecat=filt not in C.CORON_FILTERS), user.get("image3"))
        with stage_log(set_dir / f"{sname}_stage3{msuffix}.log"), staging(set_dir) as tmp:
            shutil.copy(asn, tmp / asn.name)
            for c in cals:
                os.symlink(c.resolve(), tmp / c.name)
            with _naming(f"{asn}: Image3Pipeline", set_dir):
                Image3Pipeline.call(
                    str(tmp / asn.name), output_dir=str(tmp), save_results=True, steps=steps, configure_log=False
                )
            for c in cals:
                (tmp / c.name).unlink()
            (tmp / asn.name).unlink()
        write_provenance(set_dir, f"stage3{msuffix}", cals, steps, {"association": asn.name})
        products.append(f"{product}_i2d.fits")
    return products


def crds_errors_in_logs(set_dir: Path) -> list[str]:
    """CRDS error lines in the stage logs of a set."""
    out = []
    for p in sorted(set_dir.glob("*_stage*.log")):
        out += [f"{p.name}: {line}" for line in _clean_runtime_output(p.read_text(errors="replace"))]
    return out


def pipeline_one_filter(
    root: Path, startype: str, filt: str, opts: PipelineOptions, only_sets=None, on_result=None
) -> list[SetResult]:
    """Reduce every set of one (star type, filter); a failing set does not stop the others.

    A set blocked by a bad raw file is reported as failed (``kind='input'``)
    and the other sets are reduced.  With ``opts.onlynew`` only finished sets
    (:func:`run_finished`) are skipped; an interrupted set is run again.

    Parameters
    ----------
    root : Path
        Campaign root.
    startype, filt : str
        Star type and filter folders.
    opts : PipelineOptions
        Stages and options.
    only_sets : iterable of str, optional
        Reduce only these set names.
    on_result : callable, optional
        Called with each :class:`SetResult` as soon as it is known.

    Returns
    -------
    list of SetResult

    Raises
    ------
    OSError
        An output cannot be written (disk full, read-only folder; the error
        names the product): the following sets would fail the same way.
    """
    root = Path(root)
    filter_dir = root / startype / filt
    sets = sort_uncal(filter_dir, filt)
    results = []

    def report(r: SetResult) -> None:
        results.append(r)
        if on_result:
            on_result(r)

    for ds in sets:
        if only_sets and ds.name not in only_sets:
            continue
        set_dir = filter_dir / ds.name
        if ds.blocked:
            log.error("%s/%s/%s not reduced: %s", startype, filt, ds.name, "; ".join(str(b) for b in ds.bad))
            report(blocked_result(startype, filt, ds))
            continue
        if opts.onlynew and run_finished(set_dir, ds, opts):
            tidy_folder(set_dir)
            report(SetResult(startype, filt, ds.name, "skipped", "finished (--onlynew)"))
            continue
        t = time.time()
        try:
            prods = run_set(ds, set_dir, filt, opts)
            report(SetResult(startype, filt, ds.name, "done", "", time.time() - t, prods))
        except Exception as exc:  # one failing set is reported; the rest go on
            err = write_error(exc, set_dir)
            if err is exc:
                raise
            if err is not None:
                raise err from exc
            log.error("%s/%s/%s failed: %s", startype, filt, ds.name, exc)
            report(failed_result(startype, filt, ds.name, exc, time.time() - t))
    return results
