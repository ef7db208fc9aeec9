"""totfluxes (spec section 8): radii 7-9, the 0.84 factor, the per-radius maximum, fixes B4-B6."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from absflux.niriss import constants as C
from absflux.niriss.cli import totfluxes_main
from absflux.niriss.io import NirissInputError, read_table_columns
from absflux.niriss.simulate import psf_table_text
from absflux.niriss.totals import total_countrates

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PSF_DIR = SHARED / "data" / "niriss" / "psf_radtab"
RADII = np.array(C.EE_RADII, dtype=float)


def _write(path, cr, err):
    lines = [" Radius  Rad_arcsec     CountRate  errCountRate "]
    lines += [f"{int(r):7d}{r * 0.0656:12.4f}{c:14.4e}{e:14.4e} " for r, c, e in zip(RADII, cr, err, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def _setup(tmp_path, totals, sub="sub128", skip=(), dithers=(1.0, 0.99)):
    """EE tables CR_d(r) = T * EE_psf(r) * k_d (LW: / 0.84, i.e. a unit-normalised PSF)."""
    psf = tmp_path / "psf"
    psf.mkdir(exist_ok=True)
    for f in C.FILTERS:
        (psf / f"{f.lower()}_psf.radtab").write_text(psf_table_text(f))
        if f in skip:
            continue
        ee = np.array(C.WEBBPSF_EE[f]) / (C.CLEARP_FACTOR if f in C.LW_FILTERS else 1.0)
        for d, k in enumerate(dithers, start=1):
            cr = totals[f] * ee * k
            _write(tmp_path / f"{f.lower()}_{sub}_{d}a.radtab", cr, np.full(12, 10.0 * d))
    return str(psf)


def test_embedded_ee_tables_equal_the_shipped_ones():
    if not PSF_DIR.is_dir():
        pytest.skip("../shared not available")
    for f in C.FILTERS:
        cols = read_table_columns(PSF_DIR / f"{f.lower()}_psf.radtab", 4)
        np.testing.assert_array_equal(cols[0], RADII)
        np.testing.assert_allclose(cols[2], C.WEBBPSF_EE[f], rtol=0, atol=5e-6)
        np.testing.assert_allclose(cols[3], np.sqrt(cols[2]), atol=1e-5)  # spec 14: err = sqrt(EE)


def test_totals_recover_injected_values_with_lw_factor(tmp_path):
    totals = dict(C.WD1057_EXPECTED)
    psf = _setup(tmp_path, totals)
    res = total_countrates("SUB128", str(tmp_path), psf)
    assert [r.filter for r in res] == list(C.FILTERS)
    for r in res:
        # per-radius maximum = dither 1 (k = 1); tables are rounded to 5 digits
        assert r.countrate == pytest.approx(totals[r.filter], rel=2e-4), r.filter
        factor = C.CLEARP_FACTOR if r.filter in C.LW_FILTERS else 1.0
        ee = np.array(C.WEBBPSF_EE[r.filter])
        assert r.error == pytest.approx(factor * np.max(10.0 / ee[6:9]), rel=1e-4)


def test_missing_filter_does_not_shift_slots_b5(tmp_path):
    totals = {f: 1000.0 * (i + 1) for i, f in enumerate(C.FILTERS)}
    psf = _setup(tmp_path, totals, skip=("F140M",))
    res = {r.filter: r for r in total_countrates("sub128", str(tmp_path), psf)}
    assert np.isnan(res["F140M"].countrate) and "no candidate input files" in res["F140M"].message
    for f in C.FILTERS:
        if f != "F140M":
            assert res[f].countrate == pytest.approx(totals[f], rel=2e-4), f


def test_radii_by_value_and_max_over_dithers(tmp_path):
    """tot(r) = CR/EE differs per radius: the mean runs over r = 7, 8, 9 (code) or the given radii."""
    psf = tmp_path / "psf"
    psf.mkdir()
    (psf / "f150w_psf.radtab").write_text(psf_table_text("F150W"))
    ee = np.array(C.WEBBPSF_EE["F150W"])
    tot_r = 1000.0 + 10.0 * RADII  # a total that grows with radius
    _write(tmp_path / "f150w_sub64_1a.radtab", tot_r * ee, np.ones(12))
    _write(tmp_path / "f150w_sub64_2a.radtab", tot_r * ee * np.where(RADII == 8, 1.1, 0.9), np.full(12, 5.0))
    res = total_countrates("sub64", str(tmp_path), str(psf), filters=("F150W",))[0]
    per_r = {7: 1070.0, 8: 1080.0 * 1.1, 9: 1090.0}
    assert res.countrate == pytest.approx(np.mean(list(per_r.values())), rel=1e-4)
    assert res.error == pytest.approx(5.0 / ee[7], rel=1e-4)  # r=8 comes from dither 2 with its error
    res2 = total_countrates("sub64", str(tmp_path), str(psf), radii=(5, 6, 7, 8, 9, 10), filters=("F150W",))[0]
    expected = np.mean([1050.0, 1060.0, 1070.0, 1080.0 * 1.1, 1090.0, 1100.0])
    assert res2.countrate == pytest.approx(expected, rel=1e-4)
    with pytest.raises(NirissInputError, match="radius 11"):
        total_countrates("sub64", str(tmp_path), str(psf), radii=(11,), filters=("F150W",))


def test_shipped_psf_tables_both_header_variants(tmp_path):
    if not PSF_DIR.is_dir():
        pytest.skip("../shared not available")
    totals = dict(C.WD1057_EXPECTED)
    _setup(tmp_path, totals)
    for r in total_countrates("sub128", str(tmp_path), str(PSF_DIR)):
        assert r.countrate == pytest.approx(totals[r.filter], rel=2e-4)


def test_subarray_names(tmp_path):
    totals = dict(C.WD1057_EXPECTED)
    psf = _setup(tmp_path, totals, sub="full")
    assert all(np.isfinite(r.countrate) for r in total_countrates("FULL", str(tmp_path), psf))
    with pytest.raises(NirissInputError, match="not a NIRISS subarray"):
        total_countrates("sub999", str(tmp_path), psf)
    with pytest.raises(NirissInputError, match="no EE tables"):
        total_countrates("sub256", str(tmp_path), psf)


def test_totfluxes_cli_table_and_printout(tmp_path, monkeypatch, capsys):
    totals = dict(C.WD1057_EXPECTED)
    _setup(tmp_path, totals)
    monkeypatch.chdir(tmp_path)
    assert totfluxes_main(["sub128", "tot.out", "--psfdir", "psf"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "# WD 1057+719 Measured Count Rates"
    assert out[1].split() == list(C.FILTERS)
    assert [float(v) for v in out[2].split()] == pytest.approx([float(f"{totals[f]:.3e}") for f in C.FILTERS], rel=1e-3)
    lines = [ln for ln in (tmp_path / "tot.out").read_text().splitlines() if not ln.startswith("#")]
    assert lines[0] == " Filter     CountRate  CountRateErr "
    assert lines[1].split()[0] == "F090W" and lines[1].split()[1] == "1.030e+05"
