"""Command-line behaviour: original interfaces, outputs, and bad inputs (exit 2, one line, nothing written)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from absflux.niriss import constants as C
from absflux.niriss.cli import (
    batch_main,
    countrates_main,
    getcircee1_main,
    getcircsb1_main,
    meanflux1_main,
    meansb1_main,
    simulate_main,
    totfluxes_main,
)
from absflux.niriss.synthetic import gaussian_image, write_exposure

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "niriss"


def _star_file(path, shape=(128, 128), drop=(), **kw):
    img = gaussian_image(shape, shape[1] / 2, shape[0] / 2, 1.5, 3000.0) + 0.3
    return write_exposure(path, img, primary={"EFFINTTM": 4.0}, drop=drop, **kw)


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _bad(capsys, rc, *needles):
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, err
    return err


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------
# successful runs and the original interfaces
# --------------------------------------------------------------------------
def test_getcircee1_positional_interface(cwd, capsys):
    _star_file(cwd / "jw_rate.fits")
    f = "jw_rate.fits"
    before = _digest(f)
    assert getcircee1_main([f, "64", "64", "a.fluxes", "a.radtab"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0].startswith("jw_rate.fits") and "SUB128" in out[0] and "NGROUPS:  10, NINTS:  2, Max. counts:" in out[0]
    )
    assert _digest(f) == before  # input never modified
    rad = [ln for ln in (cwd / "a.radtab").read_text().splitlines() if not ln.startswith("#")]
    assert rad[0] == " Radius  Rad_arcsec     CountRate  errCountRate " and len(rad) == 13
    assert float(rad[-1].split()[2]) == pytest.approx(1.6 * 3000.0, rel=1e-3)
    flx = [ln for ln in (cwd / "a.fluxes").read_text().splitlines() if not ln.startswith("#")]
    assert flx[0].split()[:3] == ["id", "xcenter", "ycenter"] and len(flx) == 2
    # the 6th argument selects the median mode; the default outputs are getcircEE1.*
    assert getcircee1_main([f, "64", "64"]) == 0
    assert (cwd / "getcircEE1.fluxes").is_file() and (cwd / "getcircEE1.radtab").is_file()
    assert getcircee1_main([f, "64", "64", "b.fluxes", "b.radtab", "usemedian"]) == 0
    assert "mode=median" in (cwd / "b.radtab").read_text()


def test_getcircsb1_and_means_chain(cwd, capsys):
    for d in (1, 2):
        f = _star_file(cwd / f"e{d}.fits")
        assert getcircsb1_main([f, "64", "64", f"f150w_sub128_{d}.sbtab"]) == 0
        assert getcircee1_main([f, "64", "64", f"f150w_sub128_{d}.fluxes", f"f150w_sub128_{d}.radtab"]) == 0
    assert getcircsb1_main([f, "64", "64", "nc.sbtab", "noclip"]) == 0
    assert "clip=False" in (cwd / "nc.sbtab").read_text()
    assert meansb1_main(["f150w_sub128"]) == 0 and (cwd / "f150w_sub128.avsbtab").is_file()
    assert meanflux1_main(["f150w_sub128"]) == 0 and (cwd / "f150w_sub128.avtab").is_file()


def test_help_exits_zero(capsys):
    for main in (getcircee1_main, meanflux1_main, getcircsb1_main, meansb1_main, totfluxes_main, countrates_main):
        with pytest.raises(SystemExit) as exc:
            main(["--help"])
        assert exc.value.code == 0
    assert "usage:" in capsys.readouterr().out


# --------------------------------------------------------------------------
# bad inputs
# --------------------------------------------------------------------------
def test_missing_file(cwd, capsys):
    rc = getcircee1_main(["nothere.fits", "10", "10", "x.fluxes", "x.radtab"])
    _bad(capsys, rc, "nothere.fits", "file not found")
    rc = getcircsb1_main(["nothere.fits", "10", "10", "x.sbtab"])
    _bad(capsys, rc, "nothere.fits", "file not found")
    assert os.listdir(cwd) == []


def test_coordinates_off_image(cwd, capsys):
    f = _star_file(cwd / "s.fits")
    rc = getcircee1_main([f, "200", "64", "x.fluxes", "x.radtab"])
    _bad(capsys, rc, "s.fits", "off the image", "128 x 128")
    rc = getcircsb1_main([f, "64", "-3", "x.sbtab"])
    _bad(capsys, rc, "s.fits", "off the image")
    assert sorted(os.listdir(cwd)) == ["s.fits"]


@pytest.mark.parametrize("drop", [("EFFINTTM",), ("FILTER", "SUBARRAY")])
def test_missing_header_keywords(cwd, capsys, drop):
    f = _star_file(cwd / "k.fits", drop=drop)
    rc = getcircee1_main([f, "64", "64", "x.fluxes", "x.radtab"])
    _bad(capsys, rc, "k.fits", "missing primary-header keyword", *drop)
    rc = getcircsb1_main([f, "64", "64", "x.sbtab"])
    _bad(capsys, rc, "k.fits", *drop)
    assert sorted(os.listdir(cwd)) == ["k.fits"]


def test_not_a_fits_file_and_bad_arguments(cwd, capsys):
    (cwd / "t.fits").write_text("this is not FITS\n")
    _bad(capsys, getcircee1_main(["t.fits", "1", "1"]), "t.fits", "FITS")
    _bad(capsys, getcircee1_main(["t.fits", "1"]), "Input FITS file name, x, and y are required.")
    _bad(capsys, getcircee1_main(["t.fits", "one", "1"]), "x must be a number")
    _bad(capsys, getcircee1_main(["t.fits", "1", "1", "--radii", "0,2"]), "radii")
    _bad(capsys, meanflux1_main([]), "root name is required")
    assert sorted(os.listdir(cwd)) == ["t.fits"]


def test_output_may_not_overwrite_input(cwd, capsys):
    f = _star_file(cwd / "s.fits")
    before = _digest(f)
    _bad(capsys, getcircee1_main([f, "64", "64", "s.fits", "x.radtab"]), "would overwrite an input")
    assert _digest(f) == before and sorted(os.listdir(cwd)) == ["s.fits"]


def test_no_ee_tables_for_root(cwd, capsys):
    _bad(capsys, meanflux1_main(["f090w_sub128"]), "f090w_sub128*.radtab", "no candidate input files")
    _bad(capsys, meansb1_main(["f090w_sub128"]), "f090w_sub128*.sbtab", "no candidate input files")
    (cwd / "psf").mkdir()
    _bad(capsys, totfluxes_main(["sub128", "tot.out", "--psfdir", "psf"]), "no EE tables", "sub128")
    _bad(capsys, totfluxes_main(["sub999"]), "sub999", "not a NIRISS subarray")
    assert sorted(os.listdir(cwd)) == ["psf"]


def test_no_psf_tables(cwd, capsys):
    ee = np.array(C.WEBBPSF_EE["F150W"]) * 1000
    lines = ["Radius Rad_arcsec CountRate errCountRate"] + [
        f"{r} {r * 0.0656:.4f} {v:.4e} 1.0" for r, v in zip(C.EE_RADII, ee, strict=True)
    ]
    (cwd / "f150w_sub128_1a.radtab").write_text("\n".join(lines) + "\n")
    _bad(capsys, totfluxes_main(["sub128", "tot.out", "--psfdir", "nowhere"]), "nowhere", "psf.radtab")
    assert not (cwd / "tot.out").exists()


def test_malformed_ee_table(cwd, capsys):
    (cwd / "f150w_sub128_1.radtab").write_text("Radius Rad_arcsec CountRate errCountRate\n1 0.0656 abc 1\n")
    (cwd / "f150w_sub128_2.radtab").write_text("Radius Rad_arcsec CountRate errCountRate\n1 0.0656 5 1\n")
    _bad(capsys, meanflux1_main(["f150w_sub128"]), "f150w_sub128_1.radtab", "non-numeric")
    assert not (cwd / "f150w_sub128.avtab").exists()


def test_countrates_bad_inputs(cwd, capsys):
    _bad(capsys, countrates_main(["x.fits", "--throughputs", str(cwd)]), "x.fits", "file not found")
    from astropy.io import fits

    w = np.linspace(5000, 60000, 100)
    cols = [fits.Column(name="WAVELENGTH", format="D", unit="ANGSTROMS", array=w),
            fits.Column(name="FLUX", format="D", unit="FLAM", array=np.ones(100))]  # fmt: skip
    fits.BinTableHDU.from_columns(cols).writeto(cwd / "s.fits")
    (cwd / "empty").mkdir()
    _bad(
        capsys,
        countrates_main(["s.fits", "--throughputs", "empty", "--outtab", "o.txt"]),
        "empty",
        "no throughput file for F090W",
    )
    _bad(capsys, countrates_main(["s.fits", "--throughputs", "missingdir"]), "missingdir", "not found")
    assert not (cwd / "o.txt").exists()


def test_batch_bad_list(cwd, capsys):
    _bad(capsys, batch_main(["nolist.txt", "--out", "run"]), "nolist.txt", "file not found")
    (cwd / "list.txt").write_text("# file x y root\nmissing.fits 64 64 f150w_sub128_1\n")
    _bad(capsys, batch_main(["list.txt", "--out", "run"]), "list.txt", "line 2", "missing.fits")
    _star_file(cwd / "a.fits")
    (cwd / "list2.txt").write_text("a.fits 64 64\n")
    _bad(capsys, batch_main(["list2.txt", "--out", "run"]), "list2.txt", "line 1")
    assert not (cwd / "run").exists()


def test_batch_reports_failed_exposure_and_continues(cwd, capsys):
    _star_file(cwd / "a.fits")
    _star_file(cwd / "b.fits", drop=("EFFINTTM",))
    (cwd / "list.txt").write_text("a.fits 64 64 f150w_sub128_1\nb.fits 64 64 f150w_sub128_2\n")
    (cwd / "psf").mkdir()
    rc = batch_main(["list.txt", "--out", "run", "-q"])
    out = capsys.readouterr().out
    assert rc == 1 and "failed: 1" in out and "FAILED f150w_sub128_2" in out and "EFFINTTM" in out
    assert (cwd / "run" / "ee" / "f150w_sub128_1.radtab").is_file()
    assert not (cwd / "run" / "ee" / "f150w_sub128_2.radtab").exists()
    assert (cwd / "run" / "summary.txt").is_file()


# --------------------------------------------------------------------------
# the scripts themselves (subprocess)
# --------------------------------------------------------------------------
def test_scripts_run_as_programs(tmp_path):
    f = _star_file(tmp_path / "s.fits")
    r = subprocess.run(
        [sys.executable, str(SCRIPTS / "getcircEE1.py"), f, "64", "64", "o.fluxes", "o.radtab"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 0 and "Max. counts" in r.stdout
    r = subprocess.run(
        [sys.executable, str(SCRIPTS / "totfluxes.py"), "nosuch"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 2 and r.stderr.strip().startswith("totfluxes: error: nosuch is not a NIRISS subarray")
    for script in (
        "getcircEE1",
        "meanflux1",
        "getcircSB1",
        "meansb1",
        "totfluxes",
        "NIRISScountrates",
        "simulate_niriss",
        "run_niriss_batch",
    ):
        assert (SCRIPTS / f"{script}.py").is_file()


def test_simulate_bad_subarray(cwd, capsys):
    _bad(capsys, simulate_main(["--out", "sim", "--subarrays", "SUB64,SUB999"]), "SUB999")
    assert not (cwd / "sim").exists()
