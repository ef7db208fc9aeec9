"""Step 5 photometry: aper_image on synthetic images with analytic answers, aper_one_filter/aper_all and bad inputs.

The closed-loop check against the injected rates of the tiny simulated
campaign (real jwst pipeline) lives in tests/test_apcorr.py, which shares one
reduction of the campaign for steps 2-5.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from absflux import constants as C
from absflux.photometry import (
    EXTRA_COLUMNS,
    PHOT_COLUMNS,
    PhotometryError,
    StarNotFoundError,
    aper_image,
    aper_one_filter,
    gaussian_star,
    phot_table_path,
    synthetic_mosaic,
    uniform_disk,
)

REPO = Path(__file__).resolve().parents[1]
SHAPE = (120, 140)


def _run(script, *args, cwd=None):
    return subprocess.run(
        [sys.executable, str(REPO / script), *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


def _one_line_error(r):
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, r.stderr
    return lines[0]


# --------------------------------------------------------------------------
# aper_image: analytic answers
# --------------------------------------------------------------------------
def test_uniform_disk_exact_area(tmp_path):
    """A uniform disk measured with a smaller aperture: sum = v pi r^2 exactly, zero background."""
    x0, y0, v = 70.3, 55.6, 2.5
    img = uniform_disk(SHAPE, x0, y0, 20.0, v)
    f = synthetic_mosaic(tmp_path / "disk_i2d.fits", img, star_xy=(x0, y0), photmjsr=1.0)
    t = aper_image(f, "F770W", 6.3, (25.0, 30.0), 1.0, override_center=(261.2178, 60.4308))
    assert t["aperture_sum"][0].value == pytest.approx(v * np.pi * 6.3**2, rel=1e-6)
    assert t["mean_bkg"][0].value == pytest.approx(0.0, abs=1e-9)
    assert float(t["aperture_area"][0].value) == pytest.approx(np.pi * 6.3**2)
    assert float(t["xcenter_full"][0].value) == pytest.approx(x0, abs=1e-6)
    assert float(t["ycenter_full"][0].value) == pytest.approx(y0, abs=1e-6)
    assert float(t["pixarea"][0].value) == pytest.approx(C.MOSAIC_PIXEL_AREA_SR, rel=1e-6)


def test_gaussian_subpixel_position_and_flux(tmp_path):
    """Gaussian star at a sub-pixel position: centre recovered, EE of a Gaussian, sky removed."""
    x0, y0, flux, sig, sky = 66.37, 58.81, 1.0e4, 1.3, 3.0
    img = gaussian_star(SHAPE, x0, y0, flux, sig) + sky
    f = synthetic_mosaic(tmp_path / "g_i2d.fits", img, star_xy=(x0, y0), photmjsr=0.27)
    r = 3.0
    t = aper_image(f, "F770W", r, (15.0, 20.0), 1.25)
    row = t[0]
    assert list(t.colnames) == list(PHOT_COLUMNS) + list(EXTRA_COLUMNS)
    # peak pixel (66, 59), then one recentring on the centroid (spec 3.8.1 step 9): within 0.15 px
    assert (float(row["x_peak"].value), float(row["y_peak"].value)) == (66.0, 59.0)
    assert float(row["xcenter_full"].value) == pytest.approx(x0, abs=0.15)
    assert float(row["ycenter_full"].value) == pytest.approx(y0, abs=0.15)
    # exact apertures on a pixel-integrated Gaussian measure the Gaussian convolved twice with the
    # pixel box: sigma_eff^2 = sigma^2 + 2/12
    ee = 1 - np.exp(-(r**2) / (2 * (sig**2 + 1 / 6)))
    assert row["aperture_sum_bkgsub"].value == pytest.approx(flux * ee, rel=3e-3)
    t = aper_image(f, "F770W", r, (15.0, 20.0), 1.25, override_center=(261.2178, 60.4308))
    assert float(t["xcenter_full"][0].value) == pytest.approx(x0, abs=1e-6)
    assert t["aperture_sum_bkgsub"][0].value == pytest.approx(flux * ee, rel=3e-3)
    assert row["mean_bkg"].value == pytest.approx(sky, rel=1e-4)
    assert float(row["photmjysr"]) == pytest.approx(0.27)
    assert row["apcorr"] == 1.25 and row["name"] == "BD+60 1753" and row["filter"] == "F770W"
    assert abs(float(row["x_offset_from_expected"].value)) < 0.6 and abs(float(row["x_peak"].value) - x0) <= 0.5


def test_annulus_mean_is_the_exact_area_mean_and_clipping_is_biased(tmp_path):
    """A bright ring and three hot pixels in the sky annulus (the PSF structure of a bright star).

    The default statistic is the exact-area mean the aperture correction's sky term assumes; the
    original's sigma-clipped mean rejects the structure and under-subtracts.
    """
    x0, y0, sky, ring = 70.0, 60.0, 5.0, 40.0
    img = gaussian_star(SHAPE, x0, y0, 1.0e5, 1.0) + sky
    img += ring * (uniform_disk(SHAPE, x0, y0, 12.0) - uniform_disk(SHAPE, x0, y0, 10.0))
    hot = [(60, 70 + 11), (60 - 11, 70), (60 + 9, 70 + 8)]  # (row, col), all well inside [8, 14]
    for yx in hot:
        img[yx] += 500.0
    f = synthetic_mosaic(tmp_path / "ring_i2d.fits", img, star_xy=(x0, y0), photmjsr=1.0)
    centre = (261.2178, 60.4308)
    area = np.pi * (14.0**2 - 8.0**2)
    expect = sky + (ring * np.pi * (12.0**2 - 10.0**2) + 500.0 * len(hot)) / area
    t = aper_image(f, "F770W", 4.0, (8.0, 14.0), 1.0, override_center=centre)
    assert t["mean_bkg"][0].value == pytest.approx(expect, rel=1e-6)
    star = 1.0e5 * (1 - np.exp(-(4.0**2) / (2 * (1.0 + 1 / 6))))
    assert t["aperture_sum_bkgsub"][0].value == pytest.approx(star + (sky - expect) * np.pi * 16.0, rel=1e-3)
    clipped = aper_image(f, "F770W", 4.0, (8.0, 14.0), 1.0, override_center=centre, annulus_stat="clipped")
    assert clipped["mean_bkg"][0].value < expect - 3.0
    with pytest.raises(PhotometryError, match="annulus_stat must be one of mean, clipped"):
        aper_image(f, "F770W", 4.0, (8.0, 14.0), 1.0, annulus_stat="median")


def test_star_near_edge(tmp_path):
    """Aperture crossing the image edge -> NaN photometry; aperture inside with a partial annulus -> valid."""
    sig = 1.2
    img = gaussian_star(SHAPE, 4.2, 60.0, 5e3, sig) + 1.0
    f = synthetic_mosaic(tmp_path / "edge_i2d.fits", img, star_xy=(4.2, 60.0))
    t = aper_image(f, "F770W", 5.0, (8.0, 12.0), 1.0)
    assert np.isnan(t["aperture_sum"][0].value)
    assert np.isnan(t["aperture_sum_bkgsub"][0].value)
    t = aper_image(f, "F770W", 3.5, (8.0, 12.0), 1.0)
    assert np.isfinite(t["aperture_sum_bkgsub"][0].value)
    assert 0.4 < float(t["annulus_fraction"][0]) < 0.8
    assert t["mean_bkg"][0].value == pytest.approx(1.0, abs=0.02)


def test_nans_few_are_interpolated_many_invalidate(tmp_path):
    x0, y0, flux, sig = 70.0, 60.0, 1e4, 2.0
    base = gaussian_star(SHAPE, x0, y0, flux, sig) + 2.0
    ref = aper_image(synthetic_mosaic(tmp_path / "ref.fits", base), "F770W", 4, (12, 16), 1)["aperture_sum"][0].value
    few = base.copy()
    few[60, 73] = few[57, 70] = few[63, 69] = np.nan  # 3 px from the centre
    t = aper_image(synthetic_mosaic(tmp_path / "few.fits", few), "F770W", 4, (12, 16), 1)
    assert bool(t["nan_interpolated"][0]) and int(t["nan_in_aperture"][0]) == 3
    assert t["aperture_sum"][0].value == pytest.approx(ref, rel=1e-2)
    many = base.copy()
    many[62:65, 66:73] = np.nan  # 21 pixels in the aperture
    t = aper_image(
        synthetic_mosaic(tmp_path / "many.fits", many), "F770W", 4, (12, 16), 1, override_center=(261.2178, 60.4308)
    )
    assert int(t["nan_in_aperture"][0]) >= 10 and np.isnan(t["aperture_sum"][0].value)


def test_nans_outside_aperture_are_not_counted(tmp_path):
    """The original counted NaNs in the aperture's bounding box (NaN x 0 = NaN); only touched pixels count now."""
    img = gaussian_star(SHAPE, 70.0, 60.0, 1e4, 1.5) + 1.0
    for dy, dx in ((-4, -4), (4, 4), (-4, 4), (4, -4)) * 3:  # bounding-box corners of r = 4, outside the circle
        img[60 + dy, 70 + dx] = np.nan
    t = aper_image(
        synthetic_mosaic(tmp_path / "corner.fits", img), "F770W", 4.0, (12, 16), 1, override_center=(261.2178, 60.4308)
    )
    assert int(t["nan_in_aperture"][0]) == 0 and not bool(t["nan_interpolated"][0])
    assert np.isfinite(t["aperture_sum"][0].value)


def test_star_missing_or_off_image(tmp_path):
    rng = np.random.default_rng(3)
    f = synthetic_mosaic(tmp_path / "empty.fits", rng.normal(0, 1, SHAPE))
    with pytest.raises(StarNotFoundError, match="no peak"):
        aper_image(f, "F770W", 3, (10, 12), 1)
    img = gaussian_star(SHAPE, 70, 60, 1e4, 1.5)
    f = synthetic_mosaic(tmp_path / "off.fits", img, star_xy=(400.0, 60.0))  # target 330 px right of the image
    with pytest.raises(StarNotFoundError, match="outside"):
        aper_image(f, "F770W", 3, (10, 12), 1)
    t = aper_image(f, "F770W", 3, (10, 12), 1, search_whole_image=True)  # the original's fallback
    assert float(t["xcenter_full"][0].value) == pytest.approx(70, abs=0.15)


def test_outside_test_uses_the_right_axes(tmp_path):
    """Wide image, star at x = 150 > ny: with the original's swapped axes the whole image was searched and the
    brighter decoy found; now the cutout around the expected position is used."""
    shape = (60, 200)
    img = gaussian_star(shape, 150.2, 30.4, 1e4, 1.5) + gaussian_star(shape, 20.0, 30.0, 5e4, 1.5)
    f = synthetic_mosaic(tmp_path / "wide.fits", img, star_xy=(150.2, 30.4))
    t = aper_image(f, "F770W", 3, (6, 8), 1)
    assert float(t["xcenter_full"][0].value) == pytest.approx(150.2, abs=0.15)


def test_proper_motion_to_observation_epoch(tmp_path):
    """TARG_RA/DEC at the proposer epoch (J2000) are 10 px from the star in 2023; PROP + MU put it right."""
    x0, y0 = 70.0, 60.0
    img = gaussian_star(SHAPE, x0, y0, 1e4, 1.5)
    f = synthetic_mosaic(
        tmp_path / "pm.fits", img, star_xy=(x0, y0), pm_arcsec_per_year=(0.048, 0.0), targ_at_proposer_epoch=True
    )
    t = aper_image(f, "F770W", 3, (10, 12), 1)
    assert abs(float(t["x_offset_from_expected"][0].value)) < 0.2
    assert abs(float(t["y_offset_from_expected"][0].value)) < 0.2
    # without the proper motion the expected position would be ~10 pixels off
    from astropy.io import fits

    from absflux.photometry import read_image

    im = read_image(f)
    xt, _ = im.world_to_pixel(fits.getval(f, "TARG_RA"), fits.getval(f, "TARG_DEC"))
    assert abs(xt - x0) > 8


def test_corrupt_and_missing_image(tmp_path):
    bad = tmp_path / "bad_i2d.fits"
    bad.write_bytes(b"SIMPLE  = T" + b" " * 100)
    with pytest.raises(PhotometryError, match="not a readable mosaic"):
        aper_image(bad, "F770W", 3, (10, 12), 1)
    with pytest.raises(PhotometryError, match="not found"):
        aper_image(tmp_path / "nope.fits", "F770W", 3, (10, 12), 1)


# --------------------------------------------------------------------------
# aper_one_filter / aper_all on a synthetic campaign tree
# --------------------------------------------------------------------------
def _apcorr_file(path: Path, filters=("F770W",), radius=3.0, skyin=10.0, skyout=14.0, apcorr=1.4) -> Path:
    from absflux.apcorr import FilterApcor, reffile_rows, write_reffile

    res = {}
    ee = np.array(C.EE_FRACTIONS)
    for f in filters:
        rad = np.interp(ee, [0.2, 0.7, 0.8, 0.85], [1.0, radius, skyin, skyout])
        apc = 1.0 / ee
        apc[ee == 0.7] = apcorr
        res[f] = FilterApcor(f, ee, rad, rad * 0, apc, apc * 0, 1, ["test"], [])
    rows, _ = reffile_rows(res)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_reffile(rows, path, path.name, "INFLIGHT 2022-05-25 2024-06-02", "test", "2022-04-01T00:00:00")


def _tree(root: Path, sets=("BD+60 1753_set1", "BD+60 1753_set10", "HD 2811_set1"), bkgsub=True) -> dict:
    """<root>/ADwarfs/F770W/<set>/ mosaics (+ bkgsub) with Gaussian stars at known rates."""
    rates = {}
    for i, s in enumerate(sets):
        targ = s.rsplit("_set", 1)[0]
        rate = 5000.0 * (i + 1)
        x0, y0 = 60.3 + i, 55.7 - i
        img = gaussian_star(SHAPE, x0, y0, rate, 1.4)
        hdr = {"EXPMID": 60000.0 - i, "SUBARRAY": "SUB256"}
        d = root / "ADwarfs" / "F770W" / s
        synthetic_mosaic(d / f"miri_{s}_stage3_asn_i2d.fits", img + 4.0, star_xy=(x0, y0), targname=targ, header=hdr)
        if bkgsub:
            synthetic_mosaic(
                d / f"miri_{s}_stage3_bkgsub_asn_i2d.fits", img, star_xy=(x0, y0), targname=targ, header=hdr
            )
        rates[s] = rate
    return rates


def test_aper_one_filter_table(tmp_path):
    rates = _tree(tmp_path)
    ap = _apcorr_file(tmp_path / "ApCor" / "jwst_miri_apcorr_flight_t.fits")
    (tmp_path / "ApCor" / "latest_apcorr.txt").write_text(ap.name + "\n")
    res = aper_one_filter(tmp_path, "ADwarfs", "F770W")
    t = res.table
    assert res.path == phot_table_path(tmp_path, "ADwarfs", "F770W") and res.path.is_file()
    assert list(t.colnames)[:34] == list(PHOT_COLUMNS) and len(PHOT_COLUMNS) == 34
    # stable sort by (name, timemid): the two BD+60 1753 sets by time (set10 is earlier)
    assert list(t["name"]) == ["BD+60 1753", "BD+60 1753", "HD 2811"]
    assert list(t["dataset"]) == ["BD+60 1753_set10", "BD+60 1753_set1", "HD 2811_set1"]
    for row in t:
        exp = rates[row["dataset"]] * (1 - np.exp(-(3.0**2) / (2 * (1.4**2 + 1 / 6))))
        assert row["aperture_sum_bkgsub"].value == pytest.approx(exp, rel=5e-3)
        assert float(row["apcorr"]) == pytest.approx(1.4) and float(row["aprad"].value) == pytest.approx(3.0)
        assert (tmp_path / row["filename"]).is_file()
    back = Table.read(res.path)
    assert back.meta["EEFRAC"] == 0.7 and back.meta["APCORFIL"] == ap.name and "V_PHOTUT" in back.meta
    pngs = sorted((tmp_path / "ADwarfs" / "F770W").glob("*/*_eefrac0.7_absfluxapers.png"))
    assert len(pngs) == 3
    # bkgsub: mean_bkg gets the median of the non-bkgsub mosaic back (4 DN/s), sums unchanged
    rb = aper_one_filter(tmp_path, "ADwarfs", "F770W", bkgsub=True, png=False)
    assert np.allclose(rb.table["mean_bkg"].value, 4.0, atol=0.05)
    assert rb.path.name == "F770W_bkgsub_eefrac0.7_phot.fits"


def test_indivcals_exact_set_match(tmp_path):
    """indivcals centres come from the mosaic row of exactly the same set (X_set1 is not X_set10)."""
    _tree(tmp_path, bkgsub=False)
    _apcorr_file(tmp_path / "ApCor" / "a.fits")
    aper_one_filter(tmp_path, "ADwarfs", "F770W", apcorr_file=tmp_path / "ApCor" / "a.fits", png=False)
    for i, s in enumerate(("BD+60 1753_set1", "BD+60 1753_set10")):
        x0, y0 = 60.3 + [0, 1][i], 55.7 - [0, 1][i]
        img = gaussian_star(SHAPE, x0, y0, 3000.0, 1.4)
        d = tmp_path / "ADwarfs" / "F770W" / s
        synthetic_mosaic(
            d / f"jw0102700{i}001_02101_00001_mirimage_cal.fits", img, star_xy=(x0, y0), targname="BD+60 1753"
        )
    kw = {"indivcals": True, "apcorr_file": tmp_path / "ApCor" / "a.fits", "png": False}
    # HD 2811_set1 has no cal file: a missing input, an error unless the gap is allowed (and recorded)
    with pytest.raises(PhotometryError, match="HD 2811_set1"):
        aper_one_filter(tmp_path, "ADwarfs", "F770W", **kw)
    res = aper_one_filter(tmp_path, "ADwarfs", "F770W", allow_missing=True, **kw)
    assert [m.parent.name for m in res.missing] == ["HD 2811_set1"]
    assert Table.read(res.path).meta["NMISSING"] == 1
    assert res.path.name == "F770W_indivcals_eefrac0.7_phot.fits"
    mos = Table.read(phot_table_path(tmp_path, "ADwarfs", "F770W"))
    for row in res.table:
        m = mos[mos["dataset"] == row["dataset"]][0]
        assert float(row["ra_deg"].value) == pytest.approx(float(m["ra_deg"]), abs=1e-9)
        assert float(row["recenter_shift"].value) == 0.0


def test_bad_inputs_cli(tmp_path):
    _tree(tmp_path)
    root = tmp_path
    # no APCORR pointer / missing file
    e = _one_line_error(_run("aper_one_filter.py", "--root", root, "--filter", "F770W"))
    assert "latest_apcorr.txt" in e
    e = _one_line_error(_run("aper_one_filter.py", "--root", root, "--apcorr", root / "nope.fits"))
    assert "APCORR file not found" in e
    # filter absent from the APCORR file
    ap = _apcorr_file(root / "ApCor" / "a.fits", filters=("F560W",))
    e = _one_line_error(_run("aper_one_filter.py", "--root", root, "--apcorr", ap))
    assert "F770W is not in the APCORR file" in e
    ap = _apcorr_file(root / "ApCor" / "b.fits", filters=("F770W", "F1000W"))
    # no mosaics
    e = _one_line_error(_run("aper_one_filter.py", "--root", root, "--apcorr", ap, "--filter", "F1000W"))
    assert "no F1000W directory" in e or "no images" in e
    (root / "ADwarfs" / "F2100W" / "X_set1").mkdir(parents=True)
    e = _one_line_error(
        _run(
            "aper_one_filter.py",
            "--root",
            root,
            "--apcorr",
            _apcorr_file(root / "ApCor" / "c.fits", ("F2100W",)),
            "--filter",
            "F2100W",
        )
    )
    assert "no images found" in e
    # a good run, then a corrupt mosaic: exit 2, previous table untouched, no temporaries
    r = _run("aper_one_filter.py", "--root", root, "--apcorr", ap, "--no-png")
    assert r.returncode == 0, r.stderr
    table = phot_table_path(root, "ADwarfs", "F770W")
    before = (table.read_bytes(), table.stat().st_mtime_ns)
    bad = root / "ADwarfs" / "F770W" / "HD 2811_set1" / "miri_HD 2811_set1_stage3_asn_i2d.fits"
    bad.write_bytes(bad.read_bytes()[:3000])
    e = _one_line_error(_run("aper_one_filter.py", "--root", root, "--apcorr", ap))
    assert "HD 2811_set1" in e
    assert (table.read_bytes(), table.stat().st_mtime_ns) == before
    assert not [p for p in root.rglob(".*") if p.is_file()]
    # --skip-bad: the bad mosaic is reported, the rest measured, exit 1
    r = _run("aper_one_filter.py", "--root", root, "--apcorr", ap, "--skip-bad", "--no-png")
    assert r.returncode == 1 and "HD 2811_set1" in r.stderr
    assert len(Table.read(table)) == 2


def test_aper_all_reports_failures_and_goes_on(tmp_path):
    _tree(tmp_path)
    # a second type and a coronagraphic filter (bkgsub only)
    img = gaussian_star(SHAPE, 60.0, 50.0, 8000.0, 2.0)
    d = tmp_path / "SolarAnalogs" / "F1065C" / "HD 167060_set1"
    synthetic_mosaic(
        d / "miri_HD 167060_set1_stage3_bkgsub_asn_i2d.fits", img, star_xy=(60.0, 50.0), targname="HD 167060"
    )
    synthetic_mosaic(d / "miri_HD 167060_set1_stage3_asn_i2d.fits", img + 1, star_xy=(60.0, 50.0), targname="HD 167060")
    ap = _apcorr_file(tmp_path / "ApCor" / "jwst_miri_apcorr_flight_x.fits", filters=("F770W", "F1065C"))
    (tmp_path / "ApCor" / "latest_apcorr.txt").write_text(ap.name)
    bad = tmp_path / "ADwarfs" / "F770W" / "HD 2811_set1" / "miri_HD 2811_set1_stage3_bkgsub_asn_i2d.fits"
    bad.write_bytes(b"garbage")
    # a bad mosaic fails its table (no shorter table), the other tables are made; one line names the file
    r = _run("aper_all.py", "--root", tmp_path, "--jobs", "2", "--no-png", "--no-progress")
    e = _one_line_error(r)
    assert "bkgsub table not written" in e and bad.name in e and "summary" in r.stderr
    assert len(Table.read(phot_table_path(tmp_path, "ADwarfs", "F770W"))) == 3
    assert not phot_table_path(tmp_path, "ADwarfs", "F770W", bkgsub=True).exists()
    # --allow-missing: the table is made without it and records the gap
    r = _run("aper_all.py", "--root", tmp_path, "--jobs", "2", "--no-png", "--no-progress", "--allow-missing")
    assert r.returncode == 1, r.stderr
    assert "failed mosaic" in r.stderr and "HD 2811_set1" in r.stderr
    t = Table.read(phot_table_path(tmp_path, "ADwarfs", "F770W", bkgsub=True))
    assert len(t) == 2 and t.meta["NFAILED"] == 1 and "HD 2811_set1" in t.meta["FAILED"]
    assert Table.read(phot_table_path(tmp_path, "SolarAnalogs", "F1065C", bkgsub=True))["filter"][0] == "F1065C"
    assert not phot_table_path(tmp_path, "SolarAnalogs", "F1065C").exists()  # coronagraphy: bkgsub only
    # no mosaics at all
    empty = tmp_path / "empty"
    (empty / "ADwarfs" / "F770W").mkdir(parents=True)
    e = _one_line_error(_run("aper_all.py", "--root", empty, "--apcorr", ap, "--no-progress"))
    assert "no mosaics found" in e


# --------------------------------------------------------------------------
# units of the tables (as the original's) and their readers
# --------------------------------------------------------------------------
def _table_pair(tmp_path):
    """A table as step 5 writes it (DN/s columns) and its unitless copy (older tables) under another root."""
    from absflux.photometry import RATE_COLUMNS

    _tree(tmp_path / "new")
    ap = _apcorr_file(tmp_path / "ApCor" / "jwst_miri_apcorr_flight_t.fits")
    new = aper_one_filter(tmp_path / "new", "ADwarfs", "F770W", bkgsub=True, apcorr_file=ap, png=False).path
    old = tmp_path / "old" / new.relative_to(tmp_path / "new")
    t = Table.read(new)
    for c in RATE_COLUMNS:
        t[c] = np.asarray(t[c], float)  # a plain float column, as written before the unit came back
    old.parent.mkdir(parents=True)
    t.write(old)
    return new, old


def test_rate_columns_carry_dn_per_s_and_read_back(tmp_path):
    """The eight count-rate columns (and the others the original had) carry units, read back by plain astropy."""
    import warnings

    import astropy.units as u
    from astropy.table import QTable

    from absflux.photometry import RATE_COLUMNS

    new, _ = _table_pair(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reading must not warn (DN is not a FITS unit, astropy's metadata has it)
        q = QTable.read(new)
        t = Table.read(new)
    v = QTable.read(new)["aperture_sum"].value
    assert type(v) is np.ndarray and v.dtype.kind == "f" and np.all(v > 0)
    for c in RATE_COLUMNS:
        assert q[c].unit == u.DN / u.s and t[c].unit == u.DN / u.s, c
    units = {"ra_deg": u.deg, "tgroup": u.s, "timemid": u.day, "aprad": u.pix, "annrad2": u.pix, "pixarea": u.sr}
    units |= {"xcenter_full": u.pix, "aperture_area": u.pix**2, "x_offset_from_expected": u.pix}
    for c, unit in units.items():
        assert q[c].unit == unit, c
    assert t.meta["RATEUNIT"] == "DN/s"


def test_rate_values_accepts_every_form():
    import astropy.units as u
    from astropy.table import Column, MaskedColumn

    from absflux.photometry import rate_values

    exp = np.array([1.0, 2.0])
    for col in (
        exp * u.DN / u.s,
        [3600.0, 7200.0] * u.DN / u.hour,
        Column(exp, unit="DN / s"),
        Column(exp),
        [1, 2],
        Column(exp, unit=u.UnrecognizedUnit("DN/s")),  # a foreign writer's TUNITn
    ):
        got = rate_values(col)
        assert type(got) is np.ndarray and np.allclose(got, exp), col
    m = rate_values(MaskedColumn([1.0, 2.0], mask=[False, True]))
    assert m[0] == 1.0 and np.isnan(m[1])
    assert float(rate_values(Table({"a": exp * 2})[0]["a"])) == 2.0
    with pytest.raises(PhotometryError, match="not convertible to DN/s"):
        rate_values(exp * u.Jy)


def test_later_steps_give_the_same_numbers_on_old_and_new_tables(tmp_path):
    """Steps 6-9 (calfactors, and through it timedep/subarrays) and the figure readers: unit or no unit."""
    import importlib.util

    from absflux import calfactors as CF
    from absflux.photometry import RATE_COLUMNS

    new, old = _table_pair(tmp_path)
    models = Table({"name": [C.canonical_name(n) for n in ("BD+60 1753", "HD 2811")], "F770W": [0.5, 0.25]})
    pn, po = CF.read_phot_table(new, 0.7, "bkg"), CF.read_phot_table(old, 0.7, "bkg")
    for c in RATE_COLUMNS:
        assert pn[c].unit is None and np.array_equal(np.asarray(pn[c]), np.asarray(po[c])), c
    for xaxis in ("mflux", "rate", "welldepth", "bkg"):
        # the step's reader, and a table read by plain astropy handed to the calibration code
        for tn, to in (
            (CF.read_phot_table(new, 0.7, xaxis), CF.read_phot_table(old, 0.7, xaxis)),
            (Table.read(new), Table.read(old)),
        ):
            cn = CF.calfactors_from_phot(tn, "F770W", "ADwarfs", models, xaxis, None, 0.0)
            co = CF.calfactors_from_phot(to, "F770W", "ADwarfs", models, xaxis, None, 0.0)
            assert len(cn) == 3
            for c in ("x", "calfac", "calfac_unc"):
                assert np.array_equal(np.asarray(cn[c], float), np.asarray(co[c], float)), (xaxis, c)
    spec = importlib.util.spec_from_file_location("plot_dither_pos", REPO / "Plotting" / "plot_dither_pos.py")
    dith = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dith)
    got = [dith.collect(root, "F770W", "_bkgsub")[:4] for root in (tmp_path / "new", tmp_path / "old")]
    for a, b in zip(*got, strict=True):
        assert a.size == 3 and np.array_equal(a, b, equal_nan=True)


def test_original_switch_selects_every_original_choice_and_explicit_options_win():
    import argparse

    from absflux.photometry import DEFAULT_PHOT, ORIGINAL_PHOT, add_photometry_options, photometry_choices

    def parse(*argv):
        p = argparse.ArgumentParser()
        add_photometry_options(p)
        return photometry_choices(p.parse_args(argv))

    assert parse() == DEFAULT_PHOT
    assert parse("--original") == ORIGINAL_PHOT
    assert set(ORIGINAL_PHOT.values()) == {"clipped", "peak", "filled", "all", True}
    assert parse("--original", "--annulus-stat", "mean")["annulus_stat"] == "mean"
    assert parse("--original", "--no-search-whole-image")["search_whole_image"] is False
    assert parse("--center-columns", "peak") == DEFAULT_PHOT | {"center_columns": "peak"}


def test_center_columns_peak_and_filled_annulus(tmp_path):
    """center_columns='peak': xcenter_full/ycenter_full = x_peak/y_peak; 'filled' fills a partly uncovered annulus."""
    x0, y0 = 60.3, 55.7
    img = gaussian_star(SHAPE, x0, y0, 5000.0, 1.4) + 1.0 + 0.01 * np.arange(SHAPE[1])[None, :]
    img[:, 68:] = np.nan  # uncovered columns cross the annulus [10, 14] px
    f = synthetic_mosaic(tmp_path / "m_i2d.fits", img, star_xy=(x0, y0))
    final = aper_image(f, "F770W", 3.0, (10.0, 14.0), 1.0)
    peak = aper_image(f, "F770W", 3.0, (10.0, 14.0), 1.0, center_columns="peak", sky_annulus="filled")
    assert final["xcenter_full"][0] != final["x_peak"][0]  # recentred
    assert final["xcenter_full"][0].value == pytest.approx(x0, abs=0.2)
    assert (peak["xcenter_full"][0], peak["ycenter_full"][0]) == (final["x_peak"][0], final["y_peak"][0])
    assert peak["ra_deg"][0] == final["ra_deg"][0] and peak["aperture_sum"][0] == final["aperture_sum"][0]
    # the interpolated pixels beyond the edge enter the annulus (tests/test_original_step5.py checks the value)
    assert final["annulus_fraction"][0] < 1 and peak["mean_bkg"][0] != final["mean_bkg"][0]
    with pytest.raises(PhotometryError, match="center_columns must be one of final, peak"):
        aper_image(f, "F770W", 3.0, (10.0, 14.0), 1.0, center_columns="centroid")


def test_help_of_the_scripts():
    for script in ("aper_one_filter.py", "aper_all.py"):
        r = _run(script, "--help")
        assert r.returncode == 0 and "--root" in r.stdout
    env_ok = os.environ.get("MPLBACKEND", "Agg")
    assert env_ok
