"""Surface-brightness annuli (getcircSB1, spec section 6) with analytic answers."""

from __future__ import annotations

import numpy as np
import pytest

from absflux.niriss import constants as C
from absflux.niriss.io import read_exposure
from absflux.niriss.sb import annulus_sb, sb_profile, sb_table
from absflux.niriss.synthetic import write_exposure

X0, Y0 = 40.3, 39.6


def _disc_image(shape, x0, y0, inner=4.0, outer=0.5, r_edge=27.0):
    """`inner` for pixel centres closer than r_edge, `outer` beyond (the SB sky annulus is 27-32 px)."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    d = np.hypot(xx - x0, yy - y0)
    return np.where(d < r_edge, inner, outer), d


def _count(d, r_in, r_out):
    """photutils 'center' masks select pixel centres with r_in <= d < r_out."""
    return int(np.count_nonzero((d >= r_in) & (d < r_out)))


def _flat_exposure(tmp_path, shape=(80, 80), x0=X0, y0=Y0, name="sb.fits", outer=0.5):
    img, d = _disc_image(shape, x0, y0, outer=outer)
    img[int(round(y0)), int(round(x0))] += 1.0  # a centroid peak at the rounded position
    return read_exposure(write_exposure(tmp_path / name, img, single_hdu=True)), d


def test_sb_clipped_and_noclip_analytic(tmp_path):
    # sky -0.5: the limit is negative, so legacy mode's B1 flags none of the zero-filled cutout pixels
    exp, d = _flat_exposure(tmp_path, x0=40.0, y0=40.0, outer=-0.5)
    res = sb_profile(exp, 40, 40)
    assert (res.xc, res.yc) == pytest.approx((40.0, 40.0))
    assert res.sky_mean == -0.5 and res.sky_sigma == 0.0 and res.badlimit == -0.5 and res.nrepaired == 0
    n = np.array([_count(d, r - 2, r + 2) for r in C.SB_RADII])
    np.testing.assert_array_equal(res.npix, n)
    np.testing.assert_allclose(res.sb, 4.0)
    np.testing.assert_allclose(res.err, np.sqrt(4.0 * n) / n)
    # noclip: corrected divides by the pixel count, legacy by the geometric area
    # pi((r+2)^2 - (r-2)^2) = 8 pi r (the spec's "16 pi r" is an arithmetic slip)
    noclip = sb_profile(exp, 40, 40, clip=False)
    np.testing.assert_allclose(noclip.sb, 4.0)
    legacy = sb_profile(exp, 40, 40, clip=False, legacy=True)
    r = np.asarray(C.SB_RADII, dtype=float)
    np.testing.assert_allclose(legacy.sb, 4.0 * n / (8 * np.pi * r))
    np.testing.assert_allclose(legacy.err, np.sqrt(4.0 * n) / (8 * np.pi * r))


def test_sb_clip_level_is_two_sigma():
    """Only values strictly above sky - 2 sigma are kept; dev = sqrt(sum) only if sum > 0."""
    v = np.array([1.0, 2.0, 3.0, 10.0])
    sb, err, n = annulus_sb(v, 9.0, badlimit=2.0, clip=True, legacy=False, half_width=2.0)
    assert n == 2 and sb == 6.5 and err == pytest.approx(np.sqrt(13.0) / 2)
    sb, err, n = annulus_sb(np.array([-3.0, -1.0]), 9.0, badlimit=-5.0, clip=True, legacy=False, half_width=2.0)
    assert sb == -2.0 and err == 0.0 and n == 2
    sb, err, n = annulus_sb(np.array([1.0]), 9.0, badlimit=5.0, clip=True, legacy=False, half_width=2.0)
    assert np.isnan(sb) and n == 0


def test_sb_low_pixels_dropped_by_clipping(tmp_path):
    exp, d = _flat_exposure(tmp_path, x0=40.0, y0=40.0)
    img = exp.image.copy()
    img[40, 57] = -3.0  # d = 17: in the r=17 annulus (15-19), outside the 1-15 px repair annulus
    exp.image = img
    res = sb_profile(exp, 40, 40)
    n17 = _count(d, 15, 19)
    assert res.npix[3] == n17 - 1 and res.sb[3] == 4.0
    noclip = sb_profile(exp, 40, 40, clip=False)
    assert noclip.sb[3] == pytest.approx((4.0 * (n17 - 1) - 3.0) / n17)


def test_sb_edge_of_image_fixed_vs_legacy(tmp_path):
    """SUB64 star at (39, 39): the 27-32 px sky annulus (342 of 920 positions) and the 23-27 px
    annulus (72 of 636) run off the image.

    Corrected: statistics and annuli of the on-image pixels only, SB exact.  Legacy: the
    zero-filled positions lower the sky (0.5 -> 0.314, limit < 0) and enter the r=25 annulus.
    """
    img, _ = _disc_image((64, 64), 39.0, 39.0)
    img[39, 39] += 2.0
    exp = read_exposure(write_exposure(tmp_path / "edge.fits", img, single_hdu=True))
    fixed = sb_profile(exp, 39, 39)
    assert (fixed.xc, fixed.yc) == pytest.approx((39.0, 39.0))
    assert fixed.sky_mean == 0.5
    np.testing.assert_allclose(fixed.sb, 4.0)
    assert fixed.npix[-1] == 636 - 72
    legacy = sb_profile(exp, 39, 39, legacy=True)
    assert legacy.sky_mean == pytest.approx(0.5 * (920 - 342) / 920)
    np.testing.assert_allclose(legacy.sb[:-1], 4.0)
    assert legacy.sb[-1] == pytest.approx(4.0 * (636 - 72) / 636)
    assert legacy.npix[-1] == 636


def test_sb_dq_report_annulus_3_to_7(tmp_path):
    img, _ = _disc_image((80, 80), 40.0, 40.0)
    img[40, 40] += 1.0
    dq = np.zeros(img.shape, dtype=np.uint32)
    dq[40, 45] = 2  # r = 5: counted
    dq[40, 41] = 2  # r = 1: not in the 3-7 px annulus
    dq[40, 48] = 1  # r = 8: not counted
    exp = read_exposure(write_exposure(tmp_path / "dq.fits", img, dq=dq))
    res = sb_profile(exp, 40, 40)
    assert res.dq_counts == {"sat": 1, "dead": 0, "unreliable": 0, "dnu": 0}
    assert res.messages[-1].startswith("   1 sat, 0 dead")


def test_sb_table_layout(tmp_path):
    exp, _ = _flat_exposure(tmp_path, x0=40.0, y0=40.0)
    t = sb_table(sb_profile(exp, 40, 40))
    t.write(tmp_path / "x.sbtab", format="ascii.fixed_width", delimiter=None)
    lines = (tmp_path / "x.sbtab").read_text().splitlines()
    assert lines[0] == " Radius           SB        errSB "
    assert lines[1].startswith("      5      4.00000 ")
