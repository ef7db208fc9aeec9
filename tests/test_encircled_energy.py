"""Steps 2-3: PSF files, one-pass curve of growth, EE curves and per-set aperture corrections."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from absflux import constants as C
from absflux.encircled_energy import (
    EEError,
    apcor_table_path,
    aperture_corrections,
    aperture_sums_loop,
    calc_encircled_energy,
    circle_box_overlap,
    compute_ee,
    curve_of_growth,
    ee_table_path,
    observed_curve,
    radii_grid,
)
from absflux.photometry import aper_image, gaussian_star, read_image, synthetic_mosaic

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SIG = 1.5  # Gaussian star sigma [pixels]


def _run(script, *args, env=None):
    return subprocess.run(
        [sys.executable, str(REPO / script), *map(str, args)], capture_output=True, text=True, env=env
    )


def _one_line_error(r):
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, r.stderr
    return lines[0]


# --------------------------------------------------------------------------
# One-pass curve of growth
# --------------------------------------------------------------------------
def test_circle_box_overlap_matches_photutils():
    from photutils.geometry import circular_overlap_grid

    rng = np.random.default_rng(1)
    for _ in range(200):
        r = rng.uniform(0.2, 30)
        x0, y0 = rng.uniform(-35, 35, 2)
        w, h = rng.uniform(0.05, 5, 2)
        ours = circle_box_overlap(x0, x0 + w, y0, y0 + h, r)
        ref = circular_overlap_grid(x0, x0 + w, y0, y0 + h, 1, 1, r, 1, 1)[0, 0] * w * h
        assert ours == pytest.approx(ref, abs=1e-10)
    assert circle_box_overlap(-50, 50, -50, 50, 7.0) == pytest.approx(np.pi * 49)
    assert circle_box_overlap(0, 50, 0, 50, 7.0) == pytest.approx(np.pi * 49 / 4)


@pytest.mark.parametrize("center", [(70.37, 61.81), (5.2, 60.0), (135.9, 3.4)])
def test_curve_of_growth_equals_per_radius_loop(center):
    """One pass over the pixels = photutils exact apertures radius by radius (to 1e-6; in practice 1e-12)."""
    rng = np.random.default_rng(2)
    img = gaussian_star((120, 140), center[0], center[1], 1e4, 2.0) + rng.normal(5, 1, (120, 140))
    radii = np.geomspace(0.15, 90, 100)
    g = curve_of_growth(img, center, radii)
    ref = aperture_sums_loop(img, center, radii)
    assert np.max(np.abs(g.flux / ref - 1)) < 1e-6
    # the in-image area of each aperture (pi r^2 when it is fully on the image)
    ones = aperture_sums_loop(np.ones_like(img), center, radii)
    assert np.allclose(g.area, ones, rtol=1e-9)
    assert np.array_equal(g.inside, ones >= np.pi * radii**2 * (1 - 1e-9))


def test_curve_of_growth_nan_count():
    from photutils.aperture import CircularAperture

    rng = np.random.default_rng(4)
    img = rng.normal(0, 1, (80, 80))
    img[rng.integers(0, 80, 60), rng.integers(0, 80, 60)] = np.nan
    c = (40.3, 39.6)
    radii = np.geomspace(0.5, 45, 40)
    g = curve_of_growth(img, c, radii)
    for r, n in zip(radii, g.nnan, strict=True):
        w = CircularAperture(c, r).to_mask(method="exact").to_image(img.shape)
        assert n == np.count_nonzero(np.isnan(img) & (w > 0))
    ref = aperture_sums_loop(img, c, radii)  # NaN as 0
    assert np.allclose(g.flux, ref, rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------
# Aperture corrections
# --------------------------------------------------------------------------
def _gauss_apcor(sig):
    ee = np.array(C.EE_FRACTIONS)
    r = sig * np.sqrt(-2 * np.log(1 - ee))
    b = 0.05 / (np.pi * (r[-1] ** 2 - r[-2] ** 2))
    apc = 1 / (ee - b * np.pi * r**2)
    apc[-1] = 1.0
    return r, apc


def test_aperture_corrections_gaussian_analytic():
    radii = np.geomspace(0.01, 30, 4000)
    ee = 1 - np.exp(-(radii**2) / (2 * 2.0**2))
    t = aperture_corrections(radii, ee)
    r, apc = _gauss_apcor(2.0)
    assert np.allclose(t["radii"], r, rtol=1e-5)
    assert np.allclose(t["apcor"], apc, rtol=1e-5)
    assert t["apcor"][-1] == 1.0 and list(t.colnames) == ["ee", "radii", "apcor"]


def test_non_monotonic_ee_is_an_error_naming_filter_and_set():
    radii = np.geomspace(0.1, 30, 100)
    ee = 1 - np.exp(-(radii**2) / 8.0)
    k = int(np.searchsorted(ee, 0.5))
    ee[k + 1 : k + 3] -= 0.05  # a dip that crosses EE 0.5 three times: r(0.5) is ambiguous
    with pytest.raises(EEError, match="F770W ADwarfs/BD\\+60 1753_set2: EE curve not monotonic.*EE 0.5 crossed 3"):
        aperture_corrections(radii, ee, label="F770W ADwarfs/BD+60 1753_set2")
    with pytest.raises(EEError, match="never reaches"):
        aperture_corrections(radii, 0.8 * (1 - np.exp(-(radii**2) / 8.0)), label="x")


def test_a_wiggle_between_the_fractions_leaves_the_inversion_unique_and_exact():
    """Noise on a flat shoulder (long-wave PSFs: 1e-4 between EE 0.80 and 0.85) crosses no fraction twice."""
    radii = np.geomspace(0.01, 30, 4000)
    ee = 1 - np.exp(-(radii**2) / (2 * 2.0**2))
    smooth = aperture_corrections(radii, ee)
    k = int(np.searchsorted(ee, 0.825))
    ee[k + 1] = ee[k] - 1e-4  # a dip between the 0.80 and 0.85 crossings
    t = aperture_corrections(radii, ee)
    assert np.array_equal(t["radii"], smooth["radii"]) and np.array_equal(t["apcor"], smooth["apcor"])


# --------------------------------------------------------------------------
# calc_encircled_energy on a synthetic campaign (Gaussian star, Gaussian model PSF)
# --------------------------------------------------------------------------
def gaussian_psf_file(path: Path, filt: str, sig: float, npix: int = 200, oversample: int = 4, center=None) -> Path:
    """A PSF file with the stpsf layout holding a normalised Gaussian (sigma in detector pixels)."""
    hdus = []
    for name, samp in (("OVERSAMP", oversample), ("DET_SAMP", 1), ("OVERDIST", oversample), ("DET_DIST", 1)):
        n = npix * samp
        c = ((n - 1) / 2.0, (n - 1) / 2.0) if center is None else (center[0] * samp, center[1] * samp)
        img = gaussian_star((n, n), c[0], c[1], 1.0, sig * samp)
        h = fits.Header()
        h["EXTNAME"] = name
        h["FILTER"] = filt
        h["OVERSAMP"] = samp
        h["DET_SAMP"] = oversample
        h["PIXELSCL"] = 0.11 / samp
        h["PSFMODEL"] = "test-gaussian"
        h["PSFCENX"], h["PSFCENY"] = c
        hdus.append((fits.PrimaryHDU if not hdus else fits.ImageHDU)(img, header=h))
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def _campaign(root: Path, filt="F770W", sname="BD+60 1753_set1", shape=(160, 170), xy=(84.3, 77.6), sky=3.0):
    rng = np.random.default_rng(5)
    star = gaussian_star(shape, xy[0], xy[1], 2.0e5, SIG)
    d = root / "ADwarfs" / filt / sname
    targ = sname.rsplit("_set", 1)[0]
    hdr = {"DATE-BEG": "2023-06-01T00:00:00.000"}
    synthetic_mosaic(
        d / f"miri_{sname}_stage3_asn_i2d.fits",
        star + sky + rng.normal(0, 0.05, shape),
        star_xy=xy,
        targname=targ,
        header=hdr,
    )
    synthetic_mosaic(
        d / f"miri_{sname}_stage3_bkgsub_asn_i2d.fits",
        star + rng.normal(0, 0.05, shape),
        star_xy=xy,
        targname=targ,
        header=hdr,
    )
    gaussian_psf_file(root / "PSFs" / f"miri_{filt}_psf.fits", filt, SIG)
    return d


def test_calc_encircled_energy_gaussian(tmp_path):
    fac = 6.0
    d = _campaign(tmp_path)
    res = calc_encircled_energy(tmp_path, "ADwarfs", "F770W", "BD+60 1753_set1", fac)
    mos = d / "miri_BD+60 1753_set1_stage3_asn_i2d.fits"
    assert ee_table_path(mos, fac).name == "miri_BD+60 1753_set1_stage3_asn_i2d_ee_fwhmfac6.0.dat"
    assert apcor_table_path(mos, fac).name == "miri_BD+60 1753_set1_stage3_asn_i2dfwhmfac6.0_apcor.dat"
    for p in res.paths:
        assert p.is_file(), p
    assert (d / "miri_BD+60 1753_set1_stage3_asn_i2d_ee_fwhmfac6.0.png").is_file()
    assert (d / "miri_BD+60 1753_set1_stage3_asn_i2d_manyap_centerap.png").is_file()
    ee = Table.read(ee_table_path(mos, fac), format="ascii.commented_header")
    assert list(ee.colnames) == ["radius", "ee", "ee_obs", "ee_obs_bkg", "ee_model"] and len(ee) == 100
    assert ee["radius"][0] == pytest.approx(0.1 * C.FWHM["F770W"]) and ee["radius"][-1] == pytest.approx(
        2 * fac * C.FWHM["F770W"]
    )
    ap = Table.read(apcor_table_path(mos, fac), format="ascii.commented_header")
    assert list(ap["ee"]) == list(C.EE_FRACTIONS) and ap["apcor"][-1] == 1.0
    # exact apertures on a pixel-integrated Gaussian: sigma_eff^2 = sigma^2 + 1/6
    seff = np.sqrt(SIG**2 + 1 / 6)
    r, apc = _gauss_apcor(seff)
    assert np.allclose(ap["radii"], r, rtol=1e-2)  # linear interpolation on the 100-point log grid
    # the same algorithm (grid, interpolation) on the noise-free star measured at its true centre
    grid = radii_grid("F770W", fac)
    truth_ee = aperture_sums_loop(gaussian_star((160, 170), 84.3, 77.6, 1.0, SIG), (84.3, 77.6), grid)
    ref = aperture_corrections(grid, truth_ee)
    assert np.allclose(ap["radii"], ref["radii"], rtol=2e-3)
    assert np.allclose(ap["apcor"], ref["apcor"], rtol=3e-3)
    assert any("dataset: ADwarfs/BD+60 1753_set1" in c for c in ap.meta["comments"])
    assert any(c.startswith("created by calc_encircled_energy") for c in ap.meta["comments"])


def test_observed_curve_equals_original_per_radius_loop(tmp_path):
    """The one-pass curve equals the original's 100 aper_image calls (override centre, big annulus) to 1e-6."""
    d = _campaign(tmp_path)
    mos = d / "miri_BD+60 1753_set1_stage3_asn_i2d.fits"
    img = read_image(mos)
    img.data[70, 90] = np.nan  # one NaN in the larger apertures: interpolated by both
    fac = 6.0
    radii = radii_grid("F770W", fac)
    ann = (radii.max(), 1.2 * radii.max())
    center = img.pixel_to_world(84.3, 77.6)
    one = observed_curve(img, center, radii, ann).apsum
    loop = np.array(
        [
            # the EE step keeps the original's sigma-clipped statistic in its far annulus
            aper_image(mos, "F770W", r, ann, 1.0, override_center=center, image=img, annulus_stat="clipped")[
                "aperture_sum_bkgsub"
            ][0].value
            for r in radii
        ]
    )
    ok = np.isfinite(loop)
    assert ok.sum() > 90 and np.array_equal(ok, np.isfinite(one))
    assert np.max(np.abs(one[ok] / loop[ok] - 1)) < 1e-6


def test_partial_and_missing_annulus(tmp_path):
    # star 40 px from an edge: the annulus [2nf, 2.4nf] = [43.7, 52.5] px is partly off the image -> fine
    _campaign(tmp_path, shape=(160, 170), xy=(40.0, 80.0))
    res = compute_ee(tmp_path, "ADwarfs", "F770W", "BD+60 1753_set1", 10.0)
    assert 0.5 < res["annulus_fraction"] < 0.999
    # fwhmfac 40: the annulus [175, 210] px lies entirely off the image -> clear error
    with pytest.raises(EEError, match="entirely off the image"):
        compute_ee(tmp_path, "ADwarfs", "F770W", "BD+60 1753_set1", 40.0)


def test_bad_inputs_cli(tmp_path):
    d = _campaign(tmp_path)
    args = ["--root", tmp_path, "--filter", "F770W", "--dir", "ADwarfs", "--fwhmfac", "6"]
    r = _run("calc_encircled_energy.py", *args)
    assert r.returncode == 0, r.stderr
    before = sorted(p.name for p in d.iterdir())
    # missing PSF
    psf = tmp_path / "PSFs" / "miri_F770W_psf.fits"
    psf.rename(psf.with_suffix(".bak"))
    e = _one_line_error(_run("calc_encircled_energy.py", *args, "--fwhmfac", "7"))
    assert "PSF file not found" in e and "calc_webbpsfs.py --filter F770W" in e
    psf.with_suffix(".bak").rename(psf)
    # missing mosaic
    e = _one_line_error(_run("calc_encircled_energy.py", *args, "--dataset", "BD+60 1753_set2"))
    assert "BD+60 1753_set2" in e and "not found" in e
    # star off the image
    _campaign(tmp_path, sname="BD+60 1753_set3", xy=(400.0, 80.0))
    e = _one_line_error(_run("calc_encircled_energy.py", *args, "--dataset", "BD+60 1753_set3"))
    assert "F770W ADwarfs/BD+60 1753_set3" in e and "outside" in e
    # an EE curve with a dip before 0.85
    sname = "BD+60 1753_set4"
    d4 = _campaign(tmp_path, sname=sname)
    shape = (160, 170)
    x, y = 84.3, 77.6
    img = gaussian_star(shape, x, y, 0.6e5, 1.0) + gaussian_star(shape, x, y, 1.4e5, 9.0)
    yy, xx = np.mgrid[0:160, 0:170]
    ring = (np.hypot(xx - x, yy - y) > 3.5) & (np.hypot(xx - x, yy - y) < 5.0)
    img[ring] -= 0.3e5 / ring.sum()
    for b in ("", "_bkgsub"):
        synthetic_mosaic(d4 / f"miri_{sname}_stage3{b}_asn_i2d.fits", img, star_xy=(x, y))
    e = _one_line_error(_run("calc_encircled_energy.py", *args, "--dataset", sname))
    assert "F770W ADwarfs/BD+60 1753_set4: EE curve not monotonic" in e
    # nothing new was written by the failing runs (no partial output, no temporaries)
    assert sorted(p.name for p in d.iterdir()) == before
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]
    assert not list(d4.glob("*.dat"))


# --------------------------------------------------------------------------
# Model PSFs (step 2)
# --------------------------------------------------------------------------
def test_calc_webbpsfs_project_model(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "STPSF_PATH"}
    r = _run(
        "calc_webbpsfs.py", "--root", tmp_path, "--filter", "F2100W", "--fov-pixels", "32", "--oversample", "2",
        "--nlambda", "2", env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "stpsf data not installed" in r.stderr
    with fits.open(tmp_path / "PSFs" / "miri_F2100W_psf.fits") as h:
        assert [x.name for x in h] == ["OVERSAMP", "DET_SAMP", "OVERDIST", "DET_DIST"]
        assert h[0].header["PSFMODEL"] == "absflux-poppy" and h[0].header["PSFSRC"] == "absflux-poppy"
        assert h[0].data.shape == (64, 64) and h[1].data.shape == (32, 32)
        assert h[0].header["PSFPARIT"] == "even" and h[0].header["PSFNORM"] == "first"
    e = _one_line_error(_run("calc_webbpsfs.py", "--root", tmp_path, "--filter", "F770W", "--model", "stpsf", env=env))
    assert "stpsf data package is not installed" in e
    e = _one_line_error(_run("calc_webbpsfs.py", "--root", tmp_path, "--like-simulation"))
    assert "not a simulated campaign" in e


def test_calc_webbpsfs_real_stpsf(tmp_path):
    data = SHARED / "data" / "stpsf-data-min"
    if not (data / "version.txt").is_file():
        pytest.skip("../shared/data/stpsf-data-min not available")
    env = dict(os.environ, STPSF_PATH=str(data))
    r = _run(
        "calc_webbpsfs.py", "--root", tmp_path, "--filter", "F1065C", "--fov-pixels", "40", "--oversample", "2",
        "--nlambda", "2", env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    with fits.open(tmp_path / "PSFs" / "miri_F1065C_psf.fits") as h:
        assert [x.name for x in h] == ["OVERSAMP", "DET_SAMP", "OVERDIST", "DET_DIST"]
        assert h[0].header["PSFMODEL"] == "stpsf" and h[0].header["PSFSRC"] == "stpsf"
        assert h[0].header["NORMALIZ"] == "exit_pupil" and h[0].header["PSFNORM"] == "exit_pupil"
        hist = str(h[0].header["HISTORY"])
        assert "pupilopd=None" in hist and "include_si_wfe=False" in hist
        assert h[2].data.shape == (80, 80)


def test_add_cruciform(tmp_path):
    gaussian_psf_file(tmp_path / "PSFs" / "miri_F560W_psf.fits", "F560W", 1.0, npix=48)
    r = _run("add_cruciform_to_webbpsfs.py", "--root", tmp_path, "--filter", "F560W")
    assert r.returncode == 0, r.stderr
    d = tmp_path / "PSFs"
    orig = fits.getdata(d / "miri_F560W_psf.fits", 0)
    new = fits.getdata(d / "miri_F560W_psf_wcruciform.fits", 0)
    cruc = fits.getdata(d / "cruciform_kernel_F560W.fits", 0)
    assert new.sum() == pytest.approx(orig.sum(), rel=1e-10)
    assert cruc.sum() > 0 and (d / "webbpsf_w_wo_cruciform_F560W.png").is_file()
    # the cross: light along the row and column through the centre, none on the diagonal far out
    c = (new.shape[0] - 1) / 2
    assert cruc[int(c), 5] > 100 * abs(cruc[5, 5])
    (tmp_path / "x").mkdir()
    e = _one_line_error(_run("add_cruciform_to_webbpsfs.py", "--root", tmp_path / "x", "--filter", "F770W"))
    assert "PSF file not found" in e
    e = _one_line_error(_run("add_cruciform_to_webbpsfs.py", "--root", tmp_path / "y", "--filter", "F770W"))
    assert "campaign root not found" in e and not (tmp_path / "y").exists()


# --------------------------------------------------------------------------
# Annulus-wing normalisation (ee_norm='wing') on a star with a broad halo
# --------------------------------------------------------------------------
HALO_FRAC, HALO_SIG = 0.12, 22.0  # a broad component that still shines in the [2 r_n, 2.4 r_n] annulus


def _halo_profile(shape, x, y, flux, samp=1):
    core = gaussian_star(shape, x, y, flux * (1 - HALO_FRAC), SIG * samp)
    return core + gaussian_star(shape, x, y, flux * HALO_FRAC, HALO_SIG * samp)


def _halo_ee(r):
    """True EE of the pixel-integrated two-Gaussian star (sigma_eff^2 = sigma^2 + 1/6 for the core)."""
    core = 1 - np.exp(-(r**2) / (2 * (SIG**2 + 1 / 6)))
    halo = 1 - np.exp(-(r**2) / (2 * (HALO_SIG**2 + 1 / 6)))
    return (1 - HALO_FRAC) * core + HALO_FRAC * halo


def _halo_campaign(root: Path, shape=(260, 270), xy=(134.3, 127.6)):
    rng = np.random.default_rng(8)
    star = _halo_profile(shape, xy[0], xy[1], 2.0e5)
    d = root / "ADwarfs" / "F770W" / "BD+60 1753_set1"
    for name, sky in (("stage3_asn", 3.0), ("stage3_bkgsub_asn", 0.0)):
        synthetic_mosaic(
            d / f"miri_BD+60 1753_set1_{name}_i2d.fits",
            star + sky + rng.normal(0, 0.02, shape),
            star_xy=xy,
            targname="BD+60 1753",
            header={"DATE-BEG": "2023-06-01T00:00:00.000"},
        )
    hdus = []
    for name, samp in (("OVERSAMP", 4), ("DET_SAMP", 1), ("OVERDIST", 4), ("DET_DIST", 1)):
        n = 300 * samp
        c = (n - 1) / 2.0
        h = fits.Header({"EXTNAME": name, "FILTER": "F770W", "OVERSAMP": samp, "DET_SAMP": 4})
        h["PIXELSCL"], h["PSFMODEL"], h["PSFCENX"], h["PSFCENY"] = 0.11 / samp, "test-halo", c, c
        hdus.append((fits.PrimaryHDU if not hdus else fits.ImageHDU)(_halo_profile((n, n), c, c, 1.0, samp), header=h))
    (root / "PSFs").mkdir(parents=True, exist_ok=True)
    fits.HDUList(hdus).writeto(root / "PSFs" / "miri_F770W_psf.fits")


def test_wing_normalisation_recovers_the_true_ee_and_original_is_biased(tmp_path):
    """The annulus holds halo light: the wing-corrected EE equals the true EE, the original's is too high."""
    _halo_campaign(tmp_path)
    fac = 6.0
    wing = compute_ee(tmp_path, "ADwarfs", "F770W", "BD+60 1753_set1", fac, ee_norm="wing")
    orig = compute_ee(tmp_path, "ADwarfs", "F770W", "BD+60 1753_set1", fac, ee_norm="original")
    r = wing["radii"]
    # beyond the core (where the centring and the Gaussian pixel-integration approximation matter)
    sel = (r > 5.0) & (r < wing["r_n"])
    truth = _halo_ee(r[sel])
    # the model annulus level: (EE(2.4 r_n) - EE(2 r_n)) / annulus area, per unit flux
    ri, ro = wing["annulus"]
    s = (_halo_ee(ro) - _halo_ee(ri)) / (np.pi * (ro**2 - ri**2))
    assert wing["annulus_wing"] == pytest.approx(s, rel=0.02)
    assert np.max(np.abs(wing["ee"][sel] - truth)) < 2e-4
    # the original normalises the wing-subtracted curve to the un-subtracted model: too high by
    # ~ s pi (r_n^2 - r^2) / EE(r_n) in relative terms
    bias = orig["ee"][sel] / truth - 1
    expect = s * np.pi * (wing["r_n"] ** 2 - r[sel] ** 2) / _halo_ee(wing["r_n"])
    assert np.median(bias) > 5e-3
    assert np.allclose(bias, expect, atol=5e-4)


def test_ee_norm_is_validated(tmp_path):
    _campaign(tmp_path)
    with pytest.raises(EEError, match="ee_norm must be one of wing, original"):
        compute_ee(tmp_path, "ADwarfs", "F770W", "BD+60 1753_set1", 6.0, ee_norm="nope")
