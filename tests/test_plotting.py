"""Paper figure scripts (Plotting/) and the product driver, rendered into temporary folders."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from tiny_campaign import simulate_tiny  # noqa: E402

from absflux import constants as C
from absflux import plotting as P

REPO = Path(__file__).resolve().parents[1]
PHOTOM_REL = Path("crds_cache") / "references" / "jwst" / "miri" / "jwst_miri_photom_sim_0001.fits"


def _load(relpath: str):
    spec = importlib.util.spec_from_file_location(Path(relpath).stem, REPO / relpath)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fake_ee(root: Path) -> None:
    """Gaussian+exponential EE tables for the built-in vetted sets and a matching _full APCORR table."""
    from absflux.apcorr import load_vetted_sets

    vetted, _ = load_vetted_sets(None)
    rows = []
    for f, v in vetted.items():
        sig = C.FWHM[f] / 2.355
        r = np.linspace(0.5, 2 * C.FWHMFAC[f] * C.FWHM[f], 150)
        ee = 1 - 0.9 * np.exp(-(r**2) / (2 * sig**2)) - 0.1 * np.exp(-r / (3 * sig))
        for i, (t, s) in enumerate(v.sets):
            d = root / t / f / s
            d.mkdir(parents=True, exist_ok=True)
            e = ee * (1 + 0.002 * i)
            Table({"radius": r, "ee": e, "ee_obs": e, "ee_obs_bkg": e, "ee_model": ee}).write(
                d / f"miri_{s}_stage3_asn_i2d_ee_fwhmfac{float(C.FWHMFAC[f])}.dat", format="ascii.commented_header"
            )
        for sub in C.reffile_subarrays(f):
            for e in C.EE_FRACTIONS[:-1]:
                rad = float(np.interp(e, ee, r))
                sky = (float(np.interp(0.8, ee, r)), float(np.interp(0.85, ee, r)))
                rows.append((f, sub, e, rad, 0.02 * rad, 1 / e, 0.01, sky[0], 0.1, sky[1], 0.2))
    names = ["filter", "subarray", "eefraction", "radius", "radius_unc", "apcor", "apcor_unc"]
    names += ["skyin", "skyin_unc", "skyout", "skyout_unc"]
    (root / "ApCor").mkdir(exist_ok=True)
    full = Table(rows=rows, names=names)
    full.write(root / "ApCor" / "jwst_miri_apcorr_flight_test_full.fits")
    ref = full["filter", "subarray", "eefraction", "radius", "apcor", "skyin", "skyout"]
    ref.rename_column("apcor", "apcorr")
    hdu = fits.table_to_hdu(ref)
    hdu.name = "APCORR"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(root / "ApCor" / "jwst_miri_apcorr_flight_test.fits")
    (root / "ApCor" / "latest_apcorr.txt").write_text("jwst_miri_apcorr_flight_test.fits\n")


#: Sets of the tiny campaign reduced by the real pipeline for the image montages (Figs. 1 and 2).
TINY_SETS = [
    ("ADwarfs", "F770W", "BD+60 1753_set1", True),
    ("ADwarfs", "F2100W", "BD+60 1753_set1", True),
    ("ADwarfs", "FND", "del UMi_set1", False),
    ("ADwarfs", "F1065C", "HD 2811_set1", True),
]


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """The tiny simulated campaign: a few sets through the real pipeline, synthetic phot/EE tables, photom files."""

    from absflux.calfactors import synthetic_phot_tables

    root = simulate_tiny(tmp_path_factory.mktemp("campaign") / "tiny")
    for stype, filt, sname, bkg in TINY_SETS:
        base = [str(REPO / "pipeline_one_filter.py"), "--root", str(root), "--filter", filt, "--dir", stype]
        base += ["--sets", sname, "--maximum-cores", "1"]
        for extra in ([], ["--stage", "stage3", "--bkgsub"]) if bkg else ([],):
            r = subprocess.run([sys.executable, *base, *extra], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr[-3000:]
    phot = tmp_path_factory.mktemp("phot")
    synthetic_phot_tables(root / "truth.ecsv", phot, bkgsub=False)
    for t in C.STAR_TYPES:
        # the filters of the tiny repeat star: the time-corrected steps need its fits
        for p in [q for f in ("F770W", "F2100W") for q in (phot / t).glob(f"{f}_*.fits")]:
            (root / t).mkdir(exist_ok=True)
            shutil.copy(p, root / t / p.name)
            shutil.copy(p, root / t / p.name.replace("_eefrac", "_indivmos_eefrac"))
            shutil.copy(p, root / t / p.name.replace("_eefrac", "_indivcals_eefrac"))
    ee_root = tmp_path_factory.mktemp("ee")
    _fake_ee(ee_root)
    (root / "Photom").mkdir()
    shutil.copy(root / PHOTOM_REL, root / "Photom" / "jwst_miri_photom_flight_test.fits")
    ph = fits.open(root / PHOTOM_REL)["PHOTOM"].copy()
    n = len(ph.data)
    tc = fits.BinTableHDU.from_columns(
        [
            fits.Column("amplitude", "E", array=0.1 * ph.data["photmjsr"]),
            fits.Column("tau", "E", array=np.full(n, 200.0)),
            fits.Column("t0", "E", array=np.full(n, 59720.0)),
        ],
        name="TIMECOEFF",
    )
    (root / "CalFactors").mkdir()
    fits.HDUList([fits.PrimaryHDU(), ph, tc]).writeto(root / "CalFactors" / "jwst_miri_photom_0218.fits")
    return {"root": root, "ee": ee_root}


def _check_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 10_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_helpers():
    assert P.filter_color("f770w") == P.filter_color("F770W")
    assert len({P.filter_color(f) for f in C.ALL_FILTERS}) == len(C.ALL_FILTERS)
    assert np.array_equal(P.jitter(5), P.jitter(5))
    s = P.sqrt_stretch(np.array([[np.nan, 0.0], [1.0, 4.0]]), 100)
    assert s.min() == 0 and s.max() == 1 and np.isfinite(s).all()


def test_example_images(campaign, tmp_path):
    mod = _load("Plotting/plot_example_images.py")
    assert mod.main(["--root", str(campaign["root"]), "--figdir", str(tmp_path)]) == 0
    _check_png(tmp_path / "example_images.png")
    assert mod.main(["--root", str(campaign["root"]), "--figdir", str(tmp_path), "--coron"]) == 0
    _check_png(tmp_path / "example_images_coron.png")
    # the tiny campaign has F770W (BD+60 1753) and FND (del UMi) of the ten imager panels
    panels = mod.panel_files(campaign["root"], False, "BD+60 1753_set1", "del UMi_set1", "HD 2811_set1")
    fig, problems = mod.make_figure(panels, coron=False)
    assert len(fig.axes) == 10 and len(problems) == 8
    assert not any(p.startswith(("F770W", "FND")) for p in problems)
    # and F1065C (HD 2811) of the four coronagraphic panels
    panels = mod.panel_files(campaign["root"], True, "BD+60 1753_set1", "del UMi_set1", "HD 2811_set1")
    fig, problems = mod.make_figure(panels, coron=True)
    assert len(fig.axes) == 4 and len(problems) == 3 and not any(p.startswith("F1065C") for p in problems)
    # a missing set is reported per panel, the others are still drawn
    panels = mod.panel_files(campaign["root"], True, "x", "y", "nope_set9")
    fig, problems = mod.make_figure(panels, coron=True)
    assert len(problems) == 4 and len(fig.axes) == 4


def test_encircled_energy(campaign, tmp_path):
    mod = _load("Plotting/plot_encircled_energy.py")
    root = campaign["ee"]
    for opts, name in (
        ([], "encirciled_energy"),
        (["--coron"], "encirciled_energy_coron"),
        (["--example"], "encirciled_energy_example"),
        (["--filter", "F1500W"], "encirciled_energy_F1500W"),
    ):
        assert mod.main(["--root", str(root), "--figdir", str(tmp_path), *opts]) == 0
        _check_png(tmp_path / f"{name}.png")
    from absflux.apcorr import load_vetted_sets

    vetted, _ = load_vetted_sets(None)
    fig, problems = mod.make_figure(root, mod.select(False, False, "F770W", vetted), mod.default_full_table(root))
    assert len(fig.axes) == 1 and not problems
    assert len(fig.axes[0].lines) >= len(vetted["F770W"].sets)
    assert mod.main(["--root", str(tmp_path), "--figdir", str(tmp_path)]) != 0  # no EE tables at all


def test_del_photom_vs_time(campaign, tmp_path):
    mod = _load("Plotting/plot_del_photom_vs_time.py")
    root = campaign["root"]
    assert mod.main(["--root", str(root), "--figdir", str(tmp_path)]) == 0
    _check_png(tmp_path / "delivered_photom_vs_time.png")
    files = mod.default_files(root)
    assert len(files) == 2
    fig, problems = mod.make_figure(files)
    assert len(fig.axes) == 3 and not problems
    se = mod.start_end(root / "CalFactors" / "jwst_miri_photom_0218.fits", 1200.0)
    assert se["F770W"][0] > se["F770W"][1]  # old format: photmjsr + amplitude at t0


def test_sens_and_dither(campaign, tmp_path):
    sens = _load("Plotting/plot_sens_vs_time.py")
    assert sens.main(["--root", str(campaign["root"]), "--figdir", str(tmp_path)]) == 0
    _check_png(tmp_path / "miri_imaging_sens_vs_time.png")
    fig, used, problems = sens.make_figure(campaign["root"])
    assert len(fig.axes) == 9 and len(used) == 2  # the tiny repeat star: F770W and F2100W
    dith = _load("Plotting/plot_dither_pos.py")
    assert dith.main(["--root", str(campaign["root"]), "--figdir", str(tmp_path), "--bkg"]) == 0
    _check_png(tmp_path / "ditherpos_F770W_wbkg.png")


def _run_steps_6_to_10(root: Path) -> None:
    """Steps 6-10 of the tiny campaign on its synthetic photometry (what the paper products read)."""
    b = ["--basedir", str(root)]
    steps = [
        ["model_fluxes.py", "--root", str(root), "--grieke"],
        ["model_fluxes.py", "--root", str(root)],
        ["plot_repeatability.py", *b, "--docs", "--png"],
        ["plot_subtrans.py", *b, "--filter", "F770W", "--png"],
        ["plot_multi_calfacs.py", *b, "--grieke", "--xaxisval", "subarr", "--noignore", "--png"],
        ["plot_subtrans_allobs.py", *b, "--derive", "--png"],
        ["plot_multi_calfacs.py", *b, "--grieke", "--subarrcor", "--png"],
        ["plot_multi_calfacs.py", *b, "--grieke", "--subarrcor", "--xaxisval", "srctype", "--png"],
        ["create_photom_reffile.py", *b, "--filters", "F770W", "F2100W", "--version", "tiny"],
    ]
    for cmd in steps:
        r = subprocess.run([sys.executable, str(REPO / cmd[0]), *cmd[1:]], capture_output=True, text=True)
        assert r.returncode == 0, (cmd, r.stderr[-2000:])


def test_make_paper_products(campaign, tmp_path):
    """Every product whose inputs the tiny campaign has is made; the others are reported, none fails."""
    from PIL import Image

    root = campaign["root"]
    _run_steps_6_to_10(root)
    shutil.copytree(campaign["ee"] / "ApCor", root / "ApCor")  # Table 4 from a _full APCORR table
    res = subprocess.run(
        [
            sys.executable,
            str(REPO / "make_paper_products.py"),
            *("--root", str(root), "--figdir", str(tmp_path), "--calfac-filter", "F770W"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = res.stdout
    assert res.returncode == 0, out + res.stderr[-2000:]
    status = {}
    for ln in out.splitlines():
        if ln.strip().startswith("["):
            st, key = ln.strip()[1:].split("]", 1)
            status[key.split()[0]] = st.strip()
    expected_ok = {
        "tab1-3",
        "tab4",
        "fig1",
        "fig2",
        "fig5",
        "tab5",
        "fig7",
        "fig9",
        "fig8",
        "tab6",
        "fig10",
        "datatable",
    }
    expected_ok |= {f"app-{x}" for x in ("mflux", "timemid", "rate", "welldepth", "bkg", "inttime", "srctype")}
    assert expected_ok <= {k for k, v in status.items() if v == "ok"}, out
    assert "failed" not in status.values(), out
    # figures: non-empty PNGs with the expected number of panels
    figs = root / "Figs"
    axes = {
        tmp_path / "example_images.png": 10,
        tmp_path / "example_images_coron.png": 4,
        figs / "all_repeatability_docs.png": None,
        figs / "subtrans_allobs.png": 1,
        figs / "srctype_allobs.png": None,
        tmp_path / "delivered_photom_vs_time.png": None,
    }
    for path in axes:
        _check_png(path)
        w, h = Image.open(path).size
        assert w >= 600 and h >= 400, path
    assert (root / "Tables" / "table6_photom.tex").read_text().startswith("F770W & ")
    listing = subprocess.run(
        [sys.executable, str(REPO / "make_paper_products.py"), "--list"], capture_output=True, text=True, check=True
    ).stdout
    assert "Plotting/plot_example_images.py --coron" in listing


def test_example_model_fluxes(campaign, tmp_path):
    mod = _load("plot_example_model_fluxes.py")
    assert mod.main(["--root", str(campaign["root"]), "--figdir", str(tmp_path)]) == 0
    _check_png(tmp_path / "miri_example_model_fluxes.png")
