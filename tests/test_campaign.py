"""Campaign description: validation, determinism and the realism rules of the expansion."""

from collections import Counter

import pytest
import yaml

from absflux import campaign as CP
from absflux import constants as C


@pytest.fixture(scope="module")
def demo():
    rules = CP.load_campaign(preset="demo")
    return rules, CP.expand_campaign(rules)[0]


def test_presets_listed():
    assert {"tiny", "demo"} <= set(CP.list_presets())


def test_unknown_preset():
    with pytest.raises(CP.CampaignError, match="unknown preset 'nope'"):
        CP.load_campaign(preset="nope")


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("seed: 3\n", "'name'"),
        ("name: x\nbogus: 1\n", "unknown key"),
        ("name: x\nrepeat: {star: Vega}\n", "unknown star 'Vega'"),
        ("name: x\nrepeat: {star: BD+60 1753, filters: [F999W]}\n", "unknown filter"),
        ("name: x\nmjd_range: [60000, 59000]\n", "mjd_range"),
        ("name: x\ncoronagraphy: {stars: [HD 2811], filters: [F770W]}\n", "coronagraphic filters"),
        ("name: x\ntruth: {calfactors: {F770W: -1}}\n", "positive"),
        ("name: x\nrepeat: {star: BD+60 1753, dithers: {F999W: 2}}\n", "dithers: unknown filter 'F999W'"),
        ("name: x\nrepeat: {star: BD+60 1753, dithers: {F560W: 9}}\n", r"dithers\[F560W\]"),
        ("name: x\nrepeat: {star: BD+60 1753, dithers: 0}\n", "dithers: expected an integer"),
    ],
)
def test_malformed_campaign_files(tmp_path, text, message):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(CP.CampaignError, match=message) as err:
        CP.load_campaign(config=p)
    assert "\n" not in str(err.value)


def test_missing_campaign_file(tmp_path):
    with pytest.raises(CP.CampaignError, match="does not exist"):
        CP.load_campaign(config=tmp_path / "none.yaml")


def test_expansion_is_deterministic(tmp_path):
    rules = CP.load_campaign(preset="tiny")
    a, _ = CP.expand_campaign(rules)
    b, _ = CP.expand_campaign(yaml.safe_load(yaml.safe_dump(rules)))
    assert [e.relpath for e in a] == [e.relpath for e in b]
    assert [e.seed for e in a] == [e.seed for e in b]
    rules2 = dict(rules, seed=rules["seed"] + 1)
    c, _ = CP.expand_campaign(rules2)
    assert [e.seed for e in c] != [e.seed for e in a]


def test_demo_campaign_shape(demo):
    rules, exps = demo
    assert {e.startype for e in exps} == set(C.STAR_TYPES)
    # repeat star: every imager filter, many epochs spread over ~3 years
    rep = [e for e in exps if e.star == C.REPEAT_STAR and e.filter in C.IMAGER_FILTERS]
    assert {e.filter for e in rep} == set(C.IMAGER_FILTERS)
    f1800 = sorted({round(e.expstart) for e in rep if e.filter == "F1800W"})
    assert len(f1800) >= 8 and f1800[-1] - f1800[0] > 900
    # bridging stars observed at least twice
    for _, name in C.BRIDGING_STARS:
        assert len({e.observation for e in exps if e.star == name and e.filter != "FND"}) >= 2
    # subarray-transfer visits in every imager subarray, within a day of the selection epoch
    for filt, (name, mjd, width) in C.SUBTRANS_SELECTION.items():
        sel = [e for e in exps if e.star == name and e.filter == filt and abs(e.expstart - mjd) < width]
        assert {e.subarray for e in sel} == set(C.IMAGER_SUBARRAYS)
    # coronagraphic filters only in their mask subarray, with the coronagraphic EXP_TYPE
    for e in exps:
        if e.filter in C.CORON_FILTERS:
            assert e.subarray == C.CORON_SUBARRAY[e.filter] and e.exp_type in ("MIR_4QPM", "MIR_LYOT")
    # FND: FULL, single exposure per visit
    fnd = [e for e in exps if e.filter == "FND"]
    assert fnd and all(e.subarray == "FULL" and e.ndither == 1 for e in fnd)
    # most imager visits in SUB256, some in the others
    subs = Counter(e.subarray for e in exps if e.filter in C.IMAGER_FILTERS)
    assert subs["SUB256"] > sum(subs.values()) / 2
    assert all(subs[s] > 0 for s in C.IMAGER_SUBARRAYS)
    # the repeat star: four dithers except in the long-wave filters (per-filter rule of the preset)
    ndith = {e.filter: e.ndither for e in rep if e.subarray == "SUB256"}
    assert ndith == {f: 2 if f in ("F2100W", "F2550W") else 4 for f in C.IMAGER_FILTERS}
    assert Counter(e.filter for e in rep)["F560W"] == 4 * len(
        {(e.program, e.observation) for e in rep if e.filter == "F560W"}
    )
    # 2-4 dithers, aliases used as header names
    assert {e.ndither for e in exps if e.filter != "FND"} <= {2, 3, 4}
    assert "J1757132" in {e.targname for e in exps}


def test_readout_limits(demo):
    _, exps = demo
    for e in exps:
        assert 5 <= e.ngroups <= C.MAX_NGROUPS[e.subarray]
        assert e.nints >= 1
    # file names follow the MAST pattern
    e = exps[0]
    assert e.basename.startswith("jw") and e.basename.endswith("_mirimage")
    assert len(e.basename.split("_")[0]) == 13


def test_no_star_saturates_before_third_group(demo):
    rules, exps = demo
    full = C.DETECTOR["saturation"] - C.DETECTOR["bias"]
    for e in exps:
        star = C.STARS[e.star]
        peak = CP.predicted_total_rate(star, e.filter) * CP.PEAK_FRACTION[e.filter] + CP.truth_sky(rules)[e.filter]
        assert 3 * e.tgroup * peak <= 0.8 * full, e.relpath


def test_several_visits_make_several_sets(demo):
    _, exps = demo
    tokens = {e.basename.split("_")[0] for e in exps if e.star == C.REPEAT_STAR and e.filter == "F770W"}
    assert len(tokens) >= 8


def test_repeat_star_depth_rule(demo):
    """The demo's repeat star gets more integrations where its predicted S/N is low (min_snr/max_nints)."""
    rules, exps = demo
    rep = rules["repeat"]
    star = C.STARS[C.REPEAT_STAR]
    sky = CP.truth_sky(rules)
    for e in exps:
        if e.star != C.REPEAT_STAR or e.filter not in C.IMAGER_FILTERS or e.subarray == "FULL":
            continue
        assert 1 <= e.nints <= rep["max_nints"]
        snr = CP._snr(CP.predicted_total_rate(star, e.filter), sky[e.filter], e.filter, e.subarray, e.ngroups, e.nints)
        if e.nints > 1:  # an extra integration only while below the target
            prev = CP._snr(
                CP.predicted_total_rate(star, e.filter), sky[e.filter], e.filter, e.subarray, e.ngroups, e.nints - 1
            )
            assert prev < rep["min_snr"]
        cap = rep.get("max_groups", {}).get(e.filter, rules["max_groups"])
        if e.nints < rep["max_nints"] and e.ngroups == min(C.MAX_NGROUPS[e.subarray], cap):
            assert snr >= rep["min_snr"]
    deep = {e.filter for e in exps if e.star == C.REPEAT_STAR and e.nints > 2}
    assert {"F2100W", "F2550W"} <= deep
    # the survey has its own depth rule (survey.depth); the coronagraphic stars theirs
    sdep = rules["survey"]["depth"]
    surv = [e for e in exps if e.star != C.REPEAT_STAR and e.filter not in C.CORON_FILTERS and e.filter != C.FND_FILTER]
    assert all(e.nints <= sdep["max_nints"] for e in surv)
    assert any(e.nints > 2 for e in surv)  # faint stars are observed longer than the default allows
    for e in surv:
        if e.nints > 1 and e.subarray != "FULL":
            star = C.STARS[e.star]
            prev = CP._snr(
                CP.predicted_total_rate(star, e.filter), sky[e.filter], e.filter, e.subarray, e.ngroups, e.nints - 1
            )
            assert prev < sdep["min_snr"]
    with pytest.raises(CP.CampaignError, match="survey.depth"):
        CP.validate_campaign(dict(rules, survey=dict(rules["survey"], depth={"min_snr": 100, "max_nints": 0})))
    with pytest.raises(CP.CampaignError, match="survey.depth must be a mapping"):
        CP.validate_campaign(dict(rules, survey=dict(rules["survey"], depth=3)))
    cor = rules["coronagraphy"]
    for e in exps:
        if e.filter in C.CORON_FILTERS:
            assert e.nints <= cor["max_nints"] and e.ngroups <= cor["max_groups"][e.filter]
    assert {(e.ngroups, e.nints) for e in exps if e.filter in ("F1550C", "F2300C")} == {(40, 4)}
    with pytest.raises(CP.CampaignError, match="max_nints must be >= 1"):
        CP.expand_campaign(dict(rules, repeat=dict(rep, max_nints=0)))


def test_repeat_star_group_cap_per_filter(demo):
    """repeat.max_groups lengthens the repeat star's ramps in the filters it names, and only there."""
    rules, exps = demo
    caps = rules["repeat"]["max_groups"]
    assert caps["F2550W"] > rules["max_groups"]
    rep = [e for e in exps if e.star == C.REPEAT_STAR and e.subarray == "SUB256"]
    for f, cap in caps.items():
        assert {e.ngroups for e in rep if e.filter == f} == {cap}
    others = [e for e in exps if e.star != C.REPEAT_STAR and e.subarray != "FULL" and e.filter not in C.CORON_FILTERS]
    assert max(e.ngroups for e in others) <= rules["max_groups"]
    assert max(e.ngroups for e in rep if e.filter not in caps) <= rules["max_groups"]
    # the repeat star's F2550W exposures reach S/N > 50 (sky-limited: S/N ~ sqrt(time))
    star = C.STARS[C.REPEAT_STAR]
    e = next(e for e in rep if e.filter == "F2550W")
    rate = CP.predicted_total_rate(star, "F2550W")
    snr = CP._snr(rate, CP.truth_sky(rules)["F2550W"], "F2550W", "SUB256", e.ngroups, e.nints)
    short = CP._snr(rate, CP.truth_sky(rules)["F2550W"], "F2550W", "SUB256", rules["max_groups"], e.nints)
    assert snr > 50
    assert snr / short == pytest.approx(((e.ngroups - 2) / (rules["max_groups"] - 2)) ** 0.5, rel=0.05)
    bad = dict(rules["repeat"], max_groups={"F999W": 30})
    with pytest.raises(CP.CampaignError, match="unknown filter 'F999W'"):
        CP.expand_campaign(dict(rules, repeat=bad))
    with pytest.raises(CP.CampaignError, match=r"max_groups\[F2550W\]"):
        CP.expand_campaign(dict(rules, repeat=dict(rules["repeat"], max_groups={"F2550W": 2})))


@pytest.mark.parametrize("filt, jdox_ujy", [("F1500W", 1.18), ("F1800W", 2.42), ("F2550W", 15.3)])
def test_long_wave_sky_matches_published_sensitivity(filt, jdox_ujy):
    """The simulated 10-sigma, 10 ks point-source limit equals the JDox (ETC 4.0) low-background value."""
    from scipy.optimize import brentq

    from absflux import sim_defaults as D

    rules = {"name": "x"}
    rate_per_jy = 1e-6 / (D.TRUE_CALFACTOR[filt] * C.PHOTOM_PIXELAREA_SR)
    sky = CP.truth_sky(rules)[filt]
    # _snr counts the integration time as tframe x (ngroups - 2) x nints: pick ngroups for 1e4 s
    tframe = C.SUBARRAYS["SUB256"].tframe
    ngroups = 1e4 / tframe + 2.0
    lim = brentq(lambda f: CP._snr(f * rate_per_jy, sky, filt, "SUB256", ngroups, 1) - 10.0, 1e-9, 1e-2)
    assert lim * 1e6 == pytest.approx(jdox_ujy, rel=0.02)


def test_snr_aperture_radius_sky_limited():
    """Sky-limited, S/N falls as 1/r of the aperture; star-limited it does not depend on it."""
    faint = CP._snr(1.0, 500.0, "F1130W", "SUB256", 12, 2, r_ap=10.0, frac=0.9)
    assert CP._snr(1.0, 500.0, "F1130W", "SUB256", 12, 2, r_ap=20.0, frac=0.9) == pytest.approx(faint / 2, rel=1e-3)
    bright = CP._snr(1e7, 0.0, "F1130W", "SUB256", 12, 2, r_ap=10.0, frac=0.9)
    assert CP._snr(1e7, 0.0, "F1130W", "SUB256", 12, 2, r_ap=30.0, frac=0.9) == pytest.approx(bright)
    assert CP._snr(1e7, 0.0, "F1130W", "SUB256", 12, 2) == pytest.approx(bright * (0.7 / 0.9) ** 0.5)


def test_vetted_sets_rank_by_signal_to_noise_at_the_merge_radius(demo):
    """The curve of growth is normalised at r_n = fwhmfac x FWHM: a simulated campaign vets the sets whose
    predicted S/N in that aperture is highest (sky noise of the whole aperture), never SUB128/SUB64 sets."""
    from absflux.simulate import EE_SETS_PER_FILTER, ee_fwhmfac, psf_field_radius, vetted_sets_for

    rules, exps = demo
    table = vetted_sets_for(exps, rules)["filters"]
    sky = CP.truth_sky(rules)
    for filt in ("F770W", "F1130W", "F2100W"):
        chosen = table[filt]["sets"]
        assert 1 <= len(chosen) <= EE_SETS_PER_FILTER
        r_n = ee_fwhmfac(filt, psf_field_radius(rules)) * C.FWHM[filt]
        # S/N^2 of every set at r_n, summed over its exposures (sets numbered per star by visit token)
        s2, subs = {}, {}
        for e in (e for e in exps if e.filter == filt):
            rate = CP.predicted_total_rate(C.STARS[e.star], filt)
            tok = e.basename.split("_")[0]
            s2[(e.startype, e.targname, tok)] = (
                s2.get((e.startype, e.targname, tok), 0.0)
                + CP._snr(rate, sky[filt], filt, e.subarray, e.ngroups, e.nints, r_ap=r_n, frac=0.9) ** 2
            )
            subs.setdefault((e.startype, e.targname, tok), set()).add(e.subarray)
        names = {}
        for st, targ, tok in sorted(s2):
            n = sum(1 for k in names if k[0] == st and k[1] == targ) + 1
            names[(st, targ, tok)] = f"{st}/{targ}_set{n}"
        eligible = {names[k]: v for k, v in s2.items() if not subs[k] & {"SUB128", "SUB64"}}
        worst_chosen = min(eligible[n] for n in chosen)
        assert all(v <= worst_chosen for n, v in eligible.items() if n not in chosen)
    assert "HotStars/10LAC_set1" in table["F1130W"]["sets"]  # bright and short beats faint and deep
    # every far annulus lies inside the PSF field of the campaign (no PSF light beyond it in the simulation)
    for filt, v in table.items():
        assert 2.4 * v["fwhmfac"] * C.FWHM[filt] <= psf_field_radius(rules), filt
