"""Consistency of the single source of truth for instrument and campaign constants."""

import numpy as np
import pytest

from absflux import constants as C


def test_filter_sets():
    assert len(C.IMAGER_FILTERS) == 9
    assert len(C.CORON_FILTERS) == 4
    assert len(C.ALL_FILTERS) == 14 == len(set(C.ALL_FILTERS))
    assert sorted(C.PLOT_ORDER) == sorted(C.ALL_FILTERS)
    assert sorted(C.MODEL_TABLE_ORDER) == sorted(C.ALL_FILTERS)


@pytest.mark.parametrize(
    "table",
    ["FWHM", "FWHMFAC", "PIVOT_WAVELENGTH", "NOMINAL_WAVELENGTH", "SIGCUT"],
)
def test_every_filter_has_every_property(table):
    values = getattr(C, table)
    assert set(values) == set(C.ALL_FILTERS)
    assert all(np.isfinite(v) and v > 0 for v in values.values())


def test_spec_values():
    # spec 0.4: a few published numbers
    assert C.FWHM["F770W"] == 2.187 and C.FWHM["FND"] == 3.7
    assert C.FWHMFAC["F2550W"] == 5 and C.FWHMFAC["F560W"] == 25
    # derived merge radius F560W 40.90, annulus [81.80, 98.16]
    rn = C.FWHMFAC["F560W"] * C.FWHM["F560W"]
    assert rn == pytest.approx(40.90, abs=0.005)
    assert (2 * rn, 2.4 * rn) == pytest.approx((81.80, 98.16), abs=0.01)
    assert C.SIGCUT["F560W"] == 3.0 and C.SIGCUT["FND"] == 3.5
    assert C.MOSAIC_PIXEL_AREA_SR == pytest.approx(2.8440e-13, rel=1e-4)
    assert C.STARTDAY == 59720.0


def test_subarrays_and_factors():
    for f in C.ALL_FILTERS:
        subs = C.reffile_subarrays(f)
        assert "FULL" in subs
        assert all(s in C.SUBARR_COR and s in C.SUBARRAYS for s in subs)
    assert C.reffile_subarrays("F1065C") == ("FULL", "MASK1065")
    assert C.reffile_subarrays("FND")[-1] == "SLITLESSPRISM"
    # the adopted factors are the "Adopted" ratios divided by FULL (rounded by hand, spec 0.4)
    rel = np.array(C.SUBARR_ADOPTED_REL_SUB256) / C.SUBARR_ADOPTED_REL_SUB256[0]
    ours = [C.SUBARR_COR[s] for s in C.IMAGER_SUBARRAYS]
    assert np.allclose(ours, rel, atol=0.005)
    with pytest.raises(KeyError):
        C.reffile_subarrays("F999W")


def test_subarray_geometry_matches_siaf():
    pysiaf = pytest.importorskip("pysiaf")
    siaf = pysiaf.Siaf("MIRI")
    for s in C.SUBARRAYS.values():
        ap = siaf[s.siaf_aperture]
        assert (ap.XSciSize, ap.YSciSize) == (s.xsize, s.ysize)
        x0, y0 = ap.dms_corner()
        assert (int(x0), int(y0)) == (s.xstart, s.ystart)
    for s, n in C.MAX_NGROUPS.items():
        assert s in C.SUBARRAYS and n >= 5


def test_coronagraph_tables():
    for f in C.CORON_FILTERS:
        assert f in C.CORON_SUBARRAY and f in C.CORON_IMAGE_MASK and f in C.CORON_PUPIL_MASK
        assert C.FAKE_IMAGER_FILTER[f] in C.IMAGER_FILTERS
    assert C.FAKE_IMAGER_FILTER["FND"] == "F1280W"
    for f, (a, b) in C.CORON_INTERP_PAIRS.items():
        assert C.CORON_INTERP_PIVOTS[a] <= C.CORON_INTERP_PIVOTS[f] <= C.CORON_INTERP_PIVOTS[b]


def test_star_catalogue():
    assert C.REPEAT_STAR in C.STARS
    for stype, name in C.BRIDGING_STARS:
        assert C.STARS[name].startype == stype
    for name in C.IGNORE_STARS:
        assert name in C.STARS
    for _f, (name, mjd, width) in C.SUBTRANS_SELECTION.items():
        assert name in C.STARS and mjd > C.STARTDAY and width > 0
    for s in C.STARS.values():
        assert s.startype in C.STAR_TYPES
        assert C.MODEL_NAMES[s.model_key] == s.name
        assert -90 <= s.dec <= 90 and 0 <= s.ra < 360
        assert C.canonical_name(s.header_name) == s.name
    # spec 0.5 aliases
    assert C.canonical_name("J1757132") == "2MASS J17571324+6703409"
    assert C.canonical_name("HD 1452331") == "HD 142331"
    assert C.canonical_name("HR 6538") == "HD 159222"
    assert C.canonical_name("10LAC") == "10 Lac"
    assert C.canonical_name("PG 1057+719") == "WD 1057+719"
    assert C.canonical_name("GD153") == "GD 153"
    # the fixed G. Rieke key list: 11 stars, including NGC2506 G31 (the original's typo dropped it)
    assert len(C.GRIEKE_KEYS) == 11 and "ngc2506g31" in C.GRIEKE_KEYS
    assert {C.STARS[C.MODEL_NAMES[k]].startype for k in C.GRIEKE_KEYS} == {"SolarAnalogs"}
