"""Fault injection in steps 2-5 (PSF files, encircled energy, APCORR file, photometry): issue 16.

Every test breaks a clone of one small reduced campaign (three F770W ADwarfs
sets of the tiny preset, reduced once for the module; steps 2-5 run on it
once: the reference products) and checks what a user sees: the exit code, a
one-line ``error:`` naming the file, no partial product under a final name,
no temporaries left, inputs and previous outputs unchanged, no process left
behind, and after a kill -9 a rerun equal to the uninterrupted run.

The disk-full and read-only cases run the script in a private mount namespace
(``fault_tools.run_script_mounted``) through a small wrapper that records the
folder's content after the script, inside the namespace (a full tmpfs vanishes
with it).
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from fault_tools import (
    assert_no_processes,
    assert_one_line_error,
    clone_tree,
    descendants,
    kill9,
    mounts_available,
    replace_bytes,
    run_script,
    run_script_mounted,
    start_script,
    temporaries,
    tree_hashes,
    truncate_copy,
    wait_for,
)
from tiny_campaign import simulate_tiny

pytestmark = pytest.mark.slow

STYPE, FILT = "ADwarfs", "F770W"
#: Three small F770W sets of the tiny campaign (SUB256, SUB256, SUB128) whose EE works at fwhmfac 15.
SETS = ("J1757132_set1", "HD 55677_set1", "J1757132_set2")
VETTED = textwrap.dedent(
    """\
    # the three reduced sets of the fault-test campaign
    filters:
      F770W: {fwhmfac: 15, sets: [ADwarfs/J1757132_set1, ADwarfs/HD 55677_set1, ADwarfs/J1757132_set2]}
    """
)
TAG = "faults"
APCORR = f"ApCor/jwst_miri_apcorr_flight_{TAG}.fits"
PHOT = f"{STYPE}/{FILT}_eefrac0.7_phot.fits"
PHOT_BKG = f"{STYPE}/{FILT}_bkgsub_eefrac0.7_phot.fits"
#: Raw and intermediate products that steps 2-5 never read (removed to keep the clones and tmpfs copies small).
UNUSED = ("*_uncal.fits", "*_rateints.fits", "*_rate.fits", "*_fitopt.fits")

needs_mounts = pytest.mark.skipif(
    not mounts_available(), reason="private mounts (unshare -m, root) are not available: cannot fake full/ro folders"
)


def _ok(r):
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def _mosaic(root: Path, sname: str, bkgsub: bool = False) -> Path:
    return root / STYPE / FILT / sname / f"miri_{sname}_stage3{'_bkgsub' if bkgsub else ''}_asn_i2d.fits"


def _set_apcor(root: Path, sname: str) -> Path:
    return root / STYPE / FILT / sname / f"miri_{sname}_stage3_asn_i2dfwhmfac15.0_apcor.dat"


@pytest.fixture(scope="module")
def campaign(tmp_path_factory) -> Path:
    """Three F770W sets of the tiny campaign through steps 1-5 (the uninterrupted reference run)."""
    root = simulate_tiny(tmp_path_factory.mktemp("faults25") / "tiny")
    for d in list(root.iterdir()):  # only ADwarfs/F770W is reduced: drop the other raw data
        if d.is_dir() and d.name in ("HotStars", "SolarAnalogs", "Asteroids"):
            shutil.rmtree(d)
    for d in list((root / STYPE).iterdir()):
        if d.is_dir() and d.name != FILT:
            shutil.rmtree(d)
    base = ["--root", root, "--filter", FILT, "--dir", STYPE, "--sets", *SETS, "--maximum-cores", "1"]
    _ok(run_script("pipeline_one_filter.py", *base))
    _ok(run_script("pipeline_one_filter.py", *base, "--stage", "stage3", "--bkgsub"))
    for pattern in UNUSED:
        for p in (root / STYPE / FILT).rglob(pattern):
            p.unlink()
    (root / "vetted_sets.yaml").write_text(VETTED)
    _ok(run_script("calc_webbpsfs.py", "--root", root, "--filter", FILT, "--like-simulation"))
    _ok(run_script("calc_all_ees.py", "--root", root, "--no-progress"))
    _ok(run_script("create_apcor_reffile.py", "--root", root, "--version", TAG, "--no-full-table"))
    _ok(run_script("aper_all.py", "--root", root, "--no-progress"))
    assert len(Table.read(root / PHOT)) == len(SETS)
    return root


@pytest.fixture
def clone(campaign, tmp_path) -> Path:
    return clone_tree(campaign, tmp_path / "c")


def _values(path: Path) -> Table:
    """A table without its metadata (provenance dates differ between runs)."""
    if path.suffix == ".dat":
        return Table.read(path, format="ascii.commented_header")
    return Table.read(path)


def assert_same_values(a: Path, b: Path) -> None:
    """Two tables equal column by column (value by value; NaN equal to NaN)."""
    ta, tb = _values(a), _values(b)
    assert ta.colnames == tb.colnames, (a, ta.colnames, tb.colnames)
    assert len(ta) == len(tb), (a, len(ta), len(tb))
    for c in ta.colnames:
        x, y = np.asarray(ta[c]), np.asarray(tb[c])
        if x.dtype.kind in "fc":
            np.testing.assert_array_equal(x, y, err_msg=f"{a.name}: column {c}")
        else:
            assert list(map(str, x)) == list(map(str, y)), (a.name, c)


def _dirs(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir()}


# --------------------------------------------------------------------------
# 1. APCORR values that are not physical
# --------------------------------------------------------------------------
BAD_ROWS = [
    ("apcorr", np.nan, "apcorr = nan"),
    ("apcorr", -1.0, "apcorr = -1.0"),
    ("radius", 0.0, "radius = 0.0"),
    ("skyin", 1e3, "inner must be < outer"),
]


@pytest.mark.parametrize("column, value, reason", BAD_ROWS, ids=[f"{c}={v}" for c, v, _ in BAD_ROWS])
def test_unphysical_apcorr_values_are_refused_by_step5(clone, column, value, reason):
    bad = clone / "ApCor" / "bad_apcorr.fits"
    with fits.open(clone / APCORR) as h:
        k = int(np.flatnonzero(np.isclose(h["APCORR"].data["eefraction"], 0.5))[0])
        h["APCORR"].data[column][k] = value
        h.writeto(bad)
    before = tree_hashes(clone)
    r = run_script("aper_one_filter.py", "--root", clone, "--filter", FILT, "--dir", STYPE, "--apcorr", bad)
    line = assert_one_line_error(r, bad.name, reason, f"row {k + 1} ({FILT}/", "EE 0.5")
    assert "must be" in line or "inner" in line
    r = run_script("aper_all.py", "--root", clone, "--apcorr", bad, "--no-progress")
    assert_one_line_error(r, bad.name, reason)
    assert tree_hashes(clone) == before  # nothing written
    assert temporaries(clone) == []


def test_apcorr_writer_refuses_unphysical_averages(clone, monkeypatch):
    """Step 4 never writes what step 5 would refuse (a NaN/negative average of per-set tables)."""
    from absflux import apcorr as A

    real = A.collect

    def collect_with_a_negative_apcor(root, vetted, allow_missing=False):
        res = real(root, vetted, allow_missing)
        res[FILT].apcor[res[FILT].at(0.7)] = -0.5
        return res

    monkeypatch.setattr(A, "collect", collect_with_a_negative_apcor)
    before = tree_hashes(clone)
    with pytest.raises(A.ApcorError, match=r"not written.*F770W/FULL/EE 0.7\).*apcorr = -0.5"):
        A.create_apcor_reffile(clone, tag="neg")
    assert tree_hashes(clone) == before
    assert temporaries(clone) == []


def test_unphysical_per_set_apcor_table_is_refused(clone):
    dat = _set_apcor(clone, SETS[1])
    text = dat.read_text().splitlines()
    i = next(k for k, ln in enumerate(text) if ln.startswith("0.7 "))
    cells = text[i].split()
    cells[-1] = "nan"
    text[i] = " ".join(cells)
    replace_bytes(dat, ("\n".join(text) + "\n").encode())
    before = tree_hashes(clone)
    r = run_script("create_apcor_reffile.py", "--root", clone, "--version", TAG, "--no-full-table")
    assert_one_line_error(r, dat.name, "apcor = nan")
    assert tree_hashes(clone) == before


# --------------------------------------------------------------------------
# 2. A missing input of a multi-set table: an error, or a recorded gap - never a silent shrink
# --------------------------------------------------------------------------
def test_missing_mosaic_is_an_error_or_a_recorded_gap(clone, campaign):
    gone = _mosaic(clone, SETS[1])
    gone.unlink()  # (the clone's link only)
    before = tree_hashes(clone)
    r = run_script("aper_one_filter.py", "--root", clone, "--filter", FILT, "--dir", STYPE, "--no-png")
    assert_one_line_error(r, gone.name, "--allow-missing")
    r = run_script("aper_all.py", "--root", clone, "--no-progress", "--no-png")
    assert_one_line_error(r, gone.name)
    assert tree_hashes(clone) == before  # the previous 3-row tables are untouched

    r = run_script(
        "aper_one_filter.py", "--root", clone, "--filter", FILT, "--dir", STYPE, "--no-png", "--allow-missing"
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "WARNING" in r.stderr and gone.name in r.stderr
    t = Table.read(clone / PHOT)
    assert len(t) == len(SETS) - 1
    assert t.meta["NMISSING"] == 1 and gone.name in t.meta["MISSING"]
    # the other rows are those of the complete run
    ref = Table.read(campaign / PHOT)
    keep = [i for i, d in enumerate(ref["dataset"]) if d != SETS[1]]
    np.testing.assert_array_equal(np.asarray(t["aperture_sum_bkgsub"]), np.asarray(ref["aperture_sum_bkgsub"])[keep])

    r = run_script("aper_all.py", "--root", clone, "--no-progress", "--no-png", "--allow-missing")
    assert r.returncode == 0, r.stderr[-3000:]
    assert Table.read(clone / PHOT).meta["NMISSING"] == 1
    # the bkgsub row needs the unsubtracted mosaic too (its median background): a gap there as well
    t = Table.read(clone / PHOT_BKG)
    assert t.meta["NMISSING"] == 1 and gone.name in t.meta["MISSING"] and len(t) == len(SETS) - 1
    assert temporaries(clone) == []
    assert "--allow-missing" in run_script("aper_one_filter.py", "--help").stdout
    assert "--allow-missing" in run_script("aper_all.py", "--help").stdout


def test_missing_per_set_apcor_table_is_an_error_or_a_recorded_gap(clone, campaign):
    gone = _set_apcor(clone, SETS[2])
    gone.unlink()
    before = tree_hashes(clone)
    r = run_script("create_apcor_reffile.py", "--root", clone, "--version", TAG, "--no-full-table")
    assert_one_line_error(r, gone.name, SETS[2])
    assert tree_hashes(clone) == before

    r = run_script("create_apcor_reffile.py", "--root", clone, "--version", TAG, "--no-full-table", "--allow-missing")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "WARNING" in r.stderr and gone.name in r.stderr
    full = Table.read(clone / APCORR.replace(".fits", "_full.fits"))
    assert full.meta["NMISSING"] == 1 and gone.name in full.meta["MISSING"]
    assert set(full["nsets"]) == {len(SETS) - 1}
    hist = "\n".join(str(h) for h in fits.getheader(clone / APCORR)["HISTORY"])
    assert "missing" in hist
    assert "--allow-missing" in run_script("create_apcor_reffile.py", "--help").stdout


# --------------------------------------------------------------------------
# 3. calc_all_ees: root and listed sets checked before any work, no folder created
# --------------------------------------------------------------------------
def test_calc_all_ees_checks_root_and_sets_before_any_work(clone, tmp_path):
    nowhere = tmp_path / "no_such_root"
    r = run_script("calc_all_ees.py", "--root", nowhere, "--no-progress")
    assert_one_line_error(r, str(nowhere))
    assert not nowhere.exists()

    vetted = tmp_path / "vetted_missing.yaml"
    vetted.write_text(
        "filters:\n  F770W: {fwhmfac: 15, sets: [ADwarfs/J1757132_set1, ADwarfs/Nobody_set1]}\n"
        "  F1280W: {fwhmfac: 10, sets: [HotStars/GD 71_set1]}\n"
    )
    before, dirs = tree_hashes(clone), _dirs(clone)
    r = run_script("calc_all_ees.py", "--root", clone, "--vetted", vetted, "--no-progress")
    assert_one_line_error(r, "Nobody_set1", "not found")
    assert _dirs(clone) == dirs  # no star-type, filter or set folder appeared
    assert tree_hashes(clone) == before

    r = run_script("calc_all_ees.py", "--root", clone, "--vetted", vetted, "--no-progress", "--allow-missing")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Nobody_set1" in r.stderr and "GD 71_set1" in r.stderr
    assert _dirs(clone) == dirs
    assert temporaries(clone) == []


# --------------------------------------------------------------------------
# 4. Disk full, read-only folders
# --------------------------------------------------------------------------
WRAPPER = """\
import json, hashlib, subprocess, sys
from pathlib import Path
script, watch, out, fill, *args = sys.argv[1:]
filler = Path(watch) / "zz_fault_filler"
if fill == "1":  # the tmpfs keeps some room (its size is rounded): take every byte of it
    with open(filler, "wb", buffering=0) as fh:
        for chunk in (1 << 16, 1 << 12, 1 << 9, 1):
            try:
                while True:
                    fh.write(bytes(chunk))
            except OSError:
                pass
rc = subprocess.run([sys.executable, script, *args]).returncode
if fill == "1":
    filler.unlink()
tree = {str(p.relative_to(watch)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(watch).rglob("*")) if p.is_file()}
Path(out).write_text(json.dumps(tree))
sys.exit(rc)
"""


def _run_in_namespace(tmp_path, script, watch: Path, *args, readonly=(), full=()):
    """Run ``script`` under private mounts; returns (result, {file: sha256} of ``watch`` seen inside afterwards)."""
    from fault_tools import REPO

    wrapper = tmp_path / "inside.py"
    wrapper.write_text(WRAPPER)
    seen = tmp_path / "seen.json"
    fill = "1" if full else "0"
    r = run_script_mounted(
        str(wrapper), str(REPO / script), str(watch), str(seen), fill, *map(str, args), readonly=readonly, full=full
    )
    return r, json.loads(seen.read_text())


@needs_mounts
@pytest.mark.parametrize("mode", ["full", "readonly"])
def test_unwritable_photometry_folder(clone, tmp_path, mode):
    folder = clone / STYPE
    before = tree_hashes(folder)
    kw = {"full": [(folder, 4)]} if mode == "full" else {"readonly": [folder]}
    args = ("--root", clone, "--filter", FILT, "--dir", STYPE)
    r, seen = _run_in_namespace(tmp_path, "aper_one_filter.py", folder, *args, **kw)
    reason = "No space left on device" if mode == "full" else "Read-only file system"
    line = assert_one_line_error(r, "cannot write", reason)
    assert "absfluxapers.png" in line or "_phot.fits" in line, line  # the product, not a temporary
    assert ".staged" not in line and ".tmp" not in line, line
    assert seen == before  # no partial product, no temporary, previous table untouched (inside the namespace)
    assert tree_hashes(folder) == before

    r, seen = _run_in_namespace(tmp_path, "aper_one_filter.py", folder, *args, "--no-png", **kw)
    assert_one_line_error(r, "cannot write", reason, PHOT.split("/")[1])
    assert seen == before


@needs_mounts
@pytest.mark.parametrize("mode", ["full", "readonly"])
def test_unwritable_ee_folder_with_two_jobs(clone, tmp_path, mode):
    folder = clone / STYPE
    before = tree_hashes(folder)
    kw = {"full": [(folder, 4)]} if mode == "full" else {"readonly": [folder]}
    r, seen = _run_in_namespace(
        tmp_path, "calc_all_ees.py", folder, "--root", clone, "--jobs", "2", "--no-progress", **kw
    )
    reason = "No space left on device" if mode == "full" else "Read-only file system"
    line = assert_one_line_error(r, "cannot write", reason)
    assert "_i2d" in line and ".staged" not in line and ".tmp" not in line, line
    assert seen == before
    assert_no_processes(str(clone), timeout=30)


@needs_mounts
@pytest.mark.parametrize("mode", ["full", "readonly"])
def test_unwritable_apcorr_and_psf_folders(clone, tmp_path, mode):
    reason = "No space left on device" if mode == "full" else "Read-only file system"
    for script, sub, args, product in (
        ("create_apcor_reffile.py", "ApCor", ("--version", "new", "--no-full-table"), "jwst_miri_apcorr_flight_new"),
        ("calc_webbpsfs.py", "PSFs", ("--filter", FILT, "--like-simulation"), f"miri_{FILT}_psf.fits"),
    ):
        folder = clone / sub
        before = tree_hashes(folder)
        kw = {"full": [(folder, 4)]} if mode == "full" else {"readonly": [folder]}
        r, seen = _run_in_namespace(tmp_path, script, folder, "--root", clone, *args, **kw)
        line = assert_one_line_error(r, reason, product)
        assert ".staged" not in line and ".tmp" not in line, line
        assert seen == before, script


# --------------------------------------------------------------------------
# 5. Options checked before any work; nothing done is not a success
# --------------------------------------------------------------------------
ROOT_TOOLS = [
    ("calc_webbpsfs.py", ()),
    ("add_cruciform_to_webbpsfs.py", ()),
    ("calc_encircled_energy.py", ()),
    ("calc_all_ees.py", ()),
    ("create_apcor_reffile.py", ()),
    ("aper_one_filter.py", ()),
    ("aper_all.py", ()),
]


@pytest.mark.parametrize("script, extra", ROOT_TOOLS, ids=[s for s, _ in ROOT_TOOLS])
def test_missing_root_is_refused(tmp_path, script, extra):
    nowhere = tmp_path / "no_root"
    r = run_script(script, "--root", nowhere, *extra)
    assert_one_line_error(r, str(nowhere), "not found")
    assert not nowhere.exists()


def test_bad_options_and_nothing_to_do(clone):
    before = tree_hashes(clone)
    for script in ("calc_all_ees.py", "aper_all.py"):
        for jobs in ("0", "-1"):
            r = run_script(script, "--root", clone, "--jobs", jobs, "--no-progress")
            assert_one_line_error(r, "--jobs")
    r = run_script("aper_all.py", "--root", clone, "--filters", "F9999W")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = run_script("calc_encircled_energy.py", "--root", clone, "--dataset", "Nobody_set1", "--dir", "all")
    assert_one_line_error(r, "Nobody_set1")
    r = run_script("calc_encircled_energy.py", "--root", clone, "--dataset", "Nobody_set1", "--dir", STYPE)
    assert_one_line_error(r, "Nobody_set1", "not found")
    # a filter with no mosaic at all: nothing done is an error
    r = run_script("aper_one_filter.py", "--root", clone, "--filter", "F1280W", "--dir", "all")
    assert_one_line_error(r, "F1280W")
    (clone / STYPE / "F2100W").mkdir()
    r = run_script("aper_all.py", "--root", clone, "--filters", "F2100W", "--no-progress")
    assert_one_line_error(r, "no mosaics")
    (clone / STYPE / "F2100W").rmdir()
    assert tree_hashes(clone) == before


# --------------------------------------------------------------------------
# 6. kill -9 of a --jobs 2 parent: no orphan, rerun == uninterrupted run
# --------------------------------------------------------------------------
KILLS = [
    ("calc_all_ees.py", (), [f"{STYPE}/{FILT}/{s}/{_set_apcor(Path('.'), s).name}" for s in SETS]),
    ("aper_all.py", (), [PHOT, PHOT_BKG]),
]


@pytest.mark.parametrize("script, extra, products", KILLS, ids=[k[0] for k in KILLS])
def test_kill9_parent_leaves_no_worker_and_rerun_equals_uninterrupted(clone, campaign, script, extra, products):
    for p in products:  # the rerun must make them again
        (clone / p).unlink()
    proc = start_script(script, "--root", clone, "--jobs", "2", "--no-progress", *extra)
    assert wait_for(lambda: len(descendants(proc.pid)) >= 2, timeout=120, interval=0.02), proc.stderr.read()
    kill9(proc)
    assert_no_processes(str(clone), timeout=30)  # the workers died with their parent
    for p in products:  # whatever was published before the kill is complete
        if (clone / p).exists():
            assert_same_values(clone / p, campaign / p)
    r = run_script(script, "--root", clone, "--jobs", "2", "--no-progress", *extra)
    assert r.returncode == 0, r.stderr[-3000:]
    for p in products:
        assert_same_values(clone / p, campaign / p)
    assert temporaries(clone) == []


# --------------------------------------------------------------------------
# 7. Corrupt downstream inputs: one line naming the file; only its set (or its table) fails
# --------------------------------------------------------------------------
def test_truncated_mosaic_fails_only_its_set(clone, campaign):
    bad = _mosaic(clone, SETS[0], bkgsub=True)
    truncate_copy(bad, 0.5)
    before = tree_hashes(clone)
    args = ("--root", clone, "--filter", FILT, "--dir", STYPE, "--no-png", "--bkgsub")
    # aper_one_filter: the table is refused (previous one untouched) ...
    r = run_script("aper_one_filter.py", *args)
    assert_one_line_error(r, bad.name, "not a readable mosaic", "truncated")
    assert tree_hashes(clone) == before
    # ... or, with --skip-bad, written without it and the gap recorded
    r = run_script("aper_one_filter.py", *args, "--skip-bad")
    assert_one_line_error(r, bad.name, code=1)
    t = Table.read(clone / PHOT_BKG)
    assert len(t) == len(SETS) - 1 and t.meta["NFAILED"] == 1 and bad.name in t.meta["FAILED"]
    # aper_all: that table fails; the default one (its mosaics are fine) is made and equals the reference
    (clone / PHOT).unlink()
    (clone / PHOT_BKG).unlink()
    r = run_script("aper_all.py", "--root", clone, "--no-progress", "--no-png")
    assert_one_line_error(r, bad.name, "bkgsub table not written")
    assert not (clone / PHOT_BKG).exists()
    assert_same_values(clone / PHOT, campaign / PHOT)
    # calc_all_ees: the set fails, the others' EE tables are made again, identical
    for s in SETS:
        _set_apcor(clone, s).unlink()
    r = run_script("calc_all_ees.py", "--root", clone, "--no-progress", "--no-fig")
    assert_one_line_error(r, bad.name, SETS[0])
    assert not _set_apcor(clone, SETS[0]).exists()
    for s in SETS[1:]:
        assert_same_values(_set_apcor(clone, s), _set_apcor(campaign, s))
    assert temporaries(clone) == []


def test_psf_that_is_not_fits(clone):
    psf = clone / "PSFs" / f"miri_{FILT}_psf.fits"
    replace_bytes(psf, b"this is not a FITS file\n" * 100)
    before = tree_hashes(clone)
    r = run_script("calc_all_ees.py", "--root", clone, "--no-progress", "--jobs", "2")
    line = assert_one_line_error(r, psf.name, "unreadable PSF file")
    assert f"{len(SETS) - 1} more" in line
    r = run_script("calc_encircled_energy.py", "--root", clone, "--dataset", SETS[0], "--dir", STYPE, "--fwhmfac", "15")
    assert_one_line_error(r, psf.name)
    r = run_script("add_cruciform_to_webbpsfs.py", "--root", clone, "--filter", FILT)
    assert_one_line_error(r, psf.name)
    assert tree_hashes(clone) == before
    assert temporaries(clone) == []


@pytest.mark.parametrize(
    "garbage",
    [b"\x00\x01 binary garbage \xff\xfe\n" * 20, b"# ee radii apcor\n0.7 abc def\n0.8 1 2\n", b""],
    ids=["binary", "text", "empty"],
)
def test_garbage_ee_table(clone, garbage):
    dat = _set_apcor(clone, SETS[1])
    replace_bytes(dat, garbage)
    before = tree_hashes(clone)
    r = run_script("create_apcor_reffile.py", "--root", clone, "--version", TAG, "--no-full-table")
    assert_one_line_error(r, dat.name, SETS[1])
    assert tree_hashes(clone) == before
    r = run_script("create_apcor_reffile.py", "--root", clone, "--version", "gap", "--no-full-table", "--allow-missing")
    assert r.returncode == 0, r.stderr[-3000:]
    full = Table.read(clone / "ApCor" / "jwst_miri_apcorr_flight_gap_full.fits")
    assert full.meta["NMISSING"] == 1 and dat.name in full.meta["MISSING"]


def test_no_temporaries_left_by_the_reference_run(campaign):
    assert temporaries(campaign) == []
    # the fixture's own run wrote every product once, through the atomic helpers
    assert (campaign / PHOT).is_file() and (campaign / APCORR).is_file()
