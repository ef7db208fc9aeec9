"""NIRISScountrates with synphot (spec section 9) and the NIS-020 reference (spec section 13.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from absflux.niriss import constants as C
from absflux.niriss.cli import countrates_main
from absflux.niriss.countrates import predict_countrates
from absflux.niriss.io import NirissInputError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
WD1057 = SHARED / "data" / "calspec" / "wd1057_719_stisnic_009.fits"
PANDEIA = SHARED / "data" / "bandpasses" / "niriss_pandeia"
COMPONENTS = SHARED / "data" / "niriss" / "throughputs"
needs_shared = pytest.mark.skipif(not (WD1057.is_file() and PANDEIA.is_dir()), reason="../shared not available")

H_CGS = 6.62607015e-27
C_AA = 2.99792458e18


def _flat_flam_spectrum(path, flam=1e-15, wmin=5000.0, wmax=60000.0):
    from astropy.io import fits

    w = np.linspace(wmin, wmax, 5000)
    cols = [
        fits.Column(name="WAVELENGTH", format="D", unit="ANGSTROMS", array=w),
        fits.Column(name="FLUX", format="D", unit="FLAM", array=np.full(w.size, flam)),
    ]
    hdr = fits.Header()
    hdr["TARGETID"] = "FLAT"
    fits.HDUList([fits.PrimaryHDU(header=hdr), fits.BinTableHDU.from_columns(cols)]).writeto(path)
    return str(path)


def _box_curves(directory, l1=14000.0, l2=16000.0):
    directory.mkdir()
    w = np.concatenate([[5000.0, l1 - 0.01], np.linspace(l1, l2, 2001), [l2 + 0.01, 60000.0]])
    t = np.concatenate([[0.0, 0.0], np.ones(2001), [0.0, 0.0]])
    for f in C.FILTERS:
        np.savetxt(directory / f"jwst_niriss_{f.lower()}.dat", np.column_stack([np.arange(w.size) + 1, w, t]))
    return str(directory)


def test_box_bandpass_flat_flam_analytic(tmp_path):
    """N = F_lambda A (l2^2 - l1^2) / (2 h c) for a unit box on [l1, l2]."""
    spec = _flat_flam_spectrum(tmp_path / "flat.fits")
    d = _box_curves(tmp_path / "box")
    target, preds = predict_countrates(spec, d, filters=("F150W", "F277W"))
    assert target == "FLAT"
    expected = 1e-15 * C.COLLECTING_AREA_CM2 * (16000.0**2 - 14000.0**2) / (2 * H_CGS * C_AA)
    assert preds[0].countrate == pytest.approx(expected, rel=1e-4)
    assert preds[0].kind == "pandeia" and preds[0].factor == 1.0
    # LW pandeia curves get the CLEARP factor
    assert preds[1].countrate == pytest.approx(C.CLEARP_FACTOR * expected, rel=1e-4) and preds[1].factor == 0.84
    _, p2 = predict_countrates(spec, d, area_cm2=1.0, clearp_factor=1.0, filters=("F277W",))
    assert p2[0].countrate == pytest.approx(expected / C.COLLECTING_AREA_CM2, rel=1e-4)


def test_partial_overlap_raises_unless_forced(tmp_path):
    spec = _flat_flam_spectrum(tmp_path / "short.fits", wmin=15000.0, wmax=60000.0)
    d = _box_curves(tmp_path / "box")
    with pytest.raises(NirissInputError, match="does not cover"):
        predict_countrates(spec, d, filters=("F150W",))
    from astropy.utils.exceptions import AstropyUserWarning

    with pytest.warns(AstropyUserWarning, match="tapered"):
        _, preds = predict_countrates(spec, d, force="taper", filters=("F150W",))
    assert 0 < preds[0].countrate


@needs_shared
def test_wd1057_pandeia_reproduces_nis020_table3():
    """Acceptance: all 12 filters within 2 % of the published expected count rates."""
    target, preds = predict_countrates(str(WD1057), str(PANDEIA))
    assert target == "WD1057+719"
    ratios = {p.filter: p.countrate / C.WD1057_EXPECTED[p.filter] for p in preds}
    for f, r in ratios.items():
        assert abs(r - 1) < 0.02, (f, r)
    assert max(abs(r - 1) for r in ratios.values()) < 0.015


@needs_shared
def test_wd1057_lw_difference_is_the_clearp_obscuration():
    """Without the 0.84 CLEARP factor the pandeia LW predictions are 1/0.84 too high; SW unaffected."""
    _, preds = predict_countrates(str(WD1057), str(PANDEIA), clearp_factor=1.0)
    for p in preds:
        r = p.countrate / C.WD1057_EXPECTED[p.filter]
        if p.filter in C.LW_FILTERS:
            assert 1.17 < r < 1.19, (p.filter, r)
            assert r * C.CLEARP_FACTOR == pytest.approx(1.0, abs=0.015)
        else:
            assert abs(r - 1) < 0.01, (p.filter, r)


@needs_shared
def test_wd1057_component_throughputs_agree():
    """The NIRISS_magnitude_simulation components (MASKSCAL 0.84 of CLEARP) give the same answer."""
    if not (COMPONENTS / "standard_throughputs").is_dir():
        pytest.skip("component throughputs not available")
    _, preds = predict_countrates(str(WD1057), str(COMPONENTS))
    for p in preds:
        assert p.kind == "components"
        assert abs(p.countrate / C.WD1057_EXPECTED[p.filter] - 1) < 0.02, p.filter
        assert p.factor == (0.84 if p.filter in C.LW_FILTERS else 1.0)


@needs_shared
def test_pysynphot_layout_is_recognised(tmp_path):
    """jwst_nis_*.fits files (WAVELENGTH [A], THROUGHPUT) are taken as complete (CLEARP included)."""
    from astropy.io import fits

    d = tmp_path / "pysyn"
    d.mkdir()
    for f in ("F150W", "F444W"):
        data = np.loadtxt(PANDEIA / f"jwst_niriss_{f.lower()}.dat")
        t = data[:, 2] * (C.CLEARP_FACTOR if f in C.LW_FILTERS else 1.0)
        name = f"jwst_nis_clearp_{f.lower()}.fits" if f in C.LW_FILTERS else f"jwst_nis_{f.lower()}_clear.fits"
        cols = [fits.Column(name="WAVELENGTH", format="D", unit="ANGSTROM", array=data[:, 1]),
                fits.Column(name="THROUGHPUT", format="D", array=t)]  # fmt: skip
        fits.BinTableHDU.from_columns(cols).writeto(d / name)
    _, preds = predict_countrates(str(WD1057), str(d), filters=("F150W", "F444W"))
    _, ref = predict_countrates(str(WD1057), str(PANDEIA), filters=("F150W", "F444W"))
    for p, q in zip(preds, ref, strict=True):
        assert p.kind == "pysynphot" and p.countrate == pytest.approx(q.countrate, rel=1e-9)


@needs_shared
def test_cli_printout(tmp_path, capsys):
    rc = countrates_main([str(WD1057), "--throughputs", str(PANDEIA), "--outtab", str(tmp_path / "cr.txt")])
    assert rc == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "# Predicted Count Rates for WD1057+719"
    assert out[1].split() == list(C.FILTERS)
    vals = [float(v) for v in out[2].split()]
    assert vals == pytest.approx([C.WD1057_EXPECTED[f] for f in C.FILTERS], rel=0.02)
    text = (tmp_path / "cr.txt").read_text()
    assert "synphot 1.8" in text and "wd1057_719_stisnic_009.fits" in text
