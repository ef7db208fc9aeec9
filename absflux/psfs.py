"""Step 2: model PSFs of the 14 MIRI filters (spec 3.5) and the optional cruciform (spec 3.6).

:func:`calc_webbpsf` writes ``PSFs/miri_<F>_psf.fits`` with the stpsf layout
(extensions OVERSAMP, DET_SAMP, OVERDIST, DET_DIST).  The real stpsf is used
when its data package is installed (``$STPSF_PATH``); otherwise the project's
physical model (:func:`absflux.psf_model.compute_psf`) makes the same file.
The keyword ``PSFMODEL`` of every extension says which (``stpsf`` or
``absflux-poppy``), and ``PSFSRC``/HISTORY cards in the primary header record
the settings and the software versions.

Parameters of spec 3.5: oversample 4; imager and FND: parity "even", field of
view 200 x 0.11" x FWHM (an even number of 0.11" pixels); coronagraphic
filters: parity "odd", 300 pixels, image mask ``CORON_IMAGE_MASK``, pupil
``CORON_PUPIL_MASK``, source offset ``CORON_SOURCE_OFFSET_PIX`` x 0.11" and
``normalize='exit_pupil'`` (the total through the stop is 1).  The project's
model ignores the image-plane mask (the star is far from it, see
``psf_model``) and records the star position as PSFCENX/PSFCENY.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from . import constants as C

log = logging.getLogger(__name__)

#: Field of view of the imager/FND PSFs, in units of the FWHM (spec 3.5).
FOV_FWHM = 200.0
#: Field of view of the coronagraphic PSFs [0.11" pixels] (spec 3.5).
CORON_FOV_PIXELS = 300
OVERSAMPLE = 4
PSF_DIR = "PSFs"
MODEL_CHOICES = ("auto", "stpsf", "absflux")


class PSFError(ValueError):
    """Bad input for the PSF step (one-line message)."""


def psf_path(root, filt: str) -> Path:
    """``root/PSFs/miri_<F>_psf.fits``."""
    return Path(root) / PSF_DIR / f"miri_{filt}_psf.fits"


def fov_pixels_for(filt: str, fov_fwhm: float = FOV_FWHM) -> int:
    """Field of view in 0.11" pixels: 300 for coronagraphy, else ``fov_fwhm x FWHM`` made even."""
    if filt in C.CORON_FILTERS:
        return CORON_FOV_PIXELS
    n = int(round(float(fov_fwhm) * C.FWHM[filt]))
    return max(n + (n % 2), 2)


def _stpsf_options(stpsf_path: str | None) -> tuple[object, bool, list[str]]:
    """pupilopd and include_si_wfe that the installed stpsf data support (with notes)."""
    base = Path(stpsf_path or os.environ.get("STPSF_PATH", ""))
    notes = []
    pupilopd: object = "default"
    si_wfe = True
    if not (base / "JWST_OTE_OPD_cycle1_example_2022-07-30.fits").is_file():
        pupilopd = None
        notes.append("stpsf data lack the default OTE OPD: pupilopd=None (perfect telescope)")
    if not (base / "si_zernikes_isim_cv3.fits").is_file():
        si_wfe = False
        notes.append("stpsf data lack the SI WFE model: include_si_wfe=False")
    return pupilopd, si_wfe, notes


def compute_model_psf(
    filt: str,
    model: str = "auto",
    fov_fwhm: float = FOV_FWHM,
    fov_pixels: int | None = None,
    oversample: int = OVERSAMPLE,
    nlambda: int | None = None,
    stpsf_path: str | os.PathLike | None = None,
):
    """The model PSF of one filter, with the spec 3.5 settings.

    Parameters
    ----------
    filt : str
        One of the 14 MIRI filters.
    model : {'auto', 'stpsf', 'absflux'}
        'auto': stpsf when its data are installed, else the project's model.
    fov_fwhm : float
        Imager/FND field of view in FWHM (default 200, spec 3.5).
    fov_pixels : int or None
        Explicit field of view in 0.11" pixels (overrides ``fov_fwhm``).
    oversample : int
        Oversampling (default 4).
    nlambda : int or None
        Wavelengths (None: stpsf's default per filter, 10 for the project's model).
    stpsf_path : path or None
        stpsf data directory (default ``$STPSF_PATH``).

    Returns
    -------
    (astropy.io.fits.HDUList, dict)
        The PSF and a record of what made it (model, settings, notes).
    """
    from . import psf_model as PM

    filt = str(filt).upper()
    if filt not in C.ALL_FILTERS:
        raise PSFError(f"unknown filter {filt!r}")
    if model not in MODEL_CHOICES:
        raise PSFError(f"unknown PSF model {model!r}; expected one of {MODEL_CHOICES}")
    npix = int(fov_pixels) if fov_pixels else fov_pixels_for(filt, fov_fwhm)
    coron = filt in C.CORON_FILTERS
    have_stpsf = PM.stpsf_data_available(stpsf_path)
    if model == "stpsf" and not have_stpsf:
        raise PSFError("--model stpsf: the stpsf data package is not installed (set STPSF_PATH)")
    use = "stpsf" if (model == "stpsf" or (model == "auto" and have_stpsf)) else "absflux"
    record = {
        "filter": filt,
        "fov_pixels": npix,
        "oversample": int(oversample),
        "normalize": "exit_pupil" if coron else "first",
        "parity": "odd" if coron else "even",
        "notes": [],
    }
    if coron:
        record["image_mask"] = C.CORON_IMAGE_MASK[filt]
        record["pupil_mask"] = C.CORON_PUPIL_MASK[filt]
        record["source_offset_pix"] = list(C.CORON_SOURCE_OFFSET_PIX)
    if use == "stpsf":
        pupilopd, si_wfe, notes = _stpsf_options(str(stpsf_path) if stpsf_path else None)
        record["notes"] += notes
        hdul = PM.stpsf_psf(
            filt,
            fov_pixels=npix,
            oversample=oversample,
            nlambda=nlambda,
            stpsf_path=stpsf_path,
            pupilopd=pupilopd,
            include_si_wfe=si_wfe,
            normalize=record["normalize"],
        )
        record["model"] = "stpsf"
    else:
        if model == "auto":
            record["notes"].append("stpsf data not installed: PSF from the project's physical model (psf_model)")
        hdul = PM.compute_psf(
            filt,
            fov_pixels=npix,
            oversample=oversample,
            nlambda=int(nlambda or 10),
            normalize=record["normalize"],
            source_offset=tuple(float(v) for v in C.CORON_SOURCE_OFFSET_PIX) if coron else (0.0, 0.0),
        )
        record["model"] = PM.PSFMODEL_NAME
    for note in record["notes"]:
        log.info("%s: %s", filt, note)
    return hdul, record


def simulation_psf(campaign, filt: str):
    """The exact PSF a simulated campaign injected for ``filt`` (its settings and PSF cache).

    The project's model depends on its settings at the percent level (stpsf's
    cruciform kernel grows with the field of view: F770W EE(54.7 px) = 0.960 for
    128 pixels, 0.944 for 240), so a closed-loop check must use the same ones.

    Parameters
    ----------
    campaign : path
        Root of a simulated campaign (``truth.ecsv`` with ``psf`` metadata).
    filt : str
        Filter.

    Returns
    -------
    (astropy.io.fits.HDUList, dict)
    """
    from astropy.table import Table

    from . import psf_model as PM
    from .simulate import psf_kwargs

    truth = Path(campaign) / "truth.ecsv"
    if not truth.is_file():
        raise PSFError(f"{truth}: not a simulated campaign (no truth.ecsv) for --like-simulation")
    meta = Table.read(truth, format="ascii.ecsv").meta
    if "psf" not in meta:
        raise PSFError(f"{truth}: no 'psf' settings in the metadata")
    d = Path(meta.get("psf_dir", "sim_psfs"))
    d = d if d.is_absolute() else Path(campaign) / d
    pinned = (meta.get("psf_files") or {}).get(filt)
    kw = psf_kwargs(filt, dict(meta["psf"]))
    if pinned and (d / pinned).is_file():
        hdul, src = PM._read_hdulist(d / pinned), str(d / pinned)
    else:
        hdul, src = PM.psf_library(filt, d, **kw), f"psf_library({d})"
    record = {
        "filter": filt,
        "model": PM.PSFMODEL_NAME + " (simulation settings)",
        "fov_pixels": int(kw.get("fov_pixels", 256)),
        "oversample": int(kw.get("oversample", 4)),
        "normalize": kw.get("normalize", "first"),
        "parity": "even",
        "notes": [f"PSF of the simulated campaign {Path(campaign).name}: {src}, settings {kw}"],
    }
    return hdul, record


def calc_webbpsf(root, filt: str, out=None, like_simulation: bool = False, **kwargs) -> Path:
    """Compute and write ``PSFs/miri_<F>_psf.fits`` (spec 3.5), atomically.

    Parameters
    ----------
    root : path
        Campaign root (the file goes to ``root/PSFs``).
    filt : str
        Filter.
    out : path or None
        Output file (default :func:`psf_path`).
    like_simulation : bool
        Write the PSF the simulated campaign at ``root`` injected (:func:`simulation_psf`).
    **kwargs
        Passed to :func:`compute_model_psf`.

    Returns
    -------
    Path
        The file written.
    """
    from .io_utils import atomic_path, clean_stale_temporaries, software_versions, write_errors

    path = Path(out) if out is not None else psf_path(root, filt)
    hdul, rec = simulation_psf(root, filt) if like_simulation else compute_model_psf(filt, **kwargs)
    log.info("%s: PSF from %s, %d px field, oversample %d", filt, rec["model"], rec["fov_pixels"], rec["oversample"])
    h = hdul[0].header
    h["PSFSRC"] = (rec["model"], "stpsf or absflux-poppy (project model)")
    h["PSFNORM"] = (rec["normalize"], "PSF normalisation")
    h["PSFPARIT"] = (rec["parity"], "PSF parity")
    vers = software_versions(("absflux", "stpsf", "poppy", "numpy", "astropy"))
    for k, v in vers.items():
        h.add_history(f"{k} {v}")
    for note in rec["notes"]:
        h.add_history(note)
    h.add_history("written by absflux.psfs.calc_webbpsf (calc_webbpsfs.py)")
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(path.parent)
    # unique temporary, removed on any failure; a write error names the PSF file
    with write_errors(path), atomic_path(path) as tmp:
        hdul.writeto(tmp, overwrite=True)
    return path


def read_psf(path, filt: str | None = None):
    """Read a PSF file written by :func:`calc_webbpsf` (one-line error if missing or unreadable).

    Returns
    -------
    astropy.io.fits.HDUList
        In memory (file closed).
    """
    from astropy.io import fits

    path = Path(path)
    if not path.is_file():
        hint = f" (run calc_webbpsfs.py --filter {filt})" if filt else ""
        raise PSFError(f"{path}: PSF file not found{hint}")
    from .io_utils import truncation_is_an_error

    try:
        with truncation_is_an_error(), fits.open(path, memmap=False) as h:
            out = fits.HDUList([hdu.copy() for hdu in h])
    except Exception as exc:
        raise PSFError(f"{path}: unreadable PSF file ({type(exc).__name__}: {exc})") from None
    if len(out) < 3 or out[2].data is None or np.ndim(out[2].data) != 2:
        raise PSFError(f"{path}: PSF file lacks the OVERDIST extension (ext 2)")
    return out


# --------------------------------------------------------------------------
# Cruciform (spec 3.6)
# --------------------------------------------------------------------------
def cruciform_kernel_1d(filt: str, n: int, oversample: int) -> np.ndarray:
    """1-D cruciform kernel A exp(-|x| s) / oversample, 0 for |x| < 3 detector pixels.

    x = offset of each oversampled sample from the centre, in detector pixels.
    The kernel has an odd length (``n`` or ``n + 1``) and is centred on a
    sample, so the convolution does not shift the image (the original used
    x = (i - (n - 1)/2)/oversample with an even n, a half-sample offset).
    """
    if filt not in C.CRUCIFORM_AMPLITUDE:
        raise PSFError(f"no cruciform constants for {filt} (only {', '.join(C.CRUCIFORM_AMPLITUDE)})")
    m = n + 1 - (n % 2)
    x = (np.arange(m) - (m - 1) / 2.0) / oversample
    k = C.CRUCIFORM_AMPLITUDE[filt] * np.exp(-np.abs(x) * C.CRUCIFORM_SLOPE[filt]) / oversample
    k[np.abs(x) < 3] = 0.0
    return k


def add_cruciform(image: np.ndarray, filt: str, oversample: int) -> tuple[np.ndarray, np.ndarray]:
    """PSF with the cruciform added (rescaled to the original total) and the cruciform image.

    The image is convolved separately with the 1-D kernel along rows and along
    columns (zero fill, kernel not normalised); the sum divided by
    oversample^2 is the cruciform (spec 3.6).
    """
    from scipy.signal import fftconvolve

    img = np.asarray(image, float)
    ky = cruciform_kernel_1d(filt, img.shape[0], oversample)
    kx = cruciform_kernel_1d(filt, img.shape[1], oversample)
    rows = fftconvolve(img, kx[None, :], mode="same", axes=1)
    cols = fftconvolve(img, ky[:, None], mode="same", axes=0)
    cruc = (rows + cols) / oversample**2
    total = img.sum()
    new = img + cruc
    new *= total / new.sum()
    return new, cruc
