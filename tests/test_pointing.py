"""Pointing of simulated exposures: the star lands where the WCS keywords say."""

import numpy as np
import pytest

from absflux import constants as C
from absflux import pointing as P

pytest.importorskip("pysiaf")


@pytest.mark.parametrize("subarray", ["FULL", "SUB256", "SUB64", "MASK1065", "MASKLYOT"])
@pytest.mark.parametrize("radec", [(261.2178, 60.4307), (253.05, 86.59), (7.827, -43.606)])
def test_star_position_round_trip(subarray, radec):
    from pysiaf.utils import rotations

    filt = "F1065C" if subarray == "MASK1065" else ("F2300C" if subarray == "MASKLYOT" else "F770W")
    x, y = P.target_pixel(subarray, filt, 1.2, -0.7)
    pl = P.place_star(radec[0], radec[1], subarray, x, y, 123.4)
    # independent: attitude from the header keywords at the aperture reference point
    att = rotations.attitude(pl.v2_ref, pl.v3_ref, pl.ra_ref, pl.dec_ref, pl.roll_ref)
    v2, v3 = P.det_to_tel(pl.x_full, pl.y_full)
    ra, dec = rotations.pointing(att, float(v2), float(v3))
    sep = np.hypot((ra - radec[0]) * np.cos(np.deg2rad(radec[1])), dec - radec[1]) * 3600
    assert sep < 1e-4  # arcsec
    s = C.SUBARRAYS[subarray]
    assert 0 <= x < s.xsize and 0 <= y < s.ysize


def test_pixel_area_near_nominal():
    area = P.pixel_area_sr(693.0, 512.0)
    # MIRI imager pixel ~0.1108"; photom metadata (0.11033")^2 = 2.8606e-13 sr
    assert area == pytest.approx(C.PHOTOM_PIXELAREA_SR, rel=0.02)


def test_coronagraphic_star_is_off_mask():
    x, y = P.target_pixel("MASK1065", "F1065C", 0.0, 0.0)
    ap = P.aperture("MIRIM_MASK1065")
    assert np.hypot(x + 1 - ap.XSciRef, y + 1 - ap.YSciRef) == pytest.approx(np.hypot(74, 72), abs=0.01)


def test_proper_motion():
    # 1000 mas/yr in Dec for 20 years -> 20 arcsec north
    ra, dec = P.apply_proper_motion(10.0, 0.0, 0.0, 1000.0, 2000.0, 58849.0)  # MJD 58849 = 2020-01-01
    assert (dec - 0.0) * 3600 == pytest.approx(20.0, rel=1e-3)
    assert ra == pytest.approx(10.0, abs=1e-9)


def test_fast_det_to_tel_equals_pysiaf():
    full = P.aperture("MIRIM_FULL")
    x = np.array([10.0, 400.3, 693.5, 1000.0, 512.2])
    y = np.array([10.0, 900.1, 512.5, 20.0, 3.3])
    v2, v3 = P.det_to_tel(x, y)
    v2s, v3s = full.det_to_tel(x + 1, y + 1)
    assert np.allclose(v2, v2s, atol=1e-9) and np.allclose(v3, v3s, atol=1e-9)
