"""Fault injection in step 0 (simulation) and steps 6-10 (issue 16): nothing lost, nothing silent.

Every test runs the scripts as a user would (subprocesses) on a clone of the tiny campaign that went
through ``make demo PRESET=tiny`` once per session, and checks the exit code, the one-line error that
names the file, that no partial product or temporary is left, and that the inputs are unchanged.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fault_tools as FT  # noqa: E402

pytestmark = pytest.mark.slow

FILTERS = ("--filters", "F770W", "F2100W")


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> Path:
    return FT.shared_tiny_chain(tmp_path_factory)


@pytest.fixture
def root(chain, tmp_path) -> Path:
    return FT.clone_tree(chain, tmp_path / "tiny")


def _hashes(root: Path, *dirs) -> dict:
    out = {}
    for d in dirs:
        out.update({f"{d}/{k}": v for k, v in FT.tree_hashes(root / d).items()})
    return out


def _no_temporaries(root: Path) -> None:
    left = FT.temporaries(root)
    assert not left, f"temporaries left: {left}"


# --------------------------------------------------------------------------
# 1. physically impossible calibration factors and reference-file values
# --------------------------------------------------------------------------
def test_negative_calibration_factor_is_refused(root):
    phot = root / "ADwarfs" / "F770W_eefrac0.7_phot.fits"
    t = Table.read(phot)
    t["aperture_sum_bkgsub"][0] = -abs(t["aperture_sum_bkgsub"][0])
    star = str(t["name"][0]).strip()
    FT.replace_bytes(phot, b"")
    phot.unlink()
    t.write(phot, format="fits")
    before = _hashes(root, "CalFacs", "Figs", "Photom", "ADwarfs")
    r = FT.run_script("plot_multi_calfacs.py", "--basedir", root, *FILTERS, "--grieke", "--subarrcor", "--png")
    line = FT.assert_one_line_error(r, str(phot), "F770W", "not finite and positive")
    assert star in line or "BD+60" in line
    assert _hashes(root, "CalFacs", "Figs", "Photom", "ADwarfs") == before
    _no_temporaries(root)


@pytest.mark.parametrize("value", ["-0.477", "nan", "0.0", "inf"])
def test_bad_average_blocks_the_reference_file(root, value):
    ave = next((root / "CalFacs").glob("miri_calfactors_grieke_subarracor_timecor_F770W_ave.dat"))
    t = Table.read(ave, format="ascii.commented_header")
    t["avecalfac_F770W"] = float(value)
    FT.replace_bytes(ave, b"")
    ave.unlink()
    t.write(ave, format="ascii.commented_header")
    before = _hashes(root, "CalFacs", "Photom")
    r = FT.run_script("create_photom_reffile.py", "--basedir", root, *FILTERS, "--version", "bad")
    FT.assert_one_line_error(r, str(ave), "F770W")
    assert not (root / "Photom" / "jwst_miri_photom_flight_bad.fits").exists()
    assert _hashes(root, "CalFacs", "Photom") == before
    _no_temporaries(root)


def test_non_finite_time_coefficient_blocks_the_reference_file(root):
    fit = root / "CalFacs" / "miri_calfactors_repeat_F2100W_fit.dat"
    t = Table.read(fit, format="ascii.commented_header")
    t["fit_linear_lossperyear_F2100W"] = np.inf
    FT.replace_bytes(fit, b"")
    fit.unlink()
    t.write(fit, format="ascii.commented_header")
    before = _hashes(root, "CalFacs", "Photom")
    r = FT.run_script("create_photom_reffile.py", "--basedir", root, *FILTERS, "--version", "bad")
    FT.assert_one_line_error(r, "F2100W", str(fit))
    assert _hashes(root, "CalFacs", "Photom") == before
    _no_temporaries(root)


# --------------------------------------------------------------------------
# 2. disk full and read-only folders
# --------------------------------------------------------------------------
needs_mounts = pytest.mark.skipif(not FT.mounts_available(), reason="private mounts (unshare -m as root) not available")


@needs_mounts
def test_read_only_photom_folder(root):
    before = _hashes(root, "CalFacs", "Photom")
    r = FT.run_script_mounted(
        "create_photom_reffile.py", "--basedir", root, *FILTERS, "--version", "ro", readonly=[root / "Photom"]
    )
    FT.assert_one_line_error(r, "jwst_miri_photom_flight_ro.fits", "Read-only")
    assert _hashes(root, "CalFacs", "Photom") == before
    _no_temporaries(root)


@needs_mounts
def test_disk_full_model_fluxes(root):
    before = _hashes(root, "Models")
    r = FT.run_script_mounted("model_fluxes.py", "--root", root, "--grieke", full=[(root / "Models", 0)])
    line = FT.assert_one_line_error(r, str(root / "Models"), "No space left")
    assert ".staged" not in line and ".tmp" not in line
    assert _hashes(root, "Models") == before
    _no_temporaries(root)
    # the next run (room again) completes and leaves nothing behind
    assert FT.run_script("model_fluxes.py", "--root", root, "--grieke").returncode == 0
    _no_temporaries(root)


@needs_mounts
def test_disk_full_and_read_only_simulation(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    r = FT.run_script_mounted(
        "simulate_campaign.py", "--preset", "tiny", "--out", ro / "camp", "--no-progress", readonly=[ro]
    )
    FT.assert_one_line_error(r, str(ro), "Read-only")
    assert list(ro.iterdir()) == []
    full = tmp_path / "full"
    full.mkdir()
    r = FT.run_script_mounted(
        "simulate_campaign.py", "--preset", "tiny", "--out", full / "camp", "--no-progress", full=[(full, 512)]
    )
    FT.assert_one_line_error(r, str(full / "camp"), "No space left")
    assert list(full.iterdir()) == []


# --------------------------------------------------------------------------
# 3-5. tools that did nothing, missing inputs, option validation
# --------------------------------------------------------------------------
def test_paper_products_with_nothing_to_make(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = FT.run_script("make_paper_products.py", "--root", empty, timeout=600)
    line = FT.assert_one_line_error(r, str(empty), "no product made")
    assert "missing inputs" in line
    r = FT.run_script("make_paper_products.py", "--root", tmp_path / "nothere")
    FT.assert_one_line_error(r, "nothere", "does not exist")
    assert not (tmp_path / "nothere").exists()


def test_validation_with_a_missing_average(root):
    for p in (root / "Photom").glob("*.fits"):
        p.unlink()
    ave = root / "CalFacs" / "miri_calfactors_grieke_subarracor_timecor_F2100W_ave.dat"
    ave.unlink()
    r = FT.run_script("validate_campaign.py", "--basedir", root, *FILTERS, "--no-apcorr")
    FT.assert_one_line_error(r, str(ave), "F2100W")
    r = FT.run_script("validate_campaign.py", "--basedir", root, *FILTERS, "--no-apcorr", "--allow-missing")
    assert r.returncode in (0, 1), r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    t = Table.read(root / "validation.ecsv")
    miss = t[(t["filter"] == "F2100W") & (t["status"] == "missing")]
    assert len(miss) == 2 and str(ave) in miss["note"][0]
    _no_temporaries(root)


@pytest.mark.parametrize(
    "script,args,fragment",
    [
        ("simulate_campaign.py", ["--preset", "tiny", "--out", "{tmp}/x", "--jobs", "0"], "--jobs"),
        ("simulate_campaign.py", ["--preset", "tiny", "--out", "{tmp}/x", "--jobs", "-1"], "--jobs"),
        ("model_fluxes.py", ["--root", "{tmp}/missing"], "missing"),
        ("create_photom_reffile.py", ["--basedir", "{tmp}/missing"], "missing"),
        ("plot_multi_calfacs.py", ["--basedir", "{tmp}/missing"], "missing"),
        ("validate_campaign.py", ["--basedir", "{tmp}/missing"], "missing"),
    ],
)
def test_bad_options_before_any_work(tmp_path, script, args, fragment):
    r = FT.run_script(script, *[a.format(tmp=tmp_path) for a in args])
    FT.assert_one_line_error(r, fragment)
    assert not (tmp_path / "x").exists() and not (tmp_path / "missing").exists()


def test_named_filter_without_data_is_an_error(root):
    before = _hashes(root, "CalFacs")
    r = FT.run_script("plot_multi_calfacs.py", "--basedir", root, "--filters", "F560W", "--grieke", "--subarrcor")
    FT.assert_one_line_error(r, "F560W")
    assert _hashes(root, "CalFacs") == before


# --------------------------------------------------------------------------
# 6-7. kill -9
# --------------------------------------------------------------------------
def test_kill9_simulation_leaves_no_worker_and_rerun_completes(tmp_path):
    out = tmp_path / "camp"
    proc = FT.start_script("simulate_campaign.py", "--preset", "tiny", "--out", out, "--jobs", "2", "--no-progress")
    # wait for the exposure workers (two children of the parent)
    assert FT.wait_for(lambda: len(FT.descendants(proc.pid)) >= 2, timeout=300), "no workers started"
    time.sleep(1.0)
    FT.kill9(proc)
    FT.assert_no_processes(str(out), timeout=60)
    assert not out.exists()
    r = FT.run_script("simulate_campaign.py", "--preset", "tiny", "--out", out, "--jobs", "2", "--no-progress")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out / "truth.ecsv").is_file()
    assert FT.temporaries(tmp_path) == [], FT.temporaries(tmp_path)


def _tables_equal(a: Table, b: Table) -> None:
    assert a.colnames == b.colnames
    for c in a.colnames:
        x, y = np.asarray(a[c]), np.asarray(b[c])
        if x.dtype.kind in "fc":
            np.testing.assert_array_equal(x, y)
        else:
            assert list(map(str, x)) == list(map(str, y))


@pytest.mark.parametrize("delay", [0.5, 2.0])
def test_kill9_photom_reffile_then_rerun(root, chain, delay):
    final = root / "Photom" / "jwst_miri_photom_flight_kill.fits"
    inputs = _hashes(root, "CalFacs")
    proc = FT.start_script("create_photom_reffile.py", "--basedir", root, *FILTERS, "--version", "kill")
    time.sleep(delay)
    if proc.poll() is None:
        FT.kill9(proc)
    FT.assert_no_processes(str(root), timeout=30)
    # either nothing or the whole file under the final name
    if final.exists():
        from absflux import photom_reffile as PR

        PR.validate_file(final)
    r = FT.run_script("create_photom_reffile.py", "--basedir", root, *FILTERS, "--version", "kill")
    assert r.returncode == 0, r.stderr[-3000:]
    from absflux import photom_reffile as PR

    new, ref = (
        PR.read_photom_tables(final),
        PR.read_photom_tables(chain / "Photom" / "jwst_miri_photom_flight_demo.fits"),
    )
    for name in ref:
        _tables_equal(new[name], ref[name])
    _tables_equal(
        Table.read(root / "CalFacs" / "jwst_miri_photom_coeff.dat", format="ascii.ipac"),
        Table.read(chain / "CalFacs" / "jwst_miri_photom_coeff.dat", format="ascii.ipac"),
    )
    assert {k: v for k, v in _hashes(root, "CalFacs").items() if "photom_coeff" not in k} == {
        k: v for k, v in inputs.items() if "photom_coeff" not in k
    }
    _no_temporaries(root)


def test_kill9_plot_multi_calfacs_then_rerun(root, chain):
    args = ("--basedir", root, *FILTERS, "--grieke", "--subarrcor", "--png")
    proc = FT.start_script("plot_multi_calfacs.py", *args)
    time.sleep(3.0)
    if proc.poll() is None:
        FT.kill9(proc)
    FT.assert_no_processes(str(root), timeout=30)
    r = FT.run_script("plot_multi_calfacs.py", *args)
    assert r.returncode == 0, r.stderr[-3000:]
    for f in ("F770W", "F2100W"):
        name = f"miri_calfactors_grieke_subarracor_timecor_{f}_ave.dat"
        _tables_equal(
            Table.read(root / "CalFacs" / name, format="ascii.commented_header"),
            Table.read(chain / "CalFacs" / name, format="ascii.commented_header"),
        )
        name = f"miri_calfactors_grieke_subarracor_timecor_{f}.fits"
        a, b = Table.read(root / "CalFacs" / name), Table.read(chain / "CalFacs" / name)
        _tables_equal(a, b)
    _no_temporaries(root)
