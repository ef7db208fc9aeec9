"""A genuine local CRDS cache of synthetic MIRI reference files.

The unmodified ``jwst`` pipeline (``Detector1Pipeline``, ``Image2Pipeline``,
``Image3Pipeline`` including ``source_catalog``, and ``strun``) selects its
reference files through the normal CRDS best-reference rules.  Offline, we give
it a hand-built cache in the standard layout (``OFFLINE_JWST.md`` Part A)::

    <cache>/config/jwst/server_config          python-literal dict (required)
    <cache>/config/jwst/ref_cache_subdir_mode  "instrument"
    <cache>/mappings/jwst/jwst_sim_0001.pmap   -> jwst_miri_sim_0001.imap -> jwst_miri_<type>_sim_0001.rmap
    <cache>/references/jwst/miri/*.fits|asdf   synthetic reference files
    <cache>/references/jwst/fgs/               empty (CRDS would mkdir it on first use)
    <cache>/crds_env.sh                        the environment that selects the cache
    <cache>/manifest.json                      build parameters, file sizes, build time

The cache is chosen only by environment variables (:func:`crds_environment`):
``CRDS_PATH``, ``CRDS_SERVER_URL`` (an unreachable address, so CRDS runs "not
connected" at once), ``CRDS_MODE=local``, ``CRDS_CONTEXT`` and
``CRDS_READONLY_CACHE=1``.  No ``override_*`` parameter and no patching of
jwst/stpipe is needed.

The reference files describe the synthetic MIRIMAGE detector of
:data:`absflux.constants.DETECTOR`, so a ramp simulated with the same numbers is
calibrated back to the injected count rate, and the PHOTOM file carries the
injected calibration factors and time dependence of :mod:`absflux.sim_defaults`.
Every file has pedigree ``DUMMY``, author ``absflux synthetic``, useafter
2000-01-01 and a HISTORY entry saying it is synthetic.

Rules in the rmaps (what the simulator must write into its headers):

* mask, saturation, linearity, gain, readnoise, area, rscd, apcorr,
  abvegaoffset: DETECTOR = MIRIMAGE -> one FULL-frame file (jwst extracts the
  subarray from SUBSTRT1/2 and SUBSIZE1/2).
* flat: DETECTOR = MIRIMAGE, FILTER = ``*`` -> one FULL file (value 1) for every
  filter, coronagraphic and FND included.
* dark, reset: DETECTOR = MIRIMAGE, READPATT = FASTR1, SUBARRAY = a name of
  ``constants.SUBARRAYS`` -> one file per subarray, sized to it (these two steps
  do NOT extract subarrays).
* distortion, filteroffset: DETECTOR = MIRIMAGE, EXP_TYPE in MIR_IMAGE, MIR_4QPM,
  MIR_LYOT, MIR_CORONCAL, MIR_TACQ, MIR_TACONFIRM -> one file (MIRIM_FULL SIAF
  polynomials; assign_wcs adds the subarray offset itself).
* photom: DATE-OBS/TIME-OBS only -> one file; the step picks the row by FILTER
  and SUBARRAY and evaluates the time tables at EXPMID.

Every Match rmap ends with a ``'*'`` row that gives ``'N/A'`` (the step is then
skipped or runs without the file), so unexpected modes degrade softly.  All
UseAfter dates are 2000-01-01 00:00:00: any DATE-OBS after that works.  Every
other reftype that a jwst step may request for MIRI (all ``pars-*`` included)
is listed as ``'N/A'`` in the .imap, so the software-default step parameters
apply.

What a simulated ramp must respect to be calibrated back to its input rate
(jwst 3.0.0, measured with the tests of this module): NFRAMES = 1, GROUPGAP = 0,
READPATT = FASTR1; NGROUPS <= ``constants.MAX_NGROUPS[subarray]`` (more groups
still work, the dark is extrapolated with a warning); the first group is flagged
by rscd and the last by lastframe, so NGROUPS - 2 groups enter the fit; no light
in the reference-pixel columns of FULL frames (refpix subtracts their drift);
per-read noise ``DETECTOR["readnoise"]``; EXPMID = ``meta.exposure.mid_time``
drives the photom time correction.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

import numpy as np

from . import constants as C
from . import sim_defaults

__all__ = [
    "DEFAULT_CONTEXT",
    "CRDS_SERVER_URL",
    "build_crds_cache",
    "crds_environment",
    "activate_crds_cache",
    "bad_pixel_mask",
    "photom_rows",
    "placeholder_apcorr_rows",
    "readnoise_cds",
    "mapping_sha1",
    "reference_names",
]

DEFAULT_CONTEXT = "jwst_sim_0001.pmap"
#: Unreachable on purpose: CRDS gets "connection refused" at once and works from the cache.
CRDS_SERVER_URL = "https://127.0.0.1:9"
AUTHOR = "absflux synthetic"
PEDIGREE = "DUMMY"
USEAFTER = "2000-01-01T00:00:00"
RMAP_USEAFTER = "2000-01-01 00:00:00"
DERIVED_FROM = "absflux synthetic offline MIRI cache (absflux.crds_cache)"
HISTORY = (
    "SYNTHETIC reference file written by absflux.crds_cache for offline simulations of MIRI imaging and "
    "coronagraphy. It describes the synthetic detector of absflux.constants.DETECTOR; it is NOT a flight "
    "calibration."
)
#: FULL-frame shape of MIRIMAGE, (rows, columns).
FULL_SHAPE = (1024, 1032)
#: EXP_TYPEs served by the distortion/filteroffset rules (imager optics).
IMAGER_EXP_TYPES = ("MIR_IMAGE", "MIR_4QPM", "MIR_LYOT", "MIR_CORONCAL", "MIR_TACQ", "MIR_TACONFIRM")
P_EXPTYPE = "|".join(IMAGER_EXP_TYPES) + "|"
#: EE fractions of the APCORR rows (spec 2.1: 7 rows, EE 0.2..0.8).
APCORR_EE = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
#: Placeholder radius in units of the FWHM per EE (shape of the flight F770W curve).
_APCORR_RADIUS_FWHM = {0.2: 0.5, 0.3: 0.62, 0.4: 0.75, 0.5: 0.95, 0.6: 1.25, 0.7: 1.9, 0.8: 4.0}
_APCORR_SKYIN_FWHM = 4.0  # radius of EE 0.80
_APCORR_SKYOUT_FWHM = 6.5  # radius of EE 0.85

_PARKEY_DATE = ("META.OBSERVATION.DATE", "META.OBSERVATION.TIME")
_DET = "META.INSTRUMENT.DETECTOR"

#: Reftypes listed as 'N/A' in the .imap unless a rule is written for them: the union of the CRDS
#: MIRI filekinds and of the reference_file_types of every step of the jwst 3.0 pipelines.
_NA_REFTYPES = (
    "amplifier barshadow bkg camera chromcorr collimator cubepar dflat disperser drizpars emicorr extract1d "
    "fflat fore fpa fringe fringefreq ifufore ifupost ifuslicer ipc lastframe mrsptcorr mrsxartcorr msa "
    "msaoper nrm ote pastasoss pathloss persat pictureframe psf psfmask refpix regions resol sflat sirskernel "
    "speckernel specprofile specwcs straymask superbias throughput trapdensity trappars tsophot v2v3 wavecorr "
    "wavelengthrange wcsregions"
).split()
#: Step-parameter reftypes (all 'N/A': the software defaults apply).
_PARS_REFTYPES = tuple(
    "pars-" + name
    for name in (
        "adaptivetracemodelstep alignrefsstep ami3pipeline amianalyzestep amiaveragestep aminormalizestep "
        "assignmtwcsstep assignwcsstep backgroundstep badpixselfcalstep barshadowstep chargemigrationstep "
        "cleanflickernoisestep combine1dstep coron3pipeline cubebuildstep cubeskymatchstep darkcurrentstep "
        "darkpipeline detector1pipeline dqinitstep emicorrstep extract1dstep extract2dstep firstframestep "
        "flatfieldstep fringestep gainscalestep groupscalestep guidercdsstep guiderpipeline hlspstep "
        "image2pipeline image3pipeline imprintstep ipcstep jumpstep klipstep lastframestep linearitystep "
        "linearpipeline masterbackgroundmosstep masterbackgroundnrsslitsstep masterbackgroundstep mrsimatchstep "
        "msaflagopenstep outlierdetectionscaledstep outlierdetectionstackstep outlierdetectionstep pathlossstep "
        "persistencestep photomstep pictureframestep pixelreplacestep rampfitstep refpixstep resamplespecstep "
        "resamplestep resetstep residualfringestep rscdstep saturationstep skymatchstep sourcecatalogstep "
        "sourcetypestep spec2pipeline spec3pipeline spectralleakstep stackrefsstep straylightstep "
        "subtractimagesstep superbiasstep targcentroidstep tso3pipeline tsophotometrystep tweakregstep "
        "undersamplecorrectionstep wavecorrstep wfscombinestep wfsscontamstep whitelightstep"
    ).split()
)


# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------
def crds_environment(cache_dir, context_name: str = DEFAULT_CONTEXT) -> dict[str, str]:
    """Environment variables that make CRDS (and jwst) use the local cache.

    Parameters
    ----------
    cache_dir : str or path-like
        Root of the cache (``CRDS_PATH``); made absolute.
    context_name : str
        The ``.pmap`` to use (``CRDS_CONTEXT``).

    Returns
    -------
    dict of str
        ``CRDS_PATH``, ``CRDS_SERVER_URL`` (unreachable on purpose), ``CRDS_MODE=local``,
        ``CRDS_CONTEXT`` and ``CRDS_READONLY_CACHE=1`` (CRDS never writes into the cache).
    """
    return {
        "CRDS_PATH": str(Path(cache_dir).expanduser().resolve()),
        "CRDS_SERVER_URL": CRDS_SERVER_URL,
        "CRDS_MODE": "local",
        "CRDS_CONTEXT": _check_context_name(context_name),
        "CRDS_READONLY_CACHE": "1",
    }


def _cache_context(cache_dir: Path) -> str:
    """Context name recorded in a built cache (its server_config), with a completeness check."""
    config = cache_dir / "config" / "jwst" / "server_config"
    if not config.is_file():
        raise FileNotFoundError(
            f"{cache_dir} is not a CRDS cache built by absflux (no {config.relative_to(cache_dir)}); "
            "build it first with absflux.crds_cache.build_crds_cache()"
        )
    context = ast.literal_eval(config.read_text())["operational_context"]
    if not (cache_dir / "mappings" / "jwst" / context).is_file():
        raise FileNotFoundError(f"incomplete CRDS cache {cache_dir}: mapping {context} is missing")
    return context


def _crds_already_used() -> bool:
    """True when CRDS has cached configuration or rules in this process."""
    if "crds" not in sys.modules:
        return False
    heavy = sys.modules.get("crds.core.heavy_client")
    if heavy is None:
        return False
    for name in ("get_config_info", "get_processing_mode", "get_context_name", "get_pickled_mapping"):
        if getattr(getattr(heavy, name, None), "cache", None):
            return True
    return False


def activate_crds_cache(cache_dir) -> dict[str, str]:
    """Select the local cache for this process by setting ``os.environ``.

    CRDS caches its configuration (server info, context, loaded rules) on first
    use, so the variables must be set before jwst/crds first look up a
    reference file.  Importing jwst or crds beforehand is harmless.

    Parameters
    ----------
    cache_dir : str or path-like
        A cache written by :func:`build_crds_cache`; the context is read from it.

    Returns
    -------
    dict of str
        The variables that were set.

    Raises
    ------
    FileNotFoundError
        If ``cache_dir`` is not a complete cache.
    RuntimeError
        If CRDS was already used in this process with a different configuration.
    """
    cache_dir = Path(cache_dir).expanduser().resolve()
    env = crds_environment(cache_dir, _cache_context(cache_dir))
    differing = {k: os.environ.get(k) for k, v in env.items() if os.environ.get(k) != v}
    if differing and _crds_already_used():
        raise RuntimeError(
            "CRDS was already used in this process with a different configuration "
            f"({', '.join(f'{k}={v!r}' for k, v in differing.items())}); CRDS caches its configuration, so the "
            f"cache {cache_dir} cannot be activated now. Set the variables before the first jwst/crds call "
            f"(e.g. activate the cache at the start of the script, or `source {cache_dir / 'crds_env.sh'}`)."
        )
    os.environ.update(env)
    return env


# --------------------------------------------------------------------------
# Detector content shared with the simulator
# --------------------------------------------------------------------------
def bad_pixel_mask(shape=FULL_SHAPE) -> np.ndarray:
    """Deterministic DO_NOT_USE map of the synthetic detector.

    ``round(DETECTOR["bad_pixel_fraction"] * npix)`` distinct pixels drawn with
    ``numpy.random.default_rng(DETECTOR["bad_pixel_seed"])``.  The MASK reference
    file flags exactly these pixels DO_NOT_USE; the simulator imports this
    function to inject the same bad pixels.  For a subarray, slice the FULL map
    (``[ystart-1:ystart-1+ysize, xstart-1:xstart-1+xsize]``) rather than calling
    this with the subarray shape.

    Parameters
    ----------
    shape : tuple of int
        (rows, columns); FULL frame 1024 x 1032 by default.

    Returns
    -------
    numpy.ndarray of bool
        True for bad pixels, indexed 0-based ``[row, col]``.
    """
    ny, nx = (int(v) for v in shape)
    npix = ny * nx
    nbad = int(round(float(C.DETECTOR["bad_pixel_fraction"]) * npix))
    rng = np.random.default_rng(int(C.DETECTOR["bad_pixel_seed"]))
    mask = np.zeros(npix, dtype=bool)
    mask[rng.choice(npix, size=nbad, replace=False)] = True
    return mask.reshape(ny, nx)


def readnoise_cds() -> float:
    """Value of the READNOISE reference file: the CDS noise, sqrt(2) x ``DETECTOR["readnoise"]``.

    jwst/stcal read the READNOISE reference as correlated-double-sampling noise,
    i.e. the noise of the difference of two single-frame reads: the jump step
    (``stcal.jump.twopoint_difference``) uses sigma(group difference)^2 =
    readnoise^2 for NFRAMES = 1, and ramp fitting (``stcal.ramp_fitting.ramp_fit``)
    converts it to the noise of one read with ``readnoise / sqrt(2 * nframes)``.
    ``DETECTOR["readnoise"]`` is the noise the simulator injects into every read,
    so the file holds sqrt(2) times that value.  (Writing the per-read value
    instead makes the jump step flag ~5 % of the pixels of a clean 8-group ramp
    and biases the rate low by ~1 %.)
    """
    return float(C.DETECTOR["readnoise"]) * float(np.sqrt(2.0))


# --------------------------------------------------------------------------
# Table content
# --------------------------------------------------------------------------
_PHOT_DTYPE = np.dtype([("filter", "S12"), ("subarray", "S17"), ("photmjsr", "f4"), ("uncertainty", "f4")])
_EXP_DTYPE = np.dtype(
    [("filter", "S12"), ("subarray", "S17"), ("t0", "f4"), ("amplitude", "f4"), ("tau", "f4"), ("const", "f4")]
)
_LIN_DTYPE = np.dtype([("filter", "S12"), ("subarray", "S17"), ("t0", "f4"), ("lossperyear", "f4")])
_APCORR_COLUMNS = ("filter", "subarray", "eefraction", "radius", "apcorr", "skyin", "skyout")
_APCORR_DTYPE = np.dtype([("filter", "S12"), ("subarray", "S17")] + [(c, "f4") for c in _APCORR_COLUMNS[2:]])


def _photom_subarrays(filt: str) -> tuple[str, ...]:
    subs = list(C.reffile_subarrays(filt))
    if filt in C.IMAGER_FILTERS:
        subs += [s for s in C.IMAGER_SUBARRAYS if s not in subs]
    return tuple(subs)


def photom_rows(calfactors=None, time_coeffs=None, subarr_cor=None) -> dict[str, np.ndarray]:
    """Rows of the synthetic PHOTOM reference file (``MirImgPhotomModel``).

    For every filter of ``constants.ALL_FILTERS`` and every subarray of
    ``constants.reffile_subarrays(filter)`` (FULL/BRIGHTSKY/SUB256/SUB128/SUB64 for
    the imager filters): ``photmjsr = C_FULL / subarr_cor[subarray]``, uncertainty
    1 % of that, and the same row order in ``TIMECOEFF_EXPONENTIAL`` (t0,
    amplitude, tau, const) and ``TIMECOEFF_LINEAR`` (t0, lossperyear).

    What jwst 3.0.0 does with these tables (read in ``jwst/photom/photom.py`` and
    ``jwst/photom/time_dependence.py``, and checked end to end by
    ``tests/test_crds_cache.py``): for MIRIMAGE, ``DataSet.calc_miri`` finds the row
    by FILTER and SUBARRAY (falling back to subarray ``GENERIC``), then
    ``time_dependence.get_correction_table(ftab, EXPMID)`` multiplies the
    corrections of every table present, row by row (the tables must have the same
    length and the same filter/subarray columns as PHOTOM; ``ftab.validate()``
    checks it)::

        linear      = 1 - lossperyear * (EXPMID - t0) / 365
        exponential = amplitude * exp(-(EXPMID - t0) / tau) + const
        PHOTMJSR    = photmjsr / (linear * exponential)

    (``apply_time_correction=True`` is the step default; ``bounded`` is False for
    imaging, so corrections above 1 are not clipped).  This is exactly the form
    of :func:`absflux.sim_defaults.relative_sensitivity`, with
    ``EXPMID = meta.exposure.mid_time`` (MJD).  All table columns are float32 in
    the schema and numpy 2 evaluates ``EXPMID - t0`` in float32 too, so EXPMID is
    effectively rounded to 1/256 day; the resulting PHOTMJSR agrees with a float64
    evaluation to a few 1e-6 (relative).  ``photmjsr`` is in (MJy/sr)/(DN/s); since
    the column is ``photmjsr`` (not ``photmj``) the pixel area is not applied.

    Parameters
    ----------
    calfactors : dict, optional
        Filter -> C_FULL at t0 in (MJy/sr)/(DN/s/pix); default ``sim_defaults.TRUE_CALFACTOR``.
    time_coeffs : dict, optional
        Filter -> dict with amplitude, tau [d], const, lossperyear, t0 [MJD];
        default ``sim_defaults.true_time_coeffs()``.
    subarr_cor : dict, optional
        Subarray -> rate(subarray)/rate(FULL); default ``constants.SUBARR_COR``.

    Returns
    -------
    dict of numpy structured arrays
        ``phot_table``, ``timecoeff_exponential`` and ``timecoeff_linear``, in the
        column order and dtypes of the mirimg_photom schema.
    """
    calfactors = sim_defaults.TRUE_CALFACTOR if calfactors is None else calfactors
    time_coeffs = sim_defaults.true_time_coeffs() if time_coeffs is None else time_coeffs
    subarr_cor = C.SUBARR_COR if subarr_cor is None else subarr_cor
    for label, table in (("calfactors", calfactors), ("time_coeffs", time_coeffs)):
        missing = [f for f in C.ALL_FILTERS if f not in table]
        if missing:
            raise KeyError(f"{label} lacks filters {missing}")
    phot, expo, lin = [], [], []
    for filt in C.ALL_FILTERS:
        tc = time_coeffs[filt]
        for sub in _photom_subarrays(filt):
            if sub not in subarr_cor:
                raise KeyError(f"subarr_cor lacks subarray {sub!r}")
            value = float(calfactors[filt]) / float(subarr_cor[sub])
            key = (filt.encode(), sub.encode())
            phot.append(key + (value, 0.01 * value))
            expo.append(key + (tc["t0"], tc["amplitude"], tc["tau"], tc["const"]))
            lin.append(key + (tc["t0"], tc["lossperyear"]))
    return {
        "phot_table": np.array(phot, dtype=_PHOT_DTYPE),
        "timecoeff_exponential": np.array(expo, dtype=_EXP_DTYPE),
        "timecoeff_linear": np.array(lin, dtype=_LIN_DTYPE),
    }


def placeholder_apcorr_rows() -> np.ndarray:
    """Placeholder APCORR rows for every filter and every subarray.

    radius = k(EE) x ``constants.FWHM[filter]`` with k = 0.5, 0.62, 0.75, 0.95,
    1.25, 1.9, 4.0 for EE 0.2..0.8 (roughly the shape of the flight F770W curve),
    apcorr = 1/EE, skyin = 4.0 FWHM, skyout = 6.5 FWHM.  Rows are written for all
    subarrays of ``constants.SUBARRAYS`` so that source_catalog also finds a row
    for relabelled coronagraphic mosaics.  Step 4 of the project measures and
    writes the real APCORR file; pass its rows as ``apcorr_rows``.

    Returns
    -------
    numpy.ndarray
        Structured array with the mirimg_apcorr columns.
    """
    rows = []
    for filt in C.ALL_FILTERS:
        fwhm = float(C.FWHM[filt])
        for sub in C.SUBARRAYS:
            for ee in APCORR_EE:
                rows.append(
                    (filt, sub, ee, _APCORR_RADIUS_FWHM[ee] * fwhm, 1.0 / ee)
                    + (_APCORR_SKYIN_FWHM * fwhm, _APCORR_SKYOUT_FWHM * fwhm)
                )
    return _as_apcorr_array(rows)


def _as_apcorr_array(rows) -> np.ndarray:
    out = []
    for row in rows:
        if isinstance(row, Mapping):
            vals = [row[c] for c in _APCORR_COLUMNS]
        else:
            try:
                vals = [row[c] for c in _APCORR_COLUMNS]
            except (TypeError, KeyError, IndexError, ValueError):
                vals = list(row)
        if len(vals) != len(_APCORR_COLUMNS):
            raise ValueError(f"APCORR row needs the columns {_APCORR_COLUMNS}, got {row!r}")
        vals = [v.decode() if isinstance(v, bytes) else v for v in vals]
        out.append((str(vals[0]).strip().upper(), str(vals[1]).strip().upper(), *(float(v) for v in vals[2:])))
    if not out:
        raise ValueError("apcorr_rows is empty")
    return np.array(out, dtype=_APCORR_DTYPE)


def _abvega_offsets() -> dict[str, float]:
    """Placeholder AB - Vega offsets: Vega as a Rayleigh-Jeans source, 37 Jy at 10 micron."""
    return {f: float(2.5 * np.log10(3631.0 / (37.0 * (10.0 / C.PIVOT_WAVELENGTH[f]) ** 2))) for f in C.ALL_FILTERS}


# --------------------------------------------------------------------------
# Mappings
# --------------------------------------------------------------------------
def mapping_sha1(text: str) -> str:
    """CRDS mapping checksum: sha1 of the UTF-8 text without the lines containing "sha1sum"."""
    body = "".join(line for line in text.splitlines(True) if "sha1sum" not in line)
    return hashlib.sha1(body.encode("utf-8")).hexdigest()


def _render_mapping(header: dict, selector: str) -> str:
    header = dict(header, sha1sum="@SHA1@")
    lines = ["header = {"]
    lines += [f"    {key!r} : {header[key]!r}," for key in sorted(header)]
    lines += ["}", "", f"selector = {selector}", ""]
    text = "\n".join(lines)
    return text.replace("@SHA1@", mapping_sha1(text))


def _render_dict(entries: dict, indent: int = 0) -> str:
    pad = " " * indent
    body = "".join(f"{pad}    {k!r} : {v},\n" for k, v in entries.items())
    return "{\n" + body + pad + "}"


def _useafter(leaf: str, indent: int) -> str:
    return "UseAfter(" + _render_dict({RMAP_USEAFTER: repr(leaf)}, indent) + ")"


def _check_context_name(context_name: str) -> str:
    if not (context_name.startswith("jwst") and context_name.endswith(".pmap")) or "/" in context_name:
        raise ValueError(f"context name must look like 'jwst[_<tag>].pmap', got {context_name!r}")
    return context_name


class _Names:
    """Mapping names derived from the context name (jwst_sim_0001.pmap -> jwst_miri_sim_0001.imap ...)."""

    def __init__(self, context_name: str):
        self.pmap = _check_context_name(context_name)
        self.tag = self.pmap[len("jwst") : -len(".pmap")]
        self.imap = f"jwst_miri{self.tag}.imap"

    def rmap(self, reftype: str) -> str:
        return f"jwst_miri_{reftype}{self.tag}.rmap"


def _rmap_text(names: _Names, reftype: str, parkey: tuple, selector: str, ext: str, descr: str) -> str:
    header = {
        "classes": ("Match", "UseAfter") if selector.startswith("Match") else ("UseAfter",),
        "derived_from": DERIVED_FROM,
        "file_ext": ext,
        "filekind": reftype.upper(),
        "filetype": reftype.upper(),
        "instrument": "MIRI",
        "mapping": "REFERENCE",
        "name": names.rmap(reftype),
        "observatory": "JWST",
        "parkey": parkey,
        "suffix": reftype,
        "text_descr": descr,
    }
    return _render_mapping(header, selector)


def _match_rmap(names, reftype, keys, rows, ext, descr) -> str:
    """Match(keys) | UseAfter rmap with rows [(values tuple, filename)] and a '*' -> 'N/A' catch-all."""
    entries = {tuple(values): _useafter(leaf, 4) for values, leaf in rows}
    entries[("*",) * len(keys)] = _useafter("N/A", 4)
    selector = "Match(" + _render_dict(entries) + ")"
    return _rmap_text(names, reftype, (tuple(keys), _PARKEY_DATE), selector, ext, descr)


# --------------------------------------------------------------------------
# Reference files
# --------------------------------------------------------------------------
def _ref_name(reftype: str, ext: str = "fits", sub: str | None = None) -> str:
    middle = f"_{sub.lower()}" if sub else ""
    return f"jwst_miri_{reftype}_sim{middle}_0001.{ext}"


def _set_meta(model, path: str, value) -> bool:
    """Set ``model.meta.<path>`` if the model schema has it; return whether it was set."""
    *parents, leaf = path.split(".")
    try:
        node = model.meta
        for name in parents:
            node = getattr(node, name)
        setattr(node, leaf, value)
    except AttributeError:
        return False
    return True


def _set_subarray(model, sub: str = "FULL") -> None:
    s = C.SUBARRAYS[sub]
    values = {"name": sub, "xstart": s.xstart, "ystart": s.ystart, "xsize": s.xsize, "ysize": s.ysize}
    values.update(fastaxis=1, slowaxis=2)
    for key, value in values.items():
        _set_meta(model, f"subarray.{key}", value)


def _finish(model, path: Path, reftype: str, description: str, exposure: bool = True) -> None:
    meta = model.meta
    meta.reftype = reftype.upper()
    meta.author = AUTHOR
    meta.pedigree = PEDIGREE
    meta.useafter = USEAFTER
    meta.description = description
    meta.telescope = "JWST"
    meta.origin = "absflux"
    meta.instrument.name = "MIRI"
    meta.instrument.detector = "MIRIMAGE"
    if exposure:  # only for the models whose schema has the EXP_TYPE keywords
        _set_meta(model, "exposure.type", "MIR_IMAGE")
        _set_meta(model, "exposure.p_exptype", P_EXPTYPE)
    model.add_history_entry(HISTORY)
    model.save(str(path))
    model.close()


def _full(value, dtype="f4") -> np.ndarray:
    return np.full(FULL_SHAPE, value, dtype=dtype)


def _write_mask(refdir: Path) -> str:
    from stdatamodels.jwst import datamodels as dm
    from stdatamodels.jwst.datamodels import dqflags

    dnu, refpix = dqflags.pixel["DO_NOT_USE"], dqflags.pixel["REFERENCE_PIXEL"]
    dq = np.where(bad_pixel_mask(FULL_SHAPE), dnu, 0).astype(np.uint32)
    dq[:, list(C.DETECTOR["refpix_columns"])] |= np.uint32(refpix)
    dq_def = [
        (0, dnu, "DO_NOT_USE", "Bad pixel (synthetic, absflux.crds_cache.bad_pixel_mask)"),
        (31, refpix, "REFERENCE_PIXEL", "Reference pixel column"),
    ]
    model = dm.MaskModel(dq=dq, dq_def=dq_def)
    _set_subarray(model)
    name = _ref_name("mask")
    _finish(model, refdir / name, "mask", "Synthetic bad-pixel mask (DO_NOT_USE + reference-pixel columns)")
    return name


def _write_saturation(refdir: Path) -> str:
    from stdatamodels.jwst import datamodels as dm

    model = dm.SaturationModel(data=_full(C.DETECTOR["saturation"]), dq=_full(0, np.uint32))
    _set_subarray(model)
    name = _ref_name("saturation")
    _finish(model, refdir / name, "saturation", f"Synthetic saturation level {C.DETECTOR['saturation']} DN")
    return name


def _write_linearity(refdir: Path) -> str:
    from stdatamodels.jwst import datamodels as dm

    coeffs = np.zeros((2,) + FULL_SHAPE, dtype="f4")
    coeffs[1] = 1.0
    model = dm.LinearityModel(coeffs=coeffs, dq=_full(0, np.uint32))
    _set_subarray(model)
    name = _ref_name("linearity")
    _finish(model, refdir / name, "linearity", "Synthetic linearity: identity polynomial (0 + 1 x)")
    return name


def _write_gain(refdir: Path) -> str:
    from stdatamodels.jwst import datamodels as dm

    model = dm.GainModel(data=_full(C.DETECTOR["gain"]))
    _set_subarray(model)
    name = _ref_name("gain")
    _finish(model, refdir / name, "gain", f"Synthetic gain {C.DETECTOR['gain']} e/DN")
    return name


def _write_readnoise(refdir: Path) -> str:
    from stdatamodels.jwst import datamodels as dm

    model = dm.ReadnoiseModel(data=_full(readnoise_cds()))
    _set_subarray(model)
    name = _ref_name("readnoise")
    descr = f"Synthetic CDS read noise sqrt(2) x {C.DETECTOR['readnoise']} DN per read"
    _finish(model, refdir / name, "readnoise", descr)
    return name


def _write_rscd(refdir: Path) -> str:
    from stdatamodels.jwst import datamodels as dm

    table = np.array(
        [(sub, C.READPATT, 1, 1) for sub in C.SUBARRAYS],
        dtype=[("subarray", "S17"), ("readpatt", "S12"), ("group_skip1", "i4"), ("group_skip", "i4")],
    )
    model = dm.RSCDModel(rscd_group_skip_table=table)
    name = _ref_name("rscd")
    _finish(model, refdir / name, "rscd", "Synthetic RSCD: flag 1 initial group, FASTR1, all subarrays")
    return name


def _write_darks(refdir: Path) -> dict[str, str]:
    from stdatamodels.jwst import datamodels as dm

    out = {}
    for sub, geo in C.SUBARRAYS.items():
        ngroups = int(C.MAX_NGROUPS[sub])
        data = np.zeros((1, ngroups, geo.ysize, geo.xsize), dtype="f4")
        dq = np.zeros((1, 1, geo.ysize, geo.xsize), dtype=np.uint32)  # jwst uses only dq[int, 0]
        model = dm.DarkMIRIModel(data=data, dq=dq)
        _set_subarray(model, sub)
        exp = model.meta.exposure
        exp.readpatt = C.READPATT
        exp.nints, exp.ngroups, exp.nframes, exp.groupgap = 1, ngroups, 1, 0
        name = _ref_name("dark", sub=sub)
        _finish(model, refdir / name, "dark", f"Synthetic zero dark, {sub}, {ngroups} groups, 1 integration")
        out[sub] = name
    return out


def _write_resets(refdir: Path) -> dict[str, str]:
    from stdatamodels.jwst import datamodels as dm

    out = {}
    for sub, geo in C.SUBARRAYS.items():
        model = dm.ResetModel(
            data=np.zeros((1, 1, geo.ysize, geo.xsize), dtype="f4"),
            dq=np.zeros((geo.ysize, geo.xsize), dtype=np.uint32),
        )
        _set_subarray(model, sub)
        exp = model.meta.exposure
        exp.readpatt = C.READPATT
        exp.nints, exp.ngroups = 1, 1
        name = _ref_name("reset", sub=sub)
        _finish(model, refdir / name, "reset", f"Synthetic zero reset correction, {sub}")
        out[sub] = name
    return out


def _write_flat(refdir: Path) -> str:
    from stdatamodels.jwst import datamodels as dm

    model = dm.FlatModel(data=_full(1.0), dq=_full(0, np.uint32), err=_full(0.0))
    _set_subarray(model)
    model.meta.instrument.filter = "N/A"
    name = _ref_name("flat")
    _finish(model, refdir / name, "flat", "Synthetic flat field = 1 for every filter")
    return name


def _write_area(refdir: Path) -> str:
    from stdatamodels.jwst import datamodels as dm

    model = dm.PixelAreaModel(data=_full(1.0))
    model.meta.photometry.pixelarea_steradians = C.PHOTOM_PIXELAREA_SR
    model.meta.photometry.pixelarea_arcsecsq = C.PHOTOM_PIXELAREA_ARCSEC2
    name = _ref_name("area")
    _finish(model, refdir / name, "area", "Synthetic pixel area map: relative area 1, PIXAR_SR from constants")
    return name


def _distortion_transform():
    """Detector (0-based) -> V2V3 (arcsec) from the MIRIM_FULL SIAF polynomials, with analytic inverse."""
    import pysiaf
    from astropy.modeling import bind_bounding_box, models

    aperture = pysiaf.Siaf("MIRI")["MIRIM_FULL"]
    coeffs = aperture.get_polynomial_coefficients()
    degree = int(aperture.Sci2IdlDeg)

    def poly(c):
        # SIAF term k = (i, j) multiplies x**(i - j) * y**j.
        terms, k = {}, 0
        for i in range(degree + 1):
            for j in range(i + 1):
                terms[f"c{i - j}_{j}"] = float(c[k])
                k += 1
        return models.Polynomial2D(degree, **terms)

    det2sci = models.Shift(1.0 - aperture.XSciRef) & models.Shift(1.0 - aperture.YSciRef)
    sci2idl = models.Mapping((0, 1, 0, 1)) | (poly(coeffs["Sci2IdlX"]) & poly(coeffs["Sci2IdlY"]))
    idl2sci = models.Mapping((0, 1, 0, 1)) | (poly(coeffs["Idl2SciX"]) & poly(coeffs["Idl2SciY"]))
    ang, par = np.deg2rad(aperture.V3IdlYAngle), aperture.VIdlParity
    idl2tel = models.AffineTransformation2D(
        matrix=[[par * np.cos(ang), np.sin(ang)], [-par * np.sin(ang), np.cos(ang)]],
        translation=[aperture.V2Ref, aperture.V3Ref],
    )
    forward = det2sci | sci2idl | idl2tel
    forward.inverse = idl2tel.inverse | idl2sci | det2sci.inverse
    ny, nx = FULL_SHAPE
    bind_bounding_box(forward, ((3.5, nx - 4.5), (-0.5, ny - 0.5)), order="F")
    return forward


def _write_distortion(refdir: Path) -> str:
    import astropy.units as u
    from stdatamodels.jwst import datamodels as dm

    model = dm.DistortionModel(model=_distortion_transform(), input_units=u.pix, output_units=u.arcsec)
    name = _ref_name("distortion", "asdf")
    _finish(model, refdir / name, "distortion", "Synthetic distortion from the pysiaf MIRIM_FULL polynomials")
    return name


def _write_filteroffset(refdir: Path) -> str:
    from stdatamodels.jwst import datamodels as dm

    model = dm.FilteroffsetModel()
    model.filters = [{"filter": f, "column_offset": 0.0, "row_offset": 0.0} for f in C.ALL_FILTERS]
    name = _ref_name("filteroffset", "asdf")
    _finish(model, refdir / name, "filteroffset", "Synthetic filter offsets: zero for every filter")
    return name


def _write_photom(refdir: Path, rows: dict[str, np.ndarray]) -> str:
    from stdatamodels.jwst import datamodels as dm

    model = dm.MirImgPhotomModel(
        phot_table=rows["phot_table"],
        timecoeff_linear=rows["timecoeff_linear"],
        timecoeff_exponential=rows["timecoeff_exponential"],
    )
    _set_meta(model, "subarray.name", "GENERIC")
    _set_meta(model, "instrument.band", "N/A")
    model.meta.photometry.pixelarea_steradians = C.PHOTOM_PIXELAREA_SR
    model.meta.photometry.pixelarea_arcsecsq = C.PHOTOM_PIXELAREA_ARCSEC2
    name = _ref_name("photom")
    _finish(
        model,
        refdir / name,
        "photom",
        "Synthetic photom: injected C_FULL / subarr_cor with exponential x linear time dependence",
    )
    return name


def _write_apcorr(refdir: Path, rows: np.ndarray) -> str:
    from stdatamodels.jwst import datamodels as dm

    model = dm.MirImgApcorrModel(apcorr_table=rows)
    _set_meta(model, "subarray.name", "GENERIC")
    _set_meta(model, "instrument.channel", "N/A")
    name = _ref_name("apcorr")
    _finish(model, refdir / name, "apcorr", "Synthetic aperture corrections")
    return name


def _write_abvegaoffset(refdir: Path) -> str:
    from astropy.table import Table
    from stdatamodels.jwst import datamodels as dm

    offsets = _abvega_offsets()
    model = dm.ABVegaOffsetModel()
    model.abvega_offset = Table({"filter": list(offsets), "abvega_offset": list(offsets.values())})
    name = _ref_name("abvegaoffset", "asdf")
    _finish(model, refdir / name, "abvegaoffset", "Placeholder AB-Vega offsets (Rayleigh-Jeans Vega)", False)
    return name


# --------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------
def _server_config(context: str) -> str:
    try:
        crds_version = metadata.version("crds")
    except metadata.PackageNotFoundError:  # pragma: no cover
        crds_version = "unknown"
    info = {
        "observatory": "jwst",
        "operational_context": context,
        "latest_context": context,
        "edit_context": context,
        "versions_context": context,
        "last_synced": "never: hand-built synthetic offline cache (absflux.crds_cache)",
        "bad_files_list": [],
        "force_remote_mode": False,
        "crds_version": {"str": crds_version},
    }
    return repr(info) + "\n"


def _env_script(env: dict[str, str]) -> str:
    lines = [
        "# CRDS environment of the absflux synthetic offline cache (absflux.crds_cache).",
        "# Source it before running jwst, strun or the crds tools:  source crds_env.sh",
    ]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    return "\n".join(lines) + "\n"


def _build_into(root: Path, final: Path, names: _Names, phot: dict, apcorr: np.ndarray) -> dict:
    mapdir = root / "mappings" / "jwst"
    refdir = root / "references" / "jwst" / "miri"
    confdir = root / "config" / "jwst"
    for d in (mapdir, refdir, confdir, root / "references" / "jwst" / "fgs"):
        d.mkdir(parents=True, exist_ok=True)
    (confdir / "server_config").write_text(_server_config(names.pmap))
    (confdir / "ref_cache_subdir_mode").write_text("instrument\n")

    mirimage = ("MIRIMAGE",)
    single = {
        "mask": (_write_mask(refdir), "Bad pixel mask (synthetic, FULL)"),
        "saturation": (_write_saturation(refdir), "Saturation (synthetic, FULL)"),
        "linearity": (_write_linearity(refdir), "Linearity (synthetic identity, FULL)"),
        "gain": (_write_gain(refdir), "Gain (synthetic, FULL)"),
        "readnoise": (_write_readnoise(refdir), "Read noise (synthetic, FULL)"),
        "rscd": (_write_rscd(refdir), "RSCD group skip table (synthetic)"),
        "area": (_write_area(refdir), "Pixel area map (synthetic, FULL)"),
        "apcorr": (_write_apcorr(refdir, apcorr), "Aperture corrections (synthetic)"),
        "abvegaoffset": (_write_abvegaoffset(refdir), "AB to Vega offsets (synthetic placeholder)"),
    }
    rmaps = {}
    for reftype, (fname, descr) in single.items():
        ext = "." + fname.rsplit(".", 1)[1]
        rmaps[reftype] = _match_rmap(names, reftype, (_DET,), [(mirimage, fname)], ext, descr)
    rmaps["flat"] = _match_rmap(
        names,
        "flat",
        (_DET, "META.INSTRUMENT.FILTER"),
        [(("MIRIMAGE", "*"), _write_flat(refdir))],
        ".fits",
        "Flat field (synthetic, one FULL file for every filter)",
    )
    keys = (_DET, "META.EXPOSURE.READPATT", "META.SUBARRAY.NAME")
    for reftype, files in (("dark", _write_darks(refdir)), ("reset", _write_resets(refdir))):
        rows = [(("MIRIMAGE", C.READPATT, sub), fname) for sub, fname in files.items()]
        rmaps[reftype] = _match_rmap(names, reftype, keys, rows, ".fits", f"{reftype} (synthetic, per subarray)")
    exp_types = "|".join(IMAGER_EXP_TYPES)
    for reftype, fname in (("distortion", _write_distortion(refdir)), ("filteroffset", _write_filteroffset(refdir))):
        rmaps[reftype] = _match_rmap(
            names,
            reftype,
            (_DET, "META.EXPOSURE.TYPE"),
            [(("MIRIMAGE", exp_types), fname)],
            ".asdf",
            f"{reftype} (synthetic, imager optics)",
        )
    photom = _write_photom(refdir, phot)
    rmaps["photom"] = _rmap_text(
        names,
        "photom",
        (_PARKEY_DATE,),
        _useafter(photom, 0),
        ".fits",
        "Photometric calibration (synthetic; any MIRI exposure, rows by filter and subarray)",
    )

    imap_entries = {r: "N/A" for r in (*_NA_REFTYPES, *_PARS_REFTYPES)}
    imap_entries.update({r: names.rmap(r) for r in rmaps})
    imap_header = {
        "derived_from": DERIVED_FROM,
        "instrument": "MIRI",
        "mapping": "INSTRUMENT",
        "name": names.imap,
        "observatory": "JWST",
        "parkey": ("REFTYPE",),
    }
    imap_sel = _render_dict({k: repr(imap_entries[k]) for k in sorted(imap_entries)})
    pmap_header = {
        "derived_from": DERIVED_FROM,
        "mapping": "PIPELINE",
        "name": names.pmap,
        "observatory": "JWST",
        "parkey": ("META.INSTRUMENT.NAME",),
    }
    (mapdir / names.pmap).write_text(_render_mapping(pmap_header, _render_dict({"MIRI": repr(names.imap)})))
    (mapdir / names.imap).write_text(_render_mapping(imap_header, imap_sel))
    for reftype, text in rmaps.items():
        (mapdir / names.rmap(reftype)).write_text(text)

    env = crds_environment(final, names.pmap)
    (root / "crds_env.sh").write_text(_env_script(env))
    files = {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}
    return {"context": names.pmap, "environment": env, "files": files}


def build_crds_cache(
    cache_dir,
    calfactors=None,
    time_coeffs=None,
    subarr_cor=None,
    apcorr_rows=None,
    context_name: str = DEFAULT_CONTEXT,
    overwrite: bool = False,
) -> Path:
    """Write a complete local CRDS cache of synthetic MIRI reference files.

    The cache is built in a temporary sibling directory and renamed into place
    at the end, so an interrupted build never leaves a half cache behind.

    Contents: ``config/jwst/server_config`` and ``ref_cache_subdir_mode``; the
    ``.pmap``, ``.imap`` and 15 ``.rmap`` files with their sha1sums (verified by
    ``crds checksum --verify``); the reference files in ``references/jwst/miri``
    (mask, saturation, linearity, gain, readnoise, rscd, area, flat, photom,
    apcorr, abvegaoffset, distortion, filteroffset, and one dark and one reset per
    subarray of ``constants.SUBARRAYS``); an empty ``references/jwst/fgs``;
    ``crds_env.sh`` and ``manifest.json``.  About 220 MB with the current
    ``constants.MAX_NGROUPS`` (the darks dominate); builds in about 5 s.

    Detector content: mask = :func:`bad_pixel_mask` DO_NOT_USE plus the
    ``DETECTOR["refpix_columns"]`` flagged REFERENCE_PIXEL; saturation and gain
    constant from ``constants.DETECTOR``; read noise = :func:`readnoise_cds`
    (sqrt(2) x the per-read value, as jwst expects); linearity identity; RSCD
    flags one initial group in every integration (FASTR1, every subarray); darks are zero with 1 integration
    and ``constants.MAX_NGROUPS[subarray]`` groups (jwst uses the last dark
    integration for later science integrations and only the first NGROUPS dark
    groups; with more science groups stcal 1.20 extrapolates the dark instead of
    skipping); resets are zero (1 integration, 1 group); flat = 1; pixel area
    relative map = 1 with PIXAR_SR/PIXAR_A2 = ``constants.PHOTOM_PIXELAREA_*``;
    distortion from the pysiaf MIRIM_FULL polynomials with the analytic inverse;
    zero filter offsets for all 14 filters.

    Parameters
    ----------
    cache_dir : str or path-like
        Where the cache goes (becomes ``CRDS_PATH``).
    calfactors, time_coeffs, subarr_cor : dict, optional
        PHOTOM content, see :func:`photom_rows`; defaults from
        ``absflux.sim_defaults`` and ``constants.SUBARR_COR``.
    apcorr_rows : iterable, optional
        APCORR rows (mappings, structured array or astropy table with the columns
        filter, subarray, eefraction, radius, apcorr, skyin, skyout, or sequences in
        that order).  Default :func:`placeholder_apcorr_rows`; step 4 of the
        project writes the real one.
    context_name : str
        Name of the ``.pmap`` (``jwst[_<tag>].pmap``); the .imap and .rmap names
        follow it (``jwst_miri<_tag>.imap``, ``jwst_miri_<reftype><_tag>.rmap``).
    overwrite : bool
        Replace an existing ``cache_dir`` (atomically); otherwise an existing one
        raises `FileExistsError`.

    Returns
    -------
    pathlib.Path
        The absolute cache directory.
    """
    t_start = time.perf_counter()
    final = Path(cache_dir).expanduser().resolve()
    names = _Names(context_name)
    calfactors = dict(sim_defaults.TRUE_CALFACTOR if calfactors is None else calfactors)
    time_coeffs = {
        k: dict(v) for k, v in (sim_defaults.true_time_coeffs() if time_coeffs is None else time_coeffs).items()
    }
    subarr_cor = dict(C.SUBARR_COR if subarr_cor is None else subarr_cor)
    phot = photom_rows(calfactors, time_coeffs, subarr_cor)
    apcorr = placeholder_apcorr_rows() if apcorr_rows is None else _as_apcorr_array(apcorr_rows)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} exists; pass overwrite=True to replace it")

    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.building-", dir=final.parent))
    try:
        info = _build_into(tmp, final, names, phot, apcorr)
        info.update(
            build_seconds=round(time.perf_counter() - t_start, 2),
            total_bytes=sum(info["files"].values()),
            versions={p: _version(p) for p in ("jwst", "crds", "stdatamodels", "stcal", "pysiaf", "numpy")},
            parameters={
                "calfactors": calfactors,
                "time_coeffs": time_coeffs,
                "subarr_cor": subarr_cor,
                "apcorr": "placeholder" if apcorr_rows is None else "given",
            },
        )
        (tmp / "manifest.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
        os.chmod(tmp, 0o755)
        if final.exists():
            if not overwrite:
                raise FileExistsError(f"{final} appeared during the build; pass overwrite=True to replace it")
            trash = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
            final.rename(trash)
            tmp.rename(final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "not installed"


def reference_names(cache_dir) -> dict[str, object]:
    """Reference file names in a built cache, from its manifest (reftype -> name, or subarray -> name)."""
    files = json.loads((Path(cache_dir) / "manifest.json").read_text())["files"]
    out: dict[str, object] = {}
    for path in files:
        if not path.startswith("references/jwst/miri/"):
            continue
        base = Path(path).name
        reftype = base[len("jwst_miri_") :].split("_sim", 1)[0]
        rest = base.split("_sim", 1)[1].rsplit("_0001", 1)[0]
        if rest:
            out.setdefault(reftype, {})[rest.lstrip("_").upper()] = base
        else:
            out[reftype] = base
    return out


def main(argv=None) -> int:
    """Command line: ``python -m absflux.crds_cache <cache_dir> [--overwrite] [--context NAME]``."""
    import argparse

    parser = argparse.ArgumentParser(description="Build the synthetic offline CRDS cache for MIRI.")
    parser.add_argument("cache_dir", help="directory to create (becomes CRDS_PATH)")
    parser.add_argument("--context", default=DEFAULT_CONTEXT, help="name of the .pmap (default %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing cache")
    args = parser.parse_args(argv)
    path = build_crds_cache(args.cache_dir, context_name=args.context, overwrite=args.overwrite)
    info = json.loads((path / "manifest.json").read_text())
    print(f"CRDS cache {path}: {info['total_bytes'] / 1e6:.1f} MB in {info['build_seconds']:.1f} s")
    print(f"use it with:  source {path / 'crds_env.sh'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
