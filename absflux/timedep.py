"""Step 7: time-dependent sensitivity from the repeat star (spec 3.17, 3.18; paper Fig. 5).

The calibration factors C of the repeat star BD+60 1753 (``constants.REPEAT_STAR``) are turned into the
flux-like quantity y = 1/C, referred to SUB256 with the adopted subarray factors, extended with the
bridging stars (``constants.BRIDGING_STARS``, each scaled to the repeat star at the time-nearest epoch),
and fitted against x = MJD - 59720 (``constants.STARTDAY``).

The adopted model is written in the product form the jwst ``photom`` step evaluates::

    y(x) = y0 (1 + lossperyear x / 365) (amp exp(x / tau) + const),   amp + const = 1

(``tau`` < 0 and ``lossperyear`` <= 0 for a loss, the convention of the ``_repeat_<F>_fit.dat`` files read
by :func:`absflux.calfactors.read_repeat_fit`).  That form is fitted *directly* (``y0``, ``amp``, ``tau``
and ``lossperyear`` are the fit parameters), so the written coefficients reproduce the fitted curve
exactly; the original fitted an additive ``exp + line`` and converted it approximately.  ``exp+line``
(default) is the current method; ``exp`` (``lossperyear`` = 0) is the exponential model of the paper,
now also normalised at t0.  The other models of the figure (``powerlaw``, ``line``, ``exp+exp``) are
additive curves shown for comparison only.

Differences from the original scripts (spec sections 3.17, 3.18 and 7 items 9, 12, 15, 19):

* the bridging point is chosen by time (latest epoch of the bridging star, time-nearest epoch of the
  repeat star), not by table order; with ``bridge_window`` > 0 (default 1 d) the points of those two
  epochs are averaged (0 reproduces the original single points); a bridging star observed at a single
  epoch carries no time information and is not used;
* the bridging stars are subarray-corrected like the repeat star (the original did not);
* the exclusion windows come from ``constants.REPEAT_EXCLUSION_SETS``: ``original-code`` (default, alias
  ``current``) is exactly what the original scripts exclude, ``paper-era`` (alias ``paper``) the set of the
  paper-era code; they are applied to every point, bridging points included, before the bridging scale is
  computed;
* ``exp+line``: tau bounds [-400, -1] d (the original's [-400, 100] allowed tau = 0 and growing
  exponentials); ``exp+exp``: first amplitude bounded to [0, 0.2] of the flux-like curve (the original
  [-0.2, 0] was inherited from fits of C and forced that term to zero), time constants bounded to
  [-400, -10] and [-5000, -100] d so that the two terms stay distinct.  ``exp+line-original`` is the
  original's additive fit with its bounds and its approximate conversion, for reproduction;
* degrees of freedom use the number of *free* parameters (the original used fixed counts: ``dof="original"``);
  a series with no more points than free parameters is refused (the original fitted exactly determined
  series anyway: ``allow_underdetermined``, scatter and uncertainties NaN);
* the coronagraphic/FND interpolation takes F1140C from F1000W-F1130W, which bracket it (the original
  extrapolated from F1130W-F1280W: ``pairs="original"``);
* the residual correlation accumulates every day both filters have data (the original skipped days whose
  summed residuals were <= 0) and uses the mean residual of a day instead of requiring exactly one point;
* ``--show_prev`` does not modify the reference epoch; the figure works without ``--docs``.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table

from . import calfactors as CF
from . import constants as C

log = logging.getLogger(__name__)

ADOPTED_MODELS = ("exp+line", "exp", "exp+line-original")
#: Adopted models fitted directly in the product form (their coefficients reproduce the curve exactly).
PRODUCT_FORM_MODELS = ("exp+line", "exp")
DEFAULT_MODEL = "exp+line"
ALL_MODELS = ("exp", "powerlaw", "exp+line", "line", "exp+exp", "exp+line-original")
#: Exclusion sets (``constants.REPEAT_EXCLUSION_SETS``) and their former names, still accepted.
EXCLUSION_SETS = tuple(C.REPEAT_EXCLUSION_SETS)
EXCLUSION_ALIASES = dict(C.REPEAT_EXCLUSION_ALIASES)
DEFAULT_EXCLUSIONS = "original-code"
DEFAULT_BRIDGE_WINDOW = 1.0
#: Degrees of freedom of the scatter and uncertainties: N - free parameters, or N - the original's counts.
DOF_MODES = ("free", "original")
#: Parameter counts the original used for N - p whatever was fixed (spec 3.17 step 7).
ORIGINAL_DOF_COUNTS = {"exp": 3, "powerlaw": 3, "exp+line": 4, "exp+line-original": 4, "line": 2, "exp+exp": 5}
#: The step-7 choices of the original scripts, selected together by ``plot_repeatability.py --original``.
ORIGINAL_REPEAT_CHOICES = {
    "model": "exp+line-original",
    "exclusions": "original-code",
    "allow_underdetermined": True,
    "bridge_window": 0.0,
    "dof": "original",
}
#: Imager pairs of the coronagraphic/FND interpolation: ``bracketing`` (constants.CORON_INTERP_PAIRS) or
#: the original's, which took F1140C (11.30 um) from F1130W-F1280W, i.e. extrapolated 0.01 um below F1130W.
CORON_PAIR_SETS = {
    "bracketing": dict(C.CORON_INTERP_PAIRS),
    "original": {**C.CORON_INTERP_PAIRS, "F1140C": ("F1130W", "F1280W")},
}
#: Extra starting values of a free time constant [d] (the best of the fits is kept).
TAU_STARTS = (-150.0, -250.0, -350.0, -50.0, -20.0, -600.0)

#: Filters whose ``exp`` tau is fixed at -200 d, and whose ``exp+line`` tau is fixed at -100 d (spec 3.17).
EXP_FIXED_TAU_FILTERS = ("F560W", "F770W", "F1000W", "F1130W", "F1280W", "F1500W")
EXPLINE_FIXED_TAU_FILTERS = ("F560W", "F770W", "F1000W", "F1130W", "F1280W")
#: Colours of the imager filters in Fig. 5.
FILTER_COLORS = dict(
    zip(
        C.IMAGER_FILTERS,
        ("violet", "blueviolet", "blue", "limegreen", "green", "orange", "orangered", "firebrick", "red"),
        strict=True,
    )
)
MODEL_STYLE = {
    "exp": ":",
    "powerlaw": "-.",
    "exp+line": "-",
    "line": "--",
    "exp+exp": (0, (5, 1, 1, 1, 1, 1)),
    "exp+line-original": (0, (8, 2)),
}


class TimeDepError(ValueError):
    """Bad inputs of the time-dependence step (one-line message)."""


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One model parameter: initial value, bounds and whether it is fixed."""

    name: str
    init: float
    lo: float = -np.inf
    hi: float = np.inf
    fixed: bool = False


def model_params(model: str, filt: str) -> tuple[Param, ...]:
    """Parameters of ``model`` for ``filt`` (spec 3.17 step 7), for y normalised to about 1.

    Product forms (``exp``, ``exp+line``): ``norm`` = y(0), ``amp`` (amp + const = 1), ``tau`` [d, < 0],
    ``loss`` = lossperyear (<= 0).  Additive forms: ``powerlaw`` A (x + x0)^-alpha (+ 0),
    ``line`` slope x + intercept, ``exp+exp`` a1 exp(x/t1) + a2 exp(x/t2) + c, ``exp+line-original``
    the original's additive amplitude exp(x/tau) + slope x + intercept (tau bounds [-400, 100], slope <= 0).
    """
    if model == "exp":
        tau = (
            Param("tau", -200.0, fixed=True) if filt in EXP_FIXED_TAU_FILTERS else Param("tau", -200.0, -400.0, -100.0)
        )
        return (Param("norm", 1.0, 0.0), Param("amp", 0.05), tau)
    if model == "exp+line":
        tau = (
            Param("tau", -100.0, fixed=True)
            if filt in EXPLINE_FIXED_TAU_FILTERS
            else Param("tau", -100.0, -400.0, -1.0)
        )
        return (Param("norm", 1.0, 0.0), Param("amp", 0.05), tau, Param("loss", -0.005, -np.inf, 0.0))
    if model == "exp+line-original":
        # the original's bounds, tau = 0 and growing exponentials included (spec 3.17 step 7)
        tau = (
            Param("tau", -100.0, fixed=True)
            if filt in EXPLINE_FIXED_TAU_FILTERS
            else Param("tau", -100.0, -400.0, 100.0)
        )
        return (Param("amplitude", 0.05), tau, Param("slope", -1e-5, -np.inf, 0.0), Param("intercept", 1.0))
    if model == "powerlaw":
        return (Param("A", 0.70, 0.0), Param("x0", 60.0, 50.0, 200.0), Param("alpha", 0.5))
    if model == "line":
        return (Param("slope", -0.5 / 365.0), Param("intercept", 1.0))
    if model == "exp+exp":
        return (
            Param("a1", 0.1, 0.0, 0.2),
            Param("t1", -100.0, -400.0, -10.0),
            Param("a2", 0.1),
            Param("t2", -500.0, -5000.0, -100.0),
            Param("c", 0.8),
        )
    raise TimeDepError(f"unknown time model {model!r} (choose {', '.join(ALL_MODELS)})")


def evaluate(model: str, x, p: dict) -> np.ndarray:
    """Model ``model`` with parameters ``p`` at x (days since t0)."""
    x = np.asarray(x, float)
    if model == "exp":
        return p["norm"] * (p["amp"] * np.exp(x / p["tau"]) + 1.0 - p["amp"])
    if model == "exp+line":
        return p["norm"] * (1.0 + p["loss"] * x / 365.0) * (p["amp"] * np.exp(x / p["tau"]) + 1.0 - p["amp"])
    if model == "exp+line-original":
        return p["amplitude"] * np.exp(x / p["tau"]) + p["slope"] * x + p["intercept"]
    if model == "powerlaw":
        return p["A"] * (x + p["x0"]) ** (-p["alpha"])
    if model == "line":
        return p["slope"] * x + p["intercept"]
    if model == "exp+exp":
        return p["a1"] * np.exp(x / p["t1"]) + p["a2"] * np.exp(x / p["t2"]) + p["c"]
    raise TimeDepError(f"unknown time model {model!r}")


def _scale_params(model: str, p: dict, s: float) -> dict:
    """Parameters of the model multiplied by ``s`` (y -> s y)."""
    q = dict(p)
    keys = {
        "exp": ("norm",),
        "exp+line": ("norm",),
        "exp+line-original": ("amplitude", "slope", "intercept"),
        "powerlaw": ("A",),
        "line": ("slope", "intercept"),
    }
    for k in keys.get(model, ("a1", "a2", "c")):
        q[k] = p[k] * s
    return q


@dataclass
class TimeFit:
    """Result of one fit of y(x).

    ``params`` are in the units of y; ``uncertainties`` are 1-sigma from the Jacobian (scaled by the
    reduced chi^2 of the unweighted fit), NaN for fixed parameters.  ``dof`` is the N - p used for the
    scatter (``mod_dev``, ``per_dev``) and the uncertainties; with ``dof`` <= 0 (an exactly determined fit,
    ``allow_underdetermined``) they are undefined and NaN.
    """

    model: str
    filt: str
    params: dict
    uncertainties: dict
    free: tuple[str, ...]
    npts: int
    mod_dev: float
    per_dev: float
    cost: float = float("nan")
    dof: int | None = None

    @property
    def npar(self) -> int:
        """Number of free parameters."""
        return len(self.free)

    def curve(self, x) -> np.ndarray:
        """Fitted y at x (days since t0)."""
        return evaluate(self.model, x, self.params)

    @property
    def y0(self) -> float:
        """Fitted y at t0."""
        return float(self.curve(0.0))

    def coefficients(self) -> dict:
        """Normalised coefficients in the ``_repeat_<F>_fit.dat`` convention (adopted models only).

        Returns amp, tau (< 0), const = 1 - amp, lossperyear (<= 0), such that
        y(x) / y(0) = (1 + lossperyear x/365) (amp exp(x/tau) + const) exactly, except for
        ``exp+line-original``: its additive curve is converted as the original did (spec 3.17 step 8,
        T = intercept + amplitude, amp = amplitude/T, const = intercept/T, lossperyear = 365 slope/T),
        which the product form reproduces only approximately.
        """
        if self.model not in ADOPTED_MODELS:
            raise TimeDepError(f"{self.model} is not a product-form model ({', '.join(ADOPTED_MODELS)})")
        if self.model == "exp+line-original":
            p = self.params
            total = float(p["amplitude"] + p["intercept"])
            return {
                "amp": float(p["amplitude"]) / total,
                "tau": float(p["tau"]),
                "const": float(p["intercept"]) / total,
                "lossperyear": 365.0 * float(p["slope"]) / total,
            }
        amp = float(self.params["amp"])
        return {
            "amp": amp,
            "tau": float(self.params["tau"]),
            "const": 1.0 - amp,
            "lossperyear": float(self.params.get("loss", 0.0)),
        }

    def relative(self, x) -> np.ndarray:
        """y(x) / y(0) from the normalised coefficients (the correction the photom step applies)."""
        c = self.coefficients()
        x = np.asarray(x, float)
        return (1.0 + c["lossperyear"] * x / 365.0) * (c["amp"] * np.exp(x / c["tau"]) + c["const"])


def degenerate_fit_warning(fit: TimeFit, x) -> str | None:
    """A message when the adopted fit's time constant is shorter than the sampling can constrain.

    A decay faster than the gap between the first two epochs is fixed by one point and the noise: the coefficients then describe the noise, not the detector
    (typically a sky-limited filter).
    """
    if fit.model not in ADOPTED_MODELS or "tau" not in fit.params:
        return None
    xs = np.unique(np.round(np.asarray(x, float), 1))
    gaps = np.diff(xs)
    # the decay is constrained by the first epochs: the gap after the first one (dithers within a day)
    gap = float(gaps[gaps > 1.0][0]) if np.any(gaps > 1.0) else float("nan")
    tau = abs(float(fit.params["tau"]))
    if np.isfinite(gap) and tau < gap:
        return (
            f"{fit.filt}: the {fit.model} time constant ({tau:.3g} d) is shorter than the gap between "
            f"the first two epochs ({gap:.3g} d): the fit is not constrained by the data (scatter {fit.per_dev:.2f}% per point); "
            "check the photometry before using these coefficients"
        )
    return None


def fit_model(
    model: str,
    x,
    y,
    filt: str,
    starts: int = 6,
    allow_underdetermined: bool = False,
    dof: str = "free",
) -> TimeFit:
    """Unweighted least-squares fit of ``model`` to y(x) with the parameters of :func:`model_params`.

    y is normalised by its median for the fit (the result is in the units of y).  Models with a free
    time constant are started from several values of it within its bounds and the best fit is kept.

    Parameters
    ----------
    model : str
        One of ``ALL_MODELS``.
    x, y : array_like
        Days since t0 and the flux-like values.
    filt : str
        Filter (selects fixed time constants).
    starts : int
        Number of extra starting values of a free time constant.
    allow_underdetermined : bool
        Fit a series with exactly as many points as free parameters, as the original did (its fitter
        passes through every point); the scatter and uncertainties are then undefined (NaN).  Fewer
        points than free parameters are refused either way (the original's MINPACK fitter raises too).
    dof : {"free", "original"}
        N - p of the scatter and the uncertainties: p = free parameters, or the original's fixed
        counts (``ORIGINAL_DOF_COUNTS``, fixed parameters included).

    Raises
    ------
    TimeDepError
        Too few points (see ``allow_underdetermined``), or no finite solution.
    """
    from scipy.optimize import least_squares

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    params = model_params(model, filt)
    free = [p for p in params if not p.fixed]
    n = x.size
    if dof not in DOF_MODES:
        raise TimeDepError(f"unknown degrees-of-freedom mode {dof!r} (choose {', '.join(DOF_MODES)})")
    if n < len(free):
        raise TimeDepError(
            f"{filt}: {n} point(s) for the {model} time fit, which has {len(free)} free parameters "
            f"(needs at least {len(free) + 1}; fewer points than free parameters cannot be fitted, "
            "the original's fitter refuses them too)"
        )
    if n == len(free) and not allow_underdetermined:
        raise TimeDepError(
            f"{filt}: {n} point(s) for the {model} time fit, which has {len(free)} free parameters "
            f"(needs at least {len(free) + 1}; --allow-underdetermined fits it anyway as the original did)"
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise TimeDepError(f"{filt}: non-finite values in the time series")
    yref = float(np.median(y))
    if not yref > 0:
        raise TimeDepError(f"{filt}: the flux-like values are not positive (median {yref})")
    yn = y / yref
    base = {p.name: p.init for p in params}
    if model in ("exp", "exp+line"):
        early = x <= x.min() + 60.0
        base["norm"] = float(np.mean(yn[early]))
    if model == "powerlaw":
        base["A"] = float(np.median(yn) * (np.median(x) + base["x0"]) ** base["alpha"])
    if model == "line":
        base["intercept"] = float(np.mean(yn[x <= x.min() + 60.0]))
        base["slope"] = 0.0
    if model == "exp+line-original":
        base["intercept"] = float(np.mean(yn[x <= x.min() + 60.0]))
    lo = np.array([p.lo for p in free])
    hi = np.array([p.hi for p in free])
    taus = [p for p in free if p.name in ("tau", "t1")]
    start_list = [dict(base)]
    if taus:
        tp = taus[0]
        for t in TAU_STARTS[:starts]:
            if tp.lo < t < tp.hi and t != base[tp.name]:
                s = dict(base)
                s[tp.name] = t
                start_list.append(s)

    def resid(v):
        p = dict(base)
        p.update(zip((q.name for q in free), v, strict=True))
        return evaluate(model, x, p) - yn

    best = None
    for s in start_list:
        v0 = np.clip(np.array([s[p.name] for p in free], float), lo, hi)
        # keep the start strictly inside finite bounds
        span = np.where(np.isfinite(hi - lo), hi - lo, 1.0)
        v0 = np.where(np.isfinite(lo) & (v0 <= lo), lo + 1e-3 * span, v0)
        v0 = np.where(np.isfinite(hi) & (v0 >= hi), hi - 1e-3 * span, v0)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                r = least_squares(resid, v0, bounds=(lo, hi), method="trf", x_scale="jac", max_nfev=5000)
            except (ValueError, FloatingPointError):
                continue
        if np.all(np.isfinite(r.x)) and np.isfinite(r.cost) and (best is None or r.cost < best.cost):
            best = r
    if best is None:
        raise TimeDepError(f"{filt}: the {model} time fit did not converge")
    pn = dict(base)
    pn.update(zip((q.name for q in free), best.x, strict=True))
    ndof = n - (ORIGINAL_DOF_COUNTS[model] if dof == "original" else len(free))
    rss = float(np.sum(best.fun**2))
    # no residual degree of freedom: the scatter and the uncertainties are undefined, not zero or infinite
    sig = np.full(len(free), np.nan)
    if ndof > 0:
        with np.errstate(all="ignore"):
            try:
                cov = np.linalg.pinv(best.jac.T @ best.jac) * rss / ndof
                sig = np.sqrt(np.clip(np.diag(cov), 0.0, None))
            except np.linalg.LinAlgError:
                pass
    un = {p.name: float("nan") for p in params}
    un.update(zip((q.name for q in free), sig, strict=True))
    p_y = _scale_params(model, pn, yref)
    u_y = _scale_params(model, un, yref)
    mod = evaluate(model, x, p_y)
    if ndof > 0:
        mod_dev = float(np.sqrt(np.sum((mod - y) ** 2) / ndof))
        per_dev = float(100.0 * np.sqrt(np.sum(((mod - y) / mod) ** 2) / ndof))
    else:
        mod_dev = per_dev = float("nan")
    if not np.all(np.isfinite(list(p_y.values()))):
        raise TimeDepError(f"{filt}: the {model} time fit gave non-finite coefficients")
    return TimeFit(
        model=model,
        filt=filt,
        params={k: float(v) for k, v in p_y.items()},
        uncertainties={k: float(v) for k, v in u_y.items()},
        free=tuple(q.name for q in free),
        npts=n,
        mod_dev=mod_dev,
        per_dev=per_dev,
        cost=float(best.cost),
        dof=int(ndof),
    )


def curve_accuracy_mc(fit: TimeFit, x, n: int = 200, seed: int = 1, scatter: float | None = None) -> dict:
    """How well the adopted model can be recovered at this sampling: a parametric Monte Carlo.

    ``n`` series y_k = curve(x) (1 + scatter e), e ~ N(0, 1) (seeded), are refitted with the same model
    and parameter bounds; for each, the largest relative difference between its normalised curve
    y(t)/y(t0) and the input one over [0, max x] is kept.  This answers "can a time curve be known to
    0.5% from this many points with this scatter?" independently of the noise of the one realisation
    that was observed.

    Parameters
    ----------
    fit : TimeFit
        An adopted-model fit (exp or exp+line); its curve is the input truth.
    x : array_like
        Days since t0 of the points (the observed sampling).
    n : int
        Realisations.
    seed : int
        Random seed.
    scatter : float, optional
        Relative 1-sigma scatter per point; default the fit's ``per_dev`` / 100.

    Returns
    -------
    dict
        scatter, n (realisations that converged), maxdev (array, relative), median, p90, and
        within (callable: fraction of realisations whose maxdev <= a tolerance).
    """
    if fit.model not in ADOPTED_MODELS:
        raise TimeDepError(f"{fit.model} is not an adopted model ({', '.join(ADOPTED_MODELS)})")
    x = np.asarray(x, float)
    s = fit.per_dev / 100.0 if scatter is None else float(scatter)
    if not (np.isfinite(s) and s >= 0):
        raise TimeDepError(f"{fit.filt}: scatter must be finite and >= 0, got {s}")
    grid = np.linspace(0.0, float(x.max()), 400)
    ref = fit.relative(grid)
    base = fit.curve(x)
    rng = np.random.default_rng(seed)
    dev = []
    for _ in range(int(n)):
        y = base * (1.0 + s * rng.standard_normal(x.size))
        try:
            fk = fit_model(fit.model, x, y, fit.filt)
        except TimeDepError:
            continue
        dev.append(float(np.max(np.abs(fk.relative(grid) / ref - 1.0))))
    dev = np.array(dev)
    if dev.size == 0:
        raise TimeDepError(f"{fit.filt}: no Monte Carlo realisation converged")
    return {
        "scatter": s,
        "n": int(dev.size),
        "maxdev": dev,
        "median": float(np.median(dev)),
        "p90": float(np.percentile(dev, 90)),
        "within": lambda tol: float(np.mean(dev <= tol)),
    }


# --------------------------------------------------------------------------
# The time series of one filter
# --------------------------------------------------------------------------
@dataclass
class RepeatSeries:
    """Flux-like time series of one filter (repeat star + scaled bridging stars).

    Columns of ``table``: name, startype, subarray, timemid [MJD], x [d since t0], y (1/C referred to
    SUB256, bridging stars scaled), y_unc, scale (bridging scale, 1 for the repeat star), role
    ("repeat" or "bridge").  ``excluded`` holds the rows removed by the exclusion windows.
    """

    filt: str
    table: Table
    excluded: Table
    inputs: list = field(default_factory=list)
    bridges: dict = field(default_factory=dict)  # star -> (scale, t_bridge, t_repeat)

    @property
    def x(self) -> np.ndarray:
        return np.asarray(self.table["x"], float)

    @property
    def y(self) -> np.ndarray:
        return np.asarray(self.table["y"], float)


def exclusion_set_name(which: str) -> str:
    """Canonical name of an exclusion set (``current`` -> ``original-code``, ``paper`` -> ``paper-era``)."""
    name = EXCLUSION_ALIASES.get(which, which)
    if name not in C.REPEAT_EXCLUSION_SETS:
        raise TimeDepError(
            f"unknown exclusion set {which!r} (choose {', '.join(EXCLUSION_SETS)}; "
            f"former names {', '.join(EXCLUSION_ALIASES)})"
        )
    return name


def exclusions_for(filt: str, which: str = DEFAULT_EXCLUSIONS) -> list[tuple[float, float, str]]:
    """Exclusion windows (centre day since t0, half width, reason) of ``filt`` (spec 3.17 steps 2, 6).

    ``which`` is a set of ``constants.REPEAT_EXCLUSION_SETS`` or a former name of one:
    ``original-code`` (alias ``current``, the windows of the original scripts: day 350 +- 5, F1800W
    day 40 +- 3) or ``paper-era`` (alias ``paper``: day 350 +- 5, MJD 60070 +- 20).
    """
    table = C.REPEAT_EXCLUSION_SETS[exclusion_set_name(which)]
    return [(float(c), float(h), str(r)) for f, c, h, r in table if f in ("*", filt)]


def _flux_like(tab: Table, role: str) -> Table:
    cal = np.asarray(tab["calfac"], float)
    unknown = sorted({s for s in tab["subarray"] if s not in C.SUBARR_COR})
    if unknown:
        raise TimeDepError(f"no subarray factor for {', '.join(unknown)}")
    sc = np.array([C.SUBARR_COR["SUB256"] / C.SUBARR_COR[s] for s in tab["subarray"]])
    out = Table()
    out["name"] = np.asarray(tab["name"], dtype=str)
    out["startype"] = np.asarray(tab["startype"], dtype=str)
    out["subarray"] = np.asarray(tab["subarray"], dtype=str)
    out["timemid"] = np.asarray(tab["timemid"], float)
    out["x"] = np.asarray(tab["timemid"], float) - C.STARTDAY
    out["y"] = sc / cal
    out["y_unc"] = out["y"] * np.asarray(tab["calfac_unc"], float) / cal
    out["scale"] = np.ones(len(tab))
    out["role"] = np.full(len(tab), role)
    return out


def _star_calfactors(basedir, startype, filt, star, models, bkgsub, eefraction, startday):
    """C of one star in one (type, filter) table, or (None, path) if the table does not exist."""
    opts = CF.CalfacOptions(basedir=Path(basedir), bkgsub=bkgsub, eefraction=eefraction, grieke=True)
    path = CF.phot_table_path(basedir, startype, filt, opts)
    if not path.is_file():
        return None, path
    phot = CF.read_phot_table(path, eefraction, "timemid")
    names = np.array([C.canonical_name(n) for n in phot["name"]])
    phot = phot[names == star]
    return CF.calfactors_from_phot(phot, filt, startype, models, "timemid", None, startday, source=path), path


def _apply_exclusions(tab: Table, windows) -> tuple[Table, Table]:
    bad = np.zeros(len(tab), bool)
    x = np.asarray(tab["x"], float)
    for centre, half, _ in windows:
        bad |= np.abs(x - centre) < half
    return tab[~bad], tab[bad]


def collect_repeat_series(
    basedir,
    filt: str,
    models: Table,
    exclusions: str = DEFAULT_EXCLUSIONS,
    bridge_window: float = DEFAULT_BRIDGE_WINDOW,
    eefraction: float = C.EE_FRACTION_PHOT,
) -> RepeatSeries:
    """Repeat-star and bridging-star flux-like series of ``filt`` (spec 3.17 steps 1-6).

    Parameters
    ----------
    basedir : path
        Campaign root (``<type>/<F>[_bkgsub]_eefrac<e>_phot.fits``).
    filt : str
        Imager filter; the background-subtracted photometry is used for ``constants.BKGSUB_REPEAT_FILTERS``.
    models : Table
        ``Models/model_phot_grieke.fits`` (:func:`absflux.calfactors.read_model_table`).
    exclusions : {"original-code", "paper-era"}
        Exclusion set (:func:`exclusions_for`; the former names ``current`` and ``paper`` are accepted).
    bridge_window : float
        Days: the bridging scale compares the mean y of the bridging star's latest epoch (points within
        this many days of its latest point) with the mean y of the repeat star's epoch nearest in time
        (points within this many days of the nearest point).  0 uses single points as the original.
    eefraction : float
        EE fraction of the photometry tables.

    Raises
    ------
    TimeDepError
        No photometry table or no observation of the repeat star.
    """
    bkgsub = filt in C.BKGSUB_REPEAT_FILTERS
    windows = exclusions_for(filt, exclusions)
    try:
        rep, path = _star_calfactors(basedir, "ADwarfs", filt, C.REPEAT_STAR, models, bkgsub, eefraction, C.STARTDAY)
    except CF.CalFactorError as exc:
        raise TimeDepError(str(exc)) from None
    if rep is None:
        raise TimeDepError(f"{filt}: no photometry table {path}")
    if len(rep) == 0:
        raise TimeDepError(f"{filt}: no observation of {C.REPEAT_STAR} in {path}")
    inputs = [path]
    series = _flux_like(rep, "repeat")
    series.sort(["timemid"])
    series, excluded = _apply_exclusions(series, windows)
    if len(series) == 0:
        raise TimeDepError(f"{filt}: every observation of {C.REPEAT_STAR} is in an exclusion window")
    parts, excl, bridges = [series], [excluded], {}
    xr = np.asarray(series["x"], float)
    yr = np.asarray(series["y"], float)
    for startype, star in C.BRIDGING_STARS:
        try:
            tab, bpath = _star_calfactors(basedir, startype, filt, star, models, bkgsub, eefraction, C.STARTDAY)
        except CF.CalFactorError as exc:
            raise TimeDepError(str(exc)) from None
        if tab is None or len(tab) == 0:
            continue
        inputs.append(bpath)
        b = _flux_like(tab, "bridge")
        b.sort(["timemid"])
        b, bex = _apply_exclusions(b, windows)
        excl.append(bex)
        xb = np.asarray(b["x"], float)
        yb = np.asarray(b["y"], float)
        tlast = xb.max() if len(b) else 0.0  # by time, not table order
        bsel = xb >= tlast - bridge_window
        if len(b) <= 1 or (bridge_window > 0 and np.all(bsel)):
            log.info("%s: bridging star %s has no observation outside its latest epoch: not used", filt, star)
            continue
        inear = int(np.argmin(np.abs(xr - tlast)))
        rsel = np.abs(xr - xr[inear]) <= bridge_window
        scale = float(np.mean(yr[rsel]) / np.mean(yb[bsel]))
        b["y"] = yb * scale
        b["y_unc"] = np.asarray(b["y_unc"], float) * scale
        b["scale"] = scale
        bridges[star] = (scale, float(tlast), float(xr[inear]))
        log.info(
            "%s: bridging star %s (%d points) scaled by %.5f at day %.1f (repeat star day %.1f)",
            filt,
            star,
            len(b),
            scale,
            tlast,
            xr[inear],
        )
        parts.append(b)
    from astropy.table import vstack

    table = vstack(parts, join_type="exact")
    table.sort(["x"])
    excluded = vstack(excl, join_type="exact") if excl else series[:0]
    if len(excluded):
        log.info("%s: %d point(s) excluded (%s)", filt, len(excluded), "; ".join(w[2] for w in windows))
    return RepeatSeries(filt=filt, table=table, excluded=excluded, inputs=inputs, bridges=bridges)


# --------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------
def fit_table(fit: TimeFit, series: RepeatSeries | None = None, startday: float = C.STARTDAY) -> Table:
    """The ``_repeat_<F>_fit.dat`` row of an adopted fit (spec 3.17 step 8 columns, + npts, npar, span)."""
    f = fit.filt
    c = fit.coefficients()
    t = Table()
    t[f"fit_linear_lossperyear_{f}"] = [c["lossperyear"]]
    t[f"fit_exp_const_{f}"] = [c["const"]]
    t[f"fit_exp_amp_{f}"] = [c["amp"]]
    t[f"fit_exp_tau_{f}"] = [c["tau"]]
    t[f"fit_startday_{f}"] = [float(startday)]
    t[f"fit_std_{f}"] = [fit.mod_dev]
    t[f"fit_std_per_{f}"] = [fit.per_dev]
    t[f"fit_npts_{f}"] = [fit.npts]
    t[f"fit_npar_{f}"] = [fit.npar]
    if series is not None and len(series.table):
        tm = np.asarray(series.table["timemid"], float)
        t[f"fit_mjd_first_{f}"] = [float(tm.min())]
        t[f"fit_mjd_last_{f}"] = [float(tm.max())]
    how = (
        "the original's additive amplitude exp(x/tau) + slope x + intercept, converted to these coefficients "
        "approximately (T = intercept + amplitude)"
        if fit.model == "exp+line-original"
        else "fitted directly in this product form"
    )
    t.meta["comments"] = [
        f"time model {fit.model}: y(x)/y(0) = (1 + lossperyear x/365) (amp exp(x/tau) + const), x = MJD - startday",
        f"{how} (the jwst photom step uses tau_ref = -tau, lossperyear_ref = -lossperyear)",
        f"y(0) = {fit.y0:.6g} (1/C at t0, SUB256), free parameters: {', '.join(fit.free)}",
    ]
    if fit.dof is not None and fit.dof <= 0:
        t.meta["comments"].append(
            f"{fit.npts} points, N - p = {fit.dof}: fit_std and fit_std_per are undefined (NaN); the curve "
            "passes through the points"
        )
    return t


def coron_fit_table(filt: str, coeffs: dict) -> Table:
    """The coronagraphic/FND ``_repeat_<F>_fit.dat`` row (spec 3.18 columns)."""
    t = Table()
    t[f"fit_exp_amp_{filt}"] = [coeffs["amp"]]
    t[f"fit_exp_tau_{filt}"] = [coeffs["tau"]]
    t[f"fit_exp_const_{filt}"] = [coeffs["const"]]
    t[f"fit_linear_lossperyear_{filt}"] = [coeffs["lossperyear"]]
    t[f"fit_startday_{filt}"] = [coeffs["t0"]]
    return t


def interpolate_coron(basedir, target: str, pairs: str = "bracketing") -> tuple[dict, list[Path]]:
    """Time coefficients of a coronagraphic filter or FND interpolated in wavelength (spec 3.18).

    The imager pair is ``CORON_PAIR_SETS[pairs]`` (``bracketing``: ``constants.CORON_INTERP_PAIRS``;
    ``original``: the same but F1140C from F1130W-F1280W, w = -0.0067) and the wavelengths
    ``constants.CORON_INTERP_PIVOTS``; amp, tau, const, lossperyear and startday are interpolated linearly
    with w = (lambda - lambda_1) / (lambda_2 - lambda_1).

    Raises
    ------
    TimeDepError
        A missing or unreadable imager fit file.
    """
    if pairs not in CORON_PAIR_SETS:
        raise TimeDepError(f"unknown interpolation pairs {pairs!r} (choose {', '.join(CORON_PAIR_SETS)})")
    table = CORON_PAIR_SETS[pairs]
    if target not in table:
        raise TimeDepError(f"{target} is not interpolated (choose {', '.join(table)})")
    f1, f2 = table[target]
    lam, l1, l2 = (C.CORON_INTERP_PIVOTS[f] for f in (target, f1, f2))
    w = (lam - l1) / (l2 - l1)
    tcs, paths = [], []
    for f in (f1, f2):
        path = CF.repeat_fit_path(basedir, f)
        if not path.is_file():
            raise TimeDepError(f"{target}: imager time fit {path} not found (run plot_repeatability.py for {f})")
        try:
            tcs.append(CF.read_repeat_fit(path, f))
        except CF.CalFactorError as exc:
            raise TimeDepError(str(exc)) from None
        paths.append(path)
    a, b = tcs
    if a.t0 != b.t0:
        log.warning(
            "%s: %s and %s have different t0 (%s, %s); interpolated as the original", target, f1, f2, a.t0, b.t0
        )
    out = {}
    for k, attr in (("amp", "amp"), ("tau", "tau"), ("const", "const"), ("lossperyear", "lossperyear"), ("t0", "t0")):
        out[k] = (1.0 - w) * getattr(a, attr) + w * getattr(b, attr)
    vals = np.array(list(out.values()), float)
    if not np.all(np.isfinite(vals)) or out["tau"] == 0.0:
        raise TimeDepError(f"{target}: interpolated coefficients are not finite ({out})")
    out["weight"] = w
    return out, paths


def residual_correlation(residuals: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[Table, Table]:
    """Correlation of the fit residuals between filters on common days (spec 3.17 step 10, bug fixed).

    Parameters
    ----------
    residuals : dict
        filter -> (x [days], relative residual).  Residuals are averaged per integer day.

    Returns
    -------
    corr, counts : Table
        ``corr[i, j]`` = sum r_i r_j / sqrt(sum r_i^2 sum r_j^2) over the days where both filters have
        data (residuals are about zero-mean by construction), NaN with fewer than 2 common days;
        ``counts`` the number of common days.  First column ``filter``.
    """
    filts = list(residuals)
    daily = {}
    for f, (x, r) in residuals.items():
        d = np.floor(np.asarray(x, float)).astype(int)
        r = np.asarray(r, float)
        daily[f] = {int(k): float(np.mean(r[d == k])) for k in np.unique(d)}
    corr = Table()
    cnt = Table()
    corr["filter"] = filts
    cnt["filter"] = filts
    for fj in filts:
        col, ncol = [], []
        for fi in filts:
            days = sorted(set(daily[fi]) & set(daily[fj]))
            ri = np.array([daily[fi][d] for d in days])
            rj = np.array([daily[fj][d] for d in days])
            den = np.sqrt(np.sum(ri**2) * np.sum(rj**2))
            col.append(float(np.sum(ri * rj) / den) if len(days) >= 2 and den > 0 else float("nan"))
            ncol.append(len(days))
        corr[fj] = col
        cnt[fj] = ncol
    return corr, cnt


# --------------------------------------------------------------------------
# Driver of plot_repeatability.py
# --------------------------------------------------------------------------
@dataclass
class RepeatabilityResult:
    """Everything computed by :func:`run_repeatability` (per filter)."""

    series: dict = field(default_factory=dict)  # filter -> RepeatSeries
    fits: dict = field(default_factory=dict)  # filter -> {model: TimeFit}
    adopted: dict = field(default_factory=dict)  # filter -> TimeFit
    skipped: dict = field(default_factory=dict)  # filter -> reason
    warnings: dict = field(default_factory=dict)  # filter -> degenerate-fit warning
    correlation: Table | None = None
    correlation_counts: Table | None = None
    written: list = field(default_factory=list)


def _date_ticks(ax, xmax: float, startday: float, fontsize: int) -> None:
    from astropy.time import Time

    ticks = np.arange(0.0, xmax + 1.0, 100.0)
    ax.set_xticks(ticks)
    ax.set_xticklabels([Time(startday + t, format="mjd").to_value("iso", subfmt="date") for t in ticks], rotation=60)
    top = ax.secondary_xaxis("top")
    top.set_xlabel(f"MJD Time - {startday:.0f} [days]", fontsize=fontsize)


def plot_figure(
    res: RepeatabilityResult,
    adopted_model: str,
    docs: bool = False,
    report: bool = False,
    show_prev=None,
    startday: float = C.STARTDAY,
):
    """Fig. 5: flux-like repeat-star series with the fitted models (left) and the residuals (right)."""
    import matplotlib.pyplot as plt

    filts = [f for f in C.IMAGER_FILTERS if f in res.adopted]
    nf = len(filts)
    fontsize = 12 if report else 16
    with plt.rc_context({"font.size": fontsize, "lines.linewidth": 2, "axes.linewidth": 2}):
        fig, (ax, axr) = plt.subplots(1, 2, figsize=(12, 7) if report else (16, 13))
        xmax = max(float(np.max(res.series[f].x)) for f in filts)
        xx = np.linspace(0.0, xmax, 400)
        for k, f in enumerate(filts):
            color = FILTER_COLORS.get(f, "k")
            s = res.series[f]
            fit = res.adopted[f]
            m0 = fit.y0
            off = 0.0 if report else 0.25 * k
            roff = 1.0 - (0.06 if report else 0.12) * k
            rep = np.asarray(s.table["role"]) == "repeat"
            ax.scatter(s.x[rep], s.y[rep] / m0 + off, color=color, s=25, zorder=3)
            ax.scatter(s.x[~rep], s.y[~rep] / m0 + off, color=color, s=40, marker="s", facecolors="none", zorder=3)
            if len(s.excluded):
                ex = s.excluded
                ax.scatter(np.asarray(ex["x"]), np.asarray(ex["y"]) / m0 + off, color=color, marker="x", s=30)
            models = {adopted_model: fit} if docs else res.fits[f]
            for name, mf in models.items():
                lw = 2.5 if name == adopted_model else 1.5
                ax.plot(xx, mf.curve(xx) / m0 + off, color=color, ls=MODEL_STYLE[name], lw=lw)
            if show_prev is not None:
                try:
                    ref = CF.read_photom_reference(show_prev, f)
                    prev = ref.calfactor(startday) / ref.calfactor(startday + xx)
                    ax.plot(xx, prev + off, color="grey", ls="--", lw=1.5)
                except CF.CalFactorError as exc:
                    log.warning("--show_prev: %s", exc)
            ax.axhline(1.0 + off, color="k", ls=":", lw=1)
            per_decrease = 100.0 * (fit.curve(xmax) - m0) / m0
            if not report:
                ax.text(425.0, 1.01 + off, f, color=color, fontsize=fontsize - 2, va="bottom")
                ax.text(
                    0.75 * xmax,
                    1.01 + off,
                    rf"$\Delta$ = {-per_decrease:.1f}%",
                    color=color,
                    fontsize=fontsize - 2,
                    va="bottom",
                )
            resid = (s.y - fit.curve(s.x)) / m0
            axr.scatter(s.x, resid + roff, color=color, s=20)
            axr.axhline(roff, color=color, ls=":", lw=1)
            loss = 100.0 * fit.coefficients()["lossperyear"]
            axr.text(
                0.02 * xmax,
                roff + (0.015 if report else 0.03),
                rf"{f} $\sigma$ = {fit.per_dev:.2f}%; line {loss:.2f}%/yr",
                color=color,
                fontsize=fontsize - 4,
            )
        if report:
            ax.set_ylim(0.72, 1.035)
            axr.set_ylim(1.0 - 0.06 * (nf - 1) - 0.04, 1.04)
            handles = [plt.Line2D([], [], color=FILTER_COLORS.get(f, "k"), label=f) for f in filts]
            ax.legend(handles=handles, fontsize=fontsize - 3, ncols=2, loc="lower left")
        else:
            ax.set_ylim(0.9, 1.6 + 0.25 * (nf - 1))
            axr.set_ylim(1.0 - 0.12 * (nf - 1) - 0.08, 1.25)
        styles = [
            plt.Line2D([], [], color="k", ls=MODEL_STYLE[m], label=m + (" (adopted)" if m == adopted_model else ""))
            for m in ({adopted_model: None} if docs else res.fits[filts[0]])
        ]
        if show_prev is not None:
            styles.append(plt.Line2D([], [], color="grey", ls="--", label=Path(show_prev).name))
        ax.legend(handles=styles, loc="upper right", fontsize=fontsize - 4) if not report else None
        for a in (ax, axr):
            a.set_xlim(-20.0, xmax + 20.0)
            _date_ticks(a, xmax, startday, fontsize)
        ax.set_ylabel("Normalized flux density" + ("" if report else " + offset"))
        axr.set_ylabel("Residual + offset")
        fig.tight_layout()
    return fig


def run_repeatability(
    basedir,
    filters=None,
    model: str = DEFAULT_MODEL,
    extra_models=(),
    exclusions: str = DEFAULT_EXCLUSIONS,
    bridge_window: float = DEFAULT_BRIDGE_WINDOW,
    eefraction: float = C.EE_FRACTION_PHOT,
    allow_underdetermined: bool = False,
    dof: str = "free",
    docs: bool = False,
    report: bool = False,
    show_prev=None,
    fig_format: str = "png",
    show: bool = False,
    options: dict | None = None,
) -> RepeatabilityResult:
    """Fit the time dependence of every imager filter and write the products (plot_repeatability.py).

    Parameters
    ----------
    basedir : path
        Campaign root.
    filters : list of str, optional
        Imager filters; default all nine, skipping (with a warning) those without repeat-star data.
        Filters given explicitly must have data.
    model : {"exp+line", "exp", "exp+line-original"}
        Adopted model written to the fit files.
    extra_models : iterable of {"line", "exp+exp"}
        Additional models drawn (``--line``, ``--dexp``).
    exclusions : {"original-code", "paper-era"}
        Exclusion set (:func:`exclusions_for`; ``current`` and ``paper`` are accepted aliases).
    bridge_window : float
        See :func:`collect_repeat_series`.
    eefraction : float
        EE fraction of the photometry.
    allow_underdetermined, dof
        See :func:`fit_model`; applied to every model fitted.
    docs, report : bool
        Figure variants (only the adopted model; compact layout).
    show_prev : path, optional
        Photom reference file whose time dependence is drawn for comparison.
    fig_format : {"png", "pdf"}
        Figure format.
    show : bool
        Also display the figure.
    options : dict, optional
        Options recorded in the provenance.

    Returns
    -------
    RepeatabilityResult
        Series, fits and written files (all written together; an error writes nothing).
    """
    from .io_utils import OutputSet, provenance, write_table

    if model not in ADOPTED_MODELS:
        raise TimeDepError(f"unknown adopted model {model!r} (choose {', '.join(ADOPTED_MODELS)})")
    exclusions = exclusion_set_name(exclusions)
    if not Path(basedir).is_dir():
        raise TimeDepError(f"{basedir}: base directory does not exist")
    if show_prev is not None and not Path(show_prev).is_file():
        raise TimeDepError(f"{show_prev}: photom file for --show_prev does not exist")
    explicit = filters is not None
    filters = list(filters) if explicit else list(C.IMAGER_FILTERS)
    bad = [f for f in filters if f not in C.IMAGER_FILTERS]
    if bad:
        raise TimeDepError(
            f"not imager filters: {', '.join(bad)} (coronagraphic/FND: generate_coron_repeat_from_imager.py)"
        )
    mpath = CF.model_table_path(basedir, True)
    try:
        models = CF.read_model_table(mpath)
    except CF.CalFactorError as exc:
        raise TimeDepError(str(exc)) from None
    res = RepeatabilityResult()
    inputs = [mpath]
    fitted_models = ["exp", "powerlaw", "exp+line", *[m for m in extra_models if m not in ("exp", "exp+line")]]
    if model not in fitted_models:
        fitted_models.append(model)
    for f in filters:
        try:
            s = collect_repeat_series(basedir, f, models, exclusions, bridge_window, eefraction)
        except TimeDepError as exc:
            msg = str(exc)
            if not explicit and ("no photometry table" in msg or "no observation of" in msg):
                res.skipped[f] = msg
                log.warning("skipped %s", msg)
                continue
            raise
        fit_opts = {"allow_underdetermined": allow_underdetermined, "dof": dof}
        adopted = fit_model(model, s.x, s.y, f, **fit_opts)
        c = adopted.coefficients()
        if not all(np.isfinite(v) for v in c.values()):
            raise TimeDepError(f"{f}: non-finite time coefficients {c}")
        warn = degenerate_fit_warning(adopted, s.x)
        if warn:
            log.warning("%s", warn)
            res.warnings[f] = warn
        fits = {}
        for m in fitted_models:
            if m == model:
                fits[m] = adopted
                continue
            try:
                fits[m] = fit_model(m, s.x, s.y, f, **fit_opts)
            except TimeDepError as exc:
                log.warning("%s (model shown only for comparison: skipped)", exc)
        res.series[f] = s
        res.fits[f] = fits
        res.adopted[f] = adopted
        inputs += s.inputs
        for m, mf in fits.items():
            log.info(
                "%s %-8s dev %.3f%% (%d points, %d free): %s",
                f,
                m,
                mf.per_dev,
                mf.npts,
                mf.npar,
                ", ".join(f"{k} {v:.5g}" for k, v in mf.params.items()),
            )
    if not res.adopted:
        raise TimeDepError(
            f"no imager filter has observations of {C.REPEAT_STAR} below {basedir} ("
            + "; ".join(res.skipped.values())
            + ")"
        )
    # residual correlation between filters
    resid = {
        f: (res.series[f].x, (res.series[f].y - res.adopted[f].curve(res.series[f].x)) / res.adopted[f].y0)
        for f in res.adopted
    }
    res.correlation, res.correlation_counts = residual_correlation(resid)
    prov = provenance(
        "plot_repeatability.py",
        inputs=list(dict.fromkeys(inputs)),
        options=options or {},
        notes=[
            f"adopted time model {model}, exclusions {exclusions}, bridge window {bridge_window} d, "
            f"degrees of freedom {dof}, exactly determined fits {'allowed' if allow_underdetermined else 'refused'}"
        ],
    )
    import matplotlib.pyplot as plt

    fig = plot_figure(res, model, docs=docs, report=report, show_prev=show_prev)
    name = "all_repeatability" + ("_docs" if docs else "") + ("_report" if report else "")
    figpath = Path(basedir) / "Figs" / f"{name}.{fig_format}"
    with OutputSet() as out:
        for f, fit in res.adopted.items():
            write_table(
                fit_table(fit, res.series[f]),
                out.stage(CF.repeat_fit_path(basedir, f)),
                "ascii.commented_header",
                prov,
            )
        corr = res.correlation.copy()
        corr.meta["comments"] = [
            "correlation of the relative residuals of the adopted fits between filters (per-day means, common days)"
        ]
        write_table(
            corr,
            out.stage(Path(basedir) / "CalFacs" / "repeat_residual_correlation.dat"),
            "ascii.commented_header",
            prov,
        )
        from .plotting import savefig_with_provenance

        savefig_with_provenance(fig, out.stage(figpath), fig_format, prov)
        res.written = out.finals
    if show:
        plt.show()
    plt.close(fig)
    for p in res.written:
        log.info("wrote %s", p)
    return res


def summary_lines(res: RepeatabilityResult) -> list[str]:
    """One line per filter: F lossperyear const amp tau dev% (spec 3.17 step 8 print)."""
    lines = [f"{'filter':8s} {'lossperyear':>12s} {'const':>9s} {'amp':>9s} {'tau':>9s} {'dev%':>7s} {'npts':>5s}"]
    for f, fit in res.adopted.items():
        c = fit.coefficients()
        lines.append(
            f"{f:8s} {c['lossperyear']:12.5f} {c['const']:9.5f} {c['amp']:9.5f} {c['tau']:9.2f} "
            f"{fit.per_dev:7.3f} {fit.npts:5d}"
        )
    return lines


def run_coron_interpolation(
    basedir, targets=None, skip_missing: bool = False, options: dict | None = None, pairs: str = "bracketing"
):
    """Write the coronagraphic/FND repeat-fit files from the imager fits (generate_coron_repeat_from_imager.py).

    ``pairs`` selects the imager pairs (:data:`CORON_PAIR_SETS`, see :func:`interpolate_coron`).

    Returns
    -------
    dict
        target -> interpolated coefficients (with the weight ``weight``); all files are written together.
    """
    from .io_utils import OutputSet, provenance, write_table

    targets = list(targets) if targets is not None else list(C.CORON_INTERP_PAIRS)
    done, inputs = {}, []
    for t in targets:
        try:
            coeffs, paths = interpolate_coron(basedir, t, pairs)
        except TimeDepError as exc:
            if skip_missing and "not found" in str(exc):
                log.warning("skipped %s", exc)
                continue
            raise
        done[t] = (coeffs, paths)
        inputs += paths
    if not done:
        raise TimeDepError("no coronagraphic/FND filter could be interpolated (no imager fit files)")
    with OutputSet() as out:
        for t, (coeffs, paths) in done.items():
            prov = provenance(
                "generate_coron_repeat_from_imager.py",
                inputs=paths,
                options=options or {},
                notes=[
                    f"{t}: linear interpolation between {CORON_PAIR_SETS[pairs][t][0]} and "
                    f"{CORON_PAIR_SETS[pairs][t][1]} at {C.CORON_INTERP_PIVOTS[t]} micron "
                    f"(weight {coeffs['weight']:.5f}, pairs {pairs})"
                ],
            )
            write_table(
                coron_fit_table(t, coeffs), out.stage(CF.repeat_fit_path(basedir, t)), "ascii.commented_header", prov
            )
        written = out.finals
    for p in written:
        log.info("wrote %s", p)
    return {t: c for t, (c, _) in done.items()}
