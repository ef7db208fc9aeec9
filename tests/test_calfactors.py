"""Step 9 (calc_calfactors.py, plot_multi_calfacs.py): statistics, calibration factors, outputs, bad inputs.

Fast tests use small hand-made photometry and model tables; the end-to-end test (slow) simulates the
``tiny`` campaign, builds photometry tables from its truth and checks that the time- and
subarray-corrected average C of every filter equals the injected C.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from absflux import calfactors as CF
from absflux import constants as C

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tiny_campaign import simulate_tiny  # noqa: E402

import calc_calfactors  # noqa: E402
import plot_multi_calfacs  # noqa: E402

AREA = C.MOSAIC_PIXEL_AREA_SR
# absflux.spectra.write_calspec_fits (simulated model files) truncates a header comment
pytestmark = pytest.mark.filterwarnings("ignore:Card is too long:astropy.io.fits.verify.VerifyWarning")


# --------------------------------------------------------------------------
# compute_stats against hand-computed values
# --------------------------------------------------------------------------
def test_weighted_mean_and_ddof1_std_with_weights_one_over_n():
    # star A observed twice (w = 1/2 each), stars B and C once: weights sum to 3 stars
    values = [1.0, 2.0, 3.0, 4.0]
    w = CF.star_weights(["A", "A", "B", "C"])
    assert list(w) == [0.5, 0.5, 1.0, 1.0]
    st = CF.compute_stats(values, w, sigcut=3.5)
    # mean = (0.5 + 1 + 3 + 4) / 3 = 17/6
    assert st.mean == pytest.approx(17 / 6, rel=1e-14)
    # sum w (x - mean)^2 = sum w x^2 - sum(w) mean^2 = 27.5 - 3 (17/6)^2 = 41/12;  / (sum w - 1) = 41/24
    assert st.std == pytest.approx(math.sqrt(41 / 24), rel=1e-14)
    assert st.std_mean == pytest.approx(math.sqrt(41 / 24) / math.sqrt(3), rel=1e-14)
    assert st.npts == pytest.approx(3.0)
    assert not np.any(np.ma.getmaskarray(st.masked))


def test_len_rule_counts_before_clipping():
    # 4 values, the outlier is clipped (sigma 2): 3 remain, but the std is computed (len > 3 before clipping)
    st = CF.compute_stats([1.0, 1.1, 0.9, 10.0], np.ones(4), sigcut=2.0)
    assert list(np.ma.getmaskarray(st.masked)) == [False, False, False, True]
    assert st.mean == pytest.approx(1.0, rel=1e-14)
    # sqrt((0 + 0.01 + 0.01) / (3 - 1)) = 0.1
    assert st.std == pytest.approx(0.1, rel=1e-12)
    assert st.std_mean == pytest.approx(0.1 / math.sqrt(3), rel=1e-12)
    assert st.npts == pytest.approx(3.0)
    # only 3 values given: std and std of the mean are 0
    st3 = CF.compute_stats([1.0, 1.1, 0.7], [1.0, 1.0, 2.0], sigcut=3.5)
    assert st3.mean == pytest.approx((1.0 + 1.1 + 1.4) / 4.0)
    assert st3.std == 0.0 and st3.std_mean == 0.0 and st3.npts == 4.0


def test_clipping_is_unweighted_median_std_and_sigcut_per_filter():
    # 11 values, one outlier at (11/sqrt(10)) = 3.48 sigma: clipped with F560W's 3.0, kept with 3.5
    vals = np.array([1.0] * 5 + [1.01] * 5 + [1.5])
    w = np.ones(vals.size)
    w[-1] = 1e-6  # the clipping ignores the weights
    st = CF.compute_stats(vals, w, sigcut=C.SIGCUT["F560W"])
    assert list(np.flatnonzero(np.ma.getmaskarray(st.masked))) == [10]
    assert st.mean == pytest.approx(1.005) and st.npts == pytest.approx(10.0)
    st35 = CF.compute_stats(vals, np.ones(vals.size), sigcut=C.SIGCUT["F770W"])
    assert not np.any(np.ma.getmaskarray(st35.masked)) and st35.mean == pytest.approx(1.05)
    assert C.SIGCUT["F560W"] == 3.0 and C.SIGCUT["FND"] == 3.5 and C.SIGCUT["F1065C"] == 3.5


def test_propagated_std_mean_by_hand():
    # star A observed twice (weights 1/2), stars B and C once: the average of three star means
    # (A's mean has error sqrt(0.02^2 + 0.02^2)/2), so sqrt(0.0002 + 0.01^2 + 0.04^2) / 3
    w = CF.star_weights(["A", "A", "B", "C"])
    s = CF.propagated_std_mean([0.02, 0.02, 0.01, 0.04], w)
    assert s == pytest.approx(math.sqrt(0.0002 + 0.0001 + 0.0016) / 3.0, rel=1e-12)
    # four equal errors of one star: the error of their mean
    assert CF.propagated_std_mean([0.01] * 4, [0.25] * 4) == pytest.approx(0.005, rel=1e-12)
    # a star far noisier than the clipping window contributes at most the cap
    assert CF.propagated_std_mean([0.01, 0.5], [1.0, 1.0], cap=0.03) == pytest.approx(math.hypot(0.01, 0.03) / 2)
    assert math.isnan(CF.propagated_std_mean([], []))
    assert math.isnan(CF.propagated_std_mean([0.01, np.nan], [1.0, 1.0]))
    with pytest.raises(ValueError):
        CF.propagated_std_mean([0.01], [1.0, 1.0])


def test_stats_edge_cases():
    assert CF.compute_stats([], [], 3.0) == (None, None, None, None, None)
    # one star observed 4 times: weights sum to 1, ddof=1 std undefined -> NaN (the original divided by 0)
    st = CF.compute_stats([1.0, 1.1, 0.9, 1.0], CF.star_weights(["A"] * 4), 3.5)
    assert st.mean == pytest.approx(1.0) and math.isnan(st.std) and math.isnan(st.std_mean)


# --------------------------------------------------------------------------
# Names, formula, time coefficients
# --------------------------------------------------------------------------
def test_file_names_encode_every_option(tmp_path):
    o = CF.CalfacOptions(basedir=tmp_path)
    assert CF.savefile_path(o, "F770W") == tmp_path / "CalFacs" / "miri_calfactors_F770W.fits"
    o2 = CF.CalfacOptions(basedir=tmp_path, bkgsub=True, indivcals=True, grieke=True, subarrcor=True, applytime=True)
    assert (
        CF.savefile_path(o2, "F1065C").name == "miri_calfactors_bkgsub_indivcals_grieke_subarracor_timecor_F1065C.fits"
    )
    assert CF.phot_table_path(tmp_path, "ADwarfs", "F770W", o2).name == "F770W_bkgsub_indivcals_eefrac0.7_phot.fits"
    sub = CF.CalfacOptions(basedir=tmp_path, subtrans=True)
    assert CF.savefile_path(sub, "F770W").name == "miri_calfactors_subtrans_F770W.fits"  # not the plain file
    truth = CF.CalfacOptions(basedir=tmp_path, grieke=True, time_truth=tmp_path / "truth.ecsv")
    assert CF.savefile_path(truth, "F770W").name == "miri_calfactors_grieke_timecor_F770W.fits"
    sf = CF.savefile_path(o, "F770W")
    assert CF.sidecar_path(sf, "ave").name == "miri_calfactors_F770W_ave.dat"
    rep = CF.CalfacOptions(basedir=tmp_path, repeat=True)
    # the calc_calfactors time fit must not overwrite the time-dependence product read by --applytime
    assert CF.time_fit_sidecar(rep, CF.savefile_path(rep, "F770W")).name == "miri_calfactors_repeat_F770W_calfit.dat"
    assert CF.repeat_fit_path(tmp_path, "F770W").name == "miri_calfactors_repeat_F770W_fit.dat"
    assert CF.repeat_fit_path(tmp_path, "F2550W").name == "miri_calfactors_bkgsub_repeat_F2550W_fit.dat"
    assert CF.figure_path(sub, "miri_calfactors_F770W_mflux", "png").name == (
        "miri_calfactors_F770W_mflux_eefrac0.7_subtrans.png"
    )
    assert CF.eefrac_tag(0.70) == "0.7"


def _phot(rows) -> Table:
    """Photometry table with the columns the step reads (spec 3.8.1 names)."""
    cols = (
        "name",
        "subarray",
        "timemid",
        "aperture_sum_bkgsub",
        "aperture_sum_bkgsub_err",
        "apcorr",
        "pixarea",
        "exposure",
        "pix_max",
        "tgroup",
        "ngroups",
        "mean_bkg",
        "photmjysr",
    )
    return Table(rows=rows, names=cols)


def _row(name, rate, sub="SUB256", t=C.STARTDAY, exp="1", apcorr=1.5):
    return (name, sub, t, rate, 0.001 * rate, apcorr, AREA, exp, 0.1 * rate, 0.3, 10, 5.0, 0.3)


def test_calibration_factor_formula_and_time_correction():
    models = Table({"name": ["BD+60 1753"], "F770W": [0.009]})
    models.meta["path"] = "models.fits"
    phot = _phot([_row("BD+60 1753", 1000.0, t=C.STARTDAY + 300.0)])
    t = CF.calfactors_from_phot(phot, "F770W", "ADwarfs", models)
    c = 1e-6 * 0.009 / (1000.0 * 1.5 * AREA)
    assert t["calfac"][0] == pytest.approx(c, rel=1e-14)
    assert t["calfac_unc"][0] == pytest.approx(0.001 * c, rel=1e-12)
    assert t["x"][0] == pytest.approx(9.0)  # mflux axis in mJy
    tc = CF.TimeCoeffs(amp=0.1, tau=-100.0, const=0.9, lossperyear=-0.02, t0=C.STARTDAY)
    corr = (1 - 0.02 * 300 / 365) * (0.1 * math.exp(-3.0) + 0.9)
    assert tc.correction(C.STARTDAY + 300.0) == pytest.approx(corr, rel=1e-14)
    tt = CF.calfactors_from_phot(phot, "F770W", "ADwarfs", models, "timemid", time_coeffs=tc)
    assert tt["calfac"][0] == pytest.approx(c * corr, rel=1e-14)  # rate referred to t0 is lower
    assert tt["calfac_unc"][0] / tt["calfac"][0] == pytest.approx(0.001)
    assert tt["x"][0] == pytest.approx(300.0)
    # aliases of the photometry names are resolved for the model lookup
    models2 = Table({"name": ["2MASS J18022716+6043356"], "F770W": [0.001]})
    t2 = CF.calfactors_from_phot(_phot([_row("J1802271", 100.0)]), "F770W", "ADwarfs", models2)
    assert t2["name"][0] == "2MASS J18022716+6043356"


def test_time_coefficients_from_files(tmp_path):
    p = tmp_path / "fit.dat"
    Table(
        {
            "fit_linear_lossperyear_F770W": [-0.01],
            "fit_exp_const_F770W": [0.95],
            "fit_exp_amp_F770W": [0.05],
            "fit_exp_tau_F770W": [-120.0],
            "fit_startday_F770W": [59720.0],
        }
    ).write(p, format="ascii.commented_header")
    tc = CF.read_repeat_fit(p, "F770W")
    assert (tc.amp, tc.tau, tc.const, tc.lossperyear, tc.t0) == (0.05, -120.0, 0.95, -0.01, 59720.0)
    assert tc.correction(59720.0) == pytest.approx(1.0)
    with pytest.raises(CF.CalFactorError, match="fit_exp_amp_F1000W"):
        CF.read_repeat_fit(p, "F1000W")
    truth = Table({"name": ["x"]})
    truth.meta["time_coeffs"] = {
        "F770W": {"amplitude": 0.012, "tau": 100.0, "const": 0.988, "lossperyear": 0.003, "t0": 59720.0}
    }
    truth.write(tmp_path / "truth.ecsv", format="ascii.ecsv")
    tt = CF.time_coeffs_from_truth(tmp_path / "truth.ecsv", "F770W")
    from absflux.sim_defaults import relative_sensitivity

    mjd = np.array([59725.0, 60100.0, 60700.0])
    assert np.allclose(tt.correction(mjd), relative_sensitivity("F770W", mjd), rtol=1e-14)


def test_time_fit_recovers_exponential():
    x = np.linspace(0, 1000, 40)
    y = 0.30 - 0.02 * np.exp(x / -200.0)
    f = CF.fit_time_dependence(x, y, "F770W", model="exp")
    assert f["amp"] == pytest.approx(-0.02, rel=1e-4) and f["const"] == pytest.approx(0.30, rel=1e-6)
    assert f["mod_dev"] < 1e-6
    # exp+line on a flux-like sensitivity (product form, tau fixed at -100 d for F770W)
    s = (1 - 0.01 * x / 365) * (0.03 * np.exp(-x / 100.0) + 0.97)
    f2 = CF.fit_time_dependence(x, 0.28 / s, "F770W", model="exp+line")
    assert f2["amp"] == pytest.approx(0.03, abs=3e-3)
    assert f2["lossperyear"] == pytest.approx(-0.01, abs=1.5e-3)
    assert f2["per_dev"] < 0.1
    assert CF.fit_time_dependence(x[:2], y[:2], "F770W", model="exp") is None


def test_photom_reference_current_format(tmp_path):
    def hdu(name, cols):
        return fits.BinTableHDU(Table(cols), name=name)

    p = tmp_path / "photom.fits"
    fits.HDUList(
        [
            fits.PrimaryHDU(),
            hdu("PHOTOM", {"filter": ["F770W", "F770W"], "subarray": ["SUB256", "FULL"], "photmjsr": [0.3, 0.28]}),
            hdu(
                "TIMECOEFF_LINEAR", {"filter": ["F770W"], "subarray": ["FULL"], "t0": [59720.0], "lossperyear": [0.01]}
            ),
            hdu(
                "TIMECOEFF_EXPONENTIAL",
                {
                    "filter": ["F770W"],
                    "subarray": ["FULL"],
                    "amplitude": [0.05],
                    "tau": [100.0],
                    "t0": [59720.0],
                    "const": [0.95],
                },
            ),
        ]
    ).writeto(p)
    ref = CF.read_photom_reference(p, "F770W")
    assert ref.kind == "current" and ref.calfactor(59720.0) == pytest.approx(0.28)
    dt = 365.0
    assert ref.calfactor(59720.0 + dt) == pytest.approx(0.28 / ((1 - 0.01) * (0.05 * math.exp(-3.65) + 0.95)))
    with pytest.raises(CF.CalFactorError, match="no F560W FULL row"):
        CF.read_photom_reference(p, "F560W")


# --------------------------------------------------------------------------
# CLI on a small hand-made campaign
# --------------------------------------------------------------------------
STARS_SMALL = {
    # name: (type, model flux F770W [Jy], n obs, subarray)
    "BD+60 1753": ("ADwarfs", 0.0093, 4, "SUB256"),
    "HD 55677": ("ADwarfs", 0.0144, 2, "SUB128"),
    "GD 71": ("HotStars", 0.00015, 2, "FULL"),
    "GSPC P330-E": ("SolarAnalogs", 0.0018, 2, "SUB64"),
    "HD 180609": ("ADwarfs", 0.0150, 2, "SUB256"),  # ignore-listed
}
C_SMALL = 0.28


@pytest.fixture()
def small(tmp_path):
    """A campaign root with F770W photometry of 5 stars (C = 0.28 x (1 + small offsets)) and model tables."""
    models = Table({"name": list(STARS_SMALL), "F770W": [v[1] for v in STARS_SMALL.values()]})
    models["modfile"] = [f"{n}.fits" for n in STARS_SMALL]
    (tmp_path / "Models").mkdir()
    models.write(tmp_path / "Models" / "model_phot.fits")
    models.write(tmp_path / "Models" / "model_phot_grieke.fits")
    rng = np.random.default_rng(3)
    rows = {}
    for name, (typ, flux, n, sub) in STARS_SMALL.items():
        for k in range(n):
            c = C_SMALL * (1 + 0.003 * rng.standard_normal()) / C.SUBARR_COR[sub]
            rate = 1e-6 * flux / (c * 1.5 * AREA)
            rows.setdefault(typ, []).append(_row(name, rate, sub=sub, t=59800.0 + 50 * k, exp=str(k % 2 + 1)))
    for typ, rr in rows.items():
        (tmp_path / typ).mkdir()
        _phot(rr).write(tmp_path / typ / "F770W_eefrac0.7_phot.fits")
    return tmp_path


def _outputs(root: Path) -> list[Path]:
    return sorted(p for d in ("CalFacs", "Figs") if (root / d).exists() for p in (root / d).iterdir())


def test_cli_outputs_and_numbers(small):
    rc = calc_calfactors.main(["--basedir", str(small), "--filter", "F770W", "--subarrcor", "--xaxisval", "subarr"])
    assert rc == 0
    cf = small / "CalFacs"
    per = Table.read(cf / "miri_calfactors_subarracor_F770W.fits")
    # the original five columns first, in order; new ones after them
    assert per.colnames[:5] == [
        "name",
        "calfac_F770W",
        "calfac_F770W_mean_dev",
        "calfac_F770W_med_dev",
        "modflux_F770W",
    ]
    assert per.colnames[5:] == ["calfac_F770W_unc", "weight", "used"]
    ave = Table.read(cf / "miri_calfactors_subarracor_F770W_ave.dat", format="ascii.commented_header")
    assert ave.colnames[:4] == ["avecalfac_F770W", "avecalfac_unc_F770W", "avecalfac_std_F770W", "avecalfac_npts_F770W"]
    assert ave.colnames[4:] == ["avecalfac_uncphot_F770W"]
    # recompute by hand from the per-observation file: weights 1/N per star, HD 180609 ignored
    names = np.array([str(n) for n in per["name"]])  # FITS strings come back as bytes
    cal = np.asarray(per["calfac_F770W"])
    good = names != "HD 180609"
    w = CF.star_weights(names)[good]
    mean = np.sum(w * cal[good]) / np.sum(w)
    std = np.sqrt(np.sum(w * (cal[good] - mean) ** 2) / (np.sum(w) - 1))
    assert ave["avecalfac_F770W"][0] == pytest.approx(mean, rel=1e-12)
    assert ave["avecalfac_std_F770W"][0] == pytest.approx(std, rel=1e-10)
    assert ave["avecalfac_unc_F770W"][0] == pytest.approx(std / 2.0, rel=1e-10)  # 4 stars
    assert ave["avecalfac_npts_F770W"][0] == pytest.approx(4.0)
    assert mean == pytest.approx(C_SMALL, rel=0.01)
    # every photometric error is 0.1% of its rate, so C's is 0.1% of C; the error of the average of
    # the stars' means: sqrt(sum (w s)^2) / sum w over the used observations
    assert np.allclose(per["calfac_F770W_unc"], 0.001 * cal, rtol=1e-10)
    assert np.array_equal(np.asarray(per["used"], bool), good)
    cap = 3.5 * std / np.sqrt(3.0)  # F770W clips at 3.5 sigma; 0.1% errors are far below it
    s_hand = np.sqrt(np.sum((w * np.minimum(0.001 * cal[good], cap)) ** 2)) / np.sum(w)
    assert ave["avecalfac_uncphot_F770W"][0] == pytest.approx(s_hand, rel=1e-10)
    # fixed columns: C/mean, C/median (not C/std), model flux in mJy whatever the x axis
    assert np.allclose(per["calfac_F770W_mean_dev"], cal / mean)
    assert np.allclose(per["calfac_F770W_med_dev"], cal / np.median(cal[good]))
    assert np.allclose(per["modflux_F770W"], [1e3 * STARS_SMALL[n][1] for n in names])
    sub = Table.read(cf / "miri_calfactors_subarracor_F770W_subarr.dat", format="ascii.commented_header")
    assert list(sub["name"]) == ["FULL", "BRIGHTSKY", "SUB256", "SUB128", "SUB64"]
    assert sub["calfacs"][1] == 0 and sub["calfacs"][2] == pytest.approx(C_SMALL, rel=0.01)
    # provenance in every table; figure written headless
    h = fits.getheader(cf / "miri_calfactors_subarracor_F770W.fits", 1)
    assert h["CREATOR"] == "calc_calfactors.py" and h["V_PHOTUT"] and h["V_JWST"]
    assert any("F770W_eefrac0.7_phot.fits" in str(v) for v in h["HISTORY"])
    assert "# software: absflux" in (cf / "miri_calfactors_subarracor_F770W_ave.dat").read_text()
    assert (small / "Figs" / "miri_calfactors_F770W_subarr_eefrac0.7.png").is_file()
    assert not list(cf.glob(".*"))


def test_cli_time_axis_fit_and_applytime(small):
    assert calc_calfactors.main(["--basedir", str(small), "--xaxisval", "timemid", "--time-model", "exp"]) == 0
    fit = Table.read(small / "CalFacs" / "miri_calfactors_F770W_fit.dat", format="ascii.commented_header")
    assert "fit_exp_amp_F770W" in fit.colnames and "fit_exp_std_F770W" in fit.colnames
    # --applytime reads the time-dependence product
    Table(
        {
            "fit_linear_lossperyear_F770W": [-0.01],
            "fit_exp_const_F770W": [0.95],
            "fit_exp_amp_F770W": [0.05],
            "fit_exp_tau_F770W": [-120.0],
            "fit_startday_F770W": [59720.0],
        }
    ).write(CF.repeat_fit_path(small, "F770W"), format="ascii.commented_header")
    assert calc_calfactors.main(["--basedir", str(small), "--applytime"]) == 0
    assert (small / "CalFacs" / "miri_calfactors_timecor_F770W_ave.dat").is_file()
    # --repeat --xaxisval timemid does not overwrite the repeat-fit product
    before = CF.repeat_fit_path(small, "F770W").read_text()
    assert calc_calfactors.main(["--basedir", str(small), "--repeat", "--xaxisval", "timemid"]) == 0
    assert CF.repeat_fit_path(small, "F770W").read_text() == before
    assert (small / "CalFacs" / "miri_calfactors_repeat_F770W_calfit.dat").is_file()


def test_seeded_jitter_is_reproducible():
    t = Table({"x": ["SUB256", "SUB64", "FULL"]})
    a = CF._xpos(t, "subarr", np.random.default_rng(1))
    b = CF._xpos(t, "subarr", np.random.default_rng(1))
    assert np.array_equal(a, b) and np.all(np.abs(a - [2, 4, 0]) < 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--filter", "F1000W"], "no photometry table for F1000W"),
        (["--filter", "F770W", "--subtrans"], "--subtrans: no observation of 2MASS J17571324+6703409"),
        (["--filter", "F770W", "--applytime"], "miri_calfactors_repeat_F770W_fit.dat"),
        (["--filter", "F770W", "--bkgsub", "--indivmos"], "--bkgsub cannot be combined with --indivmos"),
    ],
)
def test_cli_bad_inputs(small, capsys, args, message):
    assert calc_calfactors.main(["--basedir", str(small), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("error: ")
    assert _outputs(small) == []


def test_cli_star_without_model_flux(small, capsys):
    models = Table.read(small / "Models" / "model_phot.fits")
    models[models["name"] != "HD 55677"].write(small / "Models" / "model_phot.fits", overwrite=True)
    assert calc_calfactors.main(["--basedir", str(small)]) == 2
    err = capsys.readouterr().err
    assert "'HD 55677'" in err and str(small / "Models" / "model_phot.fits") in err
    assert _outputs(small) == []


def test_cli_empty_repeat_selection(small, capsys):
    t = Table.read(small / "ADwarfs" / "F770W_eefrac0.7_phot.fits")
    t[t["name"] != "BD+60 1753"].write(small / "ADwarfs" / "F770W_eefrac0.7_phot.fits", overwrite=True)
    assert calc_calfactors.main(["--basedir", str(small), "--repeat"]) == 2
    assert "--repeat: no observation of BD+60 1753 in F770W" in capsys.readouterr().err
    assert _outputs(small) == []


def test_cli_missing_phot_table_and_model_table(small, capsys):
    (small / "Models" / "model_phot_grieke.fits").unlink()
    assert calc_calfactors.main(["--basedir", str(small), "--grieke"]) == 2
    assert "model_phot_grieke.fits: model table not found (run model_fluxes.py --grieke" in capsys.readouterr().err
    assert calc_calfactors.main(["--basedir", str(small), "--eefrac", "0.8"]) == 2
    assert "F770W_eefrac0.8_phot.fits" in capsys.readouterr().err
    assert _outputs(small) == []


# --------------------------------------------------------------------------
# End to end on the simulated tiny campaign
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_campaign(tmp_path_factory):
    out = simulate_tiny(tmp_path_factory.mktemp("calfac") / "tiny")
    CF.synthetic_phot_tables(out / "truth.ecsv", out, noise=0.003, seed=11)
    import model_fluxes

    assert model_fluxes.main(["--root", str(out), "--grieke"]) == 0
    return out


@pytest.mark.slow
def test_model_fluxes_reproduce_injected_fluxes(tiny_campaign):
    truth = Table.read(tiny_campaign / "truth.ecsv")
    models = Table.read(tiny_campaign / "Models" / "model_phot_grieke.fits")
    idx = {n: i for i, n in enumerate(models["name"])}
    for r in truth:
        assert models[r["filter"]][idx[r["name"]]] == pytest.approx(r["flux_jy"], rel=2e-5), (r["name"], r["filter"])


@pytest.mark.slow
def test_average_equals_injected_calfactor(tiny_campaign):
    root = tiny_campaign
    truth_path = root / "truth.ecsv"
    truth = Table.read(truth_path)
    injected = truth.meta["calfactors_full_t0"]
    args = ["--basedir", str(root), "--grieke", "--subarrcor", "--time-coeffs-from-truth", str(truth_path)]
    assert plot_multi_calfacs.main(args) == 0
    assert (root / "Figs" / "multi_calfacs_mflux_grieke.png").is_file()
    filters = sorted(set(truth["filter"]))
    assert len(filters) >= 6
    means = {}
    for f in filters:
        bk = "_bkgsub" if f in C.BKGSUB_CALFAC_FILTERS else ""
        ave = Table.read(
            root / "CalFacs" / f"miri_calfactors{bk}_grieke_subarracor_timecor_{f}_ave.dat",
            format="ascii.commented_header",
        )
        mean, sem = ave[f"avecalfac_{f}"][0], ave[f"avecalfac_unc_{f}"][0]
        means[f] = mean
        sem = 0.0 if not np.isfinite(sem) else sem
        tol = max(0.005 * injected[f], 2 * sem)
        assert abs(mean - injected[f]) <= tol, (f, mean, injected[f], sem)
    # calc_calfactors gives the same numbers for one filter
    assert calc_calfactors.main(["--filter", "F770W", "--applytime", *args]) == 0
    a = Table.read(
        root / "CalFacs" / "miri_calfactors_grieke_subarracor_timecor_F770W_ave.dat", format="ascii.commented_header"
    )
    assert a["avecalfac_F770W"][0] == pytest.approx(means["F770W"], rel=1e-12)
    # without the time correction the average is biased by the sensitivity loss of the later epochs
    assert calc_calfactors.main(["--basedir", str(root), "--filter", "F2100W", "--grieke", "--subarrcor"]) == 0
    raw = Table.read(
        root / "CalFacs" / "miri_calfactors_grieke_subarracor_F2100W_ave.dat", format="ascii.commented_header"
    )
    assert raw["avecalfac_F2100W"][0] > 1.05 * injected["F2100W"]
