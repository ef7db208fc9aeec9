"""The simulated campaign (step 0): files, headers, truth, and Detector1 recovering the injected rate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from absflux import constants as C

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from absflux import campaign as CP
    from absflux.simulate import simulate_campaign

    out = tmp_path_factory.mktemp("sim") / "tiny"
    rules = CP.load_campaign(preset="tiny")
    summary = simulate_campaign(rules, out, jobs=2, progress=False)
    return out, summary


def _env(out: Path) -> dict:
    from absflux.crds_cache import crds_environment

    env = dict(os.environ)
    env.update(crds_environment(out / "crds_cache"))
    return env


def test_tree_and_truth(tiny):
    out, summary = tiny
    truth = Table.read(out / "truth.ecsv")
    uncals = sorted(out.glob("*/*/jw*_mirimage_uncal.fits"))
    assert len(uncals) == len(truth) == summary["exposures"] > 20
    for p in uncals:
        assert p.parent.parent.name in C.STAR_TYPES
        assert p.parent.name in C.ALL_FILTERS
    assert not list(out.rglob(".part_*")), "temporary files left behind"
    # injected truths recorded
    meta = truth.meta
    assert set(meta["calfactors_full_t0"]) == set(C.ALL_FILTERS)
    assert set(meta["time_coeffs"]) == set(C.ALL_FILTERS)
    assert meta["subarr_cor"]["SUB64"] == C.SUBARR_COR["SUB64"]
    assert "jwst" in meta["software"] and meta["seed"] == 7
    # C_true follows its definition
    from absflux import sim_defaults as D

    for r in truth:
        c = D.true_calfactor(r["filter"], r["expmid"], r["subarray"])
        assert r["calfactor"] == pytest.approx(c, rel=1e-12)
        assert r["total_rate"] == pytest.approx(1e-6 * r["flux_jy"] / (c * r["pixel_area_sr"]), rel=1e-12)
        assert 0.5 * r["total_rate"] < r["rendered_rate"] <= r["total_rate"] * (1 + 1e-9)
    # one background level per visit and filter (no sky steps between dithers), within +-3% of nominal
    from absflux.campaign import truth_sky

    sky = truth_sky({"name": "tiny"})
    visits = {}
    for r in truth:
        ratio = float(r["sky_rate"]) / sky[str(r["filter"])]
        assert 0.97 <= ratio <= 1.03
        visits.setdefault((str(r["filename"]).split("_")[0], str(r["filter"])), set()).add(round(ratio, 12))
    assert all(len(v) == 1 for v in visits.values())
    assert len({next(iter(v)) for v in visits.values()}) > len(visits) // 2  # and it differs between visits
    # models and bandpasses
    for star in C.STARS.values():
        assert (out / "Models" / f"{star.model_key}_stis_001.fits").is_file()
        assert (out / "Models" / f"grieke23_{star.model_key}.dat").is_file() == star.grieke
    for f in C.ALL_FILTERS:
        assert (out / "Models" / f"bandpass_{f.lower()}.dat").is_file()
    assert (out / "crds_cache" / "crds_env.sh").is_file()


def test_band_flux_truth_from_written_models(tiny):
    """The written CALSPEC/G. Rieke files integrate to the recorded true band fluxes."""
    out, _ = tiny
    from absflux import bands as B
    from absflux import spectra as S

    stars = Table.read(out / "truth_stars.ecsv")
    bp = {f: B.read_bandpass_file(out / "Models" / f"bandpass_{f.lower()}.dat") for f in ("F770W", "F2100W")}
    for row in stars:
        star = C.STARS[row["name"]]
        if star.grieke:
            w, fl = S.read_grieke(out / "Models" / f"grieke23_{star.model_key}.dat")
        else:
            w, fl = S.read_calspec(out / "Models" / f"{star.model_key}_stis_001.fits")
        for f, (wb, rb) in bp.items():
            assert B.band_flux_jy(w, fl, wb, rb)[0] == pytest.approx(row[f], rel=2e-4), (row["name"], f)


def test_uncals_validate(tiny):
    from stdatamodels.jwst import datamodels as dm

    out, _ = tiny
    truth = Table.read(out / "truth.ecsv")
    for p in sorted(out.glob("*/*/jw*_uncal.fits")):
        with dm.Level1bModel(p) as m:
            m.validate()
            assert m.data.dtype == np.uint16 and m.data.ndim == 4
            assert m.meta.filename == p.name
            assert m.meta.instrument.filter == p.parent.name
            assert m.meta.exposure.ngroups == m.data.shape[1]
            assert m.meta.subarray.xsize == m.data.shape[3]
            assert m.meta.exposure.start_time < m.meta.exposure.mid_time < m.meta.exposure.end_time
        with dm.RampModel(p) as r:
            r.validate()
    row = truth[0]
    with dm.Level1bModel(out / row["startype"] / row["filter"] / row["filename"]) as m:
        assert C.canonical_name(m.meta.target.catalog_name) == row["name"]
        assert m.meta.target.ra == pytest.approx(row["ra"])


def test_bad_input_cli(tmp_path):
    script = REPO / "simulate_campaign.py"
    r = subprocess.run(
        [sys.executable, str(script), "--preset", "nope", "--out", str(tmp_path / "x")], capture_output=True, text=True
    )
    assert r.returncode == 2 and "unknown preset 'nope'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nrepeat: {star: BD+60 1753, filters: [F123W]}\n")
    r = subprocess.run(
        [sys.executable, str(script), "--config", str(bad), "--out", str(tmp_path / "y")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "bad.yaml" in r.stderr and "F123W" in r.stderr
    assert not (tmp_path / "y").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.yaml"]


def _expected_rate(out: Path, row) -> np.ndarray:
    from absflux.simulate import psf_provider_for

    psfs = psf_provider_for(out)
    s = C.SUBARRAYS[row["subarray"]]
    return (
        psfs.render(row["filter"], row["x_sub"], row["y_sub"], (s.ysize, s.xsize), row["total_rate"]) + row["sky_rate"]
    )


@pytest.mark.parametrize("which", ["SUB256", "MASK1065"])
def test_strun_detector1_recovers_injected_rate(tiny, tmp_path, which):
    """Acceptance: `strun calwebb_detector1` with only the cache environment; rate matches the injection."""
    from stdatamodels.jwst import datamodels as dm

    out, _ = tiny
    truth = Table.read(out / "truth.ecsv")
    row = [r for r in truth if r["subarray"] == which][0]
    uncal = out / row["startype"] / row["filter"] / row["filename"]
    strun = Path(sys.executable).with_name("strun")
    r = subprocess.run(
        [str(strun), "calwebb_detector1", str(uncal), f"--output_dir={tmp_path}"],
        capture_output=True,
        text=True,
        env=_env(out),
        cwd=tmp_path,
    )
    log = r.stdout + r.stderr
    assert r.returncode == 0, log[-3000:]
    assert "CRDS - ERROR" not in log
    rate_file = tmp_path / row["filename"].replace("_uncal", "_rate")
    with dm.ImageModel(rate_file) as m:
        rate, err, dq = m.data, m.err, m.dq
    expected = _expected_rate(out, row)
    good = (dq & 1) == 0
    good[
        :,
        [
            c
            for c in range(rate.shape[1])
            if c + C.SUBARRAYS[row["subarray"]].xstart - 1 in C.DETECTOR["refpix_columns"]
        ],
    ] = False
    chi = ((rate - expected) / err)[good & (err > 0)]
    assert abs(np.median(chi)) < 0.1
    assert 0.7 < np.std(chi[np.abs(chi) < 10]) < 1.4
    # the star: total rate in a box around it matches the injection within 3 sigma
    x, y, hw = int(round(row["x_sub"])), int(round(row["y_sub"])), int(4 * C.FWHM[row["filter"]])
    box = (slice(max(y - hw, 0), y + hw + 1), slice(max(x - hw, 0), x + hw + 1))
    g = good[box]
    diff = float(np.sum((rate[box] - expected[box])[g]))
    sigma = float(np.sqrt(np.sum(err[box][g] ** 2)))
    assert abs(diff) < 3 * sigma, (diff, sigma, float(np.sum(expected[box][g])))


def test_vetted_sets_match_step1_names(tiny):
    """The campaign's vetted_sets.yaml names sets exactly as step 1 will create them."""
    import yaml

    from absflux.pipeline import sort_uncal

    out, _ = tiny
    vetted = yaml.safe_load((out / "vetted_sets.yaml").read_text())["filters"]
    assert {"F770W", "F2100W", "F1065C", "FND"} <= set(vetted)
    assert vetted["F770W"]["fwhmfac"] == 15.0 and vetted["F2100W"]["fwhmfac"] == 5.0
    for filt, entry in vetted.items():
        for s in entry["sets"]:
            stype, name = s.split("/")
            assert name in {d.name for d in sort_uncal(out / stype / filt, filt)}, (filt, s)
