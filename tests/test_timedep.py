"""Step 7 (plot_repeatability.py, generate_coron_repeat_from_imager.py): time-dependence fits and products.

Fast tests on analytic series and on small hand-made photometry tables whose count rates follow the
injected product-form sensitivity of ``absflux.sim_defaults``.
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
from absflux import sim_defaults as SD
from absflux import timedep as TD

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import generate_coron_repeat_from_imager  # noqa: E402
import plot_repeatability  # noqa: E402

AREA = C.MOSAIC_PIXEL_AREA_SR
APCORR = 1.5
#: Model flux densities [Jy] of the hand-made campaign.
FLUX = {"BD+60 1753": 0.009, "HD 37962": 0.2, "del UMi": 1.2}


# --------------------------------------------------------------------------
# Hand-made photometry tables following the injected truth
# --------------------------------------------------------------------------
def phot_table(rows) -> Table:
    """Photometry table with the columns the time step reads (spec 3.8.1 names)."""
    names = ("name", "subarray", "timemid", "aperture_sum_bkgsub", "aperture_sum_bkgsub_err", "apcorr", "pixarea")
    return Table(rows=rows, names=names)


def phot_row(name, filt, mjd, sub="SUB256", noise=0.0, rng=None, flux=None):
    """One observation whose rate follows C(t, s) = C_FULL / (s(t) subarr_cor[s])."""
    c = SD.true_calfactor(filt, mjd, sub)
    f = FLUX[name] if flux is None else flux
    rate = 1e-6 * f / (c * APCORR * AREA)
    if noise:
        rate *= 1 + noise * rng.standard_normal()
    return (name, sub, float(mjd), rate, 0.003 * rate, APCORR, AREA)


def make_campaign(root: Path, filters=("F770W", "F2100W"), noise=0.002, seed=5, reverse_bridge=True) -> Path:
    """Repeat star at 8 epochs (one in FULL), bridging stars at 2 epochs each (rows in reverse time order)."""
    rng = np.random.default_rng(seed)
    models = Table({"name": list(FLUX)})
    for f in C.ALL_FILTERS:
        models[f] = list(FLUX.values())
    (root / "Models").mkdir(parents=True, exist_ok=True)
    models.write(root / "Models" / "model_phot_grieke.fits", overwrite=True)
    models.write(root / "Models" / "model_phot.fits", overwrite=True)
    epochs = [59725.0, 59800.0, 59950.0, 60085.0, 60200.0, 60400.0, 60600.0, 60800.0]
    for f in filters:
        ext = "_bkgsub" if f in C.BKGSUB_REPEAT_FILTERS else ""
        ad, sa = [], []
        for k, t in enumerate(epochs):
            sub = "FULL" if k == 3 else "SUB256"
            for d in range(2):
                ad.append(phot_row("BD+60 1753", f, t + 0.01 * d, sub, noise, rng))
        # a point in the "excess striping" window (day 350 +- 5): must be excluded
        ad.append(phot_row("BD+60 1753", f, C.STARTDAY + 351.0, "SUB256", 0.0, rng, flux=FLUX["BD+60 1753"] * 1.2))
        bridge = [
            phot_row("HD 37962", f, t + 0.01 * d, "SUB256", noise, rng) for t in (59740.0, 60590.0) for d in (0, 1)
        ]
        sa += bridge[::-1] if reverse_bridge else bridge
        for typ, rows in (("ADwarfs", ad), ("SolarAnalogs", sa)):
            (root / typ).mkdir(parents=True, exist_ok=True)
            phot_table(rows).write(root / typ / f"{f}{ext}_eefrac0.7_phot.fits", overwrite=True)
    return root


def outputs(root: Path) -> list[Path]:
    return sorted(p for d in ("CalFacs", "Figs") if (root / d).exists() for p in (root / d).iterdir())


# --------------------------------------------------------------------------
# Fits
# --------------------------------------------------------------------------
@pytest.mark.parametrize("filt", ["F770W", "F1500W", "F2550W"])
def test_exp_line_fit_recovers_injected_coefficients(filt):
    x = np.linspace(3.0, 1100.0, 30)
    tc = SD.true_time_coeffs()[filt]
    y = 2.5 * SD.relative_sensitivity(filt, C.STARTDAY + x)
    fit = TD.fit_model("exp+line", x, y, filt)
    c = fit.coefficients()
    assert c["amp"] == pytest.approx(tc["amplitude"], rel=1e-5)
    assert -c["tau"] == pytest.approx(tc["tau"], rel=1e-5)
    assert -c["lossperyear"] == pytest.approx(tc["lossperyear"], rel=1e-4)
    assert c["const"] == pytest.approx(tc["const"], rel=1e-6)
    assert fit.y0 == pytest.approx(2.5, rel=1e-8)
    assert fit.per_dev < 1e-5
    # tau fixed at -100 d for F560W-F1280W (spec 3.17), free otherwise
    assert ("tau" in fit.free) == (filt not in TD.EXPLINE_FIXED_TAU_FILTERS)
    assert fit.npar == (3 if filt in TD.EXPLINE_FIXED_TAU_FILTERS else 4)


def test_noisy_fit_follows_injected_curve_within_noise():
    rng = np.random.default_rng(2)
    x = np.sort(rng.uniform(3.0, 1000.0, 24))
    y = SD.relative_sensitivity("F2100W", C.STARTDAY + x) * (1 + 0.002 * rng.standard_normal(x.size))
    fit = TD.fit_model("exp+line", x, y, "F2100W")
    xx = np.linspace(0.0, 1000.0, 500)
    dev = fit.relative(xx) / SD.relative_sensitivity("F2100W", C.STARTDAY + xx) - 1
    assert np.max(np.abs(dev)) < 0.004
    assert 0.1 < fit.per_dev < 0.35


def test_curve_accuracy_mc_scales_with_the_scatter():
    """The Monte Carlo of the adopted fit: no scatter, no deviation; the deviation grows with the scatter,
    the same seed gives the same numbers; 17 points at 1.7% cannot pin the F2550W curve to 0.5%."""
    x = np.array(
        [
            5.0,
            26.7,
            28.2,
            28.9,
            74.8,
            138.5,
            219.2,
            308.7,
            413.9,
            471.3,
            524.7,
            651.0,
            787.3,
            929.1,
            1055.9,
            1059.3,
            1083.0,
        ]
    )  # fmt: skip (the demo's F2550W sampling)
    fit = TD.fit_model("exp+line", x, SD.relative_sensitivity("F2550W", C.STARTDAY + x), "F2550W")
    assert TD.curve_accuracy_mc(fit, x, n=5, scatter=0.0)["p90"] < 1e-5
    lo = TD.curve_accuracy_mc(fit, x, n=40, scatter=0.002, seed=3)
    hi = TD.curve_accuracy_mc(fit, x, n=40, scatter=0.017, seed=3)
    assert lo["n"] == hi["n"] == 40
    assert 0.0005 < lo["median"] < 0.005 and lo["within"](0.005) > 0.8
    assert hi["median"] > 4 * lo["median"] and hi["within"](0.005) < 0.3
    again = TD.curve_accuracy_mc(fit, x, n=40, scatter=0.017, seed=3)
    assert np.array_equal(again["maxdev"], hi["maxdev"])
    with pytest.raises(TD.TimeDepError, match="scatter"):
        TD.curve_accuracy_mc(fit, x, n=2, scatter=-1.0)


def test_product_form_is_exact_in_every_convention(tmp_path):
    """fitted curve / y0 == fit-file coefficients (calfactors) == photom tables through jwst's time_dependence."""
    from jwst.photom import time_dependence as jtd

    rng = np.random.default_rng(4)
    x = np.sort(rng.uniform(0.0, 1200.0, 20))
    y = 3.1 * (1 - 0.02 * x / 365) * (0.07 * np.exp(-x / 180.0) + 0.93) * (1 + 0.003 * rng.standard_normal(x.size))
    for model in TD.PRODUCT_FORM_MODELS:
        fit = TD.fit_model(model, x, y, "F1800W")
        path = tmp_path / f"{model}.dat"
        TD.fit_table(fit).write(path, format="ascii.commented_header", overwrite=True)
        tc = CF.read_repeat_fit(path, "F1800W")
        xx = np.linspace(0.0, 1500.0, 301)
        ref = fit.curve(xx) / fit.y0
        assert np.max(np.abs(tc.correction(C.STARTDAY + xx) - ref)) < 1e-12
        assert np.max(np.abs(fit.relative(xx) - ref)) < 1e-14
        # the reference-file convention: tau_ref = -tau, lossperyear_ref = -lossperyear
        mjd = C.STARTDAY + xx
        jw = jtd.linear_correction(mjd, tc.t0, -tc.lossperyear) * jtd.exponential_correction(
            mjd, tc.t0, tc.amp, -tc.tau, tc.const
        )
        assert np.max(np.abs(jw - ref)) < 1e-12
        if model == "exp":
            assert tc.lossperyear == 0.0
    assert TD.fit_model("exp", x, y, "F1800W").npar == 3
    assert TD.fit_model("exp", x, y, "F770W").npar == 2


def test_display_models_and_bad_inputs():
    x = np.linspace(5.0, 900.0, 12)
    y = SD.relative_sensitivity("F1280W", C.STARTDAY + x)
    for model in TD.ALL_MODELS:
        fit = TD.fit_model(model, x, y, "F1280W")
        assert np.all(np.isfinite(fit.curve(x)))
    with pytest.raises(TD.TimeDepError, match="not a product-form model"):
        TD.fit_model("line", x, y, "F1280W").coefficients()
    with pytest.raises(TD.TimeDepError, match=r"3 point\(s\) for the exp\+line time fit, which has 3 free"):
        TD.fit_model("exp+line", x[:3], y[:3], "F770W")
    with pytest.raises(TD.TimeDepError, match="non-finite"):
        TD.fit_model("exp", np.array([1.0, 2.0, np.nan, 4.0]), np.ones(4), "F770W")
    with pytest.raises(TD.TimeDepError, match="unknown time model"):
        TD.model_params("cubic", "F770W")


def test_residual_correlation_counts_every_common_day():
    # residual sums are negative on most days: the original skipped those days
    x = np.array([0.2, 10.1, 20.5, 30.0])
    r1 = np.array([-0.01, -0.02, 0.01, -0.005])
    corr, cnt = TD.residual_correlation({"A": (x, r1), "B": (x + 0.3, 2 * r1), "C": (x, -r1), "D": (x[:1], r1[:1])})
    idx = {f: i for i, f in enumerate(corr["filter"])}
    assert corr["B"][idx["A"]] == pytest.approx(1.0)
    assert corr["C"][idx["A"]] == pytest.approx(-1.0)
    assert cnt["B"][idx["A"]] == 4
    assert math.isnan(corr["D"][idx["A"]]) and cnt["D"][idx["A"]] == 1
    # two points in one day are averaged
    c2, n2 = TD.residual_correlation({"A": (np.array([0.1, 0.6, 10.2]), np.array([0.01, 0.03, -0.01])), "B": (x, r1)})
    assert n2["A"][1] == 2


# --------------------------------------------------------------------------
# Series, bridging, exclusions
# --------------------------------------------------------------------------
def test_series_subarray_bridging_by_time_and_exclusions(tmp_path):
    root = make_campaign(tmp_path, filters=("F1500W",), noise=0.0)
    models = CF.read_model_table(root / "Models" / "model_phot_grieke.fits")
    s = TD.collect_repeat_series(root, "F1500W", models)
    # exclusion window day 350 +- 5 removed the deviant point
    assert len(s.excluded) == 1 and abs(float(s.excluded["x"][0]) - 351.0) < 1e-9
    rep = s.table[s.table["role"] == "repeat"]
    # y = 1/C referred to SUB256: noise-free, so y = s(t) subarr_cor[SUB256] / C_FULL exactly, FULL included
    expect = SD.relative_sensitivity("F1500W", rep["timemid"]) * C.SUBARR_COR["SUB256"] / SD.TRUE_CALFACTOR["F1500W"]
    assert np.allclose(rep["y"], expect, rtol=1e-12)
    assert "FULL" in set(rep["subarray"])
    # the bridging star (rows stored in reverse time order) is scaled at its latest epoch (day 870)
    scale, tb, tr = s.bridges["HD 37962"]
    assert tb == pytest.approx(60590.01 - C.STARTDAY) and tr == pytest.approx(60600.0 - C.STARTDAY)
    br = s.table[s.table["role"] == "bridge"]
    late = br[br["x"] > 800]
    y_rep_near = np.mean(rep["y"][np.abs(rep["x"] - tr) <= 1.0])
    assert np.mean(late["y"]) == pytest.approx(y_rep_near, rel=1e-12)
    # the early bridging epoch keeps its true shape relative to the late one
    early = br[br["x"] < 100]
    ratio = np.mean(early["y"]) / np.mean(late["y"])
    true_ratio = SD.relative_sensitivity("F1500W", 59740.0) / SD.relative_sensitivity("F1500W", 60590.0)
    assert ratio == pytest.approx(true_ratio, rel=1e-5)
    assert np.all(np.diff(s.x) >= 0)
    # paper-era exclusions also drop the MJD 60070 +- 20 epoch
    sp = TD.collect_repeat_series(root, "F1500W", models, exclusions="paper")
    assert len(sp.excluded) == 3
    assert TD.exclusions_for("F1800W")[-1][:2] == (40.0, 3.0) and len(TD.exclusions_for("F770W")) == 1


def test_cli_writes_fit_files_figure_and_correlation(tmp_path, capsys):
    root = make_campaign(tmp_path, filters=("F770W", "F2100W", "F2550W"))
    assert plot_repeatability.main(["--basedir", str(root), "--line", "--dexp"]) == 0  # works without --docs
    printed = capsys.readouterr().out
    assert "F2100W" in printed and "lossperyear" in printed
    cf = root / "CalFacs"
    for f in ("F770W", "F2100W", "F2550W"):
        p = CF.repeat_fit_path(root, f)
        assert p.is_file()
        t = Table.read(p, format="ascii.commented_header")
        spec_cols = [
            f"fit_linear_lossperyear_{f}",
            f"fit_exp_const_{f}",
            f"fit_exp_amp_{f}",
            f"fit_exp_tau_{f}",
            f"fit_startday_{f}",
            f"fit_std_{f}",
            f"fit_std_per_{f}",
        ]
        assert t.colnames[:7] == spec_cols
        assert t[f"fit_exp_amp_{f}"][0] + t[f"fit_exp_const_{f}"][0] == pytest.approx(1.0, abs=1e-12)
        assert t[f"fit_startday_{f}"][0] == C.STARTDAY
        tc = CF.read_repeat_fit(p, f)
        mjd = np.linspace(C.STARTDAY, 60800.0, 200)
        dev = tc.correction(mjd) / SD.relative_sensitivity(f, mjd) - 1
        assert np.max(np.abs(dev)) < 0.005, f
        assert "# software: absflux" in p.read_text()
    assert (cf / "miri_calfactors_bkgsub_repeat_F2550W_fit.dat").is_file()
    corr = Table.read(cf / "repeat_residual_correlation.dat", format="ascii.commented_header")
    assert list(corr["filter"]) == ["F770W", "F2100W", "F2550W"]
    assert (root / "Figs" / "all_repeatability.png").is_file()
    assert not list(cf.glob(".*"))
    # --docs --report --pdf and --model exp
    assert plot_repeatability.main(["--basedir", str(root), "--docs", "--report", "--pdf", "--model", "exp"]) == 0
    assert (root / "Figs" / "all_repeatability_docs_report.pdf").is_file()
    assert CF.read_repeat_fit(CF.repeat_fit_path(root, "F770W"), "F770W").lossperyear == 0.0
    # the accuracy estimate is printed per filter
    capsys.readouterr()
    assert plot_repeatability.main(["--basedir", str(root), "--docs", "--filters", "F770W", "--accuracy-mc", "5"]) == 0
    out = capsys.readouterr().out
    assert "time-curve accuracy at the observed sampling (5 realisations" in out and "F770W: scatter" in out


def test_show_prev_draws_previous_file_without_changing_t0(tmp_path):
    root = make_campaign(tmp_path, filters=("F770W",))
    prev = tmp_path / "old_photom.fits"
    fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.BinTableHDU(Table({"filter": ["F770W"], "subarray": ["FULL"], "photmjsr": [0.27]}), name="PHOTOM"),
            fits.BinTableHDU(Table({"amplitude": [0.01], "tau": [150.0], "t0": [59800.0]}), name="TIMECOEFF"),
        ]
    ).writeto(prev)
    assert plot_repeatability.main(["--basedir", str(root), "--show_prev", str(prev)]) == 0
    assert CF.read_repeat_fit(CF.repeat_fit_path(root, "F770W"), "F770W").t0 == C.STARTDAY


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("nomodels", [], "model_phot_grieke.fits: model table not found"),
        ("none", ["--filters", "F1000W"], "F1000W: no photometry table"),
        ("few", ["--filters", "F770W"], "F770W: 2 point(s) for the exp+line time fit, which has 3 free parameters"),
        ("none", ["--show_prev", "nowhere.fits"], "nowhere.fits: photom file for --show_prev does not exist"),
        ("empty", [], "no imager filter has observations of BD+60 1753"),
    ],
)
def test_cli_bad_inputs(tmp_path, capsys, setup, args, message):
    root = make_campaign(tmp_path, filters=("F770W",))
    if setup == "nomodels":
        (root / "Models" / "model_phot_grieke.fits").unlink()
    if setup in ("few", "empty"):
        p = root / "ADwarfs" / "F770W_eefrac0.7_phot.fits"
        t = Table.read(p)
        t = t[:2] if setup == "few" else t[:0]
        t.write(p, overwrite=True)
        (root / "SolarAnalogs" / "F770W_eefrac0.7_phot.fits").unlink()
    assert plot_repeatability.main(["--basedir", str(root), *args]) == 2
    # log warnings may precede it (depending on the logging set-up of the process); the error is one line
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0]
    assert outputs(root) == []


# --------------------------------------------------------------------------
# Coronagraphic / FND interpolation
# --------------------------------------------------------------------------
def test_coron_interpolation_matches_injected_rule(tmp_path):
    (tmp_path / "CalFacs").mkdir()
    truth = SD.true_time_coeffs()
    for f in C.IMAGER_FILTERS:
        c = truth[f]
        TD.coron_fit_table(
            f,
            {
                "amp": c["amplitude"],
                "tau": -c["tau"],
                "const": c["const"],
                "lossperyear": -c["lossperyear"],
                "t0": c["t0"],
            },
        ).write(CF.repeat_fit_path(tmp_path, f), format="ascii.commented_header")
    assert generate_coron_repeat_from_imager.main(["--basedir", str(tmp_path)]) == 0
    mjd = np.linspace(C.STARTDAY, 61000.0, 50)
    for f in C.CORON_INTERP_PAIRS:
        p = CF.repeat_fit_path(tmp_path, f)
        assert p.name == (
            f"miri_calfactors_bkgsub_repeat_{f}_fit.dat" if f != "FND" else "miri_calfactors_repeat_FND_fit.dat"
        )
        t = Table.read(p, format="ascii.commented_header")
        assert t.colnames == [
            f"fit_exp_amp_{f}",
            f"fit_exp_tau_{f}",
            f"fit_exp_const_{f}",
            f"fit_linear_lossperyear_{f}",
            f"fit_startday_{f}",
        ]
        tc = CF.read_repeat_fit(p, f)
        assert np.allclose(tc.correction(mjd), SD.relative_sensitivity(f, mjd), rtol=1e-12)


def test_coron_interpolation_missing_imager_fit(tmp_path, capsys):
    (tmp_path / "CalFacs").mkdir()
    assert generate_coron_repeat_from_imager.main(["--basedir", str(tmp_path), "--filters", "F1065C"]) == 2
    err = capsys.readouterr().err
    assert "F1065C: imager time fit" in err and "miri_calfactors_repeat_F1000W_fit.dat" in err
    assert list((tmp_path / "CalFacs").iterdir()) == []
    assert generate_coron_repeat_from_imager.main(["--basedir", str(tmp_path), "--skip-missing"]) == 2
    assert "no coronagraphic/FND filter could be interpolated" in capsys.readouterr().err


def test_degenerate_fit_warning():
    """A decay faster than the first gap between epochs is reported; a well-sampled one is not."""
    x = np.array([0.0, 0.3, 25.0, 25.4, 100.0, 200.0, 400.0, 800.0, 1000.0])
    good = TD.TimeFit("exp+line", "F2100W", {"norm": 1.0, "amp": 0.1, "tau": -150.0, "loss": -0.01}, {}, (), 9, 0, 0.5)
    bad = TD.TimeFit("exp+line", "F2550W", {"norm": 1.0, "amp": 0.8, "tau": -1.4, "loss": -0.09}, {}, (), 9, 0, 9.8)
    assert TD.degenerate_fit_warning(good, x) is None
    msg = TD.degenerate_fit_warning(bad, x)
    assert msg.startswith("F2550W: the exp+line time constant (1.4 d)") and "(24.7 d)" in msg


# --------------------------------------------------------------------------
# Options that restore the original scripts' choices
# --------------------------------------------------------------------------
def test_original_code_exclusion_set_is_exactly_the_original_windows():
    """original-code (= former 'current'): |x - 350| < 5 for every filter and |x - 40| < 3 for F1800W only;
    paper-era (= former 'paper'): |x - 350| < 5 and |MJD - 60070| < 20, which also removes day 331."""
    x = np.array([36.99, 37.01, 42.99, 43.01, 329.0, 331.0, 344.99, 345.01, 354.99, 355.01, 369.0, 371.0, 500.0])
    tab = Table({"x": x})
    expect = {
        # the windows written out independently of the constants
        ("F1800W", "original-code"): (np.abs(x - 350) < 5) | (np.abs(x - 40) < 3),
        ("F770W", "original-code"): np.abs(x - 350) < 5,
        ("F1800W", "paper-era"): (np.abs(x - 350) < 5) | (np.abs(x + C.STARTDAY - 60070.0) < 20),
        ("F770W", "paper-era"): (np.abs(x - 350) < 5) | (np.abs(x + C.STARTDAY - 60070.0) < 20),
    }
    for (filt, which), bad in expect.items():
        kept, dropped = TD._apply_exclusions(tab, TD.exclusions_for(filt, which))
        assert list(dropped["x"]) == list(x[bad]), (filt, which)
        assert list(kept["x"]) == list(x[~bad]), (filt, which)
    kept, _ = TD._apply_exclusions(tab, TD.exclusions_for("F1800W", "original-code"))
    assert list(kept["x"]) == [36.99, 43.01, 329.0, 331.0, 344.99, 355.01, 369.0, 371.0, 500.0]
    # the former names are aliases of the same sets
    for f in ("F770W", "F1800W"):
        assert TD.exclusions_for(f, "current") == TD.exclusions_for(f, "original-code") == TD.exclusions_for(f)
        assert TD.exclusions_for(f, "paper") == TD.exclusions_for(f, "paper-era")
    with pytest.raises(TD.TimeDepError, match="unknown exclusion set 'none'"):
        TD.exclusions_for("F770W", "none")


def test_help_says_which_exclusion_set_the_original_uses(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # no line wrapping inside hyphenated names
    with pytest.raises(SystemExit):
        plot_repeatability.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "original-code = what the original scripts exclude (day 350 +- 5; F1800W day 40 +- 3)" in text
    assert "current is a former name of original-code" in text and "paper is a former name of paper-era" in text
    assert "--allow-underdetermined" in text and "--original" in text


def test_exactly_determined_fit_refused_by_default_and_fitted_on_request():
    """3 points, 3 free parameters (F770W exp+line, tau fixed): refused with the option named; with
    allow_underdetermined the curve passes through the points and the scatter is undefined."""
    x = np.array([10.0, 300.0, 700.0])
    y = 2.0 * (1 - 0.03 * x / 365) * (0.08 * np.exp(-x / 100.0) + 0.92)
    with pytest.raises(TD.TimeDepError) as err:
        TD.fit_model("exp+line", x, y, "F770W")
    msg = str(err.value)
    assert msg.startswith("F770W: 3 point(s) for the exp+line time fit, which has 3 free parameters")
    assert "--allow-underdetermined" in msg and "\n" not in msg
    fit = TD.fit_model("exp+line", x, y, "F770W", allow_underdetermined=True)
    assert np.allclose(fit.curve(x), y, rtol=1e-9)
    # the injected curve is recovered exactly (3 equations, 3 unknowns)
    c = fit.coefficients()
    assert c["amp"] == pytest.approx(0.08, rel=1e-6) and c["lossperyear"] == pytest.approx(-0.03, rel=1e-6)
    assert fit.y0 == pytest.approx(2.0, rel=1e-9)
    assert fit.dof == 0 and math.isnan(fit.per_dev) and math.isnan(fit.mod_dev)
    assert all(math.isnan(fit.uncertainties[k]) for k in fit.free)
    t = TD.fit_table(fit)
    assert math.isnan(t["fit_std_F770W"][0]) and math.isnan(t["fit_std_per_F770W"][0])
    assert any("undefined (NaN)" in line for line in t.meta["comments"])
    # fewer points than free parameters: refused either way (the original's fitter raises too)
    with pytest.raises(TD.TimeDepError, match="fewer points than free parameters cannot be fitted"):
        TD.fit_model("exp+line", x[:2], y[:2], "F770W", allow_underdetermined=True)


def test_original_degrees_of_freedom_counts():
    """dof='original': N - 4 for exp+line whatever is fixed (spec 3.17 step 7)."""
    rng = np.random.default_rng(8)
    x = np.sort(rng.uniform(5.0, 1000.0, 12))
    y = SD.relative_sensitivity("F770W", C.STARTDAY + x) * (1 + 0.003 * rng.standard_normal(x.size))
    free = TD.fit_model("exp+line", x, y, "F770W")
    orig = TD.fit_model("exp+line", x, y, "F770W", dof="original")
    assert free.npar == 3 and free.dof == 9 and orig.dof == 8
    assert orig.params == free.params
    m = free.curve(x)
    assert orig.per_dev == pytest.approx(100 * np.sqrt(np.sum(((m - y) / m) ** 2) / (12 - 4)), rel=1e-12)
    assert free.per_dev == pytest.approx(100 * np.sqrt(np.sum(((m - y) / m) ** 2) / (12 - 3)), rel=1e-12)


def test_exp_line_original_is_the_additive_fit_with_the_approximate_conversion():
    """An additive truth A exp(x/tau) + s x + b is recovered; the written coefficients are the spec's
    conversion T = b + A, amp = A/T, const = b/T, lossperyear = 365 s/T (step 8), not exact."""
    x = np.linspace(3.0, 1100.0, 25)
    amp_, tau_, s_, b_ = 0.12, -180.0, -2.0e-5, 0.95
    y = amp_ * np.exp(x / tau_) + s_ * x + b_
    fit = TD.fit_model("exp+line-original", x, y, "F1800W")
    assert fit.params["amplitude"] == pytest.approx(amp_, rel=1e-6)
    assert fit.params["tau"] == pytest.approx(tau_, rel=1e-6)
    assert fit.params["slope"] == pytest.approx(s_, rel=1e-5)
    total = b_ + amp_
    c = fit.coefficients()
    assert c["amp"] == pytest.approx(amp_ / total, rel=1e-6)
    assert c["const"] == pytest.approx(b_ / total, rel=1e-6)
    assert c["lossperyear"] == pytest.approx(365 * s_ / total, rel=1e-5)
    # the product form with these coefficients is only an approximation of the fitted sum
    dev = np.max(np.abs(fit.relative(x) - fit.curve(x) / fit.y0))
    assert 1e-4 < dev < 0.01
    assert TD.fit_model("exp+line-original", x, y, "F770W").params["tau"] == -100.0  # fixed as exp+line


def test_cli_underdetermined_series(tmp_path, capsys):
    root = make_campaign(tmp_path, filters=("F770W",))
    p = root / "ADwarfs" / "F770W_eefrac0.7_phot.fits"
    t = Table.read(p)
    t[[0, 4, 10]].write(p, overwrite=True)  # three epochs
    (root / "SolarAnalogs" / "F770W_eefrac0.7_phot.fits").unlink()
    assert plot_repeatability.main(["--basedir", str(root)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "F770W: 3 point(s)" in errors[0] and "--allow-underdetermined" in errors[0]
    assert outputs(root) == []
    assert plot_repeatability.main(["--basedir", str(root), "--allow-underdetermined"]) == 0
    fit = Table.read(CF.repeat_fit_path(root, "F770W"), format="ascii.commented_header")
    assert fit["fit_npts_F770W"][0] == 3 and math.isnan(fit["fit_std_per_F770W"][0])
    tc = CF.read_repeat_fit(CF.repeat_fit_path(root, "F770W"), "F770W")
    assert np.isfinite(tc.amp) and np.isfinite(tc.tau)


def test_coron_original_pairs(tmp_path):
    """--pairs original: F1140C from F1130W-F1280W with w = (11.30 - 11.31) / (12.81 - 11.31)."""
    (tmp_path / "CalFacs").mkdir()
    coeffs = {
        "F1000W": (0.05, -150.0, -0.01),
        "F1130W": (0.07, -200.0, -0.02),
        "F1280W": (0.11, -260.0, -0.04),
    }
    for f, (a, tau, loss) in coeffs.items():
        TD.coron_fit_table(f, {"amp": a, "tau": tau, "const": 1 - a, "lossperyear": loss, "t0": C.STARTDAY}).write(
            CF.repeat_fit_path(tmp_path, f), format="ascii.commented_header"
        )
    new, _ = TD.interpolate_coron(tmp_path, "F1140C")
    old, _ = TD.interpolate_coron(tmp_path, "F1140C", pairs="original")
    w_new = (11.30 - 9.95) / (11.31 - 9.95)
    w_old = (11.30 - 11.31) / (12.81 - 11.31)
    assert new["weight"] == pytest.approx(w_new) and old["weight"] == pytest.approx(w_old)
    assert old["amp"] == pytest.approx((1 - w_old) * 0.07 + w_old * 0.11, rel=1e-12)
    assert new["tau"] == pytest.approx((1 - w_new) * -150.0 + w_new * -200.0, rel=1e-12)
    # the other targets use the same pairs in both sets
    assert TD.CORON_PAIR_SETS["original"]["F1065C"] == TD.CORON_PAIR_SETS["bracketing"]["F1065C"]
