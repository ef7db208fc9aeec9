"""Simulated WD 1057+719 data set: headers, PSF model, and the totfluxes acceptance test."""

from __future__ import annotations

import os

import numpy as np
import pytest

from absflux.niriss import constants as C
from absflux.niriss.ee import ee_photometry, ee_table
from absflux.niriss.io import read_exposure
from absflux.niriss.psfmodel import profile_for_filter, render_psf
from absflux.niriss.simulate import frame_time, plan_exposures, simulate_dataset
from absflux.niriss.totals import total_countrates


@pytest.fixture(scope="module")
def sub128(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    plans = simulate_dataset(str(out), subarrays=("SUB64", "SUB128"), seed=1094)
    return out, plans


def test_frame_times_and_plan():
    assert frame_time("FULL") == pytest.approx(10.737, abs=1e-3)
    assert frame_time("SUB64") == pytest.approx(0.0494, abs=1e-4)
    plans = plan_exposures(("SUB128", "FULL"))
    assert len(plans) == 36
    assert {p.filter for p in plans if p.subarray == "SUB128"} == set(C.FILTERS)
    assert {p.filter for p in plans if p.subarray == "FULL"} == set(C.LW_FILTERS)
    p1 = next(p for p in plans if p.number == 17)
    assert p1.filename == "jw01094001001_01101_00017_nis_cal.fits" and p1.root == "f090w_sub128_1"
    assert (p1.x_guess, p1.y_guess) == (64.0, 64.0) and abs(p1.x_true - 64) <= 0.3
    p2 = next(p for p in plans if p.number == 66)
    assert p2.filename.startswith("jw01094001002_") and (p2.x_guess, p2.dither) == (1029.0, 2)
    # positions do not depend on the subarray selection
    q = next(p for p in plan_exposures(("SUB128",)) if p.number == 17)
    assert (q.x_true, q.y_true) == (p1.x_true, p1.y_true)


def test_psf_model_matches_webbpsf_ee_at_apcor_radii():
    """Noise-free model: the pixelated EE at r = 7-15 px equals the table (LW: / 0.84) within 0.2 %."""
    from photutils.aperture import CircularAperture, aperture_photometry

    for f in C.FILTERS:
        x0, y0 = 64.2, 63.9
        img = render_psf((128, 128), x0, y0, 1.0, profile_for_filter(f))
        ph = aperture_photometry(img, [CircularAperture((x0, y0), r) for r in C.EE_RADII])
        ee = np.array([ph[f"aperture_sum_{i}"][0] for i in range(12)])
        table = np.array(C.WEBBPSF_EE[f]) / (C.CLEARP_FACTOR if f in C.LW_FILTERS else 1.0)
        np.testing.assert_allclose(ee[6:], table[6:], rtol=2e-3, err_msg=f)


def test_simulated_files_have_niriss_headers_and_dq(sub128):
    out, plans = sub128
    assert (out / "exposures.txt").is_file() and (out / "truth.ecsv").is_file()
    assert sorted(os.listdir(out / "psf")) == sorted(f"{f.lower()}_psf.radtab" for f in C.FILTERS)
    p = next(p for p in plans if p.number == 1)
    from astropy.io import fits

    with fits.open(out / p.filename) as h:
        assert [x.name for x in h] == ["PRIMARY", "SCI", "ERR", "DQ"]
        hdr = h[0].header
        for k in ("EFFINTTM", "NGROUPS", "NINTS", "PUPIL", "FILTER", "SUBARRAY", "INSTRUME", "EXP_TYPE", "READPATT"):
            assert k in hdr
        assert (hdr["SUBARRAY"], hdr["PUPIL"], hdr["FILTER"], hdr["NGROUPS"], hdr["NINTS"]) == (
            "SUB64",
            "F115W",
            "CLEAR",
            25,
            5,
        )
        assert h[1].header["BUNIT"] == "MJy/sr" and h[1].header["PHOTMJSR"] == C.SIM_PHOTMJSR["F115W"]
        assert h[1].data.shape == (64, 64) and h[3].data.dtype.kind == "u"
        dq = h[3].data
        assert dq[32 - 3, 32 + 8] == C.DQ_DEAD | C.DQ_DO_NOT_USE  # deliberate dead pixel near the star
    exp = read_exposure(out / p.filename)
    assert exp.do_dqflag and exp.inttime == pytest.approx(24 * frame_time("SUB64"), rel=1e-4)


def test_totfluxes_recovers_injected_totals_within_2_percent(sub128, tmp_path):
    """Acceptance: median-mode EE of both dithers + totfluxes = injected total, every filter."""
    out, plans = sub128
    ee_dir = tmp_path / "ee"
    ee_dir.mkdir()
    for p in plans:
        res = ee_photometry(read_exposure(out / p.filename), p.x_guess, p.y_guess, median=True)
        ee_table(res).write(ee_dir / f"{p.root}a.radtab", format="ascii.fixed_width", delimiter=None)
    checked = 0
    for sub in ("sub64", "sub128"):
        results = total_countrates(sub, str(ee_dir), str(out / "psf"))
        for r in results:
            injected = [p.total_e for p in plans if p.subarray.lower() == sub and p.filter == r.filter]
            if not injected:
                assert np.isnan(r.countrate)
                continue
            ratio = r.countrate / injected[0]
            assert abs(ratio - 1) < 0.02, (sub, r.filter, ratio)
            checked += 1
    assert checked == 15


def test_noise_free_rate_product(tmp_path):
    plans = simulate_dataset(str(tmp_path), subarrays=("SUB128",), noise=False, product="rate")
    p = next(p for p in plans if p.filter == "F444W")
    exp = read_exposure(tmp_path / p.filename)
    assert exp.photmjsr is None and p.filename.endswith("_rate.fits")
    res = ee_photometry(exp, p.x_guess, p.y_guess, median=True)
    ee_lw = np.array(C.WEBBPSF_EE["F444W"]) / C.CLEARP_FACTOR
    np.testing.assert_allclose(res.countrate[6:9] / (p.total_e * ee_lw[6:9]), 1.0, atol=0.01)
