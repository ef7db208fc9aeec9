"""Physical PSF model of the MIRI imager, coronagraphic filters and FND.

This is the project's own PSF model (``PSFMODEL = 'absflux-poppy'``), used

* by the campaign simulator, which renders the oversampled PSF at sub-pixel
  star positions (:func:`psf_library`, :func:`render_psf`, :class:`PSFRenderer`);
* by ``calc_webbpsfs`` when the stpsf data package is not installed: the
  :func:`compute_psf` HDUList has the stpsf layout (spec 3.5: extensions
  OVERSAMP, DET_SAMP, OVERDIST, DET_DIST; keywords PIXELSCL, OVERSAMP,
  DET_SAMP, FILTER) plus ``PSFMODEL`` saying which model made it.  The real
  stpsf path is :func:`stpsf_psf` (``PSFMODEL = 'stpsf'``);
* as the injected truth of the aperture corrections of the closed-loop tests
  (:func:`true_aperture_corrections`).

Model (OFFLINE_JWST.md, Part D)
-------------------------------
Optics
    poppy's analytic 18-segment JWST pupil: ``MultiHexagonAperture``
    (flat-to-flat 1.32 m, gap 0.007 m, 2 rings, no central segment) times
    ``SecondaryObscuration`` (radius 0.37 m, 3 supports 0.10 m wide), in a
    6.603464 m pupil, no wavefront error.  The supports are rotated by 90 deg
    (``support_angle_offset``) so that the single strut points along +y, as
    the V3 strut of the real pupil does.  The pupil is sampled once per
    process (``functools.lru_cache``) on a grey grid: poppy samples it on a
    grid ``PUPIL_SUPERSAMPLE`` times finer, and the result is block-averaged.
    Propagation to the detector is a matrix Fourier transform
    (same maths as ``poppy.matrixDFT``; :func:`_mft_intensity` agrees with
    ``poppy.OpticalSystem.calc_psf`` to 1e-15, see the tests) that uses the
    left-right symmetry of the pupil to halve the work.  Two corrections make
    the grey pupil behave like the continuous one: the intensity is
    normalised by the pupil *area* (sum of the grey amplitudes, not of their
    squares) and divided by the transfer function of the grey-pixel box,
    ``sinc^2(theta dx / lambda)``.  With them the flux in a 28" field and
    the encircled energies agree to ~1e-4 for pupil grids from 512 to 4096
    samples (binary or grey); without them a grey pupil biases EE by ~0.4 %.
Polychromatic weights
    The filter throughput is ``absflux.bands.tynt_bandpass`` (tynt's SVO
    profiles of the 13 imager and coronagraphic filters, fully offline; FND is
    in no offline package, so the project's documented synthetic FND curve,
    ``bands.synthetic_fnd_bandpass``, pivot 12.9 micron, is used).  As in
    poppy/stpsf, the range where the throughput exceeds 10 % of its peak is
    cut in ``nlambda`` equal bins, each represented by its centre and weighted
    by the photon rate of a ``source_teff`` blackbody (default 5700 K, stpsf's
    default source) through the filter in that bin.
Pixel scale
    0.11 arcsec per detector pixel (``PIXEL_SCALE``), ``oversample`` times
    finer for the OVER* extensions.
Jitter
    A 7 mas (1 sigma per axis) Gaussian line-of-sight jitter, applied, as in
    stpsf, to the oversampled image before any detector effect, i.e. in all
    four extensions.  It is applied exactly, in Fourier space (stpsf's
    ``scipy.ndimage.gaussian_filter`` with a 0.25 px sigma nearly does
    nothing).
Detector effects (OVERDIST, DET_DIST only; OVERSAMP, DET_SAMP are optics + jitter)
    stpsf's data-free MIRI models, in stpsf's order:
    ``stpsf.detectors.apply_miri_scattering`` (the cruciform; its amplitude
    comes from ``get_miri_cruciform_amplitude``, zero from F1500W on and for
    F1550C/F2300C, where the call is skipped) on the oversampled image; then
    binning to DET_DIST; then the MIRI IPC 3x3 kernel
    (``stpsf.constants.INSTRUMENT_IPC_DEFAULT_KERNEL_PARAMETERS['MIRI']``) on
    DET_DIST and, as an oversampled comb kernel (``oversample`` fine pixels
    apart, stpsf's ``oversample_ipc_model``), on OVERDIST.  Not modelled:
    the SIAF geometric distortion (the PSF is computed directly on the
    0.11" grid of the resampled mosaics) and stpsf's 1 mas MIRI charge
    diffusion (negligible).
Coronagraphic filters
    The calibration star is observed far from the mask (74, -72 pixels from
    its centre, spec 3.5), so the PSF is the imager PSF seen through the
    coronagraph's pupil (Lyot) stop; the image-plane mask is ignored (in
    stpsf, the EE of the star 74, -72 pixels off the mask differs from that
    of the stop alone by <= 0.012 at 1-20 pixels).  The stops are approximated
    (``CORON_STOP_MODEL``) by an undersized circular annulus with opaque
    radial bars, multiplied into the telescope pupil: 6 bars 0.40 m wide
    every 60 deg for the 4QPM stop (MASKFQPM), 3 bars 0.40 m wide over the
    telescope struts for the Lyot stop (MASKLYOT).  The parameters were
    fitted, offline and once, to stpsf's ``MIRI_FQPMLyotStop`` /
    ``MIRI_LyotLyotStop`` times its RevW pupil: same transmitted fraction
    (0.611 / 0.709), and the EE of the resulting F1065C / F2300C PSFs at 1-20
    pixels matches stpsf's to 0.005 rms (0.011 max).  A plain annulus of the
    same throughput cannot do that for the 4QPM stop (its EE at 6-15 pixels
    was 0.05-0.10 too high): the real stop cuts the pupil into separate
    islands, which puts light in the 1-2" halo.  The bars are an effective
    description of that, not the true shape.
Normalisation
    ``normalize='first'`` (default): the image is a fraction of the flux that
    enters the telescope pupil, so its sum is the fraction that lands in the
    computed field (and is < 1 even more so behind a coronagraph stop);
    ``'exit_pupil'``: a fraction of the flux transmitted by the last pupil
    (the stop), as poppy/stpsf's option of that name, which the original
    calc_webbpsfs uses for coronagraphy.  Identical for imager filters/FND.

Timing (2 cores, fov 256 px, oversample 4 -> 1024^2 output, nlambda 10)
-------------------------------------------------------------------------
Measured on an otherwise idle machine; with the other cores busy (load 4)
everything takes ~2.3x longer.  Once per process: pupil sampling 3.3 s
(poppy on 2048^2 points, block-averaged to 1024^2), stpsf import 1.9 s,
tynt 0.5 s.  Per PSF: MFT 0.13 s per wavelength (poppy's own
``OpticalSystem.calc_psf`` takes 0.9 s per wavelength, 6.5 s for 10 with
the analytic pupil), cruciform 0.6 s (only filters with a non-zero
amplitude), jitter, binning and IPC 0.1 s: F770W 1.8 s, F2100W 0.7 s (no
cruciform), coronagraphic filters the same (their stop pupil is made from
the cached sampling in 0.2 s).  stpsf itself needs 8-9 s.  :func:`psf_library` pays this once per
filter; a cached PSF loads in 0.03 s.  :func:`render_psf` of a 256 x 256
stamp (or the whole detector) from a 1024^2 PSF: ~25 ms (35 ms under load);
with a reused :class:`PSFRenderer` ~10 ms (20 ms under load).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from astropy.io import fits

from . import constants as C

__all__ = [
    "MODEL_VERSION",
    "PSFMODEL_NAME",
    "PIXEL_SCALE",
    "PSFRenderer",
    "compute_psf",
    "coronagraph_stop_transmission",
    "encircled_energy",
    "filter_throughput",
    "jwst_pupil",
    "model_encircled_energy",
    "psf_library",
    "render_psf",
    "stpsf_data_available",
    "stpsf_psf",
    "true_aperture_corrections",
    "wavelength_weights",
]

#: Version of this model; part of every cache key and written as MODELVER.
MODEL_VERSION = "1.0"
#: Value of the PSFMODEL keyword of the PSFs made here ('stpsf' for stpsf's).
PSFMODEL_NAME = "absflux-poppy"

#: Detector pixel scale of the model [arcsec].
PIXEL_SCALE = 0.11
#: Pupil geometry [m] (OFFLINE_JWST.md Part D).
PUPIL_DIAMETER = 6.603464
SEGMENT_FLAT_TO_FLAT = 1.32
SEGMENT_GAP = 0.007
SECONDARY_RADIUS = 0.37
SUPPORT_WIDTH = 0.10
N_SUPPORTS = 3
#: Rotation of poppy's supports so that one strut points along +y (V3) [deg].
SUPPORT_ANGLE_OFFSET = 90.0
#: Default number of samples across the pupil, and poppy sub-samples per sample.
PUPIL_NPIX = 1024
PUPIL_SUPERSAMPLE = 2
#: Line-of-sight jitter, 1 sigma per axis [arcsec].
JITTER_SIGMA = 0.007
#: Source spectrum of the wavelength weights (blackbody temperature, K).
SOURCE_TEFF = 5700.0
#: Fraction of the peak throughput that bounds the wavelength range (poppy: 10 %).
THROUGHPUT_CUT = 0.10
#: Detector position of the PSF (DET_X, DET_Y); it only shifts the cruciform.
DETECTOR_POSITION = (512, 512)

#: Approximation of the coronagraph pupil stops, multiplied into the telescope
#: pupil: an annulus r_in..r_out [m] minus opaque bars ``bar_width`` [m] wide
#: running from the centre outwards at ``bar_angles`` [deg, from +x towards
#: +y, the direction of the vertical strut].  Fitted to stpsf's stop files
#: times the RevW pupil (transmission 0.611 / 0.709 and the EE profile of the
#: F1065C / F2300C PSFs, see the module docstring).
CORON_STOP_MODEL = {
    "MASKFQPM": {
        "r_in": 1.100,
        "r_out": 2.805,
        "bar_width": 0.40,
        "bar_angles": (0.0, 60.0, 120.0, 180.0, 240.0, 300.0),
    },
    "MASKLYOT": {"r_in": 1.000, "r_out": 2.772, "bar_width": 0.40, "bar_angles": (90.0, 210.0, 330.0)},
}

_ARCSEC = np.pi / (180.0 * 3600.0)
_EXTNAMES = ("OVERSAMP", "DET_SAMP", "OVERDIST", "DET_DIST")


# --------------------------------------------------------------------------
# Filters and wavelength weights
# --------------------------------------------------------------------------
def _check_filter(filt: str) -> str:
    f = str(filt).upper()
    if f not in C.ALL_FILTERS:
        raise ValueError(f"unknown MIRI filter {filt!r}; expected one of {C.ALL_FILTERS}")
    return f


@functools.cache
def filter_throughput(filt: str) -> tuple[np.ndarray, np.ndarray]:
    """Throughput curve used for the wavelength weights.

    Parameters
    ----------
    filt : str
        MIRI filter name (one of ``constants.ALL_FILTERS``).

    Returns
    -------
    wave_um, throughput : ndarray
        Wavelength [micron] (increasing) and throughput (>= 0).  tynt's
        offline SVO profile for the 13 imager and coronagraphic filters; the
        project's synthetic curve (``bands.synthetic_fnd_bandpass``) for FND.
    """
    from .bands import tynt_bandpass

    wave, resp = tynt_bandpass(_check_filter(filt))
    wave = np.asarray(wave, float) / 1e4
    resp = np.clip(np.asarray(resp, float), 0.0, None)
    order = np.argsort(wave)
    wave, resp = wave[order], resp[order]
    wave.flags.writeable = False
    resp.flags.writeable = False
    return wave, resp


def _photon_spectrum(wave_um: np.ndarray, teff: float) -> np.ndarray:
    """Photon rate per unit wavelength of a blackbody (arbitrary units)."""
    x = 14387.7688 / (wave_um * teff)  # h c / (lambda k T), lambda in micron
    return wave_um**-4 / np.expm1(x)


def wavelength_weights(filt: str, nlambda: int = 10, source_teff: float = SOURCE_TEFF) -> tuple[np.ndarray, np.ndarray]:
    """Wavelengths and weights of the polychromatic PSF.

    Parameters
    ----------
    filt : str
        MIRI filter.
    nlambda : int
        Number of wavelengths.
    source_teff : float
        Temperature [K] of the blackbody source whose photon rate weights the
        throughput (the default, 5700 K, is stpsf's default source; MIRI is on
        the Rayleigh-Jeans side for all calibration stars).

    Returns
    -------
    wavelengths : ndarray
        Bin centres [m] of ``nlambda`` equal bins spanning the range where the
        throughput exceeds 10 % of its peak (poppy's rule).
    weights : ndarray
        Photon rate through the filter in each bin, normalised to sum 1.
    """
    if nlambda < 1:
        raise ValueError("nlambda must be >= 1")
    wave, resp = filter_throughput(filt)
    good = resp > THROUGHPUT_CUT * resp.max()
    wmin, wmax = wave[good].min(), wave[good].max()
    edges = np.linspace(wmin, wmax, nlambda + 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    weights = np.empty(nlambda)
    for i in range(nlambda):
        w = np.linspace(edges[i], edges[i + 1], 201)
        y = np.interp(w, wave, resp) * _photon_spectrum(w, source_teff)
        weights[i] = np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(w))
    if nlambda == 1:  # a single wavelength: the photon-weighted mean
        w = np.linspace(wmin, wmax, 2001)
        y = np.interp(w, wave, resp) * _photon_spectrum(w, source_teff)
        centres = np.array([np.sum(w * y) / np.sum(y)])
    return centres * 1e-6, weights / weights.sum()


# --------------------------------------------------------------------------
# Pupil
# --------------------------------------------------------------------------
def _poppy_pupil_optic():
    import astropy.units as u
    import poppy

    hexes = poppy.MultiHexagonAperture(
        flattoflat=SEGMENT_FLAT_TO_FLAT * u.m, gap=SEGMENT_GAP * u.m, rings=2, center=False
    )
    sec = poppy.SecondaryObscuration(
        secondary_radius=SECONDARY_RADIUS * u.m,
        n_supports=N_SUPPORTS,
        support_width=SUPPORT_WIDTH * u.m,
        support_angle_offset=SUPPORT_ANGLE_OFFSET,
    )
    return poppy.CompoundAnalyticOptic(opticslist=[hexes, sec], name="JWST 18-segment pupil (poppy analytic)")


def _stop_mask(n: int, diameter: float, r_in: float, r_out: float, bar_width: float, bar_angles) -> np.ndarray:
    """Binary stop: annulus minus radial bars, on n x n points (rows y, columns x)."""
    coord = (np.arange(n) - (n - 1) / 2.0) * (diameter / n)
    x, y = coord[None, :], coord[:, None]
    r2 = x**2 + y**2
    mask = (r2 >= r_in**2) & (r2 <= r_out**2)
    for ang in np.deg2rad(np.asarray(bar_angles, float)):
        along = np.cos(ang) * x + np.sin(ang) * y
        across = -np.sin(ang) * x + np.cos(ang) * y
        mask &= ~((np.abs(across) < bar_width / 2.0) & (along > 0))
    return mask.astype(float)


@functools.lru_cache(maxsize=2)
def _poppy_sampled_pupil(n: int) -> np.ndarray:
    """poppy's analytic pupil sampled on n x n points across PUPIL_DIAMETER (cached)."""
    pup = _poppy_pupil_optic().sample(wavelength=10e-6, npix=n, grid_size=PUPIL_DIAMETER, what="amplitude")
    pup = np.asarray(pup, float)
    pup.flags.writeable = False
    return pup


@functools.lru_cache(maxsize=8)
def _pupil_cached(npix: int, supersample: int, stop: str | None) -> np.ndarray:
    if npix % 2:
        raise ValueError("npix must be even")
    n = npix * supersample
    pup = _poppy_sampled_pupil(n)
    if stop is not None:
        pup = pup * _stop_mask(n, PUPIL_DIAMETER, **CORON_STOP_MODEL[stop])
    if supersample > 1:
        pup = pup.reshape(npix, supersample, npix, supersample).mean(axis=(1, 3))
    else:
        pup = pup.copy()
    pup.flags.writeable = False
    return pup


def jwst_pupil(npix: int = PUPIL_NPIX, supersample: int = PUPIL_SUPERSAMPLE, stop: str | None = None) -> np.ndarray:
    """Grey amplitude transmission of the model pupil.

    Parameters
    ----------
    npix : int
        Samples across ``PUPIL_DIAMETER`` (even).
    supersample : int
        poppy samples the analytic pupil ``supersample`` times finer; the
        result is block-averaged (area-fraction grey pixels).
    stop : str or None
        None for the imager; ``'MASKFQPM'`` or ``'MASKLYOT'`` multiplies the
        approximation of that coronagraph stop (``CORON_STOP_MODEL``, on the
        fine grid, before averaging).

    Returns
    -------
    ndarray
        (npix, npix) read-only array in [0, 1]; rows are y, columns x.  Cached
        per process (the poppy sampling, ~3 s for the default, is done once).
    """
    if stop is not None and stop not in CORON_STOP_MODEL:
        raise ValueError(f"unknown stop {stop!r}; expected one of {tuple(CORON_STOP_MODEL)}")
    return _pupil_cached(int(npix), int(supersample), stop)


def coronagraph_stop_transmission(filt: str) -> float:
    """Fraction of the entrance-pupil flux transmitted by the stop of ``filt`` (1 for imager/FND)."""
    stop = C.CORON_PUPIL_MASK.get(_check_filter(filt))
    if stop is None:
        return 1.0
    return float(jwst_pupil(stop=stop).sum() / jwst_pupil().sum())


def _auto_pupil_npix(half_extent_arcsec: float, lam_min: float) -> int:
    """Pupil samples so that the aliasing period lambda/dx is >= 8 x the largest distance from the star."""
    need = 8.0 * half_extent_arcsec * _ARCSEC * PUPIL_DIAMETER / lam_min
    return int(max(PUPIL_NPIX, 256 * np.ceil(need / 256.0)))


# --------------------------------------------------------------------------
# Propagation
# --------------------------------------------------------------------------
def _mft_intensity(
    pupil: np.ndarray, wavelength: float, thx: np.ndarray, thy: np.ndarray, area: float, box_correction: bool = True
) -> np.ndarray:
    """Far-field intensity of a real pupil at the angles thx, thy [rad].

    Returns the intensity per output sample (point value times the sample
    solid angle) as a fraction of the flux through a pupil of ``area``
    (in pupil samples), divided by the grey-pixel box transfer function
    ``sinc^2`` if ``box_correction``.
    The pupil must be left-right symmetric (the JWST model is), so the x
    transform is a real cosine transform over half the pupil; when ``thx`` is
    symmetric about 0 only half of the output columns are computed.
    """
    n = pupil.shape[0]
    dx = PUPIL_DIAMETER / n
    coord = (np.arange(n) - (n - 1) / 2.0) * dx
    half = n // 2
    k = 2.0 * np.pi / wavelength
    sym_out = np.allclose(thx, -thx[::-1], rtol=0, atol=1e-15)
    tx = thx[(thx.size // 2) :] if sym_out else thx
    cx = 2.0 * np.cos(k * np.outer(tx, coord[half:]))  # (ntx, n/2)
    m = pupil[:, half:] @ cx.T  # (n, ntx): real x-transform
    arg = k * np.outer(thy, coord)  # (nty, n)
    re = np.cos(arg) @ m
    im = np.sin(arg) @ m
    inten = re * re + im * im
    if sym_out:
        first = inten[:, ::-1] if thx.size % 2 == 0 else inten[:, :0:-1]
        inten = np.concatenate([first, inten], axis=1)
    dthx = abs(thx[1] - thx[0]) if thx.size > 1 else 1.0
    dthy = abs(thy[1] - thy[0]) if thy.size > 1 else 1.0
    inten *= dx**2 * dthx * dthy / (wavelength**2 * area)
    if box_correction:
        sx = np.sinc(thx * dx / wavelength) ** 2
        sy = np.sinc(thy * dx / wavelength) ** 2
        inten /= sy[:, None] * sx[None, :]
    return inten


def _gaussian_blur_fft(img: np.ndarray, sigma_pix: float) -> np.ndarray:
    """Exact (band-limited) convolution with a Gaussian of ``sigma_pix`` samples."""
    if not sigma_pix or sigma_pix <= 0:
        return img
    pad = int(np.ceil(6 * sigma_pix)) + 2
    a = np.pad(img, pad)
    fy = np.fft.fftfreq(a.shape[0])[:, None]
    fx = np.fft.rfftfreq(a.shape[1])[None, :]
    tf = np.exp(-2.0 * np.pi**2 * sigma_pix**2 * (fx**2 + fy**2))
    out = np.fft.irfft2(np.fft.rfft2(a) * tf, s=a.shape)
    return out[pad:-pad, pad:-pad]


def _box_convolve(img: np.ndarray, width: float, n: int) -> np.ndarray:
    """Convolve ``n`` times with a centred square box ``width`` samples wide (Fourier space)."""
    if n <= 0:
        return img
    pad = int(np.ceil(n * width)) + 4
    a = np.pad(img, pad)
    fy = np.fft.fftfreq(a.shape[0])[:, None]
    fx = np.fft.rfftfreq(a.shape[1])[None, :]
    tf = (np.sinc(width * fx) * np.sinc(width * fy)) ** n
    out = np.fft.irfft2(np.fft.rfft2(a) * tf, s=a.shape)
    return out[pad:-pad, pad:-pad]


def _rebin(img: np.ndarray, factor: int) -> np.ndarray:
    ny, nx = img.shape
    return img.reshape(ny // factor, factor, nx // factor, factor).sum(axis=(1, 3))


def _ipc_kernel() -> tuple[float, float, float]:
    stpsf = _import_stpsf()
    alpha, beta, c = stpsf.constants.INSTRUMENT_IPC_DEFAULT_KERNEL_PARAMETERS["MIRI"]
    return float(alpha), float(beta), float(c)


def _shifted(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """img shifted by (dy, dx) samples with zero fill: out[y, x] = img[y - dy, x - dx]."""
    out = np.zeros_like(img)
    ny, nx = img.shape
    ys, yd = (slice(0, ny - dy), slice(dy, ny)) if dy >= 0 else (slice(-dy, ny), slice(0, ny + dy))
    xs, xd = (slice(0, nx - dx), slice(dx, nx)) if dx >= 0 else (slice(-dx, nx), slice(0, nx + dx))
    out[yd, xd] = img[ys, xs]
    return out


def _apply_ipc(img: np.ndarray, step: int) -> np.ndarray:
    """MIRI IPC kernel [[c, b, c], [a, 1-2a-2b-4c, a], [c, b, c]] with taps ``step`` samples apart.

    ``step`` = 1 on detector pixels, = oversample on the oversampled image
    (stpsf's comb kernel); zero outside the image, like astropy's convolve.
    """
    a, b, c = _ipc_kernel()
    out = (1.0 - 2 * a - 2 * b - 4 * c) * img
    s = step
    out += a * (_shifted(img, 0, s) + _shifted(img, 0, -s))
    out += b * (_shifted(img, s, 0) + _shifted(img, -s, 0))
    out += c * (_shifted(img, s, s) + _shifted(img, s, -s) + _shifted(img, -s, s) + _shifted(img, -s, -s))
    return out


@contextlib.contextmanager
def _env(var: str, value: str | None):
    old = os.environ.get(var)
    if value is not None:
        os.environ[var] = value
    try:
        yield
    finally:
        if value is not None:
            if old is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = old


def _import_stpsf():
    """Import stpsf; if STPSF_PATH is unset, point it at an empty directory during the import."""
    import sys

    if "stpsf" in sys.modules and hasattr(sys.modules["stpsf"], "detectors"):
        return sys.modules["stpsf"]
    tmp = None if os.environ.get("STPSF_PATH") else tempfile.mkdtemp(prefix="absflux_stpsf_empty_")
    try:
        with _env("STPSF_PATH", tmp):
            import stpsf
            import stpsf.constants  # noqa: F401
            import stpsf.detectors  # noqa: F401
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.rmdir(tmp)
    return stpsf


def _miri_scattering(image: np.ndarray, header: fits.Header, oversample: int) -> tuple[np.ndarray, fits.Header]:
    """stpsf's cruciform (``apply_miri_scattering``) on an oversampled image."""
    stpsf = _import_stpsf()
    amp = stpsf.detectors.get_miri_cruciform_amplitude(header["FILTER"])
    if amp == 0:  # stpsf would add a zero kernel; skip the 2k x 2k FFT
        h = fits.Header()
        h["MIR_DIST"] = ("True", "MIRI detector scattering applied")
        h["KERN_AMP"] = (0.0, "Amplitude (A) in kernel function A*exp(-x/B)")
        h["KERNFOLD"] = (25, "e-folding length (B) in kernel func A*exp(-x/B)")
        return image.copy(), h
    h0 = fits.Header()
    for key in ("INSTRUME", "FILTER", "DET_X", "DET_Y", "WAVELEN"):
        h0[key] = header[key]
    h1 = fits.Header()
    h1["DET_SAMP"] = oversample
    tmp = fits.HDUList([fits.PrimaryHDU(image, header=h0), fits.ImageHDU(image.copy(), header=h1)])
    out = stpsf.detectors.apply_miri_scattering(tmp)
    h = fits.Header()
    for key in ("MIR_DIST", "KERN_AMP", "KERNFOLD"):
        h[key] = (out[1].header[key], out[1].header.comments[key])
    return np.asarray(out[1].data, float), h


# --------------------------------------------------------------------------
# The PSF
# --------------------------------------------------------------------------
def compute_psf(
    filt: str,
    fov_pixels: int = 256,
    oversample: int = 4,
    nlambda: int = 10,
    detector_effects: bool = True,
    normalize: str = "first",
    jitter_sigma: float = JITTER_SIGMA,
    source_teff: float = SOURCE_TEFF,
    source_offset: tuple[float, float] = (0.0, 0.0),
    detector_position: tuple[float, float] = DETECTOR_POSITION,
    pupil_npix: int | None = None,
) -> fits.HDUList:
    """Polychromatic model PSF of a MIRI filter, in the stpsf file layout.

    Parameters
    ----------
    filt : str
        One of the 14 MIRI filters (imager, coronagraphic, FND).
    fov_pixels : int
        Field of view in 0.11" detector pixels (even: the star falls on a
        pixel corner at the array centre, like stpsf's even parity; odd: on a
        pixel centre).
    oversample : int
        Samples per detector pixel of OVERSAMP/OVERDIST.
    nlambda : int
        Number of wavelengths (see :func:`wavelength_weights`).
    detector_effects : bool
        Apply the cruciform and IPC to OVERDIST/DET_DIST; if False those two
        extensions are copies of OVERSAMP/DET_SAMP.
    normalize : {'first', 'exit_pupil'}
        'first': fraction of the entrance-pupil flux (the sum is the fraction
        that lands in the field, smaller behind a coronagraph stop);
        'exit_pupil': fraction of the flux transmitted by the stop
        (poppy/stpsf semantics; same as 'first' without a stop).
    jitter_sigma : float
        Gaussian jitter, 1 sigma per axis [arcsec]; 0 disables it.
    source_teff : float
        Blackbody temperature [K] of the source spectrum.
    source_offset : (float, float)
        (x, y) position of the star relative to the array centre, in detector
        pixels (e.g. ``constants.CORON_SOURCE_OFFSET_PIX`` with fov 300 gives
        the layout of the original coronagraphic PSFs).  Written as
        PSFCENX/PSFCENY (0-based, in the pixels of each extension).
    detector_position : (float, float)
        DET_X, DET_Y; only moves the cruciform by a fraction of a pixel.
    pupil_npix : int or None
        Samples across the pupil; default 1024, more for large fields (the
        aliasing period lambda/dx is kept >= 8 x the largest distance from the
        star in the field, at the shortest wavelength).

    Returns
    -------
    astropy.io.fits.HDUList
        ``[OVERSAMP (primary), DET_SAMP, OVERDIST, DET_DIST]``, float64.
        Headers carry PSFMODEL='absflux-poppy', MODELVER, INSTRUME, FILTER,
        PIXELSCL, OVERSAMP, DET_SAMP, FOV, WAVELEN, NWAVES, WAVEi/WGHTi,
        NORMALIZ, JITRTYPE/JITRSIGM, DET_NAME/DET_X/DET_Y, PSFCENX/PSFCENY,
        TOTFLUX (image sum), STOPTRAN; DET_* also CALCSAMP; the DIST
        extensions MIR_DIST/KERN_AMP/KERNFOLD and IPCINST/IPCTYPA/IPCTYPB.
    """
    filt = _check_filter(filt)
    if normalize not in ("first", "exit_pupil"):
        raise ValueError("normalize must be 'first' or 'exit_pupil'")
    fov_pixels, oversample = int(fov_pixels), int(oversample)
    if fov_pixels < 2 or oversample < 1:
        raise ValueError("fov_pixels must be >= 2 and oversample >= 1")
    waves, weights = wavelength_weights(filt, nlambda, source_teff)
    stop = C.CORON_PUPIL_MASK.get(filt)

    fov_arcsec = fov_pixels * PIXEL_SCALE
    half_extent = fov_arcsec / 2.0 + max(abs(source_offset[0]), abs(source_offset[1])) * PIXEL_SCALE
    npix = int(pupil_npix) if pupil_npix else _auto_pupil_npix(half_extent, waves.min())
    entrance = jwst_pupil(npix)
    pupil = jwst_pupil(npix, stop=stop) if stop else entrance
    stop_transmission = float(pupil.sum() / entrance.sum())
    area = float(entrance.sum() if normalize == "first" else pupil.sum())

    nout = fov_pixels * oversample
    pix = PIXEL_SCALE / oversample
    grid = (np.arange(nout) - (nout - 1) / 2.0) * pix
    thx = (grid - source_offset[0] * PIXEL_SCALE) * _ARCSEC
    thy = (grid - source_offset[1] * PIXEL_SCALE) * _ARCSEC
    image = np.zeros((nout, nout))
    for lam, w in zip(waves, weights, strict=True):
        image += w * _mft_intensity(pupil, lam, thx, thy, area)
    image = _gaussian_blur_fft(image, (jitter_sigma or 0.0) / pix)

    hdr = fits.Header()
    hdr["PSFMODEL"] = (PSFMODEL_NAME, "PSF model: absflux-poppy or stpsf")
    hdr["MODELVER"] = (MODEL_VERSION, "absflux.psf_model version")
    hdr["INSTRUME"] = ("MIRI", "Instrument")
    hdr["FILTER"] = (filt, "Filter name")
    hdr["WAVELEN"] = (float(np.sum(waves * weights)), "Weighted mean wavelength in meters")
    hdr["DIFFLMT"] = (float(np.sum(waves * weights)) / PUPIL_DIAMETER / _ARCSEC, "Diffraction limit lambda/D in arcsec")
    hdr["OVERSAMP"] = (oversample, "Oversampling factor of this image")
    hdr["DET_SAMP"] = (oversample, "Oversampling factor for MFT to detector plane")
    hdr["PIXELSCL"] = (pix, "Scale in arcsec/pix (after oversampling)")
    hdr["FOV"] = (fov_arcsec, "Field of view in arcsec (full array)")
    hdr["NWAVES"] = (len(waves), "Number of wavelengths used in calculation")
    for i, (lam, w) in enumerate(zip(waves, weights, strict=True)):
        hdr[f"WAVE{i}"] = (float(lam), f"Wavelength {i}")
        hdr[f"WGHT{i}"] = (float(w), f"Wavelength weight {i}")
    hdr["SRCTEFF"] = (float(source_teff), "[K] blackbody source of the weights")
    hdr["NORMALIZ"] = (normalize, "PSF normalization method")
    hdr["STOPTRAN"] = (stop_transmission, "Entrance flux fraction through the stop")
    hdr["PUPILINT"] = ("poppy 18-segment hex + secondary", "Pupil aperture source")
    hdr["PUPLNPIX"] = (npix, "Samples across the pupil")
    hdr["PUPLSUPS"] = (PUPIL_SUPERSAMPLE, "poppy sub-samples per pupil sample (grey)")
    hdr["PUPILOPD"] = ("NONE - perfect telescope", "Pupil OPD source")
    if stop:
        spec = CORON_STOP_MODEL[stop]
        hdr["PUPLSTOP"] = (stop, "Coronagraph stop (annulus + bars approximation)")
        hdr["STOPRIN"] = (spec["r_in"], "[m] inner radius of the approximate stop")
        hdr["STOPROUT"] = (spec["r_out"], "[m] outer radius of the approximate stop")
        hdr["STOPBARW"] = (spec["bar_width"], "[m] width of its radial bars")
        hdr["STOPNBAR"] = (len(spec["bar_angles"]), "number of radial bars")
    else:
        hdr["PUPLSTOP"] = ("NONE", "Coronagraph stop")
    hdr["JITRTYPE"] = ("Gaussian convolution" if jitter_sigma else "None", "Type of jitter applied")
    hdr["JITRSIGM"] = (float(jitter_sigma or 0.0), "Gaussian sigma for jitter, per axis [arcsec]")
    hdr["DET_NAME"] = ("MIRIM", "Name of detector on this instrument")
    hdr["DET_X"] = (float(detector_position[0]), "Detector X pixel position of array center")
    hdr["DET_Y"] = (float(detector_position[1]), "Detector Y pixel position of array center")
    hdr["SRCOFFX"] = (float(source_offset[0]), "[det pix] star x offset from the array centre")
    hdr["SRCOFFY"] = (float(source_offset[1]), "[det pix] star y offset from the array centre")

    def _hdu(data, name, samp, base, primary=False):
        h = base.copy()
        h["EXTNAME"] = name
        h["OVERSAMP"] = (samp, "Oversampling factor of this image")
        h["PIXELSCL"] = (PIXEL_SCALE / samp, "Scale in arcsec/pix (after oversampling)")
        if samp == 1:
            h["CALCSAMP"] = (oversample, "This much oversampling used in calculation")
        h["PSFCENX"] = ((data.shape[1] - 1) / 2.0 + source_offset[0] * samp, "0-based x of the star in this image")
        h["PSFCENY"] = ((data.shape[0] - 1) / 2.0 + source_offset[1] * samp, "0-based y of the star in this image")
        h["TOTFLUX"] = (float(data.sum()), "Sum of this image")
        cls = fits.PrimaryHDU if primary else fits.ImageHDU
        return cls(data, header=h)

    det = _rebin(image, oversample)
    dist_hdr = hdr.copy()
    if detector_effects:
        overdist, scat_hdr = _miri_scattering(image, hdr, oversample)
        detdist = _apply_ipc(_rebin(overdist, oversample), 1)
        overdist = _apply_ipc(overdist, oversample)
        dist_hdr.update(scat_hdr)
        a, b, c = _ipc_kernel()
        dist_hdr["IPCINST"] = ("MIRI", "Interpixel capacitance (IPC)")
        dist_hdr["IPCTYPA"] = (a, "coupling coefficient alpha")
        dist_hdr["IPCTYPB"] = (b, "coupling coefficient beta")
        dist_hdr["IPCTYPC"] = (c, "coupling coefficient c (diagonal)")
        dist_hdr["IPCFILE"] = ("stpsf.constants", "IPC model source file")
        dist_hdr["DETEFFCT"] = (True, "Detector effects (cruciform, IPC) applied")
    else:
        overdist, detdist = image.copy(), det.copy()
        dist_hdr["DETEFFCT"] = (False, "Detector effects (cruciform, IPC) applied")

    return fits.HDUList(
        [
            _hdu(image, "OVERSAMP", oversample, hdr, primary=True),
            _hdu(det, "DET_SAMP", 1, hdr),
            _hdu(overdist, "OVERDIST", oversample, dist_hdr),
            _hdu(detdist, "DET_DIST", 1, dist_hdr),
        ]
    )


def _cache_key(filt: str, params: dict) -> tuple[str, dict]:
    from importlib.metadata import PackageNotFoundError, version

    vers = {}
    for pkg in ("poppy", "stpsf", "tynt", "numpy"):
        try:
            vers[pkg] = version(pkg)
        except PackageNotFoundError:
            vers[pkg] = None
    constants = {
        "pixel_scale": PIXEL_SCALE,
        "pupil": [PUPIL_DIAMETER, SEGMENT_FLAT_TO_FLAT, SEGMENT_GAP, SECONDARY_RADIUS, SUPPORT_WIDTH, N_SUPPORTS],
        "support_angle_offset": SUPPORT_ANGLE_OFFSET,
        "pupil_sampling": [PUPIL_NPIX, PUPIL_SUPERSAMPLE],
        "throughput_cut": THROUGHPUT_CUT,
        "stops": CORON_STOP_MODEL,
    }
    key = {
        "model": PSFMODEL_NAME,
        "model_version": MODEL_VERSION,
        "constants": constants,
        "filter": filt,
        "params": params,
        "versions": vers,
    }
    text = json.dumps(key, sort_keys=True, default=lambda o: list(o) if isinstance(o, tuple) else str(o))
    return hashlib.sha1(text.encode()).hexdigest()[:16], key


def _read_hdulist(path: Path) -> fits.HDUList:
    with fits.open(path, memmap=False) as h:
        out = fits.HDUList([hdu.copy() for hdu in h])
    for hdu in out:
        hdu.data = np.ascontiguousarray(hdu.data, dtype=float)
    return out


def psf_library(filt: str, cache_dir: str | os.PathLike, **kwargs) -> fits.HDUList:
    """:func:`compute_psf` computed once and cached as FITS in ``cache_dir``.

    Parameters
    ----------
    filt : str
        MIRI filter.
    cache_dir : path
        Directory of the cache (created if needed).  The file name is
        ``miri_<FILTER>_psf_absflux_<hash>.fits`` where the hash covers the
        model version and constants, every :func:`compute_psf` argument
        (defaults included) and the poppy/stpsf/tynt/numpy versions.
    **kwargs
        Passed to :func:`compute_psf` (fov_pixels, oversample, nlambda, ...).

    Returns
    -------
    astropy.io.fits.HDUList
        In memory (the file is closed); identical arrays on every call.
    """
    import inspect

    filt = _check_filter(filt)
    sig = inspect.signature(compute_psf)
    bound = sig.bind(filt, **kwargs)
    bound.apply_defaults()
    params = {k: v for k, v in bound.arguments.items() if k != "filt"}
    digest, key = _cache_key(filt, params)
    cache_dir = Path(cache_dir)
    path = cache_dir / f"miri_{filt}_psf_absflux_{digest}.fits"
    if path.exists():
        return _read_hdulist(path)
    cache_dir.mkdir(parents=True, exist_ok=True)
    hdul = compute_psf(filt, **kwargs)
    hdul[0].header["CACHEKEY"] = (digest, "psf_library cache key")
    hdul[0].header.add_history("psf_library key: " + json.dumps(key, sort_keys=True, default=str))
    fd, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".tmp", dir=cache_dir)
    os.close(fd)
    try:
        hdul.writeto(tmp, overwrite=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return _read_hdulist(path)


# --------------------------------------------------------------------------
# Rendering at sub-pixel positions
# --------------------------------------------------------------------------
_PAD = 16  # zero samples around the PSF before the spline prefilter


def _bspline3_weights(f: float) -> tuple[float, float, float, float]:
    """Cubic B-spline weights of coefficients k-2, k-1, k, k+1 for a shift by f in [0, 1)."""

    def b3(x):
        x = abs(x)
        if x < 1:
            return 2.0 / 3.0 - x * x + 0.5 * x**3
        if x < 2:
            return (2.0 - x) ** 3 / 6.0
        return 0.0

    return b3(2.0 - f), b3(1.0 - f), b3(f), b3(1.0 + f)


def _prefilter(a: np.ndarray) -> np.ndarray:
    from scipy.ndimage import spline_filter1d

    c = spline_filter1d(a, order=3, axis=-1, mode="mirror")
    return spline_filter1d(c, order=3, axis=0, mode="mirror")


def _shift_bin_last(c: np.ndarray, k0: int, t: float, oversample: int, nout: int) -> tuple[np.ndarray | None, int]:
    """Shift spline coefficients along the last axis and bin to detector pixels.

    ``c[..., j]`` is the coefficient of padded sample ``k0 + j``; padded sample
    k is original sample ``k - _PAD``, which must land at fine detector index
    ``k - _PAD + t``.  Returns the binned array over the detector pixels
    [jlo, jlo + width) that receive flux, and jlo.
    """
    n = int(np.floor(t))
    f = t - n
    if f > 1 - 1e-9:
        n, f = n + 1, 0.0
    wm2, wm1, w0, wp1 = _bspline3_weights(f)
    L = c.shape[-1]
    if L < 4:
        return None, 0
    g = wm2 * c[..., 0 : L - 3] + wm1 * c[..., 1 : L - 2] + w0 * c[..., 2 : L - 1] + wp1 * c[..., 3:L]
    # g[..., q] is the shifted sample k = k0 + q + 2, at fine index m = k - _PAD + n
    m0 = k0 + 2 - _PAD + n
    lo, hi = max(m0, 0), min(m0 + g.shape[-1], oversample * nout)
    if hi <= lo:
        return None, 0
    jlo, jhi = lo // oversample, -(-hi // oversample)
    buf = np.zeros(c.shape[:-1] + ((jhi - jlo) * oversample,))
    buf[..., lo - jlo * oversample : hi - jlo * oversample] = g[..., lo - m0 : hi - m0]
    return buf.reshape(c.shape[:-1] + (jhi - jlo, oversample)).sum(axis=-1), jlo


class PSFRenderer:
    """Render one oversampled PSF many times at sub-pixel positions.

    The cubic-spline coefficients of the PSF are computed once, so each
    :meth:`render` is a 4-tap filter and a binning per axis (~10 ms for a
    256 x 256 stamp from a 1024^2 PSF at oversample 4).

    Parameters
    ----------
    psf_oversampled : ndarray
        2-D PSF sampled ``oversample`` times per detector pixel (e.g. the
        OVERDIST extension).
    oversample : int
        Samples per detector pixel.
    center : (float, float) or None
        0-based (x, y) position of the star in ``psf_oversampled`` samples;
        default the array centre (the stpsf/compute_psf convention).
    """

    def __init__(self, psf_oversampled, oversample: int, center: tuple[float, float] | None = None):
        psf = np.asarray(psf_oversampled, dtype=float)
        if psf.ndim != 2:
            raise ValueError("psf_oversampled must be 2-D")
        self.oversample = int(oversample)
        self.shape = psf.shape
        self.center = ((psf.shape[1] - 1) / 2.0, (psf.shape[0] - 1) / 2.0) if center is None else tuple(center)
        self.total = float(psf.sum())
        self._coef = _prefilter(np.pad(psf, _PAD))

    def _t(self, pos: float, c: float) -> float:
        # fine detector index of PSF sample i is i + t (fine index m has centre (m + 0.5)/os - 0.5)
        os_ = self.oversample
        return pos * os_ - c + os_ / 2.0 - 0.5

    def render(self, x: float, y: float, shape: tuple[int, int], flux: float = 1.0, out: np.ndarray | None = None):
        """Image of the PSF with its star at detector position (x, y).

        Parameters
        ----------
        x, y : float
            0-based detector coordinates (pixel centres are integers).
        shape : (int, int)
            (ny, nx) of the image.
        flux : float
            Multiplies the PSF: the image sums to ``flux`` times the PSF sum
            over the part that lands in the image.
        out : ndarray or None
            If given (shape ``shape``), the PSF is added into it and it is returned.

        Returns
        -------
        ndarray
        """
        ny, nx = int(shape[0]), int(shape[1])
        img = np.zeros((ny, nx)) if out is None else out
        os_ = self.oversample
        tx, ty = self._t(x, self.center[0]), self._t(y, self.center[1])
        # crop the coefficients to what can land in the image (+ the spline support)
        margin = 4

        def _range(t, n_det, n_psf):
            k_lo = int(np.floor(-t)) + _PAD - margin
            k_hi = int(np.ceil(os_ * n_det - t)) + _PAD + margin
            return max(k_lo, 0), min(k_hi, n_psf + 2 * _PAD)

        kx0, kx1 = _range(tx, nx, self.shape[1])
        ky0, ky1 = _range(ty, ny, self.shape[0])
        if kx1 - kx0 < 4 or ky1 - ky0 < 4:
            return img
        c = self._coef[ky0:ky1, kx0:kx1]
        bx, jx = _shift_bin_last(c, kx0, tx, os_, nx)
        if bx is None:
            return img
        by, jy = _shift_bin_last(np.ascontiguousarray(bx.T), ky0, ty, os_, ny)
        if by is None:
            return img
        img[jy : jy + by.shape[1], jx : jx + by.shape[0]] += flux * by.T
        return img


def render_psf(psf_oversampled, oversample: int, x: float, y: float, shape, flux: float = 1.0, center=None, out=None):
    """Place an oversampled PSF at a sub-pixel detector position and bin it to detector pixels.

    The PSF is shifted by a cubic-spline interpolation (the cardinal spline:
    exact for the sampled values, conserves flux and first moments) so that
    its samples fall on the oversampled detector grid, then summed in blocks
    of ``oversample`` x ``oversample``.  Only the part of the PSF that lands
    in the image (plus a margin for the spline) is processed.

    Parameters
    ----------
    psf_oversampled : ndarray
        2-D PSF, ``oversample`` samples per detector pixel, star at the array
        centre unless ``center`` says otherwise.
    oversample : int
        Samples per detector pixel.
    x, y : float
        0-based detector coordinates of the star (integers = pixel centres).
    shape : (int, int)
        (ny, nx) of the output image.
    flux : float
        Scale factor: the image sums to ``flux x`` (sum of the PSF over the
        part that lands inside the image), to ~1e-12 relative.
    center : (float, float) or None
        0-based (x, y) of the star in ``psf_oversampled`` samples.
    out : ndarray or None
        Add into this image instead of a new one.

    Returns
    -------
    ndarray
        (ny, nx) image.

    Notes
    -----
    This builds the spline coefficients on every call (~25 ms for a 256 x 256
    stamp from a 1024^2 PSF); a :class:`PSFRenderer` reuses them (~10 ms).
    """
    psf = np.asarray(psf_oversampled, dtype=float)
    os_ = int(oversample)
    ny, nx = int(shape[0]), int(shape[1])
    cx, cy = ((psf.shape[1] - 1) / 2.0, (psf.shape[0] - 1) / 2.0) if center is None else center
    # crop the PSF before the prefilter; the mirror boundary of the crop only
    # affects samples within ~_PAD of it, which land outside the image
    t_x = x * os_ - cx + os_ / 2.0 - 0.5
    t_y = y * os_ - cy + os_ / 2.0 - 0.5
    m = 2 * _PAD
    i0 = max(int(np.floor(-t_x)) - m, 0)
    i1 = min(int(np.ceil(os_ * nx - t_x)) + m, psf.shape[1])
    j0 = max(int(np.floor(-t_y)) - m, 0)
    j1 = min(int(np.ceil(os_ * ny - t_y)) + m, psf.shape[0])
    if i1 - i0 < 1 or j1 - j0 < 1:
        return np.zeros((ny, nx)) if out is None else out
    from scipy.ndimage import spline_filter1d

    img = np.zeros((ny, nx)) if out is None else out
    # x: spline prefilter, shift and bin; y: the same on the 1/oversample narrower result
    # (the y prefilter commutes with the x operations, so this equals the 2-D spline)
    coef = spline_filter1d(np.pad(psf[j0:j1, i0:i1], _PAD), order=3, axis=1, mode="mirror")
    bx, jx = _shift_bin_last(coef, 0, t_x + i0, os_, nx)
    if bx is None:
        return img
    coef = spline_filter1d(bx, order=3, axis=0, mode="mirror")
    by, jy = _shift_bin_last(np.ascontiguousarray(coef.T), 0, t_y + j0, os_, ny)
    if by is None:
        return img
    img[jy : jy + by.shape[1], jx : jx + by.shape[0]] += flux * by.T
    return img


# --------------------------------------------------------------------------
# Encircled energy and aperture corrections
# --------------------------------------------------------------------------
def encircled_energy(psf_image, pixscale_ratio: float, radii, center=None) -> np.ndarray:
    """Encircled energy of a PSF image with exact circular apertures.

    Parameters
    ----------
    psf_image : ndarray
        2-D PSF normalised to the entrance flux (as the :func:`compute_psf`
        extensions are).  The EE is the aperture sum itself: it is **not**
        renormalised to the image sum, so it tends to the in-field fraction.
    pixscale_ratio : float
        Pixel size of ``psf_image`` in the unit of ``radii``: 1 for DET_*
        extensions and radii in detector pixels, ``1/oversample`` for OVER*
        extensions (or PIXELSCL when the radii are in arcsec).
    radii : array_like
        Aperture radii (>= 0), in detector pixels (or arcsec, see above).
    center : (float, float) or None
        0-based (x, y) of the star in ``psf_image`` pixels; default the array
        centre.

    Returns
    -------
    ndarray
        EE at each radius (photutils ``method='exact'``).
    """
    from photutils.aperture import CircularAperture

    data = np.asarray(psf_image, dtype=float)
    if center is None:
        center = ((data.shape[1] - 1) / 2.0, (data.shape[0] - 1) / 2.0)
    radii = np.atleast_1d(np.asarray(radii, dtype=float))
    out = np.zeros(radii.shape)
    for i, r in enumerate(radii.flat):
        if r < 0:
            raise ValueError("radii must be >= 0")
        if r > 0:
            out.flat[i] = CircularAperture(center, r / pixscale_ratio).do_photometry(data, method="exact")[0][0]
    return out


def _psf_for(filt, psf=None, cache_dir=None, **psf_kwargs) -> fits.HDUList:
    if psf is not None:
        return psf
    if cache_dir is not None:
        return psf_library(filt, cache_dir, **psf_kwargs)
    return compute_psf(filt, **psf_kwargs)


def _ee_image(hdul: fits.HDUList, ext: str, pixel_boxes: int) -> tuple[np.ndarray, float, tuple[float, float]]:
    hdu = hdul[ext]
    data = np.asarray(hdu.data, float)
    samp = int(hdu.header.get("OVERSAMP", 1))
    if pixel_boxes:
        data = _box_convolve(data, float(samp), int(pixel_boxes))
    center = (hdu.header.get("PSFCENX"), hdu.header.get("PSFCENY"))
    if center[0] is None or center[1] is None:
        center = ((data.shape[1] - 1) / 2.0, (data.shape[0] - 1) / 2.0)
    return data, 1.0 / samp, center


def model_encircled_energy(
    filt: str,
    radii,
    psf: fits.HDUList | None = None,
    ext: str = "OVERDIST",
    pixel_boxes: int = 4,
    cache_dir=None,
    **psf_kwargs,
) -> np.ndarray:
    """EE of the model at ``radii`` (detector pixels), as aperture photometry measures it.

    Parameters
    ----------
    filt : str
        MIRI filter.
    radii : array_like
        Radii in 0.11" detector pixels.
    psf : HDUList or None
        A :func:`compute_psf` result; computed (or taken from ``cache_dir``) if None.
    ext : str
        Extension to measure (default OVERDIST: optics + detector effects).
    pixel_boxes : int
        Number of convolutions with the detector-pixel box (``OVERSAMP``
        samples wide) applied to the image first, to model how the EE is
        measured.  Exact-aperture photometry of a detector image, averaged
        over the sub-pixel phase of the star, measures the PSF convolved with
        the pixel box twice (pixel integration, then the piecewise-constant
        pixels that the exact apertures integrate): 2.  Resampling to a
        mosaic (jwst resample, square kernel, pixfrac 1) reconstructs the
        piecewise-constant input and integrates it over the output pixels: two
        more, so 4 (default) for Image3 mosaics, which is where the pipeline
        and the flight values measure the EE.  0 gives the EE of the
        continuous image.
    cache_dir : path or None
        Use :func:`psf_library` with this cache.
    **psf_kwargs
        Passed to :func:`compute_psf` when the PSF is computed (for the
        coronagraphic filters ``normalize`` defaults to 'exit_pupil' here, as
        in :func:`true_aperture_corrections`).

    Returns
    -------
    ndarray
        EE (fraction of the normalisation flux) at each radius.
    """
    filt = _check_filter(filt)
    if psf is None and filt in C.CORON_FILTERS:
        psf_kwargs.setdefault("normalize", "exit_pupil")
    hdul = _psf_for(filt, psf, cache_dir, **psf_kwargs)
    data, ratio, center = _ee_image(hdul, ext, pixel_boxes)
    return encircled_energy(data, ratio, radii, center=center)


def true_aperture_corrections(
    filt: str,
    ee_fractions=C.EE_FRACTIONS,
    psf: fits.HDUList | None = None,
    ext: str = "OVERDIST",
    pixel_boxes: int = 4,
    cache_dir=None,
    **psf_kwargs,
):
    """Injected-truth aperture corrections of the model (spec 3.10 step 10).

    The radii r(EE) are found exactly (root finding on the exact-aperture EE,
    see :func:`model_encircled_energy` for ``ext`` and ``pixel_boxes``).  The
    sky term is the EE per pixel between the 0.80 and 0.85 radii,
    ``b = (0.85 - 0.80) / (pi (r_0.85^2 - r_0.80^2))``, and
    ``apcorr = 1 / (EE - b pi r^2)`` for every EE < 0.85; the 0.85 row gets
    1.0, like the original.

    Parameters
    ----------
    filt : str
        MIRI filter.
    ee_fractions : sequence of float
        EE fractions (default 0.2 ... 0.8, 0.85).
    psf : HDUList or None
        PSF to use; by default computed with ``psf_kwargs`` (through
        :func:`psf_library` if ``cache_dir`` is given).  For coronagraphic
        filters the default normalisation is 'exit_pupil' (EE relative to the
        flux through the stop, as the original's coronagraphic PSFs), since
        with 'first' the EE never reaches 0.7.
    ext, pixel_boxes, cache_dir
        See :func:`model_encircled_energy`.
    **psf_kwargs
        Passed to :func:`compute_psf`.

    Returns
    -------
    astropy.table.Table
        Columns filter, eefraction, radius [0.11" pixels], apcorr, skyin
        (r_0.80), skyout (r_0.85), as in the APCORR reference file; meta has
        ``sky_ee_per_pix`` (b), ``ee_field`` (EE of the whole image),
        ``pixel_boxes`` and ``ext``.
    """
    from astropy.table import Table
    from scipy.optimize import brentq

    filt = _check_filter(filt)
    if psf is None and filt in C.CORON_FILTERS:
        psf_kwargs.setdefault("normalize", "exit_pupil")
    hdul = _psf_for(filt, psf, cache_dir, **psf_kwargs)
    data, ratio, center = _ee_image(hdul, ext, pixel_boxes)

    def ee(r):
        return float(encircled_energy(data, ratio, [r], center=center)[0])

    rmax = min(center[0], center[1], data.shape[1] - 1 - center[0], data.shape[0] - 1 - center[1]) * ratio
    grid = np.geomspace(0.05, rmax, 160)
    ee_grid = np.maximum.accumulate(encircled_energy(data, ratio, grid, center=center))
    fracs = sorted(set(float(e) for e in ee_fractions) | {0.80, 0.85})
    radius = {}
    for e in fracs:
        if e >= ee_grid[-1]:
            raise ValueError(
                f"{filt}: EE {e} not reached within the field (EE max {ee_grid[-1]:.4f}); enlarge fov_pixels"
            )
        i = int(np.searchsorted(ee_grid, e))
        lo, hi = (grid[i - 1] if i > 0 else 0.0), grid[i]
        radius[e] = brentq(lambda r, e=e: ee(r) - e, lo, hi, xtol=1e-6)
    r80, r85 = radius[0.80], radius[0.85]
    b = (0.85 - 0.80) / (np.pi * (r85**2 - r80**2))
    rows = []
    for e in ee_fractions:
        e = float(e)
        r = radius[e]
        apc = 1.0 if np.isclose(e, 0.85) else 1.0 / (e - b * np.pi * r**2)
        rows.append((filt, e, r, apc, r80, r85))
    tab = Table(rows=rows, names=("filter", "eefraction", "radius", "apcorr", "skyin", "skyout"))
    tab.meta.update({"sky_ee_per_pix": b, "ee_field": float(ee_grid[-1]), "pixel_boxes": int(pixel_boxes), "ext": ext})
    return tab


# --------------------------------------------------------------------------
# The real stpsf path
# --------------------------------------------------------------------------
def stpsf_data_available(path: str | os.PathLike | None = None) -> bool:
    """True when ``path`` (default ``$STPSF_PATH``) holds an stpsf data package (version.txt)."""
    p = path if path is not None else os.environ.get("STPSF_PATH")
    return bool(p) and (Path(p) / "version.txt").is_file()


def stpsf_psf(
    filt: str,
    fov_pixels: int = 256,
    oversample: int = 4,
    nlambda: int | None = None,
    stpsf_path: str | os.PathLike | None = None,
    pupilopd="default",
    include_si_wfe: bool = True,
    normalize: str | None = None,
    coron_offset: bool = True,
) -> fits.HDUList:
    """The same PSF from stpsf (needs its data package), with ``PSFMODEL = 'stpsf'``.

    Parameters
    ----------
    filt : str
        MIRI filter.
    fov_pixels, oversample, nlambda
        As stpsf's ``calc_psf`` (nlambda None: stpsf's per-filter default).
    stpsf_path : path or None
        Data directory; default ``$STPSF_PATH`` (set temporarily if given).
    pupilopd : 'default', None or anything stpsf accepts
        None for a perfect telescope (what a minimal data set supports).
    include_si_wfe : bool
        stpsf's ``include_si_wfe``.
    normalize : str or None
        Default 'exit_pupil' for coronagraphic filters (spec 3.5), 'first' otherwise.
    coron_offset : bool
        For coronagraphic filters, set the image and pupil masks and the
        source offset (74, -72) x 0.11" of spec 3.5; parity 'odd'.  Imager and
        FND use parity 'even'.

    Returns
    -------
    astropy.io.fits.HDUList
        stpsf's OVERSAMP, DET_SAMP, OVERDIST, DET_DIST with PSFMODEL='stpsf'
        added to every header.
    """
    filt = _check_filter(filt)
    path = str(stpsf_path) if stpsf_path is not None else None
    with _env("STPSF_PATH", path):
        if not stpsf_data_available():
            raise OSError("stpsf data not found: set STPSF_PATH or pass stpsf_path")
        stpsf = _import_stpsf()
        inst = stpsf.MIRI()
        inst.filter = filt
        if pupilopd != "default":
            inst.pupilopd = pupilopd
        inst.include_si_wfe = include_si_wfe
        coron = filt in C.CORON_FILTERS and coron_offset
        if coron:
            inst.image_mask = C.CORON_IMAGE_MASK[filt]
            inst.pupil_mask = C.CORON_PUPIL_MASK[filt]
            inst.options["source_offset_x"] = C.CORON_SOURCE_OFFSET_PIX[0] * PIXEL_SCALE
            inst.options["source_offset_y"] = C.CORON_SOURCE_OFFSET_PIX[1] * PIXEL_SCALE
            inst.options["parity"] = "odd"
        else:
            inst.options["parity"] = "even"
        if normalize is None:
            normalize = "exit_pupil" if filt in C.CORON_FILTERS else "first"
        kw = {"fov_pixels": int(fov_pixels), "oversample": int(oversample), "normalize": normalize}
        if nlambda:
            kw["nlambda"] = int(nlambda)
        hdul = inst.calc_psf(**kw)
    for hdu in hdul:
        hdu.header["PSFMODEL"] = ("stpsf", "PSF model: absflux-poppy or stpsf")
    return hdul
