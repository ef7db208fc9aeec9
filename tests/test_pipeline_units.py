"""Step 1 building blocks that do not need the jwst pipeline to run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from absflux import pipeline as PL

REPO = Path(__file__).resolve().parents[1]


def _fake_uncal(path: Path, targname: str, filt: str) -> None:
    h = fits.Header()
    h["TARGNAME"] = targname
    h["FILTER"] = filt
    asdf = fits.BinTableHDU.from_columns(
        [fits.Column(name="ASDF_METADATA", format="16B", array=np.zeros((1, 16), np.uint8))], name="ASDF"
    )
    sci = fits.ImageHDU(np.zeros((1, 1, 40, 40), np.uint16), name="SCI")
    fits.HDUList([fits.PrimaryHDU(header=h), sci, asdf]).writeto(path)


def test_sort_uncal_sets(tmp_path):
    d = tmp_path / "ADwarfs" / "F770W"
    d.mkdir(parents=True)
    names = [
        ("jw04496001001_02101_00001_mirimage_uncal.fits", "BD+60 1753"),
        ("jw04496001001_02101_00002_mirimage_uncal.fits", "BD+60 1753"),
        ("jw01536010001_02101_00001_mirimage_uncal.fits", "BD+60 1753"),
        ("jw01536002001_02101_00001_mirimage_uncal.fits", "BD+60 1753"),
        ("jw01536003001_02101_00001_mirimage_uncal.fits", "J1757132"),
    ]
    for n, t in names:
        _fake_uncal(d / n, t, "F770W")
    sets = PL.sort_uncal(d, "F770W")
    got = {s.name: (s.visit_token, len(s.files)) for s in sets}
    # numbered per target in lexicographic order of the visit token, not time
    assert got == {
        "BD+60 1753_set1": ("jw01536002001", 1),
        "BD+60 1753_set2": ("jw01536010001", 1),
        "BD+60 1753_set3": ("jw04496001001", 2),
        "J1757132_set1": ("jw01536003001", 1),
    }


def test_sort_uncal_errors(tmp_path):
    with pytest.raises(PL.PipelineInputError, match="does not exist"):
        PL.sort_uncal(tmp_path / "HotStars" / "F770W", "F770W")
    d = tmp_path / "HotStars" / "F770W"
    d.mkdir(parents=True)
    with pytest.raises(PL.PipelineInputError, match="no \\*_uncal.fits"):
        PL.sort_uncal(d, "F770W")


def test_bad_raw_files_block_only_their_set(tmp_path):
    """Each bad raw file is named with its problem and blocks its own visit's set, no other."""
    d = tmp_path / "ADwarfs" / "F770W"
    d.mkdir(parents=True)
    good = [
        ("jw01536002001_02101_00001_mirimage_uncal.fits", "BD+60 1753"),
        ("jw01536002001_02101_00002_mirimage_uncal.fits", "BD+60 1753"),  # cut short below
        ("jw01536003001_02101_00001_mirimage_uncal.fits", "BD+60 1753"),
        ("jw01536004001_02101_00001_mirimage_uncal.fits", "BD+60 1753"),  # only file of its visit, cut short
        ("jw01536005001_02101_00001_mirimage_uncal.fits", "BD+60 1753"),
        ("jw01536006001_02101_00001_mirimage_uncal.fits", "J1757132"),
        ("jw01536006001_02101_00002_mirimage_uncal.fits", "J1757132"),  # wrong FILTER below
    ]
    for n, t in good[:-1]:
        _fake_uncal(d / n, t, "F770W")
    cut = d / good[1][0]
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    alone = d / good[3][0]
    alone.write_bytes(alone.read_bytes()[:-3000])
    _fake_uncal(d / good[6][0], "J1757132", "F1000W")
    (d / "jw09999001001_02101_00001_mirimage_uncal.fits").write_bytes(b"SIMPLE  = garbage")
    noasdf = d / "jw01536007001_02101_00001_mirimage_uncal.fits"
    h = fits.Header({"TARGNAME": "J1757132", "FILTER": "F770W"})
    fits.HDUList([fits.PrimaryHDU(header=h), fits.ImageHDU(np.zeros((2, 2), np.uint16), name="SCI")]).writeto(noasdf)

    sets = {s.name: s for s in PL.sort_uncal(d, "F770W")}
    assert sorted(sets) == [
        "BD+60 1753_set1",
        "BD+60 1753_set2",
        "BD+60 1753_set3",
        "BD+60 1753_set4",
        "J1757132_set1",
        "J1757132_set2",
        "jw09999001001_02101_00001_mirimage_uncal.fits",
    ]
    blocked = {n: [str(b) for b in s.bad] for n, s in sets.items() if s.blocked}
    assert sorted(blocked) == [
        "BD+60 1753_set1",
        "BD+60 1753_set3",
        "J1757132_set1",
        "J1757132_set2",
        "jw09999001001_02101_00001_mirimage_uncal.fits",
    ]
    assert blocked["BD+60 1753_set1"] == [f"{cut}: " + blocked["BD+60 1753_set1"][0].split(": ", 1)[1]]
    assert "truncated file" in blocked["BD+60 1753_set1"][0]
    # the file cut short keeps its visit's number: the sets after it keep their names
    assert "truncated file" in blocked["BD+60 1753_set3"][0] and sets["BD+60 1753_set3"].files == []
    assert sets["BD+60 1753_set4"].visit_token == "jw01536005001" and not sets["BD+60 1753_set4"].blocked
    assert "FILTER F1000W differs from the directory's filter F770W" in blocked["J1757132_set1"][0]
    assert "no ASDF extension" in blocked["J1757132_set2"][0]
    assert "not a readable FITS file" in blocked["jw09999001001_02101_00001_mirimage_uncal.fits"][0]
    with pytest.raises(PL.PipelineInputError, match="truncated file"):
        PL.read_uncal_header(cut, "F770W")
    assert PL.read_uncal_header(d / good[0][0], "F770W") == {"TARGNAME": "BD+60 1753", "FILTER": "F770W"}
    # a blocked set is never run, and is reported with every bad file
    r = PL.blocked_result("ADwarfs", "F770W", sets["BD+60 1753_set1"])
    assert r.status == "failed" and r.kind == "input" and r.errors == blocked["BD+60 1753_set1"]
    assert PL.exit_code([r]) == 2 and PL.exit_code([r, PL.SetResult("A", "F", "s", "failed", kind="error")]) == 1
    assert PL.exit_code([PL.SetResult("A", "F", "s", "skipped")]) == 0


def test_step_parameters():
    d1 = PL.detector1_steps()
    assert d1["ipc"]["skip"] and d1["emicorr"]["skip"]
    assert d1["jump"]["rejection_threshold"] == 5.0
    assert d1["jump"]["expand_large_events"] is False and d1["jump"]["find_showers"] is False
    assert all(d1["jump"][k] == 0 for k in ("after_jump_flag_dn1", "after_jump_flag_time1", "after_jump_flag_dn2"))
    assert d1["ramp_fit"]["save_opt"] is True
    i2 = PL.image2_steps()
    assert i2["resample"] == {"kernel": "square", "pixel_scale": 0.11, "weight_type": "exptime"}
    i3 = PL.image3_steps(sourcecat=False)
    assert i3["tweakreg"]["skip"] and i3["outlier_detection"]["skip"] and i3["source_catalog"]["skip"]
    assert i3["skymatch"]["lower"] == 0.0
    merged = PL.merge_step_parameters(d1, {"jump": {"rejection_threshold": 6.0}, "refpix": {"skip": True}})
    assert merged["jump"]["rejection_threshold"] == 6.0 and merged["jump"]["find_showers"] is False
    assert merged["refpix"] == {"skip": True} and d1["jump"]["rejection_threshold"] == 5.0


def test_step_parameter_file(tmp_path):
    p = tmp_path / "pars.yaml"
    p.write_text("detector1:\n  jump: {rejection_threshold: 7}\nimage3:\n  source_catalog: {skip: true}\n")
    assert PL.load_step_parameter_file(p) == {
        "detector1": {"jump": {"rejection_threshold": 7}},
        "image3": {"source_catalog": {"skip": True}},
    }
    p.write_text("image4: {}\n")
    with pytest.raises(PL.PipelineInputError, match="top-level keys"):
        PL.load_step_parameter_file(p)
    with pytest.raises(PL.PipelineInputError, match="does not exist"):
        PL.load_step_parameter_file(tmp_path / "none.yaml")


def test_overrides_missing_file(tmp_path):
    with pytest.raises(PL.PipelineInputError, match="jwst_miri_mask_F770W.fits: override file for --nmasks"):
        PL.resolve_overrides(tmp_path, "F770W", nmasks=True)
    (tmp_path / "Masks").mkdir()
    (tmp_path / "Masks" / "jwst_miri_mask_F770W.fits").write_bytes(b"x")
    assert PL.resolve_overrides(tmp_path, "F770W", nmasks=True)["nmasks"].name == "jwst_miri_mask_F770W.fits"
    # new flats are never used for the coronagraphic filters
    assert PL.resolve_overrides(tmp_path, "F1065C", nflats=True) == {}


def _run(args, cwd):
    return subprocess.run(
        [sys.executable, str(REPO / "pipeline_one_filter.py"), *args], cwd=cwd, capture_output=True, text=True
    )


def test_cli_bad_inputs(tmp_path):
    r = _run(["--filter", "F770W", "--dir", "HotStars", "--root", str(tmp_path)], tmp_path)
    assert r.returncode == 2 and "filter directory does not exist" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = _run(["--filter", "F1550C", "--dir", "all", "--root", str(tmp_path)], tmp_path)
    assert r.returncode == 2 and "no type directory has a F1550C directory" in r.stderr
    d = tmp_path / "HotStars" / "F770W"
    d.mkdir(parents=True)
    _fake_uncal(d / "jw01537001001_02101_00001_mirimage_uncal.fits", "GD 71", "F2100W")
    r = _run(["--filter", "F770W", "--dir", "HotStars", "--root", str(tmp_path)], tmp_path)
    assert r.returncode == 2 and "jw01537001001_02101_00001_mirimage_uncal.fits: FILTER F2100W differs" in r.stderr
    r = _run(["--filter", "F770W", "--dir", "HotStars", "--root", str(tmp_path), "--flatfile", "nope.fits"], tmp_path)
    assert r.returncode == 2 and "nope.fits" in r.stderr
    assert sorted(p.name for p in d.iterdir()) == ["jw01537001001_02101_00001_mirimage_uncal.fits"]


def test_star_wing_image_recovers_an_injected_profile():
    """A power-law wing on a sky with a gradient and noise comes back ring by ring; the gradient drops out."""
    from absflux.pipeline import star_wing_image

    rng = np.random.default_rng(7)
    ny, nx, xc, yc, r_in = 220, 240, 110.3, 104.6, 12.0
    yy, xx = np.indices((ny, nx))
    r = np.hypot(xx - xc, yy - yc)
    wing = 4000.0 / np.maximum(r, 1.0) ** 2.5
    gradient = 0.004 * (xx - nx / 2)  # a detector pattern not centred on the star
    data = 20.0 + gradient + wing + rng.normal(0.0, 1.0, (ny, nx))
    data[r < r_in] = np.nan
    w = star_wing_image(data, xc, yc, r_in, 2.0)
    assert np.all(w[r < r_in] == 0) and np.all(w >= 0)
    # the reference level is the image median, which the wing itself raises a little
    offset = np.nanmedian(data) - 20.0
    assert 0 < offset < 0.15
    for rr in (14.0, 20.0, 35.0, 60.0):
        ring = (r > rr - 1) & (r < rr + 1)
        # ring means agree to the noise of ~2 rings of pixels (sigma 1 per pixel)
        assert np.mean(w[ring]) == pytest.approx(np.mean(wing[ring]) - offset, abs=4.0 / np.sqrt(ring.sum()))
    # no star: nothing to subtract beyond the noise
    flat = 20.0 + rng.normal(0.0, 1.0, (ny, nx))
    flat[r < r_in] = np.nan
    assert np.abs(star_wing_image(flat, xc, yc, r_in, 2.0)).max() < 0.3
    with pytest.raises(ValueError, match="positive"):
        star_wing_image(data, xc, yc, 0.0, 2.0)


def test_set_finished_needs_the_provenance_written_after_the_mosaic(tmp_path):
    """--onlynew skips a set only when its last stage completed (a kill after the mosaic's rename is not)."""
    import os

    sdir = tmp_path / "GD 71_set1"
    sdir.mkdir()
    assert not PL.set_finished(sdir, "GD 71_set1", bkgsub=False)
    mosaic = sdir / PL.mosaic_name("GD 71_set1")
    mosaic.write_bytes(b"x")
    assert not PL.set_finished(sdir, "GD 71_set1", bkgsub=False)  # killed before the provenance record
    prov = sdir / "provenance_stage3.json"
    prov.write_text("{}")
    os.utime(mosaic, ns=(10**18, 10**18))
    os.utime(prov, ns=(10**18 - 1, 10**18 - 1))
    assert not PL.set_finished(sdir, "GD 71_set1", bkgsub=False)  # a rerun killed after its new mosaic
    os.utime(prov, ns=(10**18 + 1, 10**18 + 1))
    assert PL.set_finished(sdir, "GD 71_set1", bkgsub=False)
    assert not PL.set_finished(sdir, "GD 71_set1", bkgsub=True)
    ds = PL.DataSet(
        "GD 71_set1", "GD 71", "jw06607001001", [tmp_path / "jw06607001001_02101_00001_mirimage_uncal.fits"]
    )
    assert PL.run_finished(sdir, ds, PL.PipelineOptions(stage="all"))
    assert not PL.run_finished(sdir, ds, PL.PipelineOptions(stage="all", bkgsub=True))
    assert not PL.run_finished(sdir, ds, PL.PipelineOptions(stage="stage1"))


def test_tidy_folder_removes_only_dead_runs_temporaries(tmp_path):
    import os
    import subprocess as sp

    from absflux.io_utils import tmp_path as unique_tmp

    dead = sp.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = unique_tmp(tmp_path / "a.fits")  # this (running) process's
    mine.write_bytes(b"x")
    stale = tmp_path / f".a.fits.{dead.pid}-0123abcd.tmp.fits"
    stale.write_bytes(b"x")
    staging = tmp_path / f".staging_{dead.pid}-0123abcd_xyz"
    staging.mkdir()
    (staging / "jw_rate.fits").write_bytes(b"x")
    live_staging = tmp_path / f".staging_{os.getpid()}-0123abcd_xyz"
    live_staging.mkdir()
    legacy = [tmp_path / ".part_a.fits", tmp_path / ".staging_k2j4x9"]
    legacy[0].write_bytes(b"x")
    legacy[1].mkdir()
    removed = PL.tidy_folder(tmp_path)
    assert sorted(removed) == sorted([stale, staging, *legacy])
    assert mine.exists() and live_staging.exists()


def test_unreadable_file_of_unknown_target_blocks_the_sets_it_could_renumber(tmp_path):
    """A garbage file whose visit precedes others: its target is unknown, so any later set could be
    numbered one too low (and reduced into another set's folder); those sets wait, earlier ones run."""
    d = tmp_path / "ADwarfs" / "F770W"
    d.mkdir(parents=True)
    for n, t in (
        ("jw01536002001_02101_00001_mirimage_uncal.fits", "BD+60 1753"),
        ("jw01536004001_02101_00001_mirimage_uncal.fits", "BD+60 1753"),
        ("jw01536005001_02101_00001_mirimage_uncal.fits", "J1757132"),
    ):
        _fake_uncal(d / n, t, "F770W")
    garbage = d / "jw01536003001_02101_00001_mirimage_uncal.fits"
    garbage.write_bytes(b"not fits at all")
    sets = {s.name: s for s in PL.sort_uncal(d, "F770W")}
    assert not sets["BD+60 1753_set1"].blocked  # visit 002 precedes the unknown 003: its number is certain
    for name in ("BD+60 1753_set2", "J1757132_set1"):
        assert sets[name].blocked
        assert str(garbage) in str(sets[name].bad[0]) and "numbering" in str(sets[name].bad[0])
    assert sets[garbage.name].blocked
