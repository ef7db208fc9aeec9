"""Tables 1-3 (observation log) and the machine-readable data table (spec 3.36, 3.37)."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from tiny_campaign import simulate_tiny  # noqa: E402

from absflux import constants as C
from absflux import tables as T

REPO = Path(__file__).resolve().parents[1]
PHOTOM_REL = Path("crds_cache") / "references" / "jwst" / "miri" / "jwst_miri_photom_sim_0001.fits"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The tiny simulated campaign (raw files with realistic headers and its truth table)."""

    return simulate_tiny(tmp_path_factory.mktemp("tables") / "tiny")


def test_filter_order_keeps_fnd():
    assert T.filter_list_order({"FND", "F770W", "F1000W", "F560W"}) == ["F560W", "F770W", "F1000W", "FND"]
    assert T.filter_list_order({"FND"}) == ["FND"]
    assert T.filter_list_order({"F2550W", "F1065C", "F770W"}) == ["F770W", "F1065C", "F2550W"]


def test_program_id():
    assert T.program_id("01536") == "1536"
    assert T.program_id("04496") == "4496"


def _direct_rows(root: Path) -> dict:
    """{(type, star, pid, subarray): set(filters)} straight from the uncal headers."""
    out = defaultdict(set)
    for t in C.STAR_TYPES:
        for f in C.ALL_FILTERS:
            for p in (root / t / f).glob("*uncal.fits"):
                h = fits.getheader(p)
                out[(t, C.canonical_name(h["TARGNAME"]), h["PROGRAM"][1:], h["SUBARRAY"])].add(h["FILTER"])
    return out


def test_obstable_rows_match_headers(demo, tmp_path):
    out = tmp_path / "obs.tex"
    res = subprocess.run(
        [sys.executable, str(REPO / "Tables" / "create_obstable.py"), "--root", str(demo), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = res.stdout.strip().splitlines()
    assert out.read_text().strip().splitlines() == lines
    direct = _direct_rows(demo)
    parsed = {}
    t = star = pid = None
    labels = {v: k for k, v in C.STAR_TYPE_LABEL.items()}
    for ln in lines:
        if ln.startswith(r"\hline"):
            t = labels[ln.split("{c}{")[1].split("}")[0]]
            continue
        name, p, sub, filts = (c.strip() for c in ln.rstrip("\\").split("&"))
        star = name or star
        pid = p or pid
        parsed[(t, star, pid, sub)] = filts.split(", ")
    assert set(parsed) == set(direct)
    for k, filts in parsed.items():
        assert set(filts) == direct[k], k
        assert filts == T.filter_list_order(direct[k])
    # the FND observations are no longer dropped (spec 3.36 bug)
    fnd = [k for k, v in direct.items() if "FND" in v]
    assert fnd and all("FND" in parsed[k] for k in fnd)


@pytest.fixture(scope="module")
def phot_root(tmp_path_factory, demo):
    from absflux.calfactors import synthetic_phot_tables

    root = tmp_path_factory.mktemp("phot")
    synthetic_phot_tables(demo / "truth.ecsv", root, bkgsub=False)
    return root


@pytest.fixture(scope="module")
def photom_path(demo):
    """The photom reference file of the tiny campaign's CRDS cache."""
    return demo / PHOTOM_REL


def test_datatable(phot_root, tmp_path, photom_path):
    res = subprocess.run(
        [
            sys.executable,
            str(REPO / "Tables" / "create_datatable.py"),
            "--root",
            str(phot_root),
            "--photom",
            str(photom_path),
            "--outdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    ipac = Table.read(tmp_path / "miri_absflux_program_data.dat", format="ascii.ipac")
    assert set(ipac["srctype"]) == set(C.STAR_TYPES)
    assert "FND" not in set(ipac["filter"])
    assert (tmp_path / "miri_absflux_program_data.tex").stat().st_size > 0
    assert (tmp_path / "miri_absflux_program_data_mrt.txt").stat().st_size > 0
    # sorted by name, then nominal wavelength
    names = list(ipac["name"])
    assert names == sorted(names)
    # one row recomputed by hand
    refs, _ = T.read_photom_calfactors(photom_path)
    r = ipac[0]
    phot = Table.read(phot_root / r["srctype"] / f"{r['filter']}_eefrac0.7_phot.fits")
    i = int(np.argmin(np.abs(phot["timemid"] - r["time"]) + np.abs(phot["aperture_sum_bkgsub"] - r["iflux"])))
    ct = refs[(r["filter"], r["subarray"])].calfactor(phot["timemid"][i])
    flux = 1e9 * phot["aperture_sum_bkgsub"][i] * phot["apcorr"][i] * C.PHOTOM_PIXELAREA_SR * ct
    assert r["flux"] == pytest.approx(flux, rel=1e-4)
    assert r["bkg"] == pytest.approx(phot["mean_bkg"][i] * ct, rel=1e-4)


def test_read_photom_formats(tmp_path, photom_path):
    ph = fits.open(photom_path)["PHOTOM"].copy()
    n = len(ph.data)
    tc = fits.BinTableHDU.from_columns(
        [
            fits.Column("amplitude", "E", array=np.full(n, 0.1)),
            fits.Column("tau", "E", array=np.full(n, 100.0)),
            fits.Column("t0", "E", array=np.full(n, 59720.0)),
        ],
        name="TIMECOEFF",
    )
    fits.HDUList([fits.PrimaryHDU(), ph, tc]).writeto(tmp_path / "old.fits")
    refs, _ = T.read_photom_calfactors(tmp_path / "old.fits")
    key = ("F770W", "FULL")
    c = float(
        ph.data["photmjsr"][
            [
                i
                for i in range(n)
                if ph.data["filter"][i].strip() == "F770W" and ph.data["subarray"][i].strip() == "FULL"
            ][0]
        ]
    )
    assert refs[key].calfactor(59720.0) == pytest.approx(c + 0.1, rel=1e-6)
    with pytest.raises(T.TableError):
        T.read_photom_calfactors(tmp_path / "nope.fits")
