"""Steps 6 and 7 with ``--original``: one switch equals every original choice given by hand, and an
option given explicitly wins over what ``--original`` implies (issue 17)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from absflux import bands as B
from absflux import calfactors as CF
from absflux import constants as C
from absflux import spectra as S

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_timedep import make_campaign  # noqa: E402

import generate_coron_repeat_from_imager  # noqa: E402
import model_fluxes  # noqa: E402
import plot_repeatability  # noqa: E402

# absflux.spectra.write_calspec_fits (used to make synthetic model files) truncates a header comment
pytestmark = pytest.mark.filterwarnings("ignore:Card is too long:astropy.io.fits.verify.VerifyWarning")


def _data(path: Path, fmt: str | None = None) -> Table:
    """The data of a product without its metadata (provenance records the options, which differ)."""
    t = Table.read(path, format=fmt) if fmt else Table.read(path)
    t.meta.clear()
    return t


def _same(a: Table, b: Table) -> bool:
    if a.colnames != b.colnames or len(a) != len(b):
        return False
    for c in a.colnames:
        x, y = np.asarray(a[c]), np.asarray(b[c])
        if x.dtype.kind == "f":
            if not np.array_equal(x, y, equal_nan=True):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


# --------------------------------------------------------------------------
# Step 6
# --------------------------------------------------------------------------
def _models(root: Path) -> Path:
    models = root / "Models"
    models.mkdir(parents=True)
    for key in ("p177d", "ngc2506g31", "p330e", "bd60d1753"):
        star = C.STARS[C.MODEL_NAMES[key]]
        w, f = S.calspec_spectrum(star)
        S.write_calspec_fits(models / f"{key}_stis_001.fits", star, w, f)
        if star.grieke:
            w2, f2 = S.star_spectrum(star)
            S.write_grieke_dat(models / f"grieke23_{key}.dat", star, w2, f2)  # documented unit
    return models


def _run6(tmp_path: Path, name: str, *args: str) -> Path:
    root = tmp_path / name
    root.mkdir()
    models = _models(tmp_path / f"{name}_in")
    assert model_fluxes.main(["--root", str(root), "--models", str(models), "--grieke", *args]) == 0
    return root / "Models"


def test_model_fluxes_original_equals_the_options_by_hand(tmp_path):
    orig = _run6(tmp_path, "orig", "--original")
    hand = _run6(
        tmp_path,
        "hand",
        "--grieke-scale",
        "p177d=1e-3",
        "--grieke-keys",
        "original",
        "--extrapolation",
        "flat",
        "--grieke-jy-copy",
        "unscaled",
    )
    default = _run6(tmp_path, "default")
    for name in ("model_phot_grieke.fits", "grieke23_p177d.fits", "grieke23_p330e.fits"):
        assert _same(_data(orig / name), _data(hand / name)), name
    t, d = Table.read(orig / "model_phot_grieke.fits"), Table.read(default / "model_phot_grieke.fits")
    row = {n: i for i, n in enumerate(t["name"])}
    # the original's choices, against independent expectations
    bp = B.load_bandpasses()
    for name, factor in (("GSPC P177-D", 1e-3), ("GSPC P330-E", 1.0)):
        w, f = S.star_spectrum(C.STARS[name])
        assert t["F1500W"][row[name]] == pytest.approx(factor * B.band_flux_jy(w, f, *bp["F1500W"])[0], rel=1e-5)
    # NGC2506 G31 keeps its CALSPEC spectrum (the original's key never matched its G. Rieke file)
    assert t["modfile"][row["NGC2506 G31"]] == "ngc2506g31_stis_001.fits"
    assert d["modfile"][row["NGC2506 G31"]] == "grieke23_ngc2506g31.dat"
    assert not (orig / "grieke23_ngc2506g31.fits").exists()
    w, f = S.calspec_spectrum(C.STARS["NGC2506 G31"])
    assert t["F1500W"][row["NGC2506 G31"]] == pytest.approx(B.band_flux_jy(w, f, *bp["F1500W"])[0], rel=1e-5)
    # the Jy copy of p177d is the unscaled file (written before the scaling, as the original)
    jo, jd = Table.read(orig / "grieke23_p177d.fits"), Table.read(default / "grieke23_p177d.fits")
    assert np.allclose(jo["flux"], jd["flux"], rtol=1e-12)
    assert "WARNING p177d" in "".join(t.meta["HISTORY"])


def test_model_fluxes_explicit_option_wins_over_original(tmp_path):
    orig = Table.read(_run6(tmp_path, "orig", "--original") / "model_phot_grieke.fits")
    unscaled = Table.read(_run6(tmp_path, "o1", "--original", "--grieke-scale", "p177d=1") / "model_phot_grieke.fits")
    default = Table.read(_run6(tmp_path, "default") / "model_phot_grieke.fits")
    row = {n: i for i, n in enumerate(default["name"])}
    i, j = row["GSPC P177-D"], row["NGC2506 G31"]
    # p177d as the default, NGC2506 G31 still as the original
    assert unscaled["F770W"][i] == default["F770W"][i] == pytest.approx(1e3 * orig["F770W"][i], rel=1e-12)
    assert unscaled["modfile"][j] == orig["modfile"][j] == "ngc2506g31_stis_001.fits"
    keys = Table.read(_run6(tmp_path, "o2", "--original", "--grieke-keys", "catalogue") / "model_phot_grieke.fits")
    assert keys["modfile"][j] == "grieke23_ngc2506g31.dat" and keys["F770W"][i] == orig["F770W"][i]


def test_model_fluxes_original_without_grieke_scales_nothing(tmp_path):
    models = _models(tmp_path / "in")
    assert model_fluxes.main(["--root", str(tmp_path), "--models", str(models), "--original"]) == 0
    (tmp_path / "d").mkdir()
    assert model_fluxes.main(["--root", str(tmp_path / "d"), "--models", str(models)]) == 0
    assert _same(_data(tmp_path / "Models" / "model_phot.fits"), _data(tmp_path / "d" / "Models" / "model_phot.fits"))


# --------------------------------------------------------------------------
# Step 7
# --------------------------------------------------------------------------
BY_HAND = [
    "--model",
    "exp+line-original",
    "--exclusions",
    "original-code",
    "--allow-underdetermined",
    "--bridge-window",
    "0",
    "--dof",
    "original",
]


def _run7(root: Path, *args: str) -> dict:
    assert plot_repeatability.main(["--basedir", str(root), "--docs", *args]) == 0
    out = {f: _data(CF.repeat_fit_path(root, f), "ascii.commented_header") for f in ("F770W", "F1800W")}
    out["corr"] = _data(root / "CalFacs" / "repeat_residual_correlation.dat", "ascii.commented_header")
    out["header"] = CF.repeat_fit_path(root, "F770W").read_text()
    return out


@pytest.fixture(scope="module")
def campaign(tmp_path_factory) -> Path:
    return make_campaign(tmp_path_factory.mktemp("rep"), filters=("F770W", "F1800W"), noise=0.003, seed=11)


def test_plot_repeatability_original_equals_the_options_by_hand(campaign):
    orig = _run7(campaign, "--original")
    hand = _run7(campaign, *BY_HAND)
    default = _run7(campaign)
    for k in ("F770W", "F1800W", "corr"):
        assert _same(orig[k], hand[k]), k
    # and it is not the default: the original's additive fit, converted approximately, and N - 4
    f = "F770W"
    assert orig[f][f"fit_exp_amp_{f}"][0] != default[f][f"fit_exp_amp_{f}"][0]
    assert orig[f][f"fit_npar_{f}"][0] == default[f][f"fit_npar_{f}"][0] == 3
    n = orig[f][f"fit_npts_{f}"][0]
    assert n == 16 + 4  # 8 epochs x 2 (the day-351 point excluded) + HD 37962 at 2 epochs x 2
    header = " ".join(orig["header"].replace("#", " ").split())
    assert "adopted time model exp+line-original, exclusions original-code, bridge window 0.0 d" in header
    assert "degrees of freedom original, exactly determined fits allowed" in header


def test_plot_repeatability_explicit_option_wins_over_original(campaign):
    mixed = _run7(campaign, "--original", "--model", "exp+line")
    hand = _run7(campaign, *BY_HAND[2:], "--model", "exp+line")
    for k in ("F770W", "F1800W", "corr"):
        assert _same(mixed[k], hand[k]), k
    no_under = plot_repeatability.build_parser().parse_args(["--original", "--no-allow-underdetermined"])
    assert plot_repeatability.resolve_original(no_under).allow_underdetermined is False
    alias = plot_repeatability.resolve_original(plot_repeatability.build_parser().parse_args(["--exclusions", "paper"]))
    assert alias.exclusions == "paper" and alias.bridge_window == 1.0 and alias.dof == "free"


def test_coron_original_equals_pairs_original(campaign, tmp_path):
    _run7(campaign)
    # the imager fits the interpolation needs (F1000W, F1130W, F1280W, F1500W ...): copy F770W's
    for f in C.IMAGER_FILTERS:
        p = CF.repeat_fit_path(campaign, f)
        if not p.is_file():
            t = Table.read(CF.repeat_fit_path(campaign, "F770W"), format="ascii.commented_header")
            t.rename_columns(t.colnames, [c.replace("F770W", f) for c in t.colnames])
            scale = 1.0 + 0.1 * C.IMAGER_FILTERS.index(f)
            t[f"fit_exp_amp_{f}"] = t[f"fit_exp_amp_{f}"] * scale
            t[f"fit_exp_const_{f}"] = 1.0 - t[f"fit_exp_amp_{f}"]
            t.write(p, format="ascii.commented_header")
    results = {}
    for name, args in (("orig", ["--original"]), ("hand", ["--pairs", "original"]), ("default", [])):
        assert generate_coron_repeat_from_imager.main(["--basedir", str(campaign), *args]) == 0
        results[name] = {
            t: _data(CF.repeat_fit_path(campaign, t), "ascii.commented_header") for t in C.CORON_INTERP_PAIRS
        }
    for t in C.CORON_INTERP_PAIRS:
        assert _same(results["orig"][t], results["hand"][t]), t
        assert _same(results["orig"][t], results["default"][t]) == (t != "F1140C"), t
    assert (
        generate_coron_repeat_from_imager.main(["--basedir", str(campaign), "--original", "--pairs", "bracketing"]) == 0
    )
    assert _same(_data(CF.repeat_fit_path(campaign, "F1140C"), "ascii.commented_header"), results["default"]["F1140C"])
