"""Description of a simulated flux-calibration campaign and its expansion into exposures.

A campaign is described by a small YAML (or JSON) mapping of *rules*; two
presets ship with the package (``tiny`` and ``demo`` in
``absflux/presets/``).  :func:`expand_campaign` turns the rules into an
explicit, deterministic list of :class:`Exposure` records (same seed, same
list), choosing subarray and readout per star so that no simulated star
saturates before its third group, as the real programs did.

Rules (all optional except ``name``)::

    name: demo
    seed: 20250521
    mjd_range: [59725.0, 60800.0]
    psf: {fov_pixels: 256, oversample: 4, nlambda: 10}
    cosmic_ray_rate: 0.05            # hits per 1000 pixels per second
    repeat:     {star, filters, epochs, subarray, dithers (n or {FILTER: n, default: n}), other_subarrays: {SUBARRAY: [epoch indices]},
                 min_snr: 50, max_nints: 2,   # deeper repeat-star exposures (more integrations)
                 max_groups: {F2550W: 50},    # per-filter NGROUPS cap of the repeat star (subarrays)
                 epoch_power: 1}              # epochs at t0 + (t1 - t0) (i / (n - 1))^power
    bridging:   [{star, filters, epochs, dithers}, ...]
    subtrans:   [{filter, star, mjd, subarrays, dithers}, ...]
    coronagraphy: {stars, filters, dithers, visits, min_snr, max_nints, max_groups}   # depth as for repeat
    fnd:        {star, visits}
    survey:     {stars: all|[...], types: [...], filters_per_star, visits, dithers, full_fraction, min_snr,
                 depth: {min_snr, max_nints, max_groups}}   # min_snr selects the filters; depth as for repeat
    truth:      {calfactors: {F: C}, sky: {F: DN/s}}   # overrides of absflux.sim_defaults

``filters`` may be a list or one of the words ``imager``, ``coron``, ``all``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import yaml

from . import constants as C
from . import sim_defaults as D

PRESET_DIR = Path(__file__).with_name("presets")

#: Rough fraction of a star's total count rate in its brightest pixel (used
#: only to choose subarray and NGROUPS so that stars do not saturate).
PEAK_FRACTION = {
    "F560W": 0.20,
    "F770W": 0.14,
    "F1000W": 0.10,
    "F1130W": 0.08,
    "F1280W": 0.07,
    "F1500W": 0.055,
    "F1800W": 0.04,
    "F2100W": 0.032,
    "F2550W": 0.024,
    "F1065C": 0.08,
    "F1140C": 0.07,
    "F1550C": 0.05,
    "F2300C": 0.03,
    "FND": 0.07,
}

#: Dither offsets (ideal-frame arcsec) of the 4-point pattern; 2-point visits use the first two.
DITHER_OFFSETS = ((0.0, 0.0), (2.31, 1.87), (-1.76, 2.64), (1.43, -2.53))


class CampaignError(ValueError):
    """The campaign description is malformed (message names the problem)."""


@dataclass
class Exposure:
    """One simulated exposure (one ``*_uncal.fits``)."""

    startype: str
    star: str
    targname: str
    filter: str
    subarray: str
    readpatt: str
    ngroups: int
    nints: int
    program: int
    observation: int
    visit: int
    visit_group: int
    activity: int
    exposure: int
    ndither: int
    xoffset: float
    yoffset: float
    expstart: float
    pa_v3: float
    seed: int

    @property
    def exp_type(self) -> str:
        return C.CORON_EXP_TYPE.get(self.filter, "MIR_IMAGE")

    @property
    def tgroup(self) -> float:
        return C.SUBARRAYS[self.subarray].tframe

    @property
    def duration(self) -> float:
        """Exposure duration [s], one reset frame between integrations."""
        return self.nints * (self.ngroups + 1) * self.tgroup

    @property
    def basename(self) -> str:
        return (
            f"jw{self.program:05d}{self.observation:03d}{self.visit:03d}_"
            f"{self.visit_group:02d}1{self.activity:02d}_{self.exposure:05d}_mirimage"
        )

    @property
    def relpath(self) -> str:
        return f"{self.startype}/{self.filter}/{self.basename}_uncal.fits"


# --------------------------------------------------------------------------
def list_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_campaign(preset: str | None = None, config: str | Path | None = None) -> dict:
    """Load a preset by name or a campaign file; validate it; return the rules."""
    if (preset is None) == (config is None):
        raise CampaignError("give exactly one of a preset name or a campaign file")
    if preset is not None:
        path = PRESET_DIR / f"{preset}.yaml"
        if not path.is_file():
            raise CampaignError(f"unknown preset {preset!r} (known: {', '.join(list_presets())})")
    else:
        path = Path(config)
        if not path.is_file():
            raise CampaignError(f"{path}: campaign file does not exist")
    try:
        text = path.read_text()
        rules = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0]
        raise CampaignError(f"{path}: not valid YAML/JSON ({msg})") from None
    validate_campaign(rules, str(path))
    return rules


_TOP_KEYS = {
    "name",
    "description",
    "seed",
    "mjd_range",
    "psf",
    "cosmic_ray_rate",
    "repeat",
    "bridging",
    "subtrans",
    "coronagraphy",
    "fnd",
    "survey",
    "truth",
    "max_groups",
    "max_groups_full",
}


def _filters(spec, where: str) -> tuple[str, ...]:
    if isinstance(spec, str):
        words = {"imager": C.IMAGER_FILTERS, "coron": C.CORON_FILTERS, "all": C.ALL_FILTERS}
        if spec in words:
            return words[spec]
        spec = [spec]
    if not isinstance(spec, list | tuple):
        raise CampaignError(f"{where}: filters must be a list or one of imager, coron, all")
    bad = [f for f in spec if f not in C.ALL_FILTERS]
    if bad:
        raise CampaignError(f"{where}: unknown filter(s) {', '.join(map(str, bad))}")
    return tuple(spec)


def _star(name, where: str) -> C.Star:
    if not isinstance(name, str) or C.canonical_name(name) not in C.STARS:
        raise CampaignError(f"{where}: unknown star {name!r}")
    return C.STARS[C.canonical_name(name)]


def _int(v, where, lo=1, hi=10_000) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise CampaignError(f"{where}: expected an integer in [{lo}, {hi}], got {v!r}")
    return v


def validate_campaign(rules, source: str = "campaign") -> None:
    """Raise :class:`CampaignError` with a one-line message for malformed rules."""
    if not isinstance(rules, dict):
        raise CampaignError(f"{source}: top level must be a mapping")
    unknown = set(rules) - _TOP_KEYS
    if unknown:
        raise CampaignError(f"{source}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    if not isinstance(rules.get("name"), str):
        raise CampaignError(f"{source}: 'name' (a string) is required")
    if "seed" in rules:
        _int(rules["seed"], f"{source}: seed", 0, 2**32 - 1)
    mr = rules.get("mjd_range", [59725.0, 60800.0])
    if not (isinstance(mr, list) and len(mr) == 2 and all(isinstance(x, int | float) for x in mr) and mr[0] < mr[1]):
        raise CampaignError(f"{source}: mjd_range must be [start, end] with start < end")
    if mr[0] < C.STARTDAY - 30:
        raise CampaignError(f"{source}: mjd_range starts before JWST science operations")
    if "repeat" in rules:
        r = rules["repeat"]
        _star(r.get("star"), f"{source}: repeat")
        _filters(r.get("filters", "imager"), f"{source}: repeat")
        _int(r.get("epochs", 8), f"{source}: repeat.epochs", 2, 200)
        _dithers(r.get("dithers", 2), f"{source}: repeat")
        if r.get("subarray", "SUB256") not in C.IMAGER_SUBARRAYS:
            raise CampaignError(f"{source}: repeat.subarray must be one of {', '.join(C.IMAGER_SUBARRAYS)}")
        for s in r.get("other_subarrays", {}):
            if s not in C.IMAGER_SUBARRAYS:
                raise CampaignError(f"{source}: repeat.other_subarrays: unknown subarray {s!r}")
    for i, b in enumerate(rules.get("bridging", []) or []):
        _star(b.get("star"), f"{source}: bridging[{i}]")
        _filters(b.get("filters", "imager"), f"{source}: bridging[{i}]")
    for i, s in enumerate(rules.get("subtrans", []) or []):
        _star(s.get("star"), f"{source}: subtrans[{i}]")
        _filters(s.get("filter"), f"{source}: subtrans[{i}]")
        for sub in s.get("subarrays", C.IMAGER_SUBARRAYS):
            if sub not in C.IMAGER_SUBARRAYS:
                raise CampaignError(f"{source}: subtrans[{i}]: unknown subarray {sub!r}")
    if "coronagraphy" in rules:
        c = rules["coronagraphy"]
        for n in c.get("stars", []):
            _star(n, f"{source}: coronagraphy")
        f = _filters(c.get("filters", "coron"), f"{source}: coronagraphy")
        if any(x not in C.CORON_FILTERS for x in f):
            raise CampaignError(f"{source}: coronagraphy.filters must be coronagraphic filters")
    if "fnd" in rules:
        _star(rules["fnd"].get("star"), f"{source}: fnd")
    if "survey" in rules:
        sv = rules["survey"]
        stars = sv.get("stars", "all")
        if stars != "all":
            if not isinstance(stars, list):
                raise CampaignError(f"{source}: survey.stars must be 'all' or a list")
            for n in stars:
                _star(n, f"{source}: survey")
        for t in sv.get("types", C.STAR_TYPES):
            if t not in C.STAR_TYPES:
                raise CampaignError(f"{source}: survey.types: unknown star type {t!r}")
        if "depth" in sv:
            if not isinstance(sv["depth"], dict):
                raise CampaignError(f"{source}: survey.depth must be a mapping (min_snr, max_nints, max_groups)")
            _depth(sv["depth"], f"{source}: survey.depth")
    truth = rules.get("truth", {}) or {}
    for f, v in (truth.get("calfactors", {}) or {}).items():
        _filters([f], f"{source}: truth.calfactors")
        if not isinstance(v, int | float) or v <= 0:
            raise CampaignError(f"{source}: truth.calfactors.{f} must be a positive number")
    psf = rules.get("psf", {}) or {}
    for k in psf:
        if k not in ("fov_pixels", "oversample", "nlambda"):
            raise CampaignError(f"{source}: psf: unknown key {k!r}")


# --------------------------------------------------------------------------
def truth_calfactors(rules) -> dict[str, float]:
    cal = dict(D.TRUE_CALFACTOR)
    cal.update((rules.get("truth", {}) or {}).get("calfactors", {}) or {})
    return cal


def truth_sky(rules) -> dict[str, float]:
    sky = dict(D.SKY_BACKGROUND)
    sky.update((rules.get("truth", {}) or {}).get("sky", {}) or {})
    return sky


def predicted_total_rate(star: C.Star, filt: str, calfactors=None) -> float:
    """Approximate total count rate [DN/s] of a star (7.7 micron flux, RJ slope)."""
    fnu = star.fnu_7p7 * (C.PIVOT_WAVELENGTH[filt] / 7.7) ** -2
    cal = (calfactors or D.TRUE_CALFACTOR)[filt]
    return 1e-6 * fnu / (cal * C.PHOTOM_PIXELAREA_SR)


def choose_readout(
    star: C.Star,
    filt: str,
    subarray: str | None,
    rules,
    min_snr: float = 50.0,
    max_nints: int = 2,
    max_groups: dict | None = None,
) -> tuple[str, int, int] | None:
    """Pick (subarray, ngroups, nints) so the peak stays unsaturated; None if impossible.

    With ``subarray`` given it is kept (dedicated observations); otherwise the
    first of SUB256, SUB128, SUB64 (imager) that keeps the peak pixel below
    80% of the well at the third group is used.  NGROUPS fills ~50% of the
    well (5 to min(MAX_NGROUPS, rules max_groups [20], FULL: max_groups_full [8])) and faint stars get
    more integrations (subarrays only) until the predicted signal-to-noise reaches ``min_snr`` or
    ``max_nints`` is reached: the disk size of the campaign stays modest.
    ``max_groups`` ({filter: cap}) replaces the subarray NGROUPS cap for
    the filters it names (the repeat star's sky-limited long-wave exposures).
    """
    cal = truth_calfactors(rules)
    sky = truth_sky(rules)[filt]
    rate = predicted_total_rate(star, filt, cal)
    peak = rate * PEAK_FRACTION[filt] + sky
    full = C.DETECTOR["saturation"] - C.DETECTOR["bias"]
    if filt in C.CORON_FILTERS:
        candidates = [C.CORON_SUBARRAY[filt]]
    elif filt == C.FND_FILTER:
        candidates = ["FULL"]
    elif subarray is not None:
        candidates = [subarray]
    else:
        candidates = ["SUB256", "SUB128", "SUB64"]
    for sub in candidates:
        tg = C.SUBARRAYS[sub].tframe
        # at least 3 unsaturated groups (the first is dropped by firstframe)
        if 3 * tg * peak > 0.8 * full:
            continue
        # FULL frames are 16x larger than SUB256: keep their ramps short
        if sub == "FULL":
            cap = rules.get("max_groups_full", 8)
        else:
            cap = (max_groups or {}).get(filt, rules.get("max_groups", 20))
        gmax = min(C.MAX_NGROUPS[sub], cap)
        ngroups = int(np.clip(math.floor(0.5 * full / (peak * tg)), 5, gmax))
        nints = 1
        while (
            sub != "FULL"
            and nints < max_nints
            and ngroups == gmax
            and _snr(rate, sky, filt, sub, ngroups, nints) < min_snr
        ):
            nints += 1
        return sub, ngroups, nints
    return None


def _snr(rate, sky, filt, sub, ngroups, nints, r_ap: float | None = None, frac: float = 0.7) -> float:
    """Predicted S/N of one exposure in an aperture of radius ``r_ap`` [pixels] (default 2 FWHM) holding
    ``frac`` of the star's light, sky and star Poisson noise."""
    t = C.SUBARRAYS[sub].tframe * (ngroups - 2) * nints
    gain = C.DETECTOR["gain"]
    r_ap = 2.0 * C.FWHM[filt] if r_ap is None else float(r_ap)
    s = frac * rate * t * gain
    b = sky * math.pi * r_ap**2 * t * gain
    return s / math.sqrt(max(s + b, 1.0))


def _depth(section: dict, where: str) -> dict:
    """Exposure-depth rules of a campaign section: min_snr, max_nints, max_groups ({filter: cap})."""
    depth = {
        "min_snr": float(section.get("min_snr", 50.0)),
        "max_nints": int(section.get("max_nints", 2)),
        "max_groups": dict(section.get("max_groups", {}) or {}),
    }
    if depth["max_nints"] < 1 or not depth["min_snr"] > 0:
        raise CampaignError(f"{where}: max_nints must be >= 1 and min_snr > 0")
    for f, g in depth["max_groups"].items():
        if f not in C.ALL_FILTERS:
            raise CampaignError(f"{where}: max_groups: unknown filter {f!r}")
        _int(g, f"{where}: max_groups[{f}]", lo=5, hi=1000)
    return depth


def _dithers(value, where: str) -> int | dict:
    """Dither count of a section: an integer, or {FILTER: n, default: n} (default 2)."""
    n_max = len(DITHER_OFFSETS)
    if isinstance(value, dict):
        out = {}
        for f, n in value.items():
            if f != "default" and f not in C.ALL_FILTERS:
                raise CampaignError(f"{where}: dithers: unknown filter {f!r}")
            out[f] = _int(n, f"{where}: dithers[{f}]", lo=1, hi=n_max)
        out.setdefault("default", 2)
        return out
    return _int(value, f"{where}: dithers", lo=1, hi=n_max)


def _program_for(mjd: float, startype: str) -> int:
    if mjd < 59760:
        return 1027 if startype != "SolarAnalogs" else 1028
    if mjd < 60150:
        return {"HotStars": 1537, "ADwarfs": 1536, "SolarAnalogs": 1538}[startype]
    if mjd < 60500:
        return {"HotStars": 4497, "ADwarfs": 4496, "SolarAnalogs": 4498}[startype]
    return {"HotStars": 6607, "ADwarfs": 6606, "SolarAnalogs": 6608}[startype]


class _Builder:
    def __init__(self, rules):
        self.rules = rules
        self.rng = np.random.default_rng(rules.get("seed", 0))
        self.exposures: list[Exposure] = []
        self.obs_counter: dict[int, int] = {}
        self.skipped: list[str] = []

    def _new_visit(self, star: C.Star, mjd: float) -> tuple[int, int]:
        prog = _program_for(mjd, star.startype)
        n = self.obs_counter.get(prog, 0) + 1
        self.obs_counter[prog] = n
        return prog, n

    def visit(self, star, filters, mjd, dithers, subarray=None, activity0=1, fixed_subarray=False, depth=None):
        prog, obs = self._new_visit(star, mjd)
        t = mjd
        pa = float(self.rng.uniform(0, 360))
        act = activity0
        for filt in filters:
            ro = choose_readout(star, filt, subarray, self.rules, **(depth or {}))
            if ro is None and subarray is not None and not fixed_subarray:
                ro = choose_readout(star, filt, None, self.rules, **(depth or {}))
            if ro is None:
                where = subarray if fixed_subarray else "every allowed subarray"
                self.skipped.append(f"{star.name} {filt}: would saturate in {where}")
                continue
            sub, ngroups, nints = ro
            nd = dithers.get(filt, dithers["default"]) if isinstance(dithers, dict) else dithers
            nd = 1 if filt == C.FND_FILTER else nd
            for k in range(nd):
                dx, dy = DITHER_OFFSETS[k % len(DITHER_OFFSETS)]
                e = Exposure(
                    startype=star.startype,
                    star=star.name,
                    targname=star.header_name,
                    filter=filt,
                    subarray=sub,
                    readpatt=C.READPATT,
                    ngroups=ngroups,
                    nints=nints,
                    program=prog,
                    observation=obs,
                    visit=1,
                    visit_group=2,
                    activity=act,
                    exposure=k + 1,
                    ndither=nd,
                    xoffset=dx,
                    yoffset=dy,
                    expstart=t,
                    pa_v3=pa,
                    seed=int(self.rng.integers(0, 2**31 - 1)),
                )
                self.exposures.append(e)
                t += (e.duration + 60.0) / 86400.0
            act += 1


def expand_campaign(rules: dict) -> tuple[list[Exposure], list[str]]:
    """Expand campaign rules into the exposure list (deterministic for a seed).

    Returns the exposures (sorted by start time) and a list of human-readable
    notes about star/filter combinations that were skipped.
    """
    b = _Builder(rules)
    t0, t1 = rules.get("mjd_range", [59725.0, 60800.0])
    rng = b.rng

    if "repeat" in rules:
        r = rules["repeat"]
        star = _star(r["star"], "repeat")
        filters = _filters(r.get("filters", "imager"), "repeat")
        n = r.get("epochs", 8)
        # the repeat star sets the time dependence: it may get deeper exposures than the survey
        depth = _depth(r, "repeat")
        ndith = _dithers(r.get("dithers", 2), "repeat")
        # epoch_power > 1 crowds the epochs into the first months, where the sensitivity changes fastest
        power = float(r.get("epoch_power", 1.0))
        if not power > 0:
            raise CampaignError("repeat: epoch_power must be > 0")
        epochs = t0 + (t1 - t0) * np.linspace(0.0, 1.0, n) ** power + rng.uniform(-3, 3, n)
        epochs[0] = t0
        other = {}
        for sub, idx in (r.get("other_subarrays", {}) or {}).items():
            for i in idx:
                other[int(i)] = sub
        for i, mjd in enumerate(epochs):
            sub = other.get(i, r.get("subarray", "SUB256"))
            b.visit(star, filters, float(mjd), ndith, subarray=sub, fixed_subarray=True, depth=depth)

    for br in rules.get("bridging", []) or []:
        star = _star(br["star"], "bridging")
        n = br.get("epochs", 2)
        for mjd in np.linspace(t0 + 20, t1 - 20, n) + rng.uniform(-5, 5, n):
            b.visit(star, _filters(br.get("filters", "imager"), "bridging"), float(mjd), br.get("dithers", 2))

    for st in rules.get("subtrans", []) or []:
        star = _star(st["star"], "subtrans")
        filt = _filters(st["filter"], "subtrans")
        mjd = float(st.get("mjd", t0))
        for sub in st.get("subarrays", C.IMAGER_SUBARRAYS):
            b.visit(star, filt, mjd, st.get("dithers", 2), subarray=sub, fixed_subarray=True)
            mjd += 0.05  # same day, consecutive visits (|dt| < 1 d selection)

    if "coronagraphy" in rules:
        c = rules["coronagraphy"]
        filters = _filters(c.get("filters", "coron"), "coronagraphy")
        for name in c.get("stars", []):
            star = _star(name, "coronagraphy")
            for _ in range(c.get("visits", 1)):
                b.visit(star, filters, float(rng.uniform(t0, t1)), c.get("dithers", 2), depth=_depth(c, "coronagraphy"))

    if "fnd" in rules:
        fd = rules["fnd"]
        star = _star(fd["star"], "fnd")
        for mjd in np.sort(rng.uniform(t0, t1, fd.get("visits", 2))):
            b.visit(star, (C.FND_FILTER,), float(mjd), 1)

    if "survey" in rules:
        sv = rules["survey"]
        special = {C.REPEAT_STAR}
        names = sv.get("stars", "all")
        types = tuple(sv.get("types", C.STAR_TYPES))
        pool = [
            s
            for s in C.STARS.values()
            if (names == "all" or s.name in names) and s.startype in types and s.name not in special
        ]
        nfilt = sv.get("filters_per_star", 4)
        dith = sv.get("dithers", [2, 4])
        # depth of the exposures (choose_readout's defaults without it); min_snr above selects the filters
        sdepth = _depth(sv["depth"], "survey.depth") if "depth" in sv else None
        for star in pool:
            ok = [f for f in C.IMAGER_FILTERS if choose_readout(star, f, None, rules) is not None]
            min_snr = sv.get("min_snr", 20.0)
            ok = [
                f for f in ok if _snr(predicted_total_rate(star, f), truth_sky(rules)[f], f, "SUB256", 20, 2) > min_snr
            ]
            if not ok:
                b.skipped.append(f"{star.name}: no imager filter with useful signal-to-noise")
                continue
            k = min(nfilt, len(ok))
            chosen = sorted(rng.choice(ok, size=k, replace=False), key=C.IMAGER_FILTERS.index)
            nvis = sv.get("visits", 1)
            for _ in range(nvis):
                nd = int(rng.choice(dith)) if isinstance(dith, list) else int(dith)
                sub = "FULL" if rng.uniform() < sv.get("full_fraction", 0.2) else None
                b.visit(star, chosen, float(rng.uniform(t0, t1)), nd, subarray=sub, depth=sdepth)

    exps = sorted(b.exposures, key=lambda e: (e.expstart, e.basename))
    _check_unique(exps)
    return exps, b.skipped


def _check_unique(exps):
    seen = set()
    for e in exps:
        if e.relpath in seen:
            raise CampaignError(f"duplicate exposure {e.relpath}")
        seen.add(e.relpath)
        if e.ngroups > C.MAX_NGROUPS[e.subarray]:
            raise CampaignError(
                f"{e.relpath}: NGROUPS {e.ngroups} exceeds the synthetic dark ({C.MAX_NGROUPS[e.subarray]})"
            )


def exposures_table(exps: list[Exposure]):
    """The exposure list as an astropy Table (for the truth file and logs)."""
    from astropy.table import Table

    rows = [asdict(e) | {"basename": e.basename, "tgroup": e.tgroup, "exp_type": e.exp_type} for e in exps]
    return Table(rows=rows) if rows else Table()
