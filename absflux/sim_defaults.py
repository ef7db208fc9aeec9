"""Default injected truths of the simulated calibration campaign.

These are realistic-order values chosen for the embedded default data set,
NOT the flight calibration.  A campaign file may override any of them; the
values actually used are written to ``truth.ecsv`` of each simulated campaign.
"""

from __future__ import annotations

import numpy as np

from . import constants as C

#: Calibration factor at t0 = STARTDAY in FULL, (MJy/sr)/(DN/s/pix).
TRUE_CALFACTOR = {
    "F560W": 0.4420,
    "F770W": 0.2770,
    "F1000W": 0.5380,
    "F1130W": 1.4500,
    "F1280W": 0.6170,
    "F1500W": 0.7050,
    "F1800W": 1.3410,
    "F2100W": 0.8120,
    "F2550W": 2.9630,
    "F1065C": 1.4850,
    "F1140C": 1.3960,
    "F1550C": 3.7400,
    "F2300C": 3.4400,
    "FND": 45.00,
}

#: Time dependence of the imager response (flux-like relative sensitivity),
#: in the product form the jwst photom step evaluates:
#: s(t) = (1 - lossperyear (t - t0)/365) (amplitude exp(-(t - t0)/tau) + const),
#: amplitude + const = 1, tau in days (positive), lossperyear positive = loss.
TRUE_TIME_IMAGER = {
    # filter: (amplitude, tau [d], lossperyear)
    "F560W": (0.005, 100.0, 0.002),
    "F770W": (0.012, 100.0, 0.003),
    "F1000W": (0.025, 100.0, 0.004),
    "F1130W": (0.040, 100.0, 0.005),
    "F1280W": (0.050, 100.0, 0.006),
    "F1500W": (0.080, 150.0, 0.008),
    "F1800W": (0.120, 200.0, 0.010),
    "F2100W": (0.160, 220.0, 0.012),
    "F2550W": (0.250, 250.0, 0.015),
}


def true_time_coeffs() -> dict[str, dict[str, float]]:
    """Time coefficients for all 14 filters.

    Coronagraphic filters and FND are linear interpolations in wavelength of
    the bracketing imager filters (the same rule step 7 uses to derive them),
    so the closed loop is consistent by construction.
    """
    out = {}
    for f, (amp, tau, loss) in TRUE_TIME_IMAGER.items():
        out[f] = {"amplitude": amp, "tau": tau, "const": 1.0 - amp, "lossperyear": loss, "t0": C.STARTDAY}
    for f, (f1, f2) in C.CORON_INTERP_PAIRS.items():
        lam, l1, l2 = (C.CORON_INTERP_PIVOTS[x] for x in (f, f1, f2))
        w = (lam - l1) / (l2 - l1)
        c = {}
        for k in ("amplitude", "tau", "lossperyear"):
            c[k] = (1 - w) * out[f1][k] + w * out[f2][k]
        c["const"] = 1.0 - c["amplitude"]
        c["t0"] = C.STARTDAY
        out[f] = c
    return out


def relative_sensitivity(filt: str, mjd, coeffs: dict | None = None):
    """Injected relative sensitivity s(t) (count rate at t / count rate at t0)."""
    c = (coeffs or true_time_coeffs())[filt]
    dt = np.asarray(mjd, dtype=float) - c["t0"]
    return (1.0 - c["lossperyear"] * dt / 365.0) * (c["amplitude"] * np.exp(-dt / c["tau"]) + c["const"])


def true_calfactor(filt: str, mjd, subarray: str = "FULL", calfactors=None, coeffs=None, subarr_cor=None):
    """Injected calibration factor C(filter, t, subarray) in (MJy/sr)/(DN/s/pix).

    C(t, s) = C_FULL(t0) / (s(t) x subarr_cor[s]): the count rate falls with the
    sensitivity and scales with the subarray factor rate(s)/rate(FULL).
    """
    cal = (calfactors or TRUE_CALFACTOR)[filt]
    sc = (subarr_cor or C.SUBARR_COR)[subarray]
    return cal / (relative_sensitivity(filt, mjd, coeffs) * sc)


#: Sky + thermal background per filter in DN/s per detector pixel.  The
#: long-wave values are set so that the simulation's 10-sigma, 10 ks point-source
#: limits (the noise model of ``campaign._snr``) match the low-background limits
#: of JDox "MIRI Sensitivity" (ETC 4.0: F1500W 1.18, F1800W 2.42, F2550W 15.3 uJy;
#: F2100W stays a little more pessimistic than its 4.70 uJy); in MJy/sr the
#: coronagraphic skies lie between those of their imager neighbours.
SKY_BACKGROUND = {
    "F560W": 1.0,
    "F770W": 4.0,
    "F1000W": 8.0,
    "F1130W": 6.0,
    "F1280W": 20.0,
    "F1500W": 28.0,
    "F1800W": 23.0,
    "F2100W": 130.0,
    "F2550W": 95.0,
    "F1065C": 4.0,
    "F1140C": 4.0,
    "F1550C": 6.0,
    "F2300C": 52.0,
    "FND": 0.3,
}
