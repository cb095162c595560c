"""Feasibility analyses of the InStep pilot: published counts, data perturbations, planning against statsmodels."""

import dataclasses
import math
import shutil
from pathlib import Path
from statistics import NormalDist

import pandas as pd
import pytest
from scipy.stats import poisson
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize, samplesize_proportions_2indep_onetail

from ipsreport import feasibility as fz
from ipsreport import tables, wording
from ipsreport.data.load import load_instep

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def pilot():
    return load_instep(DATA)


def _copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA / "instep", target / "instep")
    return target


def test_recruitment_table_counts_the_published_table(pilot):
    by = fz.recruitment_by_method(pilot.recruitment).set_index("method")
    assert by.loc["database_mailout", ["approached", "ineligible", "recruited"]].tolist() == [1017, 31, 26]
    assert by.loc["database_mailout", "enquiries"] == 57
    assert by.loc["hand_search_telephone", ["approached", "recruited"]].tolist() == [6, 6]
    assert math.isnan(by.loc["poster", "approached"]) and math.isnan(by.loc["poster", "percent"])
    assert by.loc["opportunistic_pain_service", "recruited"] == 13
    setting = fz.recruitment_by_setting(by.reset_index()).set_index("setting")
    assert setting.loc["primary_care", ["approached", "recruited"]].tolist() == [1028, 37]
    # Wilson 95% CI of 37/1028 from the audit: 2.6–4.9%
    assert round(setting.loc["primary_care", "ci_low"], 1) == 2.6
    assert round(setting.loc["primary_care", "ci_high"], 1) == 4.9


def test_allocation_is_told_from_the_data(pilot):
    alloc = fz.allocation_by_arm(pilot.participants).set_index("allocation")
    assert alloc.loc["randomised", ["ips", "tau"]].tolist() == [9, 9]
    assert alloc.loc["allocated", ["ips", "tau"]].tolist() == [13, 19]
    assert "first 18 participants were randomised" in wording.allocation_story(alloc.reset_index())


def test_required_results_keys(pilot):
    r = fz.all_results(pilot)
    assert r["feasibility.recruited.primary_care"] == 37
    assert r["feasibility.recruited.pain_service"] == 13
    assert r["feasibility.retention.all_returned.ips.percent"] == pytest.approx(50.0)
    assert r["feasibility.retention.all_returned.tau.percent"] == pytest.approx(100 * 19 / 28)
    assert (r["feasibility.retention.none_returned.ips"], r["feasibility.retention.none_returned.tau"]) == (4, 1)
    assert (r["feasibility.employed_12m.ips.count"], r["feasibility.employed_12m.ips.n"]) == (8, 22)
    assert (r["feasibility.employed_12m.tau.count"], r["feasibility.employed_12m.tau.n"]) == (8, 28)


def test_recruitment_follows_a_perturbed_file(tmp_path):
    data = _copy_data(tmp_path)
    path = data / "instep" / "recruitment.csv"
    rec = pd.read_csv(path, dtype=str, keep_default_na=False)
    no_reply = rec.index[(rec["method"] == "database_mailout") & (rec["outcome"] == "no_reply")][:100]
    rec.drop(index=no_reply).to_csv(path, index=False, lineterminator="\n")
    pilot = load_instep(data)
    by = fz.recruitment_by_method(pilot.recruitment)
    row = by.set_index("method").loc["database_mailout"]
    assert row["approached"] == 917
    assert row["percent"] == pytest.approx(100 * 26 / 917)
    html = tables.tbl_recruitment(by).as_raw_html()
    assert ">917 packs posted<" in html and "1017" not in html
    r = fz.all_results(pilot)
    assert r["feasibility.approached.primary_care"] == 928


def test_retention_follows_a_perturbed_followup(tmp_path):
    data = _copy_data(tmp_path)
    path = data / "instep" / "followup.csv"
    fu = pd.read_csv(path, dtype=str, keep_default_na=False)
    before = load_instep(data)
    patterns = fz.return_patterns(before.participants, before.followup).set_index("group")
    per_person = before.followup.groupby("participant_id")["returned"].sum()
    ips_ids = before.participants.loc[before.participants["arm"] == "IPS", "participant_id"]
    complete = [pid for pid in ips_ids if per_person[pid] == 3][0]
    fu.loc[(fu["participant_id"] == complete) & (fu["month"] == "12"), ["returned", "in_paid_work"]] = ["0", ""]
    fu.to_csv(path, index=False, lineterminator="\n")
    after = load_instep(data)
    new = fz.return_patterns(after.participants, after.followup).set_index("group")
    assert new.loc["ips", "all_returned"] == patterns.loc["ips", "all_returned"] - 1
    html_before = tables.tbl_retention(fz.retention_by_month(before.participants, before.followup),
                                       patterns.reset_index()).as_raw_html()
    html_after = tables.tbl_retention(fz.retention_by_month(after.participants, after.followup),
                                      new.reset_index()).as_raw_html()
    k = int(patterns.loc["ips", "all_returned"])
    assert f"{k}/22" in html_before and f"{k - 1}/22" in html_after
    r = fz.all_results(after)
    assert r["feasibility.retention.all_returned.ips.count"] == k - 1


@pytest.mark.parametrize(("p1", "p2"), [(0.61, 0.23), (8 / 22, 8 / 28), (0.528, 0.389)])
def test_planning_pooled_sample_size_matches_statsmodels(p1, p2):
    plan = fz.planning_scenarios([("s", p1, p2)], alpha=0.05, power=0.9, method="pooled", attrition=0.0,
                                 approach_yield=37 / 1028).iloc[0]
    reference = samplesize_proportions_2indep_onetail(p1 - p2, p2, 0.9, alpha=0.05)  # two-sided despite its name
    assert plan["n_exact"] == pytest.approx(reference, rel=1e-9)
    assert plan["n_per_arm"] == math.ceil(reference)
    assert plan["to_approach"] == math.ceil(plan["n_total"] / (37 / 1028))


def test_planning_cohen_h_route_is_close_but_not_identical():
    # NormalIndPower with Cohen's h (arcsine) is a different approximation: 33.48 vs Fleiss 33.32 for 61% vs 23%.
    h = proportion_effectsize(0.61, 0.23)
    n_h = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.9, ratio=1.0)
    plan = fz.planning_scenarios([("s", 0.61, 0.23)], 0.05, 0.9, "pooled", 0.0, 0.1).iloc[0]
    assert n_h == pytest.approx(33.48, abs=0.01)
    assert plan["n_exact"] == pytest.approx(33.32, abs=0.01)
    assert math.ceil(n_h) == plan["n_per_arm"] == 34


def test_attrition_inflation():
    plan = fz.planning_scenarios([("s", 0.61, 0.23)], 0.05, 0.9, "unpooled", attrition=0.2, approach_yield=0.5)
    row = plan.iloc[0]
    assert row["n_per_arm"] == 31
    assert row["n_inflated_per_arm"] == math.ceil(31 / 0.8) == 39
    assert row["n_total"] == 78 and row["to_approach"] == 156


def test_progression_verdicts():
    criteria = [{"key": "a", "label": "A", "unit": "%", "green": 80, "amber": 60},
                {"key": "b", "label": "B", "unit": "%", "green": 80, "amber": 60},
                {"key": "c", "label": "C", "unit": "%", "green": 80, "amber": 60}]
    verdicts = fz.progression_criteria(criteria, {"a": 80.0, "b": 79.9, "c": 59.9})["verdict"].tolist()
    assert verdicts == ["green", "amber", "red"]
    text = wording.progression_sentence(fz.progression_criteria(criteria, {"a": 80.0, "b": 79.9, "c": 59.9}))
    assert text.startswith("Of 3 criteria, 1 was met (green), 1 was amber and 1 was not met (red)")


def test_stata_quantile_definition():
    # Stata `summarize, detail`: averages at an exact position, else the next order statistic.
    values = [1, 2, 3, 4]
    assert fz._stata_quantile(pd.Series(values).to_numpy(), 0.5) == 2.5
    assert fz._stata_quantile(pd.Series(values).to_numpy(), 0.25) == 1.5
    assert fz._stata_quantile(pd.Series([1, 2, 3, 4, 5]).to_numpy(), 0.25) == 2.0


# --- Employment status ascertained at 12 months, progression CIs, paid work by ascertainment, planning ---

Z95 = NormalDist().inv_cdf(0.975)


def _wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    """Wilson (1927) score interval in percent, written out from the formula."""
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2))
    return 100 * (centre - half), 100 * (centre + half)


def _fleiss_by_hand(p1: float, p2: float, alpha: float = 0.05, power: float = 0.90) -> float:
    """Fleiss (pooled variance under H0, no continuity correction), equal arms, unrounded n per arm."""
    za, zb = NormalDist().inv_cdf(1 - alpha / 2), NormalDist().inv_cdf(power)
    pbar = (p1 + p2) / 2
    root = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return root**2 / (p1 - p2) ** 2


@pytest.fixture(scope="module")
def design():
    import yaml

    return yaml.safe_load((DATA.parent / "config" / "design.yaml").read_text())


def _tau_returner_not_working(pilot) -> str:
    """A TAU participant who returned the 12-month questionnaire and was not in work then."""
    f = pilot.followup
    arm = pilot.participants.set_index("participant_id")["arm"]
    rows = f.loc[(f["month"] == 12) & (f["returned"] == 1) & (f["in_paid_work"] == 0)
                 & (f["participant_id"].map(arm) == "TAU")]
    return rows["participant_id"].iloc[0]


def _without_12m_return(pilot, pid: str):
    """The pilot with ``pid``'s 12-month questionnaire marked not returned (and its answer removed)."""
    f = pilot.followup.copy()
    at = (f["participant_id"] == pid) & (f["month"] == 12)
    f.loc[at, "returned"] = 0
    f.loc[at, "in_paid_work"] = pd.NA
    return dataclasses.replace(pilot, followup=f)


def test_employment_known_counts_only_statuses_ascertained_at_12_months(pilot, design):
    known = fz.employment_known_12m(pilot.participants, pilot.followup).set_index("group")
    # IPS: 22 minus 2 lost to follow-up (records cover the arm); TAU: 28 minus 4 who did not return month 12,
    # 3 of whom have a 'not working' status carried forward from an earlier questionnaire.
    assert known.loc["ips", ["count", "n"]].tolist() == [20, 22]
    assert known.loc["tau", ["count", "n"]].tolist() == [24, 28]
    assert known.loc["tau", "carried_forward"] == 3 and known.loc["ips", "carried_forward"] == 0
    by = fz.recruitment_by_method(pilot.recruitment)
    progression = fz.progression_criteria(design["feasibility"]["progression"],
                                          fz.observed_progression_values(pilot, by)).set_index("key")
    row = progression.loc["employment_known_12m"]
    assert round(row["observed"], 1) == 88.0 and row["verdict"] == "amber"
    low, high = _wilson_by_hand(44, 50)
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))
    assert (round(low, 1), round(high, 1)) == (76.2, 94.4)
    results = fz.progression_results(progression.reset_index())
    assert results["feasibility.progression.employment_known_12m.count"] == 44
    assert results["feasibility.progression.employment_known_12m.n"] == 50
    assert results["feasibility.progression.employment_known_12m.verdict"] == "amber"


def test_one_more_tau_non_return_moves_value_verdict_and_planning(pilot, design):
    after = _without_12m_return(pilot, _tau_returner_not_working(pilot))
    criteria = design["feasibility"]["progression"]
    plan = design["feasibility"]["planning"]
    protocol = design["ips_pain"]["sample_size"]
    out = {}
    for name, data in (("before", pilot), ("after", after)):
        by = fz.recruitment_by_method(data.recruitment)
        observed = fz.observed_progression_values(data, by)
        progression = fz.progression_criteria(criteria, observed).set_index("key")
        # A stricter green threshold between the two values shows the verdict is recomputed, not carried.
        strict = [c | {"green": 87.0} if c["key"] == "employment_known_12m" else c for c in criteria]
        strict_verdict = fz.progression_criteria(strict, observed).set_index("key").loc["employment_known_12m", "verdict"]
        control = fz.planning_control_rate(fz.paid_work_12m(data.participants, data.followup))
        scenarios = fz.scenarios_from_design(plan, protocol, control)
        attrition = 1 - observed["employment_known_12m"].value / 100
        planning = fz.planning_scenarios(scenarios, plan["alpha"], plan["power"], plan["method"], attrition,
                                         fz.method_yield(by, "database_mailout").value / 100)
        out[name] = (progression.loc["employment_known_12m"], strict_verdict, planning.set_index("slug"), control)
    (b, b_strict, b_plan, b_ctl), (a, a_strict, a_plan, a_ctl) = out["before"], out["after"]
    assert (b["observed"], a["observed"]) == (pytest.approx(88.0), pytest.approx(86.0))
    assert (b["verdict"], a["verdict"]) == ("amber", "amber")  # 75 <= value < 90 both times
    assert (b_strict, a_strict) == ("green", "amber")
    # Protocol scenario: Fleiss n for 61% vs 23% is 33.32 -> 34 per arm; / 0.88 -> 39, / 0.86 -> 40 per arm.
    assert _fleiss_by_hand(0.61, 0.23) == pytest.approx(33.32, abs=0.005)
    assert b_plan.loc["protocol_assumption", ["n_per_arm", "n_inflated_per_arm", "n_total"]].tolist() == [34, 39, 78]
    assert a_plan.loc["protocol_assumption", ["n_per_arm", "n_inflated_per_arm", "n_total"]].tolist() == [34, 40, 80]
    # The control rate loses one non-working respondent: 8/24 -> 8/23, and the MID scenario follows.
    assert (b_ctl.count, b_ctl.denominator, a_ctl.count, a_ctl.denominator) == (8, 24, 8, 23)
    for plan_rows, p0, keep in ((b_plan, 8 / 24, 0.88), (a_plan, 8 / 23, 0.86)):
        n = math.ceil(_fleiss_by_hand(p0 + 0.15, p0))
        row = plan_rows.loc["mid_pilot_tau"]
        assert row["n_per_arm"] == n
        assert row["n_inflated_per_arm"] == math.ceil(n / keep - 1e-9)
        assert row["to_approach"] == math.ceil(2 * row["n_inflated_per_arm"] / (26 / 1017))


def test_progression_intervals_by_hand(pilot, design):
    by = fz.recruitment_by_method(pilot.recruitment)
    progression = fz.progression_criteria(design["feasibility"]["progression"],
                                          fz.observed_progression_values(pilot, by)).set_index("key")
    # Published-audit Wilson intervals: 30/50 all returned 46.2-72.4; mail-out 26/1017 1.8-3.7.
    assert round(progression.loc["all_returned", "ci_low"], 1) == 46.2
    assert round(progression.loc["all_returned", "ci_high"], 1) == 72.4
    assert round(progression.loc["mailout_yield", "observed"], 1) == 2.6
    assert (round(progression.loc["mailout_yield", "ci_low"], 1), round(progression.loc["mailout_yield", "ci_high"], 1)) == (1.8, 3.7)
    # Recruitment: 50 recruits between 2017-11-15 and 2019-01-22 (433 days = 14.226 months). Exact Poisson bounds
    # are the means at which P(X >= 50) and P(X <= 50) are 2.5%; checked by the Poisson tails, not by chi-square.
    rate = progression.loc["recruitment_rate"]
    months = 433 / (365.25 / 12)
    assert rate["denominator"] == pytest.approx(months) and rate["observed"] == pytest.approx(50 / months)
    assert poisson.sf(49, rate["ci_low"] * months) == pytest.approx(0.025, abs=1e-9)
    assert poisson.cdf(50, rate["ci_high"] * months) == pytest.approx(0.025, abs=1e-9)
    assert (round(rate["ci_low"] * months, 2), round(rate["ci_high"] * months, 2)) == (37.11, 65.92)
    assert rate["interval"] == "exact_poisson" and rate["verdict"] == "amber"
    assert set(progression["interval"]) == {"wilson", "exact_poisson"}
    keys = fz.progression_results(progression.reset_index())
    for c in design["feasibility"]["progression"]:
        for part in ("observed", "ci_low", "ci_high", "verdict"):
            assert f"feasibility.progression.{c['key']}.{part}" in keys


def test_progression_table_shows_intervals_and_says_the_thresholds_are_post_hoc(pilot, design):
    by = fz.recruitment_by_method(pilot.recruitment)
    progression = fz.progression_criteria(design["feasibility"]["progression"], fz.observed_progression_values(pilot, by))
    html = tables.tbl_progression(progression).as_raw_html()
    assert "88.0 (76.2–94.4)" in html and "Observed (95% CI)" in html and "exact Poisson" in html
    assert "post hoc" in wording.thresholds_origin_sentence(design["feasibility"]["thresholds_origin"])
    assert "post hoc" not in wording.thresholds_origin_sentence("prespecified")
    with pytest.raises(ValueError, match="thresholds_origin"):
        wording.thresholds_origin_sentence("pilot")
    with pytest.raises(ValueError, match="no observed value for key"):
        fz.progression_criteria([{"key": "primary_care_yield", "label": "x", "unit": "%", "green": 1, "amber": 0}],
                                fz.observed_progression_values(pilot, by))


def test_paid_work_is_reported_per_arm_by_its_own_ascertainment(pilot):
    paid = fz.paid_work_12m(pilot.participants, pilot.followup).set_index(["basis", "arm"])
    assert paid.loc[("as_reported", "IPS"), ["count", "n"]].tolist() == [8, 22]
    assert paid.loc[("as_reported", "TAU"), ["count", "n"]].tolist() == [8, 28]
    assert "records" in paid.loc[("as_reported", "IPS"), "source"]
    assert "self-report" in paid.loc[("as_reported", "TAU"), "source"]
    # Same questionnaire in both arms, respondents only: 5 of the 8 IPS job holders did not return it.
    assert paid.loc[("questionnaire", "IPS"), ["count", "n"]].tolist() == [3, 14]
    assert paid.loc[("questionnaire", "TAU"), ["count", "n"]].tolist() == [8, 24]
    low, high = _wilson_by_hand(3, 14)
    assert paid.loc[("questionnaire", "IPS"), "ci_low"] == pytest.approx(low, abs=1e-9)
    text = wording.paid_work_comparison_sentence(paid.reset_index())
    assert "3 of 14 IPS respondents" in text and "lower in the IPS arm" in text
    html = tables.tbl_paid_work_12m(paid.reset_index()).as_raw_html()
    assert "8/22, 36 (20–57)" in html and "3/14, 21 (8–48)" in html and "not an estimate of the effect" in html


def test_planning_scenarios_are_named_and_come_from_the_config(design):
    plan, protocol = design["feasibility"]["planning"], design["ips_pain"]["sample_size"]
    control = {"percent": 100 * 8 / 24, "ci_low": 18.0, "ci_high": 53.0}
    scenarios = {s.slug: s for s in fz.scenarios_from_design(plan, protocol, control)}
    assert set(scenarios) == {"protocol_assumption", "mid_pilot_tau", "mid_pilot_tau_ci_low", "mid_pilot_tau_ci_high"}
    assert (scenarios["protocol_assumption"].p_ips, scenarios["protocol_assumption"].p_control) == (0.61, 0.23)
    assert scenarios["mid_pilot_tau_ci_high"].p_control == pytest.approx(0.53)
    assert scenarios["mid_pilot_tau_ci_high"].p_ips == pytest.approx(0.53 + plan["minimal_important_difference"]["value"])
    # No scenario uses the pilot's IPS-vs-TAU difference.
    assert all(s["difference"] in ("ips_pain_protocol", "minimal_important_difference") for s in plan["scenarios"])
    planning = fz.planning_scenarios(list(scenarios.values()), 0.05, 0.9, "pooled", 0.12, 26 / 1017)
    keys = fz.planning_results(planning)
    assert keys["feasibility.planning.protocol_assumption.n_total"] == 78
    assert keys["feasibility.planning.mid_pilot_tau.control_percent"] == pytest.approx(100 * 8 / 24)
    bad = plan | {"scenarios": [{"slug": "Bad slug", "label": "x", "control": "pilot_ips", "difference": "observed"}]}
    with pytest.raises(ValueError) as error:
        fz.scenarios_from_design(bad, protocol, control)
    assert "slug" in str(error.value) and "pilot_ips" in str(error.value) and "observed" in str(error.value)


def test_sample_size_formula_is_named_from_the_config():
    assert "Fleiss" in wording.sample_size_method_phrase("pooled") and "pooled" in wording.sample_size_method_phrase("pooled")
    assert "unpooled" in wording.sample_size_method_phrase("unpooled")
    with pytest.raises(ValueError):
        wording.sample_size_method_phrase("arcsine")
    chapter = (DATA.parent / "chapters" / "05-feasibility.qmd").read_text()
    assert "Fleiss" not in chapter and 'sample_size_method_phrase(plan["method"])' in chapter


def test_recruitment_yields_keep_their_denominators_apart(pilot):
    by = fz.recruitment_by_method(pilot.recruitment).set_index("method")
    assert by.loc["database_mailout", "denominator"] == "packs posted"
    assert by.loc["hand_search_telephone", "denominator"] == "patients identified as eligible"
    assert by.loc["database_mailout", "not_contactable"] == 5
    html = tables.tbl_recruitment(by.reset_index()).as_raw_html()
    assert "1017 packs posted" in html and "6 identified eligible" in html and "Not contactable" in html
    setting = fz.recruitment_by_setting(by.reset_index()).set_index("setting")
    text = wording.pooled_yield_sentence(setting.loc["primary_care"], by.reset_index())
    assert "pools" in text and "1017 packs posted" in text and "6 patients identified as eligible" in text
    assert "mail-out" in wording.identified_eligible_sentence(by.reset_index())
    assert fz.method_yield(by.reset_index(), "database_mailout").count == 26
    with pytest.raises(ValueError, match="poster"):
        fz.method_yield(by.reset_index(), "poster")
