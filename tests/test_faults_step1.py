"""Fault injection in step 1 (issue 16): bad raw files, kill -9, disk full, read-only folders, bad options.

Every test runs the scripts as a user would (subprocesses, real jwst pipeline
on the seeded ``tiny`` campaign) and checks the exit code, the one-line error
naming the file, that no partial product appears under a final name, that no
temporaries are left after a rerun, that the raw files are unchanged and, for
kill -9, that no process is left behind and the rerun equals an uninterrupted run.
"""

from __future__ import annotations

import io
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

sys.path.insert(0, str(Path(__file__).parent))
from fault_tools import (  # noqa: E402
    alive,
    assert_no_processes,
    assert_one_line_error,
    clone_tree,
    descendants,
    kill9,
    mount_full_command,
    mounts_available,
    replace_bytes,
    run_script,
    run_script_mounted,
    script_env,
    start_script,
    temporaries,
    tree_hashes,
    truncate_copy,
    wait_for,
)
from tiny_campaign import simulate_tiny  # noqa: E402

pytestmark = pytest.mark.slow

GD71 = ("HotStars", "F770W", "GD 71_set1")
#: The options of the reference reduction of GD 71 (stage all with the bkgsub mosaic).
GD71_ARGS = [
    "--filter",
    "F770W",
    "--dir",
    "HotStars",
    "--bkgsub",
    "--sky-star-wings",
    "subtract",
    "--maximum-cores",
    "1",
]


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """The seeded tiny campaign, raw files only (tests clone it, never change it)."""
    return simulate_tiny(tmp_path_factory.mktemp("faults_step1") / "tiny")


@pytest.fixture(scope="module")
def reduced(campaign, tmp_path_factory):
    """A clone of the campaign where GD 71 F770W was reduced without interruption (the reference)."""
    root = clone_tree(campaign, tmp_path_factory.mktemp("reduced") / "tiny")
    r = run_script("pipeline_one_filter.py", "--root", root, *GD71_ARGS)
    assert r.returncode == 0, r.stderr[-3000:]
    return root


def _set_dir(root: Path, stype="HotStars", filt="F770W", sname="GD 71_set1") -> Path:
    return root / stype / filt / sname


def _mosaic_sci(path: Path) -> np.ndarray:
    return fits.getdata(path, "SCI")


def _uncal_hashes(root: Path) -> dict:
    return tree_hashes(root, "*/*/*_uncal.fits")


def _files(root: Path) -> dict:
    """{relative path: (size, mtime)} of every file under ``root`` (to see that nothing was written)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def _error_lines(result) -> list[str]:
    return [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]


# --------------------------------------------------------------------------
# Defect 7: options are validated before any work; doing nothing is an error
# --------------------------------------------------------------------------
def test_options_validated_before_any_work(campaign, tmp_path):
    root = clone_tree(campaign, tmp_path / "tiny")
    before = _files(root)
    r = run_script("pipeline_all.py", "--root", tmp_path / "missing", "--no-progress")
    assert_one_line_error(r, str(tmp_path / "missing"), "does not exist")
    for jobs in ("0", "-1"):
        r = run_script("pipeline_all.py", "--root", root, "--jobs", jobs, "--no-progress")
        assert_one_line_error(r, "--jobs must be >= 1", jobs)
    (tmp_path / "empty").mkdir()
    r = run_script("pipeline_all.py", "--root", tmp_path / "empty", "--no-progress")
    assert_one_line_error(r, str(tmp_path / "empty"), "no <type>/<filter> folder")
    r = run_script("pipeline_one_filter.py", "--root", root, "--filter", "F770W", "--dir", "HotStars", "--sets", "GD71")
    assert_one_line_error(r, "unknown set(s) 'GD71'", "known sets: 'GD 71_set1'")
    assert _files(root) == before  # nothing written, nothing read into a new folder


# --------------------------------------------------------------------------
# Defects 1 and 2: a bad raw file blocks only its own set, is named, counts as failed
# --------------------------------------------------------------------------
def test_bad_raw_files_block_only_their_set(campaign, tmp_path):
    from absflux.pipeline import sort_uncal

    root = clone_tree(campaign, tmp_path / "tiny")
    fdir = root / "ADwarfs" / "F770W"
    sets = {s.name: s for s in sort_uncal(fdir, "F770W")}
    bd1, bd2, j1 = sets["BD+60 1753_set1"], sets["BD+60 1753_set2"], sets["J1757132_set1"]
    half = bd1.files[0]  # cut to half: the header still reads, the data and the ASDF tree are gone
    truncate_copy(half, 0.5)
    bogus = j1.files[-1]
    replace_bytes(bogus, b"SIMPLE  =                    T / not really\n" * 10)
    orphan = fdir / "jw09999001001_02101_00001_mirimage_uncal.fits"  # a visit of no readable file
    orphan.write_bytes(b"\0" * 5000)
    hashes = _uncal_hashes(root)
    args = ["--root", root, "--filter", "F770W", "--dir", "ADwarfs", "--stage", "stage1", "--maximum-cores", "1"]
    r = run_script("pipeline_one_filter.py", *args, "--sets", bd1.name, bd2.name, j1.name, orphan.name)
    assert_one_line_error(r, str(orphan), "not a readable FITS file")
    errors = _error_lines(r)
    assert len(errors) == 3, r.stderr[-3000:]
    assert any(str(half) in e and "truncated file" in e for e in errors), errors
    assert any(str(bogus) in e and "not a readable FITS file" in e for e in errors), errors
    # the good set of the same filter was reduced; the blocked ones were not started; nothing "skipped"
    assert all((fdir / bd2.name / f.name.replace("_uncal", "_rate")).is_file() for f in bd2.files)
    assert not (fdir / bd1.name).exists() and not (fdir / j1.name).exists()
    assert " skipped " not in r.stderr
    assert temporaries(root) == []
    assert _uncal_hashes(root) == hashes

    # pipeline_all counts a blocked set as failed (never skipped) and names each bad file; exit 2
    hdir = root / "HotStars" / "F1280W"
    a, b = sorted(hdir.glob("*_uncal.fits"))
    truncate_copy(a, 0.5)
    with fits.open(b) as hdul:  # a misfiled exposure of another filter
        hdul[0].header["FILTER"] = "F1000W"
        buf = io.BytesIO()
        hdul.writeto(buf)
    replace_bytes(b, buf.getvalue())
    r = run_script("pipeline_all.py", "--root", root, "--filters", "F1280W", "--dirs", "HotStars", "--no-progress")
    assert_one_line_error(r, str(b), "FILTER F1000W differs")
    assert any(str(a) in e and "truncated file" in e for e in _error_lines(r))
    assert "summary: 0 done, 0 skipped, 1 failed" in r.stderr
    assert not (hdir / "GD 71_set1").exists() and temporaries(root) == []


def test_set_failure_names_the_file(campaign, tmp_path, monkeypatch):
    """An exception inside the jwst pipeline is reported with the set and the file it was working on."""
    from jwst.pipeline import Detector1Pipeline

    from absflux import pipeline as PL

    root = clone_tree(campaign, tmp_path / "tiny")

    def broken(*args, **kwargs):
        raise KeyError("Extension 'ASDF' not found.")

    monkeypatch.setattr(Detector1Pipeline, "call", broken)
    (res,) = PL.pipeline_one_filter(root, "HotStars", "F770W", PL.PipelineOptions(stage="stage1"))
    first = sorted((root / "HotStars" / "F770W").glob("*_uncal.fits"))[0]
    assert res.status == "failed" and res.set == "GD 71_set1" and res.kind == "error"
    assert res.reason.startswith(f"{first}: Detector1Pipeline: KeyError"), res.reason
    assert "Extension 'ASDF' not found" in res.reason and PL.exit_code([res]) == 1
    assert temporaries(root) == [] and not list(_set_dir(root).glob("*_rate.fits"))


# --------------------------------------------------------------------------
# Defects 3, 4, 8: kill -9 during a set; --onlynew reruns it; rerun == uninterrupted run
# --------------------------------------------------------------------------
def test_kill9_during_a_set_then_onlynew_rerun(campaign, reduced, tmp_path):
    root = clone_tree(campaign, tmp_path / "tiny")
    sdir = _set_dir(root)
    hashes = _uncal_hashes(root)
    proc = start_script("pipeline_one_filter.py", "--root", root, *GD71_ARGS)
    # kill while stage 2 writes into its staging folder (stage 1 products are in place, no mosaic yet)
    started = wait_for(lambda: (sdir / "GD 71_set1_stage2.log").exists() and list(sdir.glob(".staging_*/*")), 300)
    assert started, proc.stderr.read() if proc.poll() is not None else "stage 2 never started"
    kill9(proc)
    mosaic = sdir / "miri_GD 71_set1_stage3_bkgsub_asn_i2d.fits"
    assert not mosaic.exists()
    left = temporaries(root)
    assert left and all(str(proc.pid) in p.name for p in left), left  # what kill -9 leaves: pid-named

    r = run_script("pipeline_one_filter.py", "--root", root, *GD71_ARGS, "--onlynew")
    assert r.returncode == 0, r.stderr[-3000:]
    assert " done " in r.stderr and " skipped " not in r.stderr  # interrupted: rerun, not "skipped"
    assert temporaries(root) == []
    ref = _set_dir(reduced) / mosaic.name
    assert np.array_equal(_mosaic_sci(mosaic), _mosaic_sci(ref), equal_nan=True)
    assert _uncal_hashes(root) == hashes
    assert_no_processes(str(root), timeout=5)

    # a finished set is skipped by --onlynew, fast, without touching the mosaic
    t0, mtime = time.time(), mosaic.stat().st_mtime_ns
    r = run_script("pipeline_one_filter.py", "--root", root, *GD71_ARGS, "--onlynew")
    assert r.returncode == 0 and " skipped " in r.stderr and mosaic.stat().st_mtime_ns == mtime
    assert time.time() - t0 < 60


def test_two_runs_on_one_set_do_not_collide(reduced, tmp_path):
    """Unique temporary names per run: two concurrent runs on one set both succeed, with the same mosaic."""
    root = clone_tree(reduced, tmp_path / "tiny")
    args = ["--root", root, *GD71_ARGS, "--stage", "stage3"]
    procs = [start_script("pipeline_one_filter.py", *args) for _ in range(2)]
    codes = [p.wait(timeout=600) for p in procs]
    assert codes == [0, 0], [p.stderr.read()[-2000:] for p in procs]
    name = "miri_GD 71_set1_stage3_bkgsub_asn_i2d.fits"
    assert np.array_equal(_mosaic_sci(_set_dir(root) / name), _mosaic_sci(_set_dir(reduced) / name), equal_nan=True)
    assert temporaries(root) == []


# --------------------------------------------------------------------------
# Defect 6: --jobs 2, parent killed: the workers die too and write nothing more
# --------------------------------------------------------------------------
def test_kill9_parent_of_workers(campaign, tmp_path):
    root = clone_tree(campaign, tmp_path / "tiny")
    hashes = _uncal_hashes(root)
    args = ["--root", root, "--filters", "F1280W", "--jobs", "2", "--no-bkgsub", "--no-progress"]
    proc = start_script("pipeline_all.py", *args)
    busy = wait_for(lambda: len(descendants(proc.pid)) >= 2 and len(list(root.glob("*/F1280W/*/.staging_*"))) >= 2)
    assert busy, proc.stderr.read() if proc.poll() is not None else "the two workers never started"
    workers = descendants(proc.pid)
    kill9(proc)
    assert wait_for(lambda: not any(alive(p) for p in workers), timeout=30), [p for p in workers if alive(p)]
    snapshot = _files(root)
    time.sleep(3)
    assert _files(root) == snapshot  # nothing written after the workers died
    assert not list(root.glob("*/F1280W/*/*_i2d.fits"))

    r = run_script("pipeline_all.py", *args, "--onlynew")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "summary: 3 done, 0 skipped, 0 failed" in r.stderr
    assert len(list(root.glob("*/F1280W/*/miri_*_stage3_asn_i2d.fits"))) == 3
    assert temporaries(root) == []
    assert _uncal_hashes(root) == hashes
    assert_no_processes(str(root), timeout=10)


# --------------------------------------------------------------------------
# Defect 5: disk full or read-only during the sky subtraction
# --------------------------------------------------------------------------
def _run_full_and_list(script: str, args: list, folder: Path, free_kb: int):
    """Run ``script`` with ``folder`` on a nearly full tmpfs, then list the folder inside the namespace.

    (``fault_tools.run_script_mounted`` cannot show the tmpfs after the run: it vanishes with the process.)
    Returns (CompletedProcess, {name: size} of the folder after the run).
    """
    d = shlex.quote(str(folder))
    py = " ".join(shlex.quote(x) for x in [sys.executable, str(Path(__file__).parents[1] / script), *map(str, args)])
    cmd = (
        f"set -e; {mount_full_command(folder, free_kb)}; "
        f"set +e; {py}; rc=$?; echo '--- listing' >&2; "
        f"find {d} -mindepth 1 -maxdepth 1 -printf '%f\\t%s\\n' >&2; exit $rc"
    )
    r = subprocess.run(
        ["unshare", "-m", "sh", "-c", cmd], capture_output=True, text=True, env=script_env(), timeout=900
    )
    err, _, listing = r.stderr.partition("--- listing\n")
    r.stderr = err
    files = dict(ln.rsplit("\t", 1) for ln in listing.splitlines() if "\t" in ln)
    return r, {k: int(v) for k, v in files.items()}


@pytest.mark.skipif(not mounts_available(), reason="needs private mounts (root with CAP_SYS_ADMIN) for a full disk")
def test_disk_full_in_detector1(campaign, tmp_path):
    """A full disk inside the jwst pipeline (astropy/numpy report it without errno): one line, exit 2, no staging left."""
    root = clone_tree(campaign, tmp_path / "tiny")
    sdir = _set_dir(root)
    sdir.mkdir()
    args = ["--root", root, *GD71_ARGS[:4], "--stage", "stage1", "--maximum-cores", "1"]
    r, after = _run_full_and_list("pipeline_one_filter.py", args, sdir, free_kb=1500)
    assert_one_line_error(r, f"cannot write {sdir}: No space left on device")
    assert not [n for n in after if n.startswith(".") or n.endswith(".fits")], after


@pytest.mark.skipif(not mounts_available(), reason="needs private mounts (root with CAP_SYS_ADMIN) for a full disk")
def test_disk_full_in_sky_subtraction(reduced, tmp_path):
    root = clone_tree(reduced, tmp_path / "tiny")
    sdir = _set_dir(root)
    before = tree_hashes(root)
    sizes = {p.name: p.stat().st_size for p in sdir.iterdir() if p.is_file()}
    args = ["--root", root, *GD71_ARGS, "--stage", "stage3"]
    r, after = _run_full_and_list("pipeline_one_filter.py", args, sdir, free_kb=1000)
    line = assert_one_line_error(r, "No space left on device", str(sdir))
    assert "_cal_mask.fits" in line, line
    # nothing partial under a final name, no temporary left to keep the disk full
    assert after == sizes, {k: (sizes.get(k), v) for k, v in after.items() if sizes.get(k) != v}
    assert tree_hashes(root) == before

    r = run_script_mounted("pipeline_one_filter.py", *args, readonly=[sdir])
    line = assert_one_line_error(r, "Read-only file system", str(sdir))
    assert tree_hashes(root) == before and temporaries(root) == []
