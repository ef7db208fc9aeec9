"""Step 6 (model_fluxes.py): band fluxes of real CALSPEC spectra, model-file rules, G. Rieke models, IRAC."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from absflux import bands as B
from absflux import constants as C
from absflux import spectra as S

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CALSPEC = SHARED / "data" / "calspec"
PANDEIA = SHARED / "data" / "bandpasses" / "miri_pandeia"
C_CGS = 2.99792458e10  # cm/s

sys.path.insert(0, str(REPO))
import model_fluxes  # noqa: E402

# absflux.spectra.write_calspec_fits (used to make synthetic model files) truncates a header comment
pytestmark = pytest.mark.filterwarnings("ignore:Card is too long:astropy.io.fits.verify.VerifyWarning")

needs_shared = pytest.mark.skipif(not CALSPEC.is_dir() or not PANDEIA.is_dir(), reason="../shared data not available")


def _known_calspec(tmp_path: Path) -> Path:
    """Symlinks to the shared CALSPEC files of catalogue stars (alpha Lyr and Sirius are not calibration stars)."""
    d = tmp_path / "calspec"
    d.mkdir()
    for p in sorted(CALSPEC.glob("*_stis*.fits")):
        if p.name.split("_stis")[0] in C.MODEL_NAMES:
            (d / p.name).symlink_to(p)
    return d


def _independent_fnu(spec_path: Path, band_path: Path) -> float:
    """F_nu [Jy] from first principles, independent of absflux.bands.

    The photon rate of the source is int(F_lambda R lambda / hc) dlambda; the "flat F_lambda reference"
    value converted at the pivot wavelength equals the flat-F_nu spectrum giving the same photon rate:
    F_nu = int(F_lambda lambda R dlambda) / (c int(R / lambda dlambda)).  Integrated here with Simpson's
    rule on a fine logarithmic grid (the code uses the trapezoid rule on the bandpass grid).
    """
    from scipy.integrate import simpson

    with fits.open(spec_path) as h:
        wave = np.asarray(h[1].data["WAVELENGTH"], float)  # Angstrom
        flam = np.asarray(h[1].data["FLUX"], float)  # erg/s/cm2/A
    band = np.loadtxt(band_path, comments="#")
    bw, br = band[:, 1], np.clip(band[:, 2], 0, None)
    inb = np.flatnonzero(br > 0)
    lo, hi = bw[max(inb[0] - 1, 0)], bw[min(inb[-1] + 1, bw.size - 1)]
    grid = np.geomspace(lo, hi, 40001)
    r = np.interp(grid, bw, br)
    f = np.interp(grid, wave, flam)
    num = simpson(f * grid * r, x=grid)  # erg/s/cm2 * A (lambda in A)
    den = simpson(r / grid, x=grid)  # 1/A
    # F_nu [erg/s/cm2/Hz] = num / (c[A/s] den)
    return num / (C_CGS * 1e8 * den) * 1e23


@needs_shared
def test_real_calspec_pandeia_against_independent_integration(tmp_path):
    models = _known_calspec(tmp_path)
    rc = model_fluxes.main(
        [
            "--root",
            str(tmp_path),
            "--models",
            str(models),
            "--bandpasses",
            str(PANDEIA),
            "--bandpass-fallback",
            "tynt",
        ]
    )
    assert rc == 0
    out = tmp_path / "Models"
    t = Table.read(out / "model_phot.fits")
    assert t.colnames == ["name", *C.MODEL_TABLE_ORDER, "modfile"]
    assert len(t) == len(list(models.iterdir())) == 31
    assert len(set(t["name"])) == len(t)
    row = t[list(t["name"]).index("BD+60 1753")]
    assert row["modfile"] == "bd60d1753_stiswfc_003.fits"
    ref = _independent_fnu(CALSPEC / "bd60d1753_stiswfc_003.fits", PANDEIA / "jwst_miri_f0770w.dat")
    assert row["F770W"] == pytest.approx(ref, rel=2e-4)
    # ~9 mJy: the monochromatic 7.7 micron value of the star catalogue (band average at 7.64 micron: 9.3 mJy)
    assert row["F770W"] == pytest.approx(C.STARS["BD+60 1753"].fnu_7p7, rel=0.05)
    # a hot, a cool and a bright star in a short and a long band
    files = {
        "GD 71": "gd71_stiswfcnic_003.fits",
        "HD 159222": "hd159222_stis_005.fits",
        "del UMi": "delumi_stis_002.fits",
    }
    for name, fn in files.items():
        r = t[list(t["name"]).index(name)]
        for filt, bfile in (("F560W", "jwst_miri_f0560w.dat"), ("F2100W", "jwst_miri_f2100w.dat")):
            assert r[filt] == pytest.approx(_independent_fnu(CALSPEC / fn, PANDEIA / bfile), rel=5e-4), (name, filt)
    # the .dat (IPAC) copy holds the same numbers; provenance recorded
    d = Table.read(out / "model_phot.dat", format="ascii.ipac")
    assert np.allclose(d["F770W"], t["F770W"], rtol=1e-12)
    assert t.meta["V_ASTROP"] and t.meta["V_JWST"] and t.meta["CREATOR"] == "model_fluxes.py"
    assert any("bd60d1753_stiswfc_003.fits" in h for h in t.meta["HISTORY"])
    # bandpasses written as Models/bandpass_<f>.dat, FND from the documented fallback
    for f in C.MODEL_TABLE_ORDER:
        assert (out / f"bandpass_{f.lower()}.dat").is_file()
    w, r = B.read_bandpass_file(out / "bandpass_f770w.dat")
    pw = np.loadtxt(PANDEIA / "jwst_miri_f0770w.dat")
    assert B.pivot_wavelength(w, r) == pytest.approx(B.pivot_wavelength(pw[:, 1], pw[:, 2]), rel=1e-6)
    assert "synthetic FND" in (out / "bandpass_fnd.dat").read_text().splitlines()[0]
    assert not list(out.glob(".*")), "temporary files left behind"
    assert not list(out.glob("*.png")), "figures only with --png"


@needs_shared
def test_unknown_model_key_is_an_error_naming_the_files(tmp_path, capsys):
    rc = model_fluxes.main(["--root", str(tmp_path), "--models", str(CALSPEC), "--bandpasses", str(PANDEIA)])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert "alpha_lyr_stis_010.fits" in err and "sirius_stis_004.fits" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "Models").exists()


@needs_shared
def test_missing_fnd_curve_without_fallback(tmp_path, capsys):
    models = _known_calspec(tmp_path)
    rc = model_fluxes.main(["--root", str(tmp_path), "--models", str(models), "--bandpasses", str(PANDEIA)])
    assert rc == 2
    assert "no bandpass file for FND" in capsys.readouterr().err


def _write_star(models: Path, key: str, grieke_factor: float | None = None, name: str | None = None) -> None:
    star = C.STARS[C.MODEL_NAMES[key]]
    w, f = S.calspec_spectrum(star)
    S.write_calspec_fits(models / (name or f"{key}_stis_001.fits"), star, w, f)
    if grieke_factor is not None:
        w2, f2 = S.star_spectrum(star)
        S.write_grieke_dat(models / f"grieke23_{key}.dat", star, w2, f2 * grieke_factor)


def test_duplicate_star_is_an_error_naming_both_files(tmp_path, capsys):
    models = tmp_path / "Models"
    models.mkdir()
    _write_star(models, "p330e")
    _write_star(models, "p330e", name="p330e_stiswfcnic_003.fits")
    rc = model_fluxes.main(["--root", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "p330e_stis_001.fits" in err and "p330e_stiswfcnic_003.fits" in err and "GSPC P330-E" in err
    assert not list(models.glob("model_phot*")) and not list(models.glob("bandpass_*"))


def test_grieke_models_ngc2506g31_key_and_units(tmp_path, capsys):
    models = tmp_path / "Models"
    models.mkdir()
    for key in ("ngc2506g31", "p330e", "bd60d1753"):
        _write_star(models, key, grieke_factor=1.0 if C.STARS[C.MODEL_NAMES[key]].grieke else None)
    # the original read this file in units 1000x too large and scaled it by 1e-3
    _write_star(models, "p177d", grieke_factor=1e3)
    rc = model_fluxes.main(["--root", str(tmp_path), "--grieke"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "grieke23_p177d.dat" in err and "--grieke-scale p177d=1e-3" in err
    assert not list(models.glob("model_phot*"))

    rc = model_fluxes.main(["--root", str(tmp_path), "--grieke", "--grieke-scale", "p177d=1e-3", "--png"])
    assert rc == 0
    t = Table.read(models / "model_phot_grieke.fits")
    mod = dict(zip(t["name"], t["modfile"], strict=True))
    # fixed key: NGC2506 G31 uses its G. Rieke model (the original's ngc2506_g31 never matched)
    assert mod["NGC2506 G31"] == "grieke23_ngc2506g31.dat"
    assert mod["GSPC P177-D"] == "grieke23_p177d.dat"
    assert mod["BD+60 1753"] == "bd60d1753_stis_001.fits"
    bp = B.load_bandpasses()
    for name in ("NGC2506 G31", "GSPC P177-D", "BD+60 1753"):
        w, f = S.star_spectrum(C.STARS[name])
        truth = B.band_flux_jy(w, f, *bp["F1130W"])[0]
        assert t["F1130W"][list(t["name"]).index(name)] == pytest.approx(truth, rel=1e-5), name
    # the Jy copy is written after the scaling
    jy = Table.read(models / "grieke23_p177d.fits")
    wave_a = np.asarray(jy["wave"]) * 1e4
    w0, f0 = S.star_spectrum(C.STARS["GSPC P177-D"])
    fnu0 = np.interp(wave_a, w0, f0) * wave_a**2 / B.C_ANGSTROM_PER_S * 1e23
    assert np.allclose(jy["flux"], fnu0, rtol=1e-5)
    assert (models / "grieke23_p177d_ipac.dat").is_file()
    assert (models / "p330e_stis_001_absfluxbands.png").is_file() or (
        models / "grieke23_p330e_absfluxbands.png"
    ).is_file()
    assert "scaled: p177d x 0.001" in "".join(t.meta["HISTORY"])

    # without --grieke the CALSPEC file is used for every star (table model_phot.fits)
    assert model_fluxes.main(["--root", str(tmp_path)]) == 0
    t2 = Table.read(models / "model_phot.fits")
    assert set(t2["modfile"]) == {p.name for p in models.glob("*_stis_001.fits")}


def test_grieke_model_missing_for_a_grieke_star(tmp_path, capsys):
    models = tmp_path / "Models"
    models.mkdir()
    _write_star(models, "p330e")
    assert model_fluxes.main(["--root", str(tmp_path), "--grieke"]) == 2
    assert "grieke23_p330e.dat" in capsys.readouterr().err


def test_irac_needs_its_response_files(tmp_path, capsys):
    models = tmp_path / "Models"
    models.mkdir()
    _write_star(models, "bd60d1753")
    assert model_fluxes.main(["--root", str(tmp_path), "--irac"]) == 2
    assert "--irac-dir" in capsys.readouterr().err
    irac = tmp_path / "irac"
    irac.mkdir()

    def top_hat(ch, a, b):
        wv = np.linspace(a - 0.1, b + 0.1, 200)
        resp = ((wv > a) & (wv < b)) * 0.5
        np.savetxt(
            irac / f"irac_201125ch{ch}trans_full.txt", np.c_[wv, resp], header="Wave SpectralResponse", comments=""
        )

    for ch, (a, b) in enumerate(((3.1, 3.9), (3.9, 5.0), (4.9, 6.4)), start=1):
        top_hat(ch, a, b)
    assert model_fluxes.main(["--root", str(tmp_path), "--irac", "--irac-dir", str(irac)]) == 2
    assert "irac_201125ch4trans_full.txt" in capsys.readouterr().err
    top_hat(4, 6.2, 9.3)
    assert model_fluxes.main(["--root", str(tmp_path), "--irac", "--irac-dir", str(irac)]) == 0
    t = Table.read(models / "model_phot_irac.fits")
    assert t.colnames == ["name", "IRAC1", "IRAC2", "IRAC3", "IRAC4", "modfile"]
    # Rayleigh-Jeans-like star: flux falls with wavelength
    assert t["IRAC1"][0] > t["IRAC2"][0] > t["IRAC3"][0] > t["IRAC4"][0] > 0
    assert (models / "bandpass_irac1.dat").is_file()


def test_model_short_of_the_band_is_extended_or_rejected():
    from absflux import modelflux as M

    wb = np.linspace(2.0e5, 3.1e5, 1101)
    rb = np.exp(-0.5 * ((wb - 2.5e5) / 1.5e4) ** 2)
    wm = np.geomspace(1e4, 3.0e5, 5000)
    fm = wm**-4.0  # Rayleigh-Jeans
    w2, f2, note = M._covering_model(wm, fm, wb, rb, "x.fits F2550W")
    assert note and "extended beyond 30.000 micron" in note
    # the Rayleigh-Jeans tail continues the spectrum exactly
    full = B.band_flux_flambda(np.geomspace(1e4, 3.2e5, 6000), np.geomspace(1e4, 3.2e5, 6000) ** -4.0, wb, rb)
    assert B.band_flux_flambda(w2, f2, wb, rb) == pytest.approx(full, rel=1e-6)
    with pytest.raises(M.ModelFluxError, match="x.fits F2550W: model covers"):
        M._covering_model(wm[wm < 2.6e5], fm[wm < 2.6e5], wb, rb, "x.fits F2550W")


def _band_truth(name: str, band: str = "F1130W") -> float:
    """Band flux [Jy] of the catalogue spectrum of ``name`` (what an unscaled, correct-unit file gives)."""
    w, f = S.star_spectrum(C.STARS[name])
    return B.band_flux_jy(w, f, *B.load_bandpasses()[band])[0]


def test_requested_scale_is_checked_on_the_scaled_model_and_recorded(tmp_path, capsys):
    """The README's command for the original's scaling works on files in the documented unit; the check
    outcome is recorded; a wrong unscaled model is still refused."""
    models = tmp_path / "Models"
    models.mkdir()
    for key in ("p177d", "p330e"):
        _write_star(models, key, grieke_factor=1.0)  # both in W cm-2 um-1, as the project's files
    rc = model_fluxes.main(["--root", str(tmp_path), "--grieke", "--grieke-scale", "p177d=1e-3"])
    assert rc == 0
    t = Table.read(models / "model_phot_grieke.fits")
    row = {n: i for i, n in enumerate(t["name"])}
    # p177d enters 1000x too faint, exactly as the original made it; p330e untouched
    assert t["F1130W"][row["GSPC P177-D"]] == pytest.approx(1e-3 * _band_truth("GSPC P177-D"), rel=1e-5)
    assert t["F1130W"][row["GSPC P330-E"]] == pytest.approx(_band_truth("GSPC P330-E"), rel=1e-5)
    hist = "".join(t.meta["HISTORY"])  # long notes are split over several HISTORY cards
    assert "scaled: p177d x 0.001" in hist
    assert "WARNING p177d" in hist and "not applied to a scale the user asked for" in hist
    ipac = " ".join(Table.read(models / "model_phot_grieke.dat", format="ascii.ipac").meta["comments"])
    assert "1000x too low" in ipac
    # the ratios in the note are the scaled ones (0.001 within the 1e-4 of the simulated CALSPEC/G. Rieke match)
    from absflux import modelflux as M

    spec = [s for s in M.load_model_spectra(models, True, {"p177d": 1e-3}) if s.key == "p177d"][0]
    bp = B.load_bandpasses()
    M.band_fluxes(spec, bp)
    note = M.check_grieke_units(spec, bp)
    lo = float(note.split(" is ")[1].split("-")[0])
    assert lo == pytest.approx(1e-3, rel=0.02)

    # a wrong model whose star was not scaled is still an error, whatever else is scaled
    (models / "grieke23_p330e.dat").unlink()
    _write_star(models, "p330e", grieke_factor=1e3)
    rc = model_fluxes.main(["--root", str(tmp_path), "--grieke", "--grieke-scale", "p177d=1e-3"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "grieke23_p330e.dat: G. Rieke model is 985 x the CALSPEC" in err and "wrong flux unit?" in err


def test_scaled_model_that_passes_records_the_check(tmp_path):
    models = tmp_path / "Models"
    models.mkdir()
    _write_star(models, "p177d", grieke_factor=1e3)  # a file in units 1000x too large
    assert model_fluxes.main(["--root", str(tmp_path), "--grieke", "--grieke-scale", "p177d=1e-3"]) == 0
    t = Table.read(models / "model_phot_grieke.fits")
    assert t["F1130W"][0] == pytest.approx(_band_truth("GSPC P177-D"), rel=1e-5)
    hist = "".join(t.meta["HISTORY"])
    assert "passes the factor-2 consistency check" in hist and "WARNING" not in hist


def test_flat_extrapolation_continues_the_model_as_np_interp():
    """--extrapolation flat: the original's np.interp clamping, also beyond the 1% limit (recorded)."""
    from absflux import modelflux as M

    wb = np.linspace(2.0e5, 3.1e5, 1101)
    rb = np.exp(-0.5 * ((wb - 2.5e5) / 1.5e4) ** 2)
    wm = np.geomspace(1e4, 2.6e5, 5000)  # misses ~20% of the band weight
    fm = wm**-4.0
    w2, f2, note = M._covering_model(wm, fm, wb, rb, "x.fits F2550W", "flat")
    assert "continued flat" in note and "--extrapolation flat" in note
    clamp = np.interp(wb, wm, fm)  # independent: what the original integrated
    expect = np.sum(np.diff(wb) * 0.5 * ((wb * rb * clamp)[1:] + (wb * rb * clamp)[:-1])) / np.sum(
        np.diff(wb) * 0.5 * ((wb * rb)[1:] + (wb * rb)[:-1])
    )
    assert B.band_flux_flambda(w2, f2, wb, rb) == pytest.approx(expect, rel=1e-12)
    # the default still refuses that model
    with pytest.raises(M.ModelFluxError, match="model covers"):
        M._covering_model(wm, fm, wb, rb, "x.fits F2550W")
