"""meanflux1 and meansb1 (spec sections 5 and 7)."""

from __future__ import annotations

import numpy as np
import pytest

from absflux.niriss.cli import meanflux1_main, meansb1_main
from absflux.niriss.combine import combine_ee, combine_sb, find_ee_tables
from absflux.niriss.io import read_table_columns

RADII = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15)


def _write_radtab(path, flux, err, header="Radius Rad_arcsec CountRate errCountRate"):
    lines = [header] + [f"{r} {r * 0.0656:.4f} {f:.6e} {e:.6e}" for r, f, e in zip(RADII, flux, err, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def test_flag_rule_and_worked_example():
    """Spec section 5: two tables whose r=3 values both drop -> plain mean, sqrt(1+1)/2, n_Good 0."""
    f1 = np.array([10.0, 20.0, 15.0, 30.0])
    f2 = np.array([12.0, 22.0, 21.0, 32.0])
    err = np.ones((2, 4))
    flag, av, av_err, ngood = combine_ee(np.array([f1, f2]), err)
    np.testing.assert_array_equal(flag, [[1, 1, 0, 1], [1, 1, 0, 1]])
    assert av[2] == 18.0 and av_err[2] == pytest.approx(np.sqrt(2) / 2) and ngood[2] == 0
    # elsewhere the weighted mean with 1/sqrt(W)
    assert av[3] == 31.0 and av_err[3] == pytest.approx(1 / np.sqrt(2)) and ngood[3] == 2


def test_flag_compares_with_previous_raw_value_and_ties():
    f = np.array([[10.0, 5.0, 7.0, 7.0]])  # 5 < 10 flagged; 7 > 5 (raw, although flagged) kept; tie flagged
    flag, *_ = combine_ee(f, np.ones_like(f))
    np.testing.assert_array_equal(flag, [[1, 0, 1, 0]])


def test_weighted_mean_and_zero_error():
    f = np.array([[10.0, 20.0], [14.0, 24.0]])
    e = np.array([[1.0, 1.0], [2.0, 0.0]])
    _, av, av_err, ngood = combine_ee(f, e)
    w = np.array([1.0, 0.25])
    assert av[0] == pytest.approx(np.sum(w * f[:, 0]) / w.sum()) and av_err[0] == pytest.approx(1 / np.sqrt(1.25))
    # zero error: the corrected code gives that entry zero weight
    assert av[1] == 20.0 and ngood[1] == 1
    with np.errstate(divide="ignore", invalid="ignore"):
        _, avl, _, _ = combine_ee(f, e, legacy=True)
    assert not np.isfinite(avl[1])


def test_meansb_1000_and_std_rules():
    sb = np.array([[1.0, 5.0, 2.0], [3.0, 7.0, 2.5]])
    err = np.array([[0.1, 0.0, 0.2], [0.1, -1.0, 0.0]])
    out, av, av_err = combine_sb(sb, err)
    assert av[0] == 2.0 and av_err[0] == pytest.approx(1 / np.sqrt(200))
    # both errors <= 0 -> weights 1e-6 each, sum < 0.1 -> population std
    assert av[1] == pytest.approx(6.0) and av_err[1] == pytest.approx(np.std([5.0, 7.0]))
    # one error <= 0: weight 1e-6 against 25
    assert av[2] == pytest.approx((25 * 2.0 + 1e-6 * 2.5) / (25 + 1e-6))
    np.testing.assert_array_equal(out, err)  # corrected: the input errors are reported
    out_l, _, _ = combine_sb(sb, err, legacy=True)
    assert out_l[0, 1] == 1000.0 and out_l[1, 1] == 1000.0 and out_l[1, 2] == 1000.0  # B13


def test_psf_exclusion_by_file_name(tmp_path):
    d = tmp_path / "psf_run"
    d.mkdir()
    for name in ("f150w_sub128_1.radtab", "f150w_sub128_2.radtab", "f150w_psf.radtab"):
        _write_radtab(d / name, np.arange(1, 13.0), np.ones(12))
    assert [p.split("/")[-1] for p in find_ee_tables(str(d / "f150w_"))] == [
        "f150w_sub128_1.radtab",
        "f150w_sub128_2.radtab",
    ]
    assert find_ee_tables(str(d / "f150w_"), legacy=True) == []  # B17: 'psf' in the folder name


def test_meanflux1_cli_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    base = np.array([0.5, 0.7, 0.78, 0.83, 0.87, 0.9, 0.92, 0.93, 0.935, 0.94, 0.95, 0.96]) * 1e4
    _write_radtab(tmp_path / "f115w_sub128_1.radtab", base, np.sqrt(base))
    _write_radtab(
        tmp_path / "f115w_sub128_2.radtab", base * 1.02, np.sqrt(base), header="Radius Rad_arcsec Flux errFlux"
    )
    assert meanflux1_main(["f115w_sub128"]) == 0
    text = (tmp_path / "f115w_sub128.avtab").read_text().splitlines()
    header = [ln for ln in text if not ln.startswith("#")][0]
    assert header.split() == [
        "Rad_Pix",
        "Arcsec",
        "Flux0",
        "Fluxerr0",
        "Flag0",
        "Flux1",
        "Fluxerr1",
        "Flag1",
        "avFlux",
        "avFluxerr",
        "n_Good",
    ]
    assert any(ln.startswith("# meanflux1") for ln in text) and any("input: f115w_sub128_1.radtab" in ln for ln in text)
    cols = read_table_columns(tmp_path / "f115w_sub128.avtab", 11)
    np.testing.assert_allclose(cols[8], base * 1.01, rtol=1e-4)
    assert np.all(cols[10] == 2)


def test_meansb1_cli_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for i, scale in enumerate((1.0, 3.0), start=1):
        rows = ["Radius SB errSB"] + [f"{r} {scale * 10 / r:.5f} {0.1:.5f}" for r in (5, 9, 13, 17, 21, 25)]
        (tmp_path / f"f090w_sub128_{i}.sbtab").write_text("\n".join(rows) + "\n")
    assert meansb1_main(["f090w_sub128"]) == 0
    lines = [ln for ln in (tmp_path / "f090w_sub128.avsbtab").read_text().splitlines() if not ln.startswith("#")]
    assert lines[0].split() == ["Rad_Pix", "sb0", "sberr0", "sb1", "sberr1", "av_sb", "av_sberr"]
    assert lines[1].split()[5] == "4.00000" and lines[1].split()[6] == "0.07071"
