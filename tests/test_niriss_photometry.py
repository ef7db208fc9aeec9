"""Analytic tests of the NIRISS EE photometry, centroid, DQ logic and sky statistics."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from absflux.niriss import constants as C
from absflux.niriss.common import (
    annulus_mask,
    annulus_sky,
    centroid,
    dq_good,
    dq_report,
    mask_values,
    max_counts,
    py_round,
    sky_stats,
)
from absflux.niriss.ee import ee_photometry, ee_table, fluxes_table
from absflux.niriss.io import NirissInputError, read_exposure
from absflux.niriss.synthetic import gaussian_image, write_exposure


def _point_source(shape=(128, 128), x0=64, y0=64, total=1000.0, sky=2.0):
    img = np.full(shape, sky)
    img[y0, x0] += total
    return img


def test_constants_match_spec():
    assert C.EE_RADII == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15)
    assert max(C.EE_RADII) + C.EE_SKY_SKIP == 20 and max(C.EE_RADII) + C.EE_SKY_SKIP + C.EE_SKY_WIDTH == 25
    assert C.GAIN == 1.6 and C.PIXSCALE == 0.0656
    assert max(C.SB_RADII) + C.SB_SKY_GAP == 27 and max(C.SB_RADII) + C.SB_SKY_GAP + C.SB_SKY_WIDTH == 32
    assert C.APCOR_RADII == (7, 8, 9)
    assert C.FILTERS[6:] == C.LW_FILTERS and len(C.FILTERS) == 12


def test_python_rounding_is_bankers():
    assert py_round(32.5) == 32 and py_round(33.5) == 34 and py_round(-0.4) == 0


def test_point_source_on_flat_sky_single_hdu(tmp_path):
    """A delta star on a constant sky: CountRate = gain * total at every radius, exact errors."""
    total, sky = 1000.0, 2.0
    path = write_exposure(tmp_path / "psf.fits", _point_source(total=total, sky=sky), single_hdu=True)
    exp = read_exposure(path)
    assert exp.inttime == 1.0 and not exp.do_dqflag
    res = ee_photometry(exp, 64, 64)
    assert res.xc == pytest.approx(64.0, abs=1e-9) and res.yc == pytest.approx(64.0, abs=1e-9)
    assert res.bck_mean == pytest.approx(sky) and res.bck_stdev == 0.0
    assert res.bck_npix == np.count_nonzero(annulus_mask(64, 64, 20, 25).data)
    np.testing.assert_allclose(res.countrate, C.GAIN * total, rtol=1e-10)
    # var = flux/gain (sky sigma 0): err = sqrt(gain * total)
    np.testing.assert_allclose(res.countrate_err, np.sqrt(C.GAIN * total / C.GAIN), rtol=1e-10)
    np.testing.assert_allclose(res.aperture_sums, total + sky * np.pi * np.asarray(C.EE_RADII) ** 2, rtol=1e-10)
    assert res.messages == ["  Max. counts:  1002"]


def test_gaussian_ee_and_time_units(tmp_path):
    """Pixel-integrated Gaussian in a _cal file: EE(r) = 1 - exp(-r^2/2s^2), e-/s via gain, PHOTMJSR undone."""
    sigma, total, sky = 2.0, 5000.0, 0.5
    img = gaussian_image((128, 128), 64.0, 64.0, sigma, total) + sky  # symmetric: COM exact
    path = write_exposure(tmp_path / "g_cal.fits", img, photmjsr=0.3, primary={"EFFINTTM": 20.0})
    exp = read_exposure(path)
    assert exp.inttime == 20.0 and exp.photmjsr == 0.3
    np.testing.assert_allclose(exp.image, img, rtol=1e-12)
    res = ee_photometry(exp, 64, 64)
    r = np.asarray(C.EE_RADII, dtype=float)
    # pixel integration and the exact-overlap sum each add ~1/12 px^2 of variance per axis
    sig2 = sigma**2 + 2.0 / 12.0
    expected = C.GAIN * total * (1 - np.exp(-(r**2) / (2 * sig2)))
    np.testing.assert_allclose(res.countrate[2:], expected[2:], rtol=4e-3)
    np.testing.assert_allclose(res.countrate[6:], expected[6:], rtol=1e-4)
    assert res.countrate[-1] == pytest.approx(C.GAIN * total, rel=1e-4)
    # flux is electrons per integration
    np.testing.assert_allclose(res.flux, res.countrate * 20.0)
    assert np.all(np.diff(res.countrate) > 0)


def test_centroid_is_one_pass_com_pulled_to_box_centre():
    """No background subtraction: a flat background pulls the COM towards the box centre."""
    img = np.zeros((64, 64))
    img[24:27, 29:32] = 1.0  # 3x3 blob centred on (30, 25)
    xc, yc = centroid(img, 30, 26)
    assert (xc, yc) == pytest.approx((30.0, 25.0))
    bg = 0.25
    xc, yc = centroid(img + bg, 30, 26)
    expected_y = (9 * 25 + bg * 49 * 26) / (9 + bg * 49)  # box rows 23..29 centred on 26
    assert yc == pytest.approx(expected_y) and xc == pytest.approx(30.0)


def test_max_counts_stamp_offset():
    img = np.zeros((20, 20))
    img[10, 10] = 7.0  # at the guess
    img[6, 6] = 9.0  # inside the legacy stamp (rows/cols 6..12), outside the centred one (7..13)
    assert max_counts(img, 10, 10, 2.0) == 14
    assert max_counts(img, 10, 10, 2.0, legacy=True) == 18


def test_dq_ranges_report_and_good_sky():
    dq = np.array([0, 1, 2, 3, 4, 5, 1024, 1025, 4094, 4095, 4096, 4097, 2**22 - 1, 2**22, 2**23, 2**23 + 7])
    good = dq_good(dq)
    expected_good = {0, 4, 4096, 4097, 2**22 - 1}
    assert {int(d) for d, g in zip(dq, good, strict=True) if g} == expected_good
    counts = dq_report(dq)
    assert counts == {"sat": 2, "dead": 4, "unreliable": 2, "dnu": 1}  # 5, 1024, 1025, 4094
    # bitwise mode: 4097 (WARM + DO_NOT_USE) is bad, 1025 counts as dead and DNU
    bw = dq_report(np.array([1025, 4097, 2]), mode="bitwise")
    assert bw == {"sat": 1, "dead": 1, "unreliable": 0, "dnu": 2}
    assert not dq_good(np.array([4097]), mode="bitwise")[0]
    with pytest.raises(ValueError):
        dq_good(dq, mode="nonsense")


def test_sky_statistics_with_dq_ranges():
    """Sky pixels with good DQ values have value 1, the others 100: the mean is exactly 1."""
    rng = np.random.default_rng(3)
    img = np.ones((80, 80))
    dq = np.zeros((80, 80), dtype=np.int64)
    m = annulus_mask(40.3, 39.6, 20, 25)
    rows, cols = np.nonzero(m.to_image((80, 80)) > 0)
    choice = rng.integers(0, 6, rows.size)
    table = np.array([0, 4, 4096, 1025, 2, 2**23])  # three good, three bad
    dq[rows, cols] = table[choice]
    bad = choice >= 3
    img[rows[bad], cols[bad]] = 100.0
    sky = annulus_sky(img, dq, 40.3, 39.6, 20, 25, use_dq=True)
    assert sky.mean == 1.0 and sky.sigma == 0.0
    assert sky.npix == sky.nvalues == np.count_nonzero(~bad)
    # without the DQ selection the bad pixels enter (and survive a 3-sigma clip at this fraction)
    sky_all = annulus_sky(img, dq, 40.3, 39.6, 20, 25, use_dq=False)
    assert sky_all.mean > 1.0


def test_sky_stats_separate_npix_clip_and_nan():
    rng = np.random.default_rng(1)
    v = np.concatenate([rng.normal(10, 1, 2000), [50, 60, np.nan]])
    s = sky_stats(v)
    assert s.mean == pytest.approx(10, abs=0.1) and s.sigma == pytest.approx(1, abs=0.1)
    assert 1900 < s.npix <= 2000 and s.nvalues == 2003


def test_legacy_zero_fill_example_from_spec():
    """Spec section 2: SUB64 star at (37.2, 36.9), annulus 27-32: 263 of 927 zero-filled, mean 0.50 -> 0.36."""
    img = np.full((64, 64), 0.5)
    m = annulus_mask(37.2, 36.9, 27, 32)
    legacy = mask_values(m, img, legacy=True)
    assert legacy.size == 927 and np.count_nonzero(legacy == 0) == 263
    assert sky_stats(legacy).mean == pytest.approx(0.5 * 664 / 927)
    fixed = mask_values(m, img)
    assert fixed.size == 664 and sky_stats(fixed).mean == 0.5


def test_dq_report_in_ee_and_pixel_values_unchanged(tmp_path):
    img = _point_source(total=500.0, sky=1.0)
    dq = np.zeros(img.shape, dtype=np.uint32)
    dq[64, 66] = 2  # r=2: sat
    dq[62, 64] = 1025  # r=2: dead
    dq[64, 61] = 2**23  # r=3: unreliable
    dq[67, 64] = 1  # r=3: DONT USE
    dq[64, 64] = 2  # centre: excluded from the 1-5 px annulus
    path = write_exposure(tmp_path / "dq.fits", img, dq=dq, primary={"EFFINTTM": 1.0})
    res = ee_photometry(read_exposure(path), 64, 64)
    assert res.dq_counts == {"sat": 1, "dead": 1, "unreliable": 1, "dnu": 1}
    assert res.messages[1] == "   1 sat, 1 dead, 1 unreliable, 1 DONT USE pixels in source 0"
    np.testing.assert_allclose(res.countrate, C.GAIN * 500.0)


def test_output_tables_layout(tmp_path):
    path = write_exposure(tmp_path / "p.fits", _point_source(), single_hdu=True)
    res = ee_photometry(read_exposure(path), 64, 64)
    t = ee_table(res)
    t.write(tmp_path / "x.radtab", format="ascii.fixed_width", delimiter=None)
    lines = (tmp_path / "x.radtab").read_text().splitlines()
    assert lines[0] == " Radius  Rad_arcsec     CountRate  errCountRate "
    assert lines[1] == "      1      0.0656    1.6000e+03    3.1623e+01 "
    ft = fluxes_table(res)
    names = ft.colnames
    assert names[:3] == ["id", "xcenter", "ycenter"]
    assert names[3:15] == [f"aperture_sum_{i}" for i in range(12)]
    assert names[15:18] == ["bck_mean", "bck_stdev", "bck_npix"]
    assert names[18:20] == ["flux_0", "fluxerr_0"] and names[-1] == "fluxerr_11"


# --------------------------------------------------------------------------
# edge of the image
# --------------------------------------------------------------------------
def test_edge_sky_annulus_off_image_fixed_vs_legacy(tmp_path):
    """Star 16 px from the left edge: 24 % of the 20-25 px sky annulus is off the image.

    Corrected mode uses only the on-image pixels (sky exact); legacy mode zero-fills
    the off-image positions (too many to be clipped), so the sky is low and the EE high.
    """
    total, sky = 1000.0, 3.0
    img = _point_source(shape=(64, 64), x0=16, y0=32, total=total, sky=sky)
    exp = read_exposure(write_exposure(tmp_path / "edge.fits", img, single_hdu=True))
    fixed = ee_photometry(exp, 16, 32)
    assert fixed.bck_mean == pytest.approx(sky) and fixed.offimage_radii == []
    np.testing.assert_allclose(fixed.countrate, C.GAIN * total, rtol=1e-10)
    legacy = ee_photometry(exp, 16, 32, legacy=True)
    values = mask_values(annulus_mask(16, 32, 20, 25), img, legacy=True)
    nzero = np.count_nonzero(values == 0)
    assert nzero == 165 and legacy.bck_mean == pytest.approx(sky * (values.size - nzero) / values.size)
    r = np.asarray(C.EE_RADII, dtype=float)
    expected = C.GAIN * (total + (sky - legacy.bck_mean) * np.pi * r**2)
    np.testing.assert_allclose(legacy.countrate, expected, rtol=1e-10)


def test_edge_aperture_partly_off_image_is_reported(tmp_path, caplog):
    total, sky = 1000.0, 1.0
    img = _point_source(shape=(128, 128), x0=5, y0=64, total=total, sky=sky)
    exp = read_exposure(write_exposure(tmp_path / "edge2.fits", img, single_hdu=True))
    with caplog.at_level(logging.WARNING):
        res = ee_photometry(exp, 5, 64)
    assert res.offimage_radii == [6.0, 7.0, 8.0, 9.0, 10.0, 12.0, 15.0]
    assert "extend beyond the image" in caplog.text
    # a flat sky is subtracted with the full geometric area although part of the aperture is off
    # the image: the off-image part counts as -sky (documented behaviour)
    r = np.asarray(C.EE_RADII, dtype=float)
    on = res.aperture_sums
    assert np.all(np.isfinite(on))
    assert res.countrate[0] == pytest.approx(C.GAIN * total)
    assert res.countrate[-1] < C.GAIN * total
    assert np.all(on[r > 5.5] < total + sky * np.pi * r[r > 5.5] ** 2)


def test_coordinates_off_image_and_empty_sky(tmp_path):
    exp = read_exposure(
        write_exposure(tmp_path / "s.fits", _point_source(shape=(32, 32), x0=16, y0=16), single_hdu=True)
    )
    with pytest.raises(NirissInputError, match="off the image"):
        ee_photometry(exp, 40, 10)
    with pytest.raises(NirissInputError, match="off the image"):
        ee_photometry(exp, -0.6, 10)
    # a 32x32 image has no pixel 20-25 px from... every position has some; a 16x16 has none from its centre
    small = read_exposure(
        write_exposure(tmp_path / "t.fits", _point_source(shape=(16, 16), x0=8, y0=8), single_hdu=True)
    )
    with pytest.raises(NirissInputError, match="usable sky pixels"):
        ee_photometry(small, 8, 8)


def test_nan_pixels_are_repaired_or_masked(tmp_path):
    sigma, total, sky = 1.5, 2000.0, 0.2
    img = gaussian_image((96, 96), 48.0, 48.0, sigma, total) + sky
    img[48, 55] = np.nan  # r = 7: inside the repair annulus -> repaired by the surface fit
    img[10, 10] = np.nan  # far away: irrelevant
    exp = read_exposure(write_exposure(tmp_path / "n.fits", img, single_hdu=True))
    res = ee_photometry(exp, 48, 48)
    assert np.all(np.isfinite(res.countrate))
    assert res.countrate[-1] == pytest.approx(C.GAIN * total, rel=1e-3)
    med = ee_photometry(exp, 48, 48, median=True)
    assert np.all(np.isfinite(med.countrate)) and med.nrepaired >= 1
