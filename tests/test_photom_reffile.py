"""Step 10 (create_photom_reffile.py, print_photom_table.py) and Fig. 8 (plot_srctype_allobs.py).

Fast tests build the step 7/9 products by hand; the slow test runs the real jwst ``photom`` step (with
``override_photom``) on a rate file of the simulated ``tiny`` campaign at three EXPMID dates.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from absflux import calfactors as CF
from absflux import constants as C
from absflux import photom_reffile as PR
from absflux import sim_defaults as SD
from absflux import timedep as TD

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tiny_campaign import simulate_tiny  # noqa: E402

import create_photom_reffile  # noqa: E402
import plot_srctype_allobs  # noqa: E402
import print_photom_table  # noqa: E402

# absflux.spectra / stdatamodels truncate long header comments of the simulated files
pytestmark = pytest.mark.filterwarnings("ignore:Card is too long:astropy.io.fits.verify.VerifyWarning")
#: Time coefficients in the fit-file convention (tau < 0, lossperyear <= 0), different from the simulation's.
COEFFS = {"amp": 0.06, "tau": -150.0, "const": 0.94, "lossperyear": -0.02, "t0": C.STARTDAY}


def write_inputs(root: Path, filters, cal=None, unc_frac=0.004, coeffs=None) -> Path:
    """Hand-made step 7 (repeat fits) and step 9 (_ave.dat) products for ``filters``."""
    (root / "CalFacs").mkdir(parents=True, exist_ok=True)
    for f in filters:
        c = dict(coeffs or COEFFS)
        if f in C.IMAGER_FILTERS:
            t = Table()
            t[f"fit_linear_lossperyear_{f}"] = [c["lossperyear"]]
            t[f"fit_exp_const_{f}"] = [c["const"]]
            t[f"fit_exp_amp_{f}"] = [c["amp"]]
            t[f"fit_exp_tau_{f}"] = [c["tau"]]
            t[f"fit_startday_{f}"] = [c["t0"]]
            t[f"fit_std_{f}"] = [0.004]
            t[f"fit_std_per_{f}"] = [0.31]
            t[f"fit_npts_{f}"] = [24]
            t[f"fit_npar_{f}"] = [4]
            t[f"fit_mjd_first_{f}"] = [59725.0]
            t[f"fit_mjd_last_{f}"] = [60800.0]
        else:
            t = TD.coron_fit_table(f, c)
        t.write(CF.repeat_fit_path(root, f), format="ascii.commented_header", overwrite=True)
        value = (cal or SD.TRUE_CALFACTOR)[f]
        Table(
            {
                f"avecalfac_{f}": [value],
                f"avecalfac_unc_{f}": [unc_frac * value],
                f"avecalfac_std_{f}": [3 * unc_frac * value],
                f"avecalfac_npts_{f}": [9.0],
            }
        ).write(PR.ave_path(root, f), format="ascii.commented_header", overwrite=True)
    return root


def no_outputs(root: Path) -> bool:
    photom = root / "Photom"
    return (not photom.exists() or not list(photom.iterdir())) and not (
        root / "CalFacs" / "jwst_miri_photom_coeff.dat"
    ).exists()


def correction(c, mjd):
    """Product-form correction of the fit-file convention."""
    dt = np.asarray(mjd, float) - c["t0"]
    return (1 + c["lossperyear"] * dt / 365) * (c["amp"] * np.exp(dt / c["tau"]) + c["const"])


# --------------------------------------------------------------------------
# The reference file
# --------------------------------------------------------------------------
def test_photom_file_content_metadata_and_validation(tmp_path, capsys):
    root = write_inputs(tmp_path, C.ALL_FILTERS)
    assert create_photom_reffile.main(["--basedir", str(root), "--date", "1jan26", "--author", "tester"]) == 0
    latex = capsys.readouterr().out.strip().splitlines()
    assert len(latex) == 14 and latex[0].startswith(
        "F560W & 0.4420 & 0.0200 & 0.0600 & 150.0 & 0.9400 & 0.00177 & 0.40"
    )
    assert latex[-1].startswith("FND & 45.0000") and latex[-1].endswith("\\\\")
    path = root / "Photom" / "jwst_miri_photom_flight_1jan26.fits"
    PR.validate_file(path)
    from stdatamodels.jwst import datamodels as dm

    with fits.open(path) as h:
        assert [x.name for x in h[1:4]] == ["PHOTOM", "TIMECOEFF_LINEAR", "TIMECOEFF_EXPONENTIAL"]
        hd = h[0].header
        assert hd["FILENAME"] == path.name and hd["REFTYPE"] == "PHOTOM" and hd["AUTHOR"] == "tester"
        assert hd["TELESCOP"] == "JWST" and hd["INSTRUME"] == "MIRI" and hd["DETECTOR"] == "MIRIMAGE"
        assert hd["EXP_TYPE"] == "MIR_IMAGE" and "MIR_CORONCAL" in hd["P_EXP_TY"] and "MIR_4QPM" in hd["P_EXP_TY"]
        assert hd["SUBARRAY"] == "GENERIC" and hd["BAND"] == "N/A"
        assert hd["PIXAR_SR"] == pytest.approx(C.PHOTOM_PIXELAREA_SR) and hd["PIXAR_A2"] == pytest.approx(0.01217199)
        assert hd["PEDIGREE"] == "INFLIGHT 2022-05-26 2025-05-05" and hd["USEAFTER"] == "2022-04-01T00:00:00"
        assert hd["DESCRIP"] == "Photom reference file."
        hist = " ".join(str(v) for v in hd["HISTORY"])
        assert "exponential and linear fits" in hist and "jwst 3.0.0" in hist and "CRDS context" in hist
    with dm.MirImgPhotomModel(str(path)) as m:
        ph, ex, li = m.phot_table, m.timecoeff_exponential, m.timecoeff_linear
        assert len(ph) == len(ex) == len(li) == 9 * 5 + 4 * 2 + 6
        for i in range(len(ph)):
            f, s = ph["filter"][i], ph["subarray"][i]
            assert (ex["filter"][i], ex["subarray"][i]) == (f, s) == (li["filter"][i], li["subarray"][i])
            assert ph["photmjsr"][i] == pytest.approx(SD.TRUE_CALFACTOR[f] / C.SUBARR_COR[s], rel=1e-6)
            assert ph["uncertainty"][i] == pytest.approx(0.004 * SD.TRUE_CALFACTOR[f] / C.SUBARR_COR[s], rel=1e-6)
            assert s in C.reffile_subarrays(f)
        assert np.allclose(ex["tau"], 150.0) and np.allclose(li["lossperyear"], 0.02) and np.allclose(ex["t0"], 59720.0)
        assert "SLITLESSPRISM" in set(ph["subarray"])  # FND rows, not truncated
        # the jwst correction table reproduces the product form at any EXPMID
        from jwst.photom.time_dependence import get_correction_table

        for mjd in (59720.0, 60100.0, 61000.0):
            assert np.allclose(get_correction_table(m, mjd), correction(COEFFS, mjd), rtol=2e-6)
    coeff = Table.read(root / "CalFacs" / "jwst_miri_photom_coeff.dat", format="ascii.ipac")
    assert coeff.colnames == [
        "filter",
        "photomjsr",
        "expamplitude",
        "exptau",
        "expconts",
        "lossperyear",
        "startday",
        "uncertainty",
    ]
    assert list(coeff["filter"]) == list(PR.PHOTOM_FILTERS)
    assert coeff["exptau"][0] == 150.0 and coeff["lossperyear"][0] == pytest.approx(0.02)
    assert not list((root / "Photom").glob(".*")) and not list((root / "CalFacs").glob(".*"))


def test_output_names_and_table_styles(tmp_path, capsys):
    root = write_inputs(tmp_path, ("F770W", "F1065C"))
    args = ["--basedir", str(root), "--filters", "F1065C", "F770W", "--version", "sim_0002", "--table-style", "paper"]
    assert create_photom_reffile.main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("F770W & 0.2770 & 0.0166 & 6.00 & 150.0 & 0.00111 & 0.40 & 9.00 & 0.31")
    assert out[1].startswith("F1065C") and out[1].endswith("& 0.00 \\\\")  # no repeat scatter for coronagraphy
    assert (root / "Photom" / "jwst_miri_photom_flight_sim_0002.fits").is_file()
    assert PR.default_tag(__import__("datetime").date(2025, 10, 8)) == "8oct25"
    assert create_photom_reffile.main(["--basedir", str(root), "--filters", "F770W", "--version", "../x"]) == 2


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing_fit", "F770W: repeat-fit file"),
        ("missing_ave", "F770W: average file"),
        ("few_points", "F770W: the time fit in"),
        ("nan_coeff", "F770W: non-finite time coefficient(s) amp"),
        ("nan_cal", "F770W: non-finite or non-positive calibration factor nan"),
        ("nan_unc", "F770W: non-finite calibration-factor uncertainty nan"),
        ("missing_coron", "F1550C: repeat-fit file"),
    ],
)
def test_bad_inputs_write_nothing(tmp_path, capsys, case, message):
    root = write_inputs(tmp_path, ("F560W", "F770W", "F1550C"))
    fit = CF.repeat_fit_path(root, "F770W")
    ave = PR.ave_path(root, "F770W")
    if case == "missing_fit":
        fit.unlink()
    elif case == "missing_ave":
        ave.unlink()
    elif case == "missing_coron":
        CF.repeat_fit_path(root, "F1550C").unlink()
    elif case in ("few_points", "nan_coeff"):
        t = Table.read(fit, format="ascii.commented_header")
        if case == "few_points":
            t["fit_npts_F770W"] = [4]
        else:
            t["fit_exp_amp_F770W"] = [np.nan]
        t.write(fit, format="ascii.commented_header", overwrite=True)
    else:
        t = Table.read(ave, format="ascii.commented_header")
        t["avecalfac_F770W" if case == "nan_cal" else "avecalfac_unc_F770W"] = [np.nan]
        t.write(ave, format="ascii.commented_header", overwrite=True)
    args = ["--basedir", str(root), "--filters", "F560W", "F770W", "F1550C"]
    assert create_photom_reffile.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("error: ")
    assert no_outputs(root)


def test_print_photom_table_current_and_old_format(tmp_path, capsys):
    root = write_inputs(tmp_path, ("F770W", "F1280W"))
    assert create_photom_reffile.main(["--basedir", str(root), "--filters", "F770W", "F1280W", "--date", "x1"]) == 0
    new = root / "Photom" / "jwst_miri_photom_flight_x1.fits"
    old = tmp_path / "old.fits"
    fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.BinTableHDU(
                Table(
                    {
                        "filter": ["F770W", "F770W"],
                        "subarray": ["FULL", "SUB64"],
                        "photmjsr": [0.25, 0.26],
                        "uncertainty": [0.01, 0.01],
                    }
                ),
                name="PHOTOM",
            ),
            fits.BinTableHDU(
                Table({"amplitude": [0.005, 0.0052], "tau": [200.0, 200.0], "t0": [59720.0, 59720.0]}), name="TIMECOEFF"
            ),
        ]
    ).writeto(old)
    capsys.readouterr()
    assert print_photom_table.main(["--filter", "F770W", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "p amp [%]: FULL=2.000 SUB64=2.000" in out and "TIMECOEFF_EXPONENTIAL" in out and "FULL=6.000" in out
    assert print_photom_table.main(["--compare", str(old), str(new)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == [f"{0.25 / 0.277:.4f}", "F770W", "FULL"]
    assert print_photom_table.main(["--filter", "F770W", str(tmp_path / "nope.fits")]) == 2


def test_srctype_figure_from_photom_file(tmp_path, capsys):
    root = write_inputs(tmp_path, C.IMAGER_FILTERS)
    assert create_photom_reffile.main(["--basedir", str(root), "--filters", *C.IMAGER_FILTERS, "--date", "d"]) == 0
    from absflux import subarrays as SA

    offsets = {"HotStars": 1.01, "ADwarfs": 1.0, "SolarAnalogs": 0.995}
    for f in C.IMAGER_FILTERS:
        c = SD.TRUE_CALFACTOR[f]
        Table(
            {
                "name": list(offsets),
                "calfacs": [c * o for o in offsets.values()],
                "calfacs_unc": [0.01 * c] * 3,
                "calfacs_uncmean": [0.002 * c, 0.002 * c, 0.0],  # no uncertainty: left out
            }
        ).write(SA.srctype_path(root, f), format="ascii.commented_header")
    capsys.readouterr()
    assert plot_srctype_allobs.main(["--basedir", str(root)]) == 0
    out = capsys.readouterr().out
    stats = Table.read(root / "CalFacs" / "srctype_allobs.dat", format="ascii.commented_header")
    assert stats["mean"][0] == pytest.approx(1 / 1.01, rel=1e-6) and stats["nfilters"][0] == 9
    assert stats["mean"][1] == pytest.approx(1.0, rel=1e-6) and stats["std"][1] == pytest.approx(0.0, abs=1e-7)
    assert stats["nfilters"][2] == 0 and math.isnan(stats["mean"][2])
    assert "HotStars" in out and (root / "Figs" / "srctype_allobs.png").is_file()


# --------------------------------------------------------------------------
# The real jwst photom step (slow)
# --------------------------------------------------------------------------
PHOTOM_SCRIPT = r"""
import json, sys
from jwst.pipeline import Detector1Pipeline
from jwst.photom import PhotomStep
from stdatamodels.jwst import datamodels as dm
from absflux.pipeline import detector1_steps
uncal, outdir, photom = sys.argv[1:4]
Detector1Pipeline.call(uncal, steps=detector1_steps(maximum_cores="1"), save_results=True, output_dir=outdir)
rate = outdir + "/" + uncal.rsplit("/", 1)[1].replace("_uncal", "_rate")
out = {}
for mjd in map(float, sys.argv[4:]):
    with dm.ImageModel(rate) as m:
        m.meta.exposure.mid_time = mjd
        r = PhotomStep.call(m, override_photom=photom)
        out[repr(mjd)] = [r.meta.photometry.conversion_megajanskys, r.meta.subarray.name, r.meta.instrument.filter,
                          r.meta.cal_step.photom]
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow
def test_real_jwst_photom_step_applies_time_dependence(tmp_path):
    from absflux.crds_cache import crds_environment

    root = simulate_tiny(tmp_path / "tiny")
    truth = Table.read(root / "truth.ecsv")
    row = next(r for r in truth if r["filter"] == "F770W" and r["subarray"] == "SUB64")
    write_inputs(root, ("F770W",), cal={"F770W": 0.30})
    assert create_photom_reffile.main(["--basedir", str(root), "--filters", "F770W", "--date", "t"]) == 0
    photom = root / "Photom" / "jwst_miri_photom_flight_t.fits"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRDS_")}
    env.update(crds_environment(root / "crds_cache"))
    mjds = [59800.0, 60300.0, 61000.0]
    uncal = root / "ADwarfs" / "F770W" / str(row["filename"])
    (tmp_path / "out").mkdir()
    r = subprocess.run(
        [sys.executable, "-c", PHOTOM_SCRIPT, str(uncal), str(tmp_path / "out"), str(photom), *map(str, mjds)],
        capture_output=True,
        text=True,
        env=env,
        timeout=170,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(next(ln for ln in r.stdout.splitlines() if ln.startswith("RESULT "))[7:])
    photmjsr = 0.30 / C.SUBARR_COR["SUB64"]
    values = []
    for mjd in mjds:
        conv, sub, filt, status = res[repr(mjd)]
        assert (sub, filt, status) == ("SUB64", "F770W", "COMPLETE")
        assert conv == pytest.approx(photmjsr / correction(COEFFS, mjd), rel=1e-5)
        values.append(conv)
    assert values[0] < values[1] < values[2]  # the sensitivity loss raises C with time


def test_single_star_uncertainty_falls_back_to_observation_scatter(tmp_path, capsys):
    # step 9 leaves the uncertainty undefined (NaN) for one star (FND: del UMi only)
    root = write_inputs(tmp_path, ("FND",))
    ave = PR.ave_path(root, "FND")
    t = Table.read(ave, format="ascii.commented_header")
    t["avecalfac_unc_FND"] = [np.nan]
    t.write(ave, format="ascii.commented_header", overwrite=True)
    per = np.array([44.8, 45.1, 45.3, 44.9])
    Table({"name": ["del UMi"] * 4, "calfac_FND": per}).write(ave.with_name(ave.name.replace("_ave.dat", ".fits")))
    assert create_photom_reffile.main(["--basedir", str(root), "--filters", "FND", "--date", "f"]) == 0
    with fits.open(root / "Photom" / "jwst_miri_photom_flight_f.fits") as h:
        unc = h["PHOTOM"].data["uncertainty"][0]
    assert unc == pytest.approx(np.std(per, ddof=1) / 2.0, rel=1e-6)


def test_table6_rows_match_the_reference_file(tmp_path, capsys):
    """Table 6 (current style) numbers = the PHOTOM file's FULL row and time tables; --table-only writes nothing."""
    rng = np.random.default_rng(6)
    filters = ("F770W", "F1280W", "F2100W", "F1550C", "FND")
    cal = {f: SD.TRUE_CALFACTOR[f] * float(rng.uniform(0.9, 1.1)) for f in filters}
    root = write_inputs(tmp_path, filters, cal=cal, coeffs=dict(COEFFS, amp=0.0731, const=0.9269, tau=-137.4))
    assert create_photom_reffile.main(["--basedir", str(root), "--version", "t6", "--filters", *filters]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    before = sorted(p.name for p in (root / "Photom").iterdir())
    assert create_photom_reffile.main(["--basedir", str(root), "--table-only", "--filters", *filters]) == 0
    assert capsys.readouterr().out.strip().splitlines() == rows
    assert sorted(p.name for p in (root / "Photom").iterdir()) == before
    from stdatamodels.jwst import datamodels as dm

    with dm.MirImgPhotomModel(str(root / "Photom" / "jwst_miri_photom_flight_t6.fits")) as m:
        ph, ex, li = m.phot_table, m.timecoeff_exponential, m.timecoeff_linear
        full = {str(f): i for i, (f, s) in enumerate(zip(ph["filter"], ph["subarray"], strict=True)) if s == "FULL"}
        assert [r.split(" & ")[0] for r in rows] == [f for f in PR.PHOTOM_FILTERS if f in filters]
        for r in rows:
            f, c, loss, amp, tau, const, cunc, cunc_per, npts, rep = (v.strip() for v in r.rstrip("\\").split("&"))
            i = full[f]
            assert float(c) == pytest.approx(float(ph["photmjsr"][i]), abs=5e-5)
            assert float(cunc) == pytest.approx(float(ph["uncertainty"][i]), abs=5e-6)
            assert float(cunc_per) == pytest.approx(100 * ph["uncertainty"][i] / ph["photmjsr"][i], abs=5e-3)
            assert float(loss) == pytest.approx(float(li["lossperyear"][i]), abs=5e-5)
            assert float(amp) == pytest.approx(float(ex["amplitude"][i]), abs=5e-5)
            assert float(tau) == pytest.approx(float(ex["tau"][i]), abs=0.05)
            assert float(const) == pytest.approx(float(ex["const"][i]), abs=5e-5)
            assert float(npts) == 9.0
