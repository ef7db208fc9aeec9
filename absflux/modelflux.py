"""Step 6: synthetic band flux densities of the calibration-star models (spec 3.13).

For every CALSPEC spectrum ``Models/<key>_stis*.fits`` (and, with ``grieke``,
the G. Rieke model ``Models/grieke23_<key>.dat`` of the solar analogs that
have one) the band-averaged flux density of each MIRI filter is computed with
the photon-counting "flat reference spectrum" formula of
:mod:`absflux.bands` and converted to Jy at the pivot wavelength.

Differences from the original ``model_fluxes.py`` (all deliberate):

* the star of a model file comes from the project's star catalogue
  (:data:`absflux.constants.MODEL_NAMES`); an unknown key, or two files of the
  same star, is an error naming the files (the original raised a bare
  ``KeyError`` for the first and silently kept both rows for the second);
* the G. Rieke key of NGC2506 G31 is ``ngc2506g31`` (the original's
  ``ngc2506_g31`` never matched a file, so that star kept its CALSPEC
  spectrum: ``grieke_keys="original"``);
* the original multiplied the p177d G. Rieke model by 1e-3 (after saving its
  Jy copy).  Nothing in the spec says why, and the project's G. Rieke files are
  in the documented unit (W cm-2 um-1), so no star is scaled unless the user
  asks with ``grieke_scale={"p177d": 1e-3}``.  An *unscaled* G. Rieke model
  that disagrees with the CALSPEC spectrum of the same star by more than a
  factor of two in any band is an error that suggests that option.  A scale
  the user asked for is checked the same way on the scaled model, but a
  failure is a warning recorded in the table metadata, not an error: the
  user stated the unit of the file, and reproducing the original's scaling of
  a file already in W cm-2 um-1 (p177d 1000x too faint) must stay possible.
  The Jy copy of a G. Rieke model is written after any scaling, so it matches
  the table (``grieke_jy_copy="unscaled"``: before it, as the original);
* a model that stops short of a band is an error, unless the uncovered part of
  the band carries at most 1% of its photon weight, in which case the model is
  extended with a Rayleigh-Jeans tail (F_lambda ~ lambda^-4) and a note is
  recorded (the original extrapolated flat without telling and without limit:
  ``extrapolation="flat"``, which records a note).

``ORIGINAL_MODEL_CHOICES`` holds all of the original's choices
(``model_fluxes.py --original``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table

from . import bands as B
from . import constants as C
from . import spectra as S

log = logging.getLogger(__name__)

#: IRAC channel names and reference wavelengths [micron] (spec 3.13).
IRAC_BANDS = ("IRAC1", "IRAC2", "IRAC3", "IRAC4")
IRAC_REFERENCE_WAVE = {"IRAC1": 3.550, "IRAC2": 4.493, "IRAC3": 5.731, "IRAC4": 7.872}
IRAC_FILE_PATTERN = "irac_201125ch{ch}trans_full.txt"

#: Largest fraction of a band's photon weight that may lie outside the model.
MAX_UNCOVERED_WEIGHT = 0.01
#: A G. Rieke model must agree with the CALSPEC spectrum of the star within this factor.
GRIEKE_CALSPEC_MAX_FACTOR = 2.0
#: Which catalogue stars use their G. Rieke model: every flagged one, or the original's list, whose key
#: ``ngc2506_g31`` never matched the file ``grieke23_ngc2506g31.dat`` (NGC2506 G31 stayed CALSPEC).
GRIEKE_KEY_SETS = ("catalogue", "original")
ORIGINAL_UNMATCHED_GRIEKE_KEYS = ("ngc2506g31",)
#: How a model shorter than a band is continued: Rayleigh-Jeans tail (<= 1% of the band weight) or flat
#: at the last model value without limit (the original, through np.interp).
EXTRAPOLATIONS = ("rayleigh-jeans", "flat")
#: The Jy copy of a G. Rieke model: after the scaling (matches the table) or before it (the original).
JY_COPY_MODES = ("scaled", "unscaled")
#: The original's step-6 choices (model_fluxes.py --original); the scale applies only with --grieke.
ORIGINAL_MODEL_CHOICES = {
    "grieke_scale": {"p177d": 1e-3},
    "grieke_keys": "original",
    "extrapolation": "flat",
    "grieke_jy_copy": "unscaled",
}


class ModelFluxError(ValueError):
    """Bad model-flux inputs (the message names the file(s))."""


@dataclass
class ModelSpectrum:
    """One model spectrum that enters the table."""

    name: str
    key: str
    path: Path
    wave: np.ndarray  # Angstrom
    flam: np.ndarray  # erg s-1 cm-2 A-1
    kind: str = "calspec"  # or "grieke"
    scale: float = 1.0
    fluxes: dict = field(default_factory=dict)  # band -> Jy
    pivots: dict = field(default_factory=dict)  # band -> micron
    notes: list = field(default_factory=list)
    calspec: ModelSpectrum | None = None  # the CALSPEC spectrum a G. Rieke model replaces


# --------------------------------------------------------------------------
# Finding the model files
# --------------------------------------------------------------------------
def model_key(path: Path) -> str:
    """Model-file key: the basename up to ``_stis`` (``bd60d1753_stiswfc_003.fits`` -> ``bd60d1753``)."""
    stem = Path(path).name
    i = stem.find("_stis")
    if i <= 0:
        raise ModelFluxError(f"{path}: not a CALSPEC model file name (<key>_stis*.fits)")
    return stem[:i]


def find_calspec_files(models_dir: Path) -> dict[str, tuple[str, Path]]:
    """CALSPEC files of ``models_dir`` as {canonical name: (key, path)}.

    Raises
    ------
    ModelFluxError
        If the directory is missing or has no ``*_stis*.fits`` file, if a file's
        key is not in the star catalogue, or if two files belong to one star.
    """
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        raise ModelFluxError(f"{models_dir}: models directory does not exist")
    files = sorted(models_dir.glob("*_stis*.fits"))
    if not files:
        raise ModelFluxError(f"{models_dir}: no CALSPEC model files (*_stis*.fits)")
    unknown = [p.name for p in files if model_key(p) not in C.MODEL_NAMES]
    if unknown:
        raise ModelFluxError(
            f"{models_dir}: model file(s) of unknown star(s): {', '.join(unknown)} "
            "(keys must be in absflux.constants.MODEL_NAMES; move other spectra out of the directory)"
        )
    out: dict[str, tuple[str, Path]] = {}
    for p in files:
        key = model_key(p)
        name = C.MODEL_NAMES[key]
        if name in out:
            raise ModelFluxError(f"{models_dir}: two model files for {name}: {out[name][1].name} and {p.name}")
        out[name] = (key, p)
    return out


def find_grieke_files(models_dir: Path) -> dict[str, Path]:
    """G. Rieke models ``grieke23_<key>.dat`` of ``models_dir`` as {key: path}.

    A file whose key is not a G. Rieke star of the catalogue is an error.
    """
    out = {}
    for p in sorted(Path(models_dir).glob("grieke23_*.dat")):
        if p.name.endswith("_ipac.dat"):
            continue  # Jy copies written by this step
        key = p.name[len("grieke23_") : -len(".dat")]
        if key not in C.GRIEKE_KEYS:
            raise ModelFluxError(f"{p}: G. Rieke model of unknown star key {key!r} (known: {', '.join(C.GRIEKE_KEYS)})")
        out[key] = p
    return out


# --------------------------------------------------------------------------
# Bandpasses
# --------------------------------------------------------------------------
def read_irac_response(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an IRAC response file (columns Wave [micron], SpectralResponse); returns Angstrom, response."""
    from astropy.io import ascii

    try:
        t = ascii.read(path, comment="[#\\\\|]")
    except Exception as exc:  # astropy raises several types for unreadable files
        raise ModelFluxError(f"{path}: cannot read IRAC response ({exc})") from None
    cols = {c.lower(): c for c in t.colnames}
    if "wave" in cols and "spectralresponse" in cols:
        wave, resp = t[cols["wave"]], t[cols["spectralresponse"]]
    elif len(t.colnames) >= 2:
        wave, resp = t[t.colnames[0]], t[t.colnames[1]]
    else:
        raise ModelFluxError(f"{path}: expected columns Wave, SpectralResponse")
    wave = np.asarray(wave, float)
    resp = np.clip(np.asarray(resp, float), 0.0, None)
    order = np.argsort(wave)
    return wave[order] * 1e4, resp[order]


def load_irac_bandpasses(irac_dir) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four IRAC responses from ``irac_dir`` (``irac_201125ch{1..4}trans_full.txt``)."""
    if irac_dir is None:
        raise ModelFluxError(
            "--irac needs the IRAC response files: give --irac-dir DIR holding "
            + ", ".join(IRAC_FILE_PATTERN.format(ch=c) for c in range(1, 5))
        )
    d = Path(irac_dir)
    paths = [d / IRAC_FILE_PATTERN.format(ch=c) for c in range(1, 5)]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ModelFluxError(f"{d}: missing IRAC response file(s) {', '.join(missing)}")
    return {b: read_irac_response(p) for b, p in zip(IRAC_BANDS, paths, strict=True)}


def load_miri_bandpasses(source=None, fallback=None) -> tuple[dict, dict[str, str]]:
    """MIRI bandpasses for the 14 filters and the source of each.

    Parameters
    ----------
    source : str or Path, optional
        A directory of curves or ``"tynt"``/None for the offline default
        (:func:`absflux.bands.load_bandpasses`).
    fallback : str, optional
        ``"tynt"``: filters missing from ``source`` are taken from the offline
        default (each such filter is logged and recorded); None: a missing
        filter is an error.

    Returns
    -------
    bandpasses : dict
        {filter: (wave [A], throughput)}.
    sources : dict
        {filter: description of where the curve came from}.
    """
    filters = C.MODEL_TABLE_ORDER
    if source is None or str(source) == "tynt":
        bp = B.load_bandpasses(None, filters)
        return bp, {f: _default_source(f) for f in filters}
    d = Path(source)
    try:
        return B.load_bandpasses(d, filters), {f: f"{d.resolve()}" for f in filters}
    except B.BandpassError as exc:
        if fallback != "tynt" or "no bandpass file for" not in str(exc):
            raise
    present = [f for f in filters if _has_curve(d, f)]
    missing = [f for f in filters if f not in present]
    log.warning("bandpasses: %s not in %s, using the offline default for them", ", ".join(missing), d)
    bp = B.load_bandpasses(d, present) | B.load_bandpasses(None, missing)
    sources = {f: str(d.resolve()) for f in present} | {f: _default_source(f) + " (fallback)" for f in missing}
    return {f: bp[f] for f in filters}, sources


def _default_source(f: str) -> str:
    if f == C.FND_FILTER:
        return "synthetic FND curve (absflux.bands.synthetic_fnd_bandpass)"
    return f"tynt SVO JWST/MIRI.{f}"


def _has_curve(d: Path, f: str) -> bool:
    try:
        B.load_bandpasses(d, (f,))
    except B.BandpassError:
        return False
    return True


# --------------------------------------------------------------------------
# Band fluxes
# --------------------------------------------------------------------------
def _covering_model(
    wave, flam, wave_band, resp, label: str, extrapolation: str = "rayleigh-jeans"
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """The model, extended when it misses at most MAX_UNCOVERED_WEIGHT of the band.

    With ``extrapolation="flat"`` the model is continued at its end values whatever it misses (what the
    original's ``np.interp`` onto the band grid did); a note records the uncovered weight.
    """
    if extrapolation not in EXTRAPOLATIONS:
        raise ModelFluxError(f"unknown extrapolation {extrapolation!r} (choose {', '.join(EXTRAPOLATIONS)})")
    inband = resp > 0
    lo, hi = wave_band[inband].min(), wave_band[inband].max()
    wmin, wmax = wave.min(), wave.max()
    if lo >= wmin and hi <= wmax:
        return wave, flam, None
    weight = wave_band * resp
    total = np.trapezoid(weight, wave_band)
    outside = (wave_band < wmin) | (wave_band > wmax)
    frac = float(np.trapezoid(np.where(outside, weight, 0.0), wave_band) / total)
    if extrapolation == "flat":
        ext_lo, ext_hi = wave_band[wave_band < wmin], wave_band[wave_band > wmax]
        w = np.concatenate([ext_lo, wave, ext_hi])
        f = np.concatenate([np.full(ext_lo.size, flam[0]), flam, np.full(ext_hi.size, flam[-1])])
        note = (
            f"{label}: model continued flat beyond {wmin / 1e4:.3f}-{wmax / 1e4:.3f} micron "
            f"({100 * frac:.3f}% of the band weight, --extrapolation flat)"
        )
        return w, f, note
    if frac > MAX_UNCOVERED_WEIGHT:
        raise ModelFluxError(
            f"{label}: model covers {wmin / 1e4:.3f}-{wmax / 1e4:.3f} micron but the band needs "
            f"{lo / 1e4:.3f}-{hi / 1e4:.3f} ({100 * frac:.2f}% of its weight is outside)"
        )
    w, f = wave, flam
    if hi > wmax:  # Rayleigh-Jeans tail from the last model point
        ext = wave_band[wave_band > wmax]
        w = np.concatenate([w, ext])
        f = np.concatenate([f, flam[-1] * (ext / wmax) ** -4])
    if lo < wmin:  # flat on the blue side (never needed for MIRI)
        ext = wave_band[wave_band < wmin]
        w = np.concatenate([ext, w])
        f = np.concatenate([np.full(ext.size, flam[0]), f])
    note = f"{label}: model extended beyond {wmax / 1e4:.3f} micron ({100 * frac:.3f}% of the band weight)"
    return w, f, note


def band_fluxes(spec: ModelSpectrum, bandpasses: dict, extrapolation: str = "rayleigh-jeans") -> None:
    """Fill ``spec.fluxes`` [Jy] and ``spec.pivots`` [micron] for every band (see :func:`_covering_model`)."""
    for band, (wb, rb) in bandpasses.items():
        w, f, note = _covering_model(spec.wave, spec.flam, wb, rb, f"{spec.path.name} {band}", extrapolation)
        if note:
            log.warning(note)
            spec.notes.append(note)
        fnu, lp = B.band_flux_jy(w, f, wb, rb)
        spec.fluxes[band] = fnu
        spec.pivots[band] = lp


def _sorted_spectrum(wave, flam, path) -> tuple[np.ndarray, np.ndarray]:
    wave = np.asarray(wave, float)
    flam = np.asarray(flam, float)
    good = np.isfinite(wave) & np.isfinite(flam)
    wave, flam = wave[good], flam[good]
    if wave.size < 2:
        raise ModelFluxError(f"{path}: model spectrum has fewer than 2 finite points")
    order = np.argsort(wave, kind="stable")
    return wave[order], flam[order]


def load_model_spectra(
    models_dir, grieke: bool = False, grieke_scale: dict | None = None, grieke_keys: str = "catalogue"
) -> list[ModelSpectrum]:
    """The spectra that enter the table, one per star, in file-name order.

    Parameters
    ----------
    models_dir : Path
        Directory with the CALSPEC (and G. Rieke) files.
    grieke : bool
        Use the G. Rieke model of the stars flagged ``grieke`` in the catalogue.
    grieke_scale : dict, optional
        {key: factor} applied to the G. Rieke F_lambda (the original's p177d x 1e-3
        is ``{"p177d": 1e-3}``; not applied by default).
    grieke_keys : {"catalogue", "original"}
        ``original``: the stars of ``ORIGINAL_UNMATCHED_GRIEKE_KEYS`` keep their CALSPEC spectrum, as in
        the original whose misspelt key never matched their file.
    """
    if grieke_keys not in GRIEKE_KEY_SETS:
        raise ModelFluxError(f"unknown G. Rieke key set {grieke_keys!r} (choose {', '.join(GRIEKE_KEY_SETS)})")
    unmatched = ORIGINAL_UNMATCHED_GRIEKE_KEYS if grieke_keys == "original" else ()
    grieke_scale = dict(grieke_scale or {})
    calspec = find_calspec_files(models_dir)
    grieke_files = find_grieke_files(models_dir) if grieke else {}
    bad = [k for k in grieke_scale if k not in C.GRIEKE_KEYS]
    if bad:
        raise ModelFluxError(f"--grieke-scale: {', '.join(bad)} is not a G. Rieke star key")
    out = []
    for name, (key, path) in sorted(calspec.items(), key=lambda kv: kv[1][1].name):
        try:
            wave, flam = S.read_calspec(path)
        except (OSError, KeyError, IndexError, TypeError) as exc:
            raise ModelFluxError(f"{path}: not a readable CALSPEC file ({exc})") from None
        wave, flam = _sorted_spectrum(wave, flam, path)
        spec = ModelSpectrum(name, key, path, wave, flam)
        if grieke and key in C.GRIEKE_KEYS and key in unmatched:
            spec.notes.append(
                f"{name}: CALSPEC spectrum kept (--grieke-keys original: the original's key for this star "
                "never matched its G. Rieke file)"
            )
        elif grieke and key in C.GRIEKE_KEYS:
            gpath = grieke_files.get(key)
            if gpath is None:
                raise ModelFluxError(
                    f"{Path(models_dir) / f'grieke23_{key}.dat'}: G. Rieke model of {name} is missing (--grieke)"
                )
            try:
                gw, gf = S.read_grieke(gpath)
            except (OSError, KeyError, ValueError) as exc:
                raise ModelFluxError(f"{gpath}: not a readable G. Rieke model ({exc})") from None
            gw, gf = _sorted_spectrum(gw, gf, gpath)
            scale = float(grieke_scale.get(key, 1.0))
            gspec = ModelSpectrum(name, key, gpath, gw, gf * scale, kind="grieke", scale=scale)
            gspec.notes.append(f"CALSPEC file {path.name} replaced by the G. Rieke model")
            if scale != 1.0:
                gspec.notes.append(f"G. Rieke F_lambda of {key} multiplied by {scale:g} (--grieke-scale)")
            gspec.calspec = spec
            spec = gspec
        out.append(spec)
    if grieke:
        used = {s.key for s in out if s.kind == "grieke"}
        for key, p in grieke_files.items():
            if key not in used and key not in unmatched:
                log.warning("%s: no CALSPEC file of %s in %s, G. Rieke model not used", p.name, key, models_dir)
    return out


def check_grieke_units(spec: ModelSpectrum, bandpasses: dict, extrapolation: str = "rayleigh-jeans") -> str | None:
    """Compare a G. Rieke model with the CALSPEC spectrum of the star band by band (factor-2 check).

    The check runs on the model as it enters the table, i.e. after any scaling.

    Returns
    -------
    str or None
        None for an unscaled model that passes; for a model scaled as the user asked
        (``spec.scale`` != 1) a note stating the ratios and whether the check passed.  A scaled
        model that fails is not an error: the note (also logged as a warning) says the check is
        not applied to a scale the user asked for, and gives the unscaled ratios.

    Raises
    ------
    ModelFluxError
        An unscaled model more than ``GRIEKE_CALSPEC_MAX_FACTOR`` away from CALSPEC in a band.
    """
    cal = spec.calspec
    if cal is None:
        return None
    if not cal.fluxes:
        band_fluxes(cal, bandpasses, extrapolation)
    ratios = {band: f / cal.fluxes[band] for band, f in spec.fluxes.items()}
    bad = [b for b, r in ratios.items() if not (1.0 / GRIEKE_CALSPEC_MAX_FACTOR <= r <= GRIEKE_CALSPEC_MAX_FACTOR)]
    lo, hi = min(ratios.values()), max(ratios.values())
    if spec.scale == 1.0:
        if bad:
            raise ModelFluxError(
                f"{spec.path}: G. Rieke model is {ratios[bad[0]]:.3g} x the CALSPEC spectrum {cal.path.name} in "
                f"{bad[0]}; wrong flux unit? (the original scaled p177d by 1e-3: use --grieke-scale "
                f"{spec.key}=1e-3 if that applies to this file)"
            )
        return None
    scale = spec.scale
    if not bad:
        return (
            f"{spec.key}: G. Rieke model scaled by {scale:g} (--grieke-scale) is {lo:.4g}-{hi:.4g} x the CALSPEC "
            f"spectrum {cal.path.name}: passes the factor-{GRIEKE_CALSPEC_MAX_FACTOR:g} consistency check"
        )
    note = (
        f"WARNING {spec.key}: G. Rieke model scaled by {scale:g} as requested (--grieke-scale) is "
        f"{lo:.4g}-{hi:.4g} x the CALSPEC spectrum {cal.path.name} (unscaled {lo / scale:.4g}-{hi / scale:.4g} x); "
        f"the factor-{GRIEKE_CALSPEC_MAX_FACTOR:g} consistency check is not applied to a scale the user asked for"
    )
    unscaled_ok = 1.0 / GRIEKE_CALSPEC_MAX_FACTOR <= lo / scale and hi / scale <= GRIEKE_CALSPEC_MAX_FACTOR
    if unscaled_ok:
        note += (
            f" (the file is already in CALSPEC units: the scaled fluxes of {spec.name} are {1 / scale:g}x too "
            "low, as the original's p177d x 1e-3 made them)"
            if scale < 1
            else f" (the file is already in CALSPEC units: the scaled fluxes of {spec.name} are {scale:g}x too high)"
        )
    log.warning("%s", note.removeprefix("WARNING "))
    return note


def model_table(spectra: list[ModelSpectrum], bands) -> Table:
    """The model photometry table: name, one column per band [Jy], modfile."""
    t = Table()
    t["name"] = [s.name for s in spectra]
    for b in bands:
        t[b] = np.array([s.fluxes[b] for s in spectra], float)
        t[b].unit = "Jy"
    t["modfile"] = [s.path.name for s in spectra]
    return t


def grieke_jy_table(spec: ModelSpectrum, unscaled: bool = False) -> Table:
    """A G. Rieke model in Jy (columns wave [micron], flux [Jy]), after any scaling (before it with ``unscaled``)."""
    wave_um = spec.wave / 1e4
    flam = spec.flam / spec.scale if unscaled else spec.flam
    fnu = flam * spec.wave**2 / B.C_ANGSTROM_PER_S * B.FLAM_CGS_TO_JY
    t = Table({"wave": wave_um, "flux": fnu})
    t["wave"].unit = "micron"
    t["flux"].unit = "Jy"
    return t


def plot_model(spec: ModelSpectrum, path, fmt: str) -> None:
    """Per-model figure: lambda^2 F_nu vs lambda with the band fluxes at the pivot wavelengths."""
    from matplotlib.figure import Figure

    wave_um = spec.wave / 1e4
    fnu = spec.flam * spec.wave**2 / B.C_ANGSTROM_PER_S * B.FLAM_CGS_TO_JY
    fig = Figure(figsize=(8, 5.5))
    ax = fig.add_subplot()
    ax.plot(wave_um, wave_um**2 * fnu, "k-", lw=1, label=spec.path.name)
    bx = np.array([spec.pivots[b] for b in spec.fluxes])
    by = np.array([spec.fluxes[b] for b in spec.fluxes])
    ax.plot(bx, bx**2 * by, "ro", ms=6, label="band fluxes (pivot wavelength)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(0.1, 32.0)
    sel = (wave_um > 0.1) & (wave_um < 32.0) & (fnu > 0)
    if np.any(sel):
        yv = wave_um[sel] ** 2 * fnu[sel]
        ax.set_ylim(yv.min() * 0.5, yv.max() * 2.0)
    ax.set_xlabel(r"$\lambda$ [$\mu$m]")
    ax.set_ylabel(r"$\lambda^2 F_\nu$ [Jy $\mu$m$^2$]")
    ax.set_title(spec.name)
    ax.legend(fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format=fmt)


def output_names(irac: bool, grieke: bool) -> str:
    """Base name of the model table: ``model_phot[_irac][_grieke]``."""
    return "model_phot" + ("_irac" if irac else "") + ("_grieke" if grieke else "")


def run_model_fluxes(
    root,
    models_dir=None,
    bandpasses=None,
    bandpass_fallback=None,
    grieke: bool = False,
    irac: bool = False,
    irac_dir=None,
    grieke_scale: dict | None = None,
    fig_format: str | None = None,
    options: dict | None = None,
    grieke_keys: str = "catalogue",
    extrapolation: str = "rayleigh-jeans",
    grieke_jy_copy: str = "scaled",
) -> list[Path]:
    """Compute the model photometry table and write every output of the step.

    Parameters
    ----------
    root : Path
        Campaign root; outputs go to ``root/Models``.
    models_dir : Path, optional
        Directory of the input spectra (default ``root/Models``).
    bandpasses : str or Path, optional
        Directory of MIRI curves or ``"tynt"``/None (offline default).
    bandpass_fallback : str, optional
        ``"tynt"`` to take filters missing from ``bandpasses`` from the offline default.
    grieke, irac : bool
        G. Rieke models for the solar analogs; IRAC bands instead of MIRI.
    irac_dir : Path, optional
        Directory of the IRAC response files (required with ``irac``).
    grieke_scale : dict, optional
        {key: factor} for G. Rieke models in another unit (see module docstring).
    fig_format : {"png", "pdf", None}
        Write the per-model figures into ``root/Models`` in this format.
    options : dict, optional
        Options recorded in the provenance metadata.
    grieke_keys : {"catalogue", "original"}
        See :func:`load_model_spectra`.
    extrapolation : {"rayleigh-jeans", "flat"}
        See :func:`_covering_model`.
    grieke_jy_copy : {"scaled", "unscaled"}
        The Jy copies of the G. Rieke models after (default) or before the scaling (the original).

    Returns
    -------
    list of Path
        The files written (all or none: a failure leaves nothing behind).
    """
    from .io_utils import OutputSet, provenance, write_table

    root = Path(root)
    out_dir = root / "Models"
    models_dir = Path(models_dir) if models_dir is not None else out_dir
    if grieke_jy_copy not in JY_COPY_MODES:
        raise ModelFluxError(f"unknown Jy copy mode {grieke_jy_copy!r} (choose {', '.join(JY_COPY_MODES)})")
    grieke_scale = dict(grieke_scale or {})
    spectra = load_model_spectra(models_dir, grieke=grieke, grieke_scale=grieke_scale, grieke_keys=grieke_keys)
    if irac:
        bp = load_irac_bandpasses(irac_dir)
        sources = {b: str(Path(irac_dir).resolve() / IRAC_FILE_PATTERN.format(ch=i + 1)) for i, b in enumerate(bp)}
        bands = IRAC_BANDS
    else:
        try:
            bp, sources = load_miri_bandpasses(bandpasses, bandpass_fallback)
        except B.BandpassError as exc:
            raise ModelFluxError(str(exc)) from None
        bands = C.MODEL_TABLE_ORDER
    for spec in spectra:
        band_fluxes(spec, bp, extrapolation)
        if spec.kind == "grieke":
            check = check_grieke_units(spec, bp, extrapolation)
            if check:
                spec.notes.append(check)
        log.info(
            "%-24s %-34s %s",
            spec.name,
            spec.path.name,
            " ".join(f"{b}={1e3 * spec.fluxes[b]:.4g}mJy" for b in bands[:3]) + " ...",
        )
    table = model_table(spectra, bands)
    notes = [n for s in spectra for n in s.notes]
    if grieke:
        notes.append(
            (
                "G. Rieke key of NGC2506 G31 is ngc2506g31 (the original's ngc2506_g31 never matched); "
                if grieke_keys == "catalogue"
                else "G. Rieke keys as the original (NGC2506 G31 keeps its CALSPEC spectrum); "
            )
            + (
                "scaled: " + ", ".join(f"{k} x {v:g}" for k, v in grieke_scale.items())
                if grieke_scale
                else "no G. Rieke model scaled (the original's p177d x 1e-3 is opt-in: --grieke-scale p177d=1e-3)"
            )
        )
    by_source: dict[str, list[str]] = {}
    for b in bands:
        by_source.setdefault(sources[b], []).append(b)
    notes += [f"bandpasses {' '.join(bs)}: {src}" for src, bs in by_source.items()]
    inputs = [s.path for s in spectra] + [s.calspec.path for s in spectra if s.calspec is not None]
    prov = provenance("model_fluxes.py", inputs=inputs, options=options or {}, notes=notes)
    base = output_names(irac, grieke)
    with OutputSet() as out:
        for b in bands:
            w, r = bp[b]
            B.write_bandpass(out.stage(out_dir / f"bandpass_{b.lower()}.dat"), w, r, sources[b])
        write_table(table, out.stage(out_dir / f"{base}.fits"), "fits", prov)
        write_table(table, out.stage(out_dir / f"{base}.dat"), "ascii.ipac", prov)
        for spec in spectra:
            if spec.kind == "grieke":
                gt = grieke_jy_table(spec, unscaled=grieke_jy_copy == "unscaled")
                gnotes = spec.notes + (
                    [f"Jy copy written before the scaling by {spec.scale:g} (--grieke-jy-copy unscaled)"]
                    if grieke_jy_copy == "unscaled" and spec.scale != 1.0
                    else []
                )
                gprov = provenance("model_fluxes.py", inputs=[spec.path], options=options or {}, notes=gnotes)
                write_table(gt, out.stage(out_dir / f"grieke23_{spec.key}.fits"), "fits", gprov)
                write_table(gt, out.stage(out_dir / f"grieke23_{spec.key}_ipac.dat"), "ascii.ipac", gprov)
        if fig_format:
            for spec in spectra:
                name = spec.path.name.rsplit(".", 1)[0] + f"_absfluxbands.{fig_format}"
                plot_model(spec, out.stage(out_dir / name), fig_format)
        written = out.finals
    log.info(
        "wrote %s (%d stars, %d bands) and %d other files",
        out_dir / f"{base}.fits",
        len(table),
        len(bands),
        len(written) - 1,
    )
    return written
