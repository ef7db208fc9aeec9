"""End to end: simulate_niriss.py (SUB64, SUB128, FULL) + run_niriss_batch.py, as `make niriss-demo` does."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "niriss"


@pytest.mark.slow
def test_niriss_demo_chain(tmp_path):
    sim = tmp_path / "niriss_run" / "sim"
    r = subprocess.run(
        [sys.executable, str(SCRIPTS / "simulate_niriss.py"), "--out", str(sim), "-q"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert len(list(sim.glob("jw01094*_nis_cal.fits"))) == 42
    r = subprocess.run(
        [sys.executable, str(SCRIPTS / "run_niriss_batch.py"), str(sim / "exposures.txt"),
         "--out", str(tmp_path / "niriss_run"), "--truth", str(sim / "truth.ecsv"), "-q"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "exposures: 42, failed: 0" in r.stdout
    rows = re.findall(r"^\s+(sub64|sub128|full)\s+(F\d{3}[WM])\s+\S+\s+\S+\s+\S+\s+(\S+)$", r.stdout, re.M)
    assert len(rows) == 3 + 12 + 6
    for sub, filt, ratio in rows:
        assert abs(float(ratio) - 1) < 0.02, (sub, filt, ratio)
    run = tmp_path / "niriss_run"
    for name in ("totfluxes_sub64.out", "totfluxes_sub128.out", "totfluxes_full.out", "summary.txt"):
        assert (run / name).is_file()
    assert len(list((run / "ee").glob("*.avtab"))) == 21
    assert len(list((run / "sb").glob("*.avsbtab"))) == 21
    assert len(list((run / "ee_median").glob("*a.radtab"))) == 42
