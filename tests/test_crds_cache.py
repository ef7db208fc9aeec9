"""The synthetic local CRDS cache drives the unmodified jwst pipeline offline.

CRDS keeps process-global state, so everything that resolves references runs in a
subprocess whose environment holds only the cache variables (plus PATH, HOME, ...).
"""

from __future__ import annotations

import ast
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from absflux import constants as C
from absflux import crds_cache as cc
from absflux import sim_defaults as S

BIN = Path(sys.executable).parent
DATE_OBS = "2023-06-15T12:00:00"
SLOPE = 50.0  # DN/s


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _cache_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRDS_")}
    env.update(cc.crds_environment(cache, cc.DEFAULT_CONTEXT))
    return env


def _run(args, env, cwd, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, env=env, cwd=cwd, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _py(script: str, *args, env, cwd) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-c", script, *map(str, args)], env, cwd)


@functools.cache
def _siaf_aperture(name: str):
    import pysiaf

    return pysiaf.Siaf("MIRI")[name]


def _make_uncal(
    path: Path,
    subarray="SUB256",
    filt="F770W",
    exp_type="MIR_IMAGE",
    ngroups=8,
    slope=SLOPE,
    readnoise=2.0,
    stars=(),
    seed=12345,
) -> float:
    """Write a minimal Level1b ramp (FASTR1, 1 integration); return EXPMID [MJD]."""
    from astropy.time import Time
    from stdatamodels.jwst import datamodels as dm

    s = C.SUBARRAYS[subarray]
    det = C.DETECTOR
    rng = np.random.default_rng(seed)
    ny, nx = s.ysize, s.xsize
    t = s.tframe * np.arange(1, ngroups + 1)
    rate = np.full((ny, nx), slope)
    yy, xx = np.mgrid[0:ny, 0:nx]
    for x0, y0, flux in stars:
        rate += flux * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 1.2**2))
    # no light in the reference-pixel columns (refpix subtracts their drift on FULL frames)
    cols = [c - (s.xstart - 1) for c in det["refpix_columns"] if 0 <= c - (s.xstart - 1) < nx]
    rate[:, cols] = 0.0
    bias = rng.normal(det["bias"], det["bias_sigma"], (ny, nx))
    ramp = bias[None] + rate[None] * t[:, None, None] + rng.normal(0.0, readnoise, (ngroups, ny, nx))
    model = dm.Level1bModel(data=np.round(ramp)[None].astype(np.uint16))

    start = Time(DATE_OBS, scale="utc")
    duration = ngroups * s.tframe
    meta = model.meta
    meta.filename = path.name
    meta.instrument.name, meta.instrument.detector, meta.instrument.filter = "MIRI", "MIRIMAGE", filt
    e = meta.exposure
    e.type, e.readpatt = exp_type, C.READPATT
    e.nints, e.ngroups, e.nframes, e.groupgap = 1, ngroups, 1, 0
    e.frame_time = e.group_time = s.tframe
    e.integration_time = e.exposure_time = e.duration = duration
    e.start_time = start.mjd
    e.mid_time = start.mjd + duration / 2 / 86400
    e.end_time = start.mjd + duration / 86400
    e.nresets_at_start, e.nresets_between_ints, e.sample_time = 0, 1, 10
    sa = meta.subarray
    sa.name, sa.xstart, sa.ystart, sa.xsize, sa.ysize, sa.fastaxis, sa.slowaxis = (
        subarray,
        s.xstart,
        s.ystart,
        nx,
        ny,
        1,
        2,
    )
    o = meta.observation
    o.date, o.time = start.isot.split("T")
    o.program_number, o.observation_number, o.visit_number, o.visit_group = "01234", "001", "001", "01"
    o.sequence_id, o.activity_id, o.exposure_number = "1", "01", "00001"
    ap = _siaf_aperture(s.siaf_aperture)
    ra, dec, pa_v3 = 261.2178, 60.4307, 120.0
    w = meta.wcsinfo
    w.v2_ref, w.v3_ref, w.v3yangle, w.vparity = ap.V2Ref, ap.V3Ref, ap.V3IdlYAngle, ap.VIdlParity
    w.ra_ref, w.dec_ref, w.roll_ref = ra, dec, pa_v3 + ap.V3IdlYAngle
    w.siaf_xref_sci, w.siaf_yref_sci = ap.XSciRef, ap.YSciRef
    w.wcsaxes, w.crpix1, w.crpix2, w.crval1, w.crval2 = 2, ap.XSciRef, ap.YSciRef, ra, dec
    w.ctype1, w.ctype2, w.cunit1, w.cunit2 = "RA---TAN", "DEC--TAN", "deg", "deg"
    w.cdelt1 = w.cdelt2 = 0.11 / 3600
    roll = np.deg2rad(w.roll_ref)
    w.pc1_1, w.pc1_2, w.pc2_1, w.pc2_2 = -np.cos(roll), np.sin(roll), np.sin(roll), np.cos(roll)
    meta.pointing.ra_v1, meta.pointing.dec_v1, meta.pointing.pa_v3 = ra, dec, pa_v3
    meta.velocity_aberration.scale_factor = 1.0
    meta.target.ra, meta.target.dec, meta.target.proposer_name = ra, dec, "SYNTHETIC"
    model.save(str(path))
    return float(e.mid_time)


def _expected_photmjsr(filt: str, subarray: str, expmid: float) -> float:
    """photmjsr / correction(EXPMID), computed here from the injected coefficients."""
    c = S.true_time_coeffs()[filt]
    dt = expmid - c["t0"]
    correction = (1.0 - c["lossperyear"] * dt / 365.0) * (c["amplitude"] * np.exp(-dt / c["tau"]) + c["const"])
    return S.TRUE_CALFACTOR[filt] / C.SUBARR_COR[subarray] / correction


def _read_mapping_selector(path: Path) -> dict:
    text = path.read_text()
    return ast.literal_eval(text.split("selector = ", 1)[1])


DETECTOR1 = """
import sys
from jwst.pipeline import Detector1Pipeline
Detector1Pipeline.call(sys.argv[1], output_dir=sys.argv[2], save_results=True,
                       steps={"ipc": {"skip": True}, "emicorr": {"skip": True}})
"""
IMAGE2 = """
import sys
from jwst.pipeline import Image2Pipeline
Image2Pipeline.call(sys.argv[1], output_dir=sys.argv[2], save_results=True)
"""


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    t0 = time.perf_counter()
    path = cc.build_crds_cache(tmp_path_factory.mktemp("crds") / "cache")
    info = json.loads((path / "manifest.json").read_text())
    print(f"\nCRDS cache: {info['total_bytes'] / 1e6:.1f} MB, built in {time.perf_counter() - t0:.1f} s")
    return path


@pytest.fixture(scope="module")
def detector1_run(cache, tmp_path_factory):
    work = tmp_path_factory.mktemp("det1")
    uncal = work / "jw01234001001_01101_00001_mirimage_uncal.fits"
    expmid = _make_uncal(uncal)
    proc = _py(DETECTOR1, uncal, work, env=_cache_env(cache), cwd=work)
    return work, uncal.name.replace("_uncal", "_rate"), expmid, proc


# --------------------------------------------------------------------------
# (1) mappings and layout
# --------------------------------------------------------------------------
def test_cache_layout_and_size(cache):
    info = json.loads((cache / "manifest.json").read_text())
    assert info["total_bytes"] < 600e6
    assert (cache / "config/jwst/ref_cache_subdir_mode").read_text().strip() == "instrument"
    config = ast.literal_eval((cache / "config/jwst/server_config").read_text())
    assert config["operational_context"] == "jwst_sim_0001.pmap"
    assert (cache / "references/jwst/fgs").is_dir() and not any((cache / "references/jwst/fgs").iterdir())
    assert not list(cache.parent.glob(".cache.*")), "temporary build directory left behind"
    env_sh = (cache / "crds_env.sh").read_text()
    for key, value in cc.crds_environment(cache).items():
        assert f"export {key}={value}" in env_sh
    # every file named by an rmap is in the cache
    for rmap in (cache / "mappings/jwst").glob("*.rmap"):
        for name in set(_leaves(_read_mapping_selector_text(rmap))) - {"N/A"}:
            assert (cache / "references/jwst/miri" / name).is_file(), name


def _read_mapping_selector_text(path: Path) -> str:
    return path.read_text().split("selector = ", 1)[1]


def _leaves(selector_text: str):
    import re

    return re.findall(r"'(jwst_miri_[^']+\.(?:fits|asdf)|N/A)'", selector_text)


def test_crds_checksum_verify(cache):
    maps = sorted((cache / "mappings/jwst").glob("*.*map"))
    assert len(maps) == 17  # pmap + imap + 15 rmaps
    # through the generated environment script, as a user would do it
    cmd = f"source {cache / 'crds_env.sh'} && {BIN / 'crds'} checksum --verify " + " ".join(map(str, maps))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRDS_")}
    proc = _run(["bash", "-c", cmd], env, cache.parent)
    assert proc.returncode == 0, proc.stdout
    assert "ERROR" not in proc.stdout
    assert proc.stdout.count("Verifying checksum") == len(maps)


def test_mapping_checksum_detects_edit(cache, tmp_path):
    rmap = tmp_path / "jwst_miri_gain_sim_0001.rmap"
    rmap.write_text((cache / "mappings/jwst" / rmap.name).read_text().replace("Gain (synthetic", "Gain (edited"))
    proc = _run([str(BIN / "crds"), "checksum", "--verify", str(rmap)], _cache_env(cache), tmp_path)
    assert proc.returncode != 0 and "sha1sum mismatch" in proc.stdout


def test_imap_lists_every_reftype_jwst_asks_for(cache):
    from jwst.pipeline import Coron3Pipeline, Detector1Pipeline, Image2Pipeline, Image3Pipeline

    selector = _read_mapping_selector(cache / "mappings/jwst/jwst_miri_sim_0001.imap")
    needed = set()
    for pipe in (Detector1Pipeline, Image2Pipeline, Image3Pipeline, Coron3Pipeline):
        needed.add("pars-" + pipe.__name__.lower())
        for step in pipe.step_defs.values():
            needed |= set(step.reference_file_types) | {"pars-" + step.__name__.lower()}
    assert needed <= set(selector), sorted(needed - set(selector))
    assert all(v == "N/A" for k, v in selector.items() if k.startswith("pars-"))
    for reftype in ("mask", "dark", "flat", "photom", "distortion", "apcorr", "abvegaoffset", "area", "reset"):
        assert selector[reftype] == f"jwst_miri_{reftype}_sim_0001.rmap"


# --------------------------------------------------------------------------
# (2) best references
# --------------------------------------------------------------------------
BESTREFS = """
import json, sys
import crds
out = {}
for exp_type, subarray, filt in (("MIR_IMAGE", "SUB256", "F770W"), ("MIR_4QPM", "MASK1065", "F1065C"),
                                 ("MIR_IMAGE", "FULL", "FND"), ("MIR_IMAGE", "FULL", "F770W")):
    header = {
        "META.INSTRUMENT.NAME": "MIRI", "META.INSTRUMENT.DETECTOR": "MIRIMAGE",
        "META.INSTRUMENT.FILTER": filt, "META.EXPOSURE.TYPE": exp_type,
        "META.EXPOSURE.READPATT": sys.argv[1] if filt == "F770W" and subarray == "FULL" else "FASTR1",
        "META.SUBARRAY.NAME": subarray,
        "META.OBSERVATION.DATE": "2023-06-15", "META.OBSERVATION.TIME": "12:00:00",
    }
    refs = crds.getreferences(header, reftypes=sys.argv[2].split(","), observatory="jwst")
    out[f"{exp_type}/{subarray}/{filt}"] = {k: v if v.startswith("NOT FOUND") else v.rsplit("/", 1)[-1]
                                             for k, v in refs.items()}
print("RESULT" + json.dumps(out))
"""


def test_best_references(cache, tmp_path):
    reftypes = (
        "mask saturation linearity gain readnoise rscd reset dark flat area photom distortion filteroffset "
        "apcorr abvegaoffset ipc superbias refpix emicorr pars-sourcecatalogstep"
    ).split()
    proc = _py(BESTREFS, "SLOWR1", ",".join(reftypes), env=_cache_env(cache), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "CRDS - ERROR" not in proc.stdout
    result = json.loads(proc.stdout.split("RESULT", 1)[1])
    common = {
        "mask": "jwst_miri_mask_sim_0001.fits",
        "saturation": "jwst_miri_saturation_sim_0001.fits",
        "linearity": "jwst_miri_linearity_sim_0001.fits",
        "gain": "jwst_miri_gain_sim_0001.fits",
        "readnoise": "jwst_miri_readnoise_sim_0001.fits",
        "rscd": "jwst_miri_rscd_sim_0001.fits",
        "flat": "jwst_miri_flat_sim_0001.fits",
        "area": "jwst_miri_area_sim_0001.fits",
        "photom": "jwst_miri_photom_sim_0001.fits",
        "distortion": "jwst_miri_distortion_sim_0001.asdf",
        "filteroffset": "jwst_miri_filteroffset_sim_0001.asdf",
        "apcorr": "jwst_miri_apcorr_sim_0001.fits",
        "abvegaoffset": "jwst_miri_abvegaoffset_sim_0001.asdf",
    }
    na = {"ipc", "superbias", "refpix", "emicorr", "pars-sourcecatalogstep"}
    for key, sub in (("MIR_IMAGE/SUB256/F770W", "sub256"), ("MIR_4QPM/MASK1065/F1065C", "mask1065")):
        refs = result[key]
        for reftype, name in common.items():
            assert refs[reftype] == name, (key, reftype)
        assert refs["dark"] == f"jwst_miri_dark_sim_{sub}_0001.fits"
        assert refs["reset"] == f"jwst_miri_reset_sim_{sub}_0001.fits"
        for reftype in na:
            assert refs[reftype].upper() == "NOT FOUND N/A", (key, reftype, refs[reftype])
    assert result["MIR_IMAGE/FULL/FND"]["flat"] == common["flat"]
    assert result["MIR_IMAGE/FULL/FND"]["dark"] == "jwst_miri_dark_sim_full_0001.fits"
    # an unsupported readout pattern degrades softly to N/A instead of failing
    assert result["MIR_IMAGE/FULL/F770W"]["dark"].upper() == "NOT FOUND N/A"


# --------------------------------------------------------------------------
# (3) Detector1 and (4) Image2 with the real pipeline
# --------------------------------------------------------------------------
def test_detector1_recovers_rate(detector1_run):
    from stdatamodels.jwst import datamodels as dm

    work, rate_name, _, proc = detector1_run
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert "CRDS - ERROR" not in proc.stdout
    with dm.open(work / rate_name) as rate:
        assert np.nanmedian(rate.data) == pytest.approx(SLOPE, rel=0.005)
        steps = rate.meta.cal_step
        for step in ("dq_init", "saturation", "reset", "linearity", "rscd", "dark_sub", "jump", "ramp_fit"):
            assert getattr(steps, step) == "COMPLETE", step
        assert rate.meta.ref_file.dark.name == "crds://jwst_miri_dark_sim_sub256_0001.fits"
        assert rate.meta.ref_file.crds.context_used == "jwst_sim_0001.pmap"
        # the mask subarray was extracted: the injected bad pixels of this subarray are DO_NOT_USE
        s = C.SUBARRAYS["SUB256"]
        bad = cc.bad_pixel_mask()[s.ystart - 1 : s.ystart - 1 + s.ysize, s.xstart - 1 : s.xstart - 1 + s.xsize]
        assert np.array_equal((rate.dq & 1) > 0, bad)


def test_image2_applies_time_dependent_photom(cache, detector1_run):
    from stdatamodels.jwst import datamodels as dm

    work, rate_name, expmid, _ = detector1_run
    proc = _py(IMAGE2, work / rate_name, work, env=_cache_env(cache), cwd=work)
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert "CRDS - ERROR" not in proc.stdout
    assert "Multiplicative time dependence correction" in proc.stdout
    expected = _expected_photmjsr("F770W", "SUB256", expmid)
    with dm.open(work / rate_name.replace("_rate", "_cal")) as cal:
        assert cal.meta.exposure.mid_time == pytest.approx(expmid, abs=1e-9)
        assert cal.meta.photometry.conversion_megajanskys == pytest.approx(expected, rel=1e-5)
        assert cal.meta.photometry.pixelarea_steradians == pytest.approx(C.PHOTOM_PIXELAREA_SR)
        assert cal.meta.ref_file.photom.name == "crds://jwst_miri_photom_sim_0001.fits"
        for step in ("assign_wcs", "flat_field", "photom"):
            assert getattr(cal.meta.cal_step, step) == "COMPLETE", step
        assert np.nanmedian(cal.data) == pytest.approx(SLOPE * expected, rel=0.005)
    # the time correction matters here: without it PHOTMJSR would differ by > 1 %
    assert abs(expected / (S.TRUE_CALFACTOR["F770W"] / C.SUBARR_COR["SUB256"]) - 1) > 0.01
    # nothing was written into the cache
    newer = [p for p in cache.rglob("*") if p.stat().st_mtime > (cache / "manifest.json").stat().st_mtime]
    assert not newer


@pytest.mark.slow
def test_coronagraphic_chain_with_strun_and_image3(cache, tmp_path):
    """MASK1065 / F1065C through strun Detector1 and Image2, then Image3 with source_catalog."""
    from stdatamodels.jwst import datamodels as dm

    env = _cache_env(cache)
    uncal = tmp_path / "jw01234002001_01101_00001_mirimage_uncal.fits"
    expmid = _make_uncal(
        uncal, "MASK1065", "F1065C", "MIR_4QPM", ngroups=10, slope=4.0, stars=[(100, 150, 3000.0), (200, 60, 1500.0)]
    )
    strun = str(BIN / "strun")
    for args in (
        [strun, "calwebb_detector1", uncal.name, "--steps.ipc.skip=True", "--steps.emicorr.skip=True"],
        [strun, "calwebb_image2", uncal.name.replace("_uncal", "_rate")],
    ):
        proc = _run(args, env, tmp_path)
        assert proc.returncode == 0, proc.stdout[-5000:]
        assert "CRDS - ERROR" not in proc.stdout
    cal_path = tmp_path / uncal.name.replace("_uncal", "_cal")
    with dm.open(cal_path) as cal:
        assert cal.meta.exposure.type == "MIR_4QPM"
        assert cal.meta.ref_file.dark.name == "crds://jwst_miri_dark_sim_mask1065_0001.fits"
        assert cal.meta.photometry.conversion_megajanskys == pytest.approx(
            _expected_photmjsr("F1065C", "MASK1065", expmid), rel=1e-5
        )
        # the project relabels coronagraphic cals as imager data for Image3
        cal.meta.instrument.filter = C.FAKE_IMAGER_FILTER["F1065C"]
        cal.meta.exposure.type = "MIR_IMAGE"
        cal.save(str(tmp_path / "jw01234002001_01101_00001_mirimage_newcal.fits"))
    proc = _run(
        [
            str(BIN / "asn_from_list"),
            "-o",
            "asn.json",
            "--product-name",
            "coron",
            "jw01234002001_01101_00001_mirimage_newcal.fits",
        ],
        env,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stdout
    proc = _run([strun, "calwebb_image3", "asn.json"], env, tmp_path)
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert "CRDS - ERROR" not in proc.stdout
    assert "Using APCORR reference file" in proc.stdout
    from astropy.table import Table

    catalog = Table.read(tmp_path / "coron_cat.ecsv")
    assert len(catalog) >= 2


# --------------------------------------------------------------------------
# (5) detector content, photom rows, distortion
# --------------------------------------------------------------------------
def test_bad_pixel_mask_deterministic():
    a, b = cc.bad_pixel_mask(), cc.bad_pixel_mask()
    assert a.dtype == bool and a.shape == (1024, 1032)
    assert np.array_equal(a, b)
    frac = C.DETECTOR["bad_pixel_fraction"]
    assert a.sum() == round(frac * a.size)
    assert a.mean() == pytest.approx(frac, rel=0.01)
    # spread over the detector, not clustered
    rows, cols = np.nonzero(a)
    assert rows.min() < 100 and rows.max() > 900 and cols.min() < 100 and cols.max() > 900


def test_mask_file_matches_bad_pixel_mask(cache):
    from stdatamodels.jwst import datamodels as dm
    from stdatamodels.jwst.datamodels import dqflags

    with dm.MaskModel(str(cache / "references/jwst/miri/jwst_miri_mask_sim_0001.fits")) as mask:
        dq = mask.dq
        assert mask.meta.pedigree == "DUMMY" and mask.meta.author == "absflux synthetic"
        assert mask.meta.useafter.startswith("2000-01-01")
    dnu = (dq & dqflags.pixel["DO_NOT_USE"]) > 0
    refpix = (dq & dqflags.pixel["REFERENCE_PIXEL"]) > 0
    assert np.array_equal(dnu, cc.bad_pixel_mask())
    cols = list(C.DETECTOR["refpix_columns"])
    assert refpix[:, cols].all() and refpix.sum() == 1024 * len(cols)  # flagged REFERENCE_PIXEL only


def test_photom_rows_and_file(cache):
    from jwst.photom import time_dependence
    from stdatamodels.jwst import datamodels as dm

    rows = cc.photom_rows()
    phot = rows["phot_table"]
    n = sum(len(C.reffile_subarrays(f)) for f in C.ALL_FILTERS)
    assert len(phot) == len(rows["timecoeff_exponential"]) == len(rows["timecoeff_linear"]) == n
    for row in phot:
        f, sub = row["filter"].decode(), row["subarray"].decode()
        value = S.TRUE_CALFACTOR[f] / C.SUBARR_COR[sub]
        assert row["photmjsr"] == pytest.approx(value, rel=1e-6)
        assert row["uncertainty"] == pytest.approx(0.01 * value, rel=1e-6)
    with dm.MirImgPhotomModel(str(cache / "references/jwst/miri/jwst_miri_photom_sim_0001.fits")) as ftab:
        ftab.validate()
        assert ftab.meta.photometry.pixelarea_steradians == pytest.approx(C.PHOTOM_PIXELAREA_SR)
        assert ftab.meta.photometry.pixelarea_arcsecsq == pytest.approx(C.PHOTOM_PIXELAREA_ARCSEC2)
        mjd = 60300.25
        corr = time_dependence.get_correction_table(ftab, mjd)
        for i, row in enumerate(ftab.phot_table):
            f = row["filter"].strip() if isinstance(row["filter"], str) else row["filter"].decode().strip()
            assert corr[i] == pytest.approx(float(S.relative_sensitivity(f, mjd)), rel=1e-6)


def test_custom_photom_and_apcorr_rows(tmp_path):
    cal = {f: 1.0 + i for i, f in enumerate(C.ALL_FILTERS)}
    rows = cc.photom_rows(cal, S.true_time_coeffs(), C.SUBARR_COR)
    sel = (rows["phot_table"]["filter"] == b"F560W") & (rows["phot_table"]["subarray"] == b"SUB64")
    assert rows["phot_table"]["photmjsr"][sel][0] == pytest.approx(1.0 / 0.966, rel=1e-6)
    with pytest.raises(KeyError):
        cc.photom_rows({"F770W": 1.0}, S.true_time_coeffs(), C.SUBARR_COR)
    ap = cc._as_apcorr_array(
        [
            {
                "filter": "F770W",
                "subarray": "FULL",
                "eefraction": 0.7,
                "radius": 4.2,
                "apcorr": 1.44,
                "skyin": 8.8,
                "skyout": 14.4,
            },
            ("f560w", "sub64", 0.5, 1.0, 2.0, 5.0, 7.0),
        ]
    )
    assert ap["filter"].tolist() == [b"F770W", b"F560W"] and ap["subarray"][1] == b"SUB64"
    placeholder = cc.placeholder_apcorr_rows()
    assert len(placeholder) == len(C.ALL_FILTERS) * len(C.SUBARRAYS) * 7
    assert {round(float(v), 2) for v in placeholder["eefraction"]} >= {0.3, 0.5, 0.7}


def test_distortion_matches_siaf(cache):
    from stdatamodels.jwst import datamodels as dm

    ap = _siaf_aperture("MIRIM_FULL")
    with dm.DistortionModel(str(cache / "references/jwst/miri/jwst_miri_distortion_sim_0001.asdf")) as dist:
        model = dist.model
        x = np.array([100.0, 692.5, 1000.0, 500.0])
        y = np.array([100.0, 511.5, 1000.0, 800.0])
        v2, v3 = model(x, y)
        sv2, sv3 = ap.sci_to_tel(x + 1, y + 1)
        assert np.allclose(v2, sv2, atol=1e-6) and np.allclose(v3, sv3, atol=1e-6)
        xb, yb = model.inverse(v2, v3)
        # the analytic inverse is the SIAF Idl2Sci polynomial: exact w.r.t. pysiaf, and a round trip
        # accurate to the SIAF inverse itself (a few 0.01 px)
        sx, sy = ap.tel_to_sci(v2, v3)
        assert np.allclose(xb, sx - 1, atol=1e-6) and np.allclose(yb, sy - 1, atol=1e-6)
        assert np.allclose(xb, x, atol=0.1) and np.allclose(yb, y, atol=0.1)


# --------------------------------------------------------------------------
# build behaviour and environment
# --------------------------------------------------------------------------
def test_build_is_atomic_and_refuses_to_overwrite(tmp_path, monkeypatch):
    target = tmp_path / "cache"
    target.mkdir()
    (target / "marker").write_text("x")
    with pytest.raises(FileExistsError):
        cc.build_crds_cache(target)
    assert (target / "marker").exists()

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(cc, "_write_photom", boom)
    with pytest.raises(RuntimeError, match="interrupted"):
        cc.build_crds_cache(target, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]  # no half cache, no temp dir
    assert (target / "marker").exists()  # old content untouched

    monkeypatch.undo()
    assert cc.build_crds_cache(target, overwrite=True) == target.resolve()
    assert not (target / "marker").exists() and (target / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


ACTIVATE = """
import os, sys
import jwst.pipeline  # imports crds, which is harmless before the first lookup
from absflux import crds_cache as cc
env = cc.activate_crds_cache(sys.argv[1])
assert all(os.environ[k] == v for k, v in env.items())
import crds
refs = crds.getreferences({"META.INSTRUMENT.NAME": "MIRI", "META.INSTRUMENT.DETECTOR": "MIRIMAGE",
                           "META.OBSERVATION.DATE": "2023-06-15", "META.OBSERVATION.TIME": "00:00:00"},
                          reftypes=["gain"], observatory="jwst")
assert refs["gain"].endswith("jwst_miri_gain_sim_0001.fits"), refs
cc.activate_crds_cache(sys.argv[1])  # same configuration again: fine
os.environ["CRDS_CONTEXT"] = "jwst_other.pmap"
try:
    cc.activate_crds_cache(sys.argv[1])
except RuntimeError as err:
    print("REFUSED", err)
"""


def test_activate_crds_cache(cache, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRDS_")}
    proc = _py(ACTIVATE, cache, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "REFUSED" in proc.stdout and "CRDS_CONTEXT" in proc.stdout
    with pytest.raises(FileNotFoundError):
        cc.activate_crds_cache(tmp_path)


def test_crds_environment():
    env = cc.crds_environment("some/dir")
    assert env["CRDS_PATH"] == str(Path("some/dir").resolve())
    assert env["CRDS_SERVER_URL"] == "https://127.0.0.1:9"
    assert env["CRDS_MODE"] == "local" and env["CRDS_CONTEXT"] == "jwst_sim_0001.pmap"
    assert env["CRDS_READONLY_CACHE"] == "1"
    with pytest.raises(ValueError):
        cc.crds_environment("x", "not_a_context")


def test_readnoise_file_is_cds(cache):
    from stdatamodels.jwst import datamodels as dm

    with dm.ReadnoiseModel(str(cache / "references/jwst/miri/jwst_miri_readnoise_sim_0001.fits")) as rn:
        assert float(np.median(rn.data)) == pytest.approx(np.sqrt(2) * C.DETECTOR["readnoise"], rel=1e-6)
