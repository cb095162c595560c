"""Feasibility analyses of the InStep pilot: published counts, data perturbations, planning against statsmodels."""

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
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
    assert ">917<" in html and ">1017<" not in html
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
