"""Polynomial surface repair and median replacement (spec sections 3 step 5, 4, bugs B1, B2, B11)."""

from __future__ import annotations

import numpy as np
import pytest

from absflux.niriss.common import annulus_mask
from absflux.niriss.ee import ee_photometry
from absflux.niriss.io import read_exposure
from absflux.niriss.repair import fix_bad_pixels_surface, median_replace, poly_design
from absflux.niriss.synthetic import bicubic_surface, gaussian_image, write_exposure


def test_design_matrix_order():
    """Coefficient k = 4 i + j multiplies x**i y**j (x along columns)."""
    x, y = np.array([2.0]), np.array([3.0])
    d = poly_design(x, y)[0]
    assert d.shape == (16,)
    assert d[4 * 1 + 2] == 2.0 * 9.0 and d[4 * 3 + 0] == 8.0 and d[0] == 1.0


@pytest.mark.parametrize("legacy", [False, True])
def test_surface_repair_restores_bicubic_surface(legacy):
    truth = bicubic_surface((40, 40))
    img = truth.copy()
    rows = np.array([10, 10, 11, 20, 25, 30])
    cols = np.array([12, 13, 12, 20, 8, 30])
    img[rows, cols] = -999.0
    fixed, ok = fix_bad_pixels_surface(img, (rows, cols), legacy=legacy)
    assert ok
    np.testing.assert_allclose(fixed, truth, rtol=0, atol=1e-9 * np.abs(truth).max())
    assert img[10, 12] == -999.0  # input untouched


def _box_fit(img, flagged, r, c, box=3):
    """Independent tensor-basis fit of the 7x7 box around (r, c), evaluated on the box."""
    g = np.linspace(0, 1, 2 * box + 1)
    xs, ys = np.meshgrid(g, g)
    sub = img[r - box : r + box + 1, c - box : c + box + 1]
    good = ~flagged[r - box : r + box + 1, c - box : c + box + 1]
    a = np.stack([xs[good] ** i * ys[good] ** j for i in range(4) for j in range(4)], axis=1)
    coeff = np.linalg.lstsq(a, sub[good], rcond=None)[0]
    full = np.stack([xs**i * ys**j for i in range(4) for j in range(4)], axis=-1)
    return full @ coeff


def test_legacy_last_fit_wins_corrected_uses_own_box():
    """Original: each box's fit is written into every flagged pixel of the box, so the last
    overlapping box decides; corrected: each pixel gets the fit centred on it."""
    rng = np.random.default_rng(2)
    img = rng.normal(10.0, 1.0, (30, 30))
    pix = (np.array([15, 15]), np.array([15, 17]))
    flagged = np.zeros(img.shape, dtype=bool)
    flagged[pix] = True
    fit_a = _box_fit(img, flagged, 15, 15)  # box centred on (15, 15)
    fit_b = _box_fit(img, flagged, 15, 17)  # box centred on (15, 17), the later one
    legacy, ok = fix_bad_pixels_surface(img, pix, legacy=True)
    assert ok
    assert legacy[15, 15] == pytest.approx(fit_b[3, 1]) and legacy[15, 17] == pytest.approx(fit_b[3, 3])
    fixed, _ = fix_bad_pixels_surface(img, pix)
    assert fixed[15, 15] == pytest.approx(fit_a[3, 3]) and fixed[15, 17] == pytest.approx(fit_b[3, 3])
    unflagged = ~flagged
    np.testing.assert_array_equal(legacy[unflagged], img[unflagged])
    np.testing.assert_array_equal(fixed[unflagged], img[unflagged])


def test_legacy_edge_behaviour_b2():
    """Within 3 px of the bottom/left edge: skipped; of the top/right edge: the whole call aborts."""
    truth = bicubic_surface((30, 30))
    img = truth.copy()
    img[[10, 1], [10, 10]] = -5.0
    fixed, ok = fix_bad_pixels_surface(img, (np.array([10, 1]), np.array([10, 10])), legacy=True)
    assert ok and fixed[10, 10] == pytest.approx(truth[10, 10]) and fixed[1, 10] == -5.0
    img2 = truth.copy()
    img2[[10, 28], [10, 10]] = -5.0
    fixed2, ok2 = fix_bad_pixels_surface(img2, (np.array([10, 28]), np.array([10, 10])), legacy=True)
    assert not ok2
    np.testing.assert_array_equal(fixed2, img2)  # every fix discarded, including (10, 10)


def test_corrected_edge_behaviour():
    """Default: the box is clipped at the edges and each pixel is handled on its own."""
    truth = bicubic_surface((30, 30))
    img = truth.copy()
    pix = (np.array([0, 1, 28, 29, 10, 12]), np.array([10, 10, 10, 20, 29, 0]))
    img[pix] = -5.0
    fixed, ok = fix_bad_pixels_surface(img, pix)
    assert ok
    np.testing.assert_allclose(fixed[pix], truth[pix], atol=1e-8 * np.abs(truth).max())


def test_corrected_corner_pixel_left_unchanged(caplog):
    """A corner pixel's clipped box has 4x4 = 16 pixels, 15 usable: fewer than the 16 terms."""
    img = bicubic_surface((30, 30))
    img[0, 0] = -5.0
    fixed, ok = fix_bad_pixels_surface(img, (np.array([0]), np.array([0])))
    assert ok and fixed[0, 0] == -5.0 and "left unchanged" in caplog.text


def test_corrected_repair_ignores_nan_neighbours_and_reports_unfixable(caplog):
    img = bicubic_surface((20, 20))
    truth = img.copy()
    img[10, 10] = np.nan
    img[9, 9] = np.nan  # a non-finite neighbour is not used as fit data
    fixed, _ = fix_bad_pixels_surface(img, (np.array([10]), np.array([10])))
    assert fixed[10, 10] == pytest.approx(truth[10, 10], rel=1e-9)
    # a pixel whose box holds fewer than 16 usable pixels stays unchanged
    flat = np.ones((5, 5))
    allbad = np.nonzero(flat)
    out, ok = fix_bad_pixels_surface(flat, allbad)
    assert ok and np.array_equal(out, flat) and "left unchanged" in caplog.text


def test_b1_legacy_repairs_the_wrong_pixels(tmp_path):
    """B1: the cutout-relative indices of the 5-15 px annulus are used as image indices."""
    img = gaussian_image((128, 128), 64.0, 64.0, 1.5, 5000.0)  # no sky: badlimit ~ 0
    img[64, 72] = -200.0  # r = 8: below sky - 3 sigma
    exp = read_exposure(write_exposure(tmp_path / "b1.fits", img, single_hdu=True))
    fixed = ee_photometry(exp, 64, 64)
    legacy = ee_photometry(exp, 64, 64, legacy=True)
    assert fixed.nrepaired == 1 and legacy.nrepaired == 1
    # corrected: the pixel is repaired, the r >= 8 sums recover the Gaussian total
    assert fixed.countrate[-1] == pytest.approx(1.6 * 5000.0, rel=1e-4)
    # legacy: the flagged pixel has cutout index (15, 23) in the 31x31 bbox, and image pixel (15, 23)
    # far from the star is "repaired" instead: the -200 stays in the apertures
    m = annulus_mask(64.0, 64.0, 5, 15)
    assert (64 - m.bbox.iymin, 72 - m.bbox.ixmin) == (15, 23)
    assert legacy.countrate[-1] == pytest.approx(1.6 * (5000.0 - 200.0), rel=1e-4)


def test_median_replace_whole_cutout_and_input_untouched():
    rng = np.random.default_rng(5)
    img = rng.normal(100.0, 1.0, (60, 60))
    img[30, 30] = 0.0  # core pixel (B11: the whole 40x40 box is treated)
    img[12, 12] = 0.0  # inside the cutout (rows/cols 10..49)
    img[5, 5] = 0.0  # outside the cutout: kept
    out, n = median_replace(img, 30.0, 30.0, badlimit=90.0)
    assert n == 2 and img[30, 30] == 0.0
    assert out[30, 30] == pytest.approx(100.0, abs=1.0) and out[12, 12] == pytest.approx(100.0, abs=1.0)
    assert out[5, 5] == 0.0
    unchanged = np.ones_like(img, dtype=bool)
    unchanged[[30, 12], [30, 12]] = False
    np.testing.assert_array_equal(out[unchanged], img[unchanged])


def test_median_replace_trimmed_at_edge_and_nan():
    img = np.full((30, 30), 5.0)
    img[0, 0] = -1.0
    img[2, 3] = np.nan
    out, n = median_replace(img, 2.0, 2.0, badlimit=4.0)
    assert n == 2 and out[0, 0] == 5.0 and out[2, 3] == 5.0
    legacy, nl = median_replace(img, 2.0, 2.0, badlimit=4.0, legacy=True)
    assert nl == 1 and legacy[0, 0] == 5.0  # NaN compares False: not replaced in legacy mode
