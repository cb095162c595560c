"""The trial's analyses on the shipped data: every number the margins determine is reproduced, and the
analysis functions follow perturbed data."""

from pathlib import Path

import pytest

from ipsreport import feasibility, tables, trial, wording
from ipsreport.concordance import compare_published, load_published
from ipsreport.data.load import load_instep, load_ips_pain

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    return load_ips_pain(ROOT / "data")


@pytest.fixture(scope="module")
def trial_concordance(data):
    values = trial.all_results(data, trial.design(ROOT / "config" / "design.yaml"))
    return compare_published(load_published(ROOT / "data" / "published" / "ips-pain-2022.yaml"), values)


def test_every_determined_trial_number_is_reproduced(trial_concordance):
    bad = trial_concordance.loc[trial_concordance["status"].isin(["differs", "not computed"])]
    assert bad.empty, bad[["key", "printed", "computed", "status"]].to_string()
    # The two printed percentages the paper contradicts are flagged, not hidden.
    flagged = set(trial_concordance.loc[trial_concordance["status"] == "inconsistent in the paper", "key"])
    assert flagged == {"baseline.partner.ips.percent", "baseline.benefit_other.ips.percent"}
    # Table 4 (mixed models) is reported, marked as not determined by the margins.
    table4 = trial_concordance.loc[trial_concordance["key"].str.startswith("mixed.")]
    assert len(table4) == 9 * 4 * 4 and set(table4["status"]) == {"not determined by the margins"}
    assert table4["computed"].ne("").all()


def test_every_pilot_number_is_reproduced():
    values = feasibility.all_results(load_instep(ROOT / "data"))
    conc = compare_published(load_published(ROOT / "data" / "published" / "instep.yaml"), values)
    assert not conc["status"].isin(["differs", "not computed"]).any()
    assert set(conc.loc[conc["status"] == "inconsistent in the paper", "key"]) == {
        "feasibility.baseline.sex.female.ips.percent", "feasibility.subgroup.pain_service.never_worked.count"}


def test_published_table2_values(data):
    emp = trial.employment_by_arm(data.participants, data.employment).set_index("month")
    # Published: 19 (52.8) vs 7 (38.9), P = 0.336, OR 1.76 (0.56-5.56)
    m12 = emp.loc[12]
    assert (m12["ips_employed"], m12["ips_n"], m12["tau_employed"], m12["tau_n"]) == (19, 36, 7, 18)
    assert round(m12["p_value"], 3) == 0.336
    assert (round(m12["or_ci_low"], 2), round(m12["or_ci_high"], 2)) == (0.56, 5.56)


def test_levene_picks_the_variants_the_paper_used(data):
    sec = trial.secondary_outcomes(data.participants, data.questionnaires).set_index(["outcome", "month"])
    assert sec.loc[("odi", 6), "test"] == "welch" and round(sec.loc[("odi", 6), "p_value"], 3) == 0.298
    assert sec.loc[("eq_vas", 6), "test"] == "student" and round(sec.loc[("eq_vas", 6), "p_value"], 3) == 0.405
    assert round(sec.loc[("bpi_worst", 12), "p_value"], 3) == 0.012


def test_one_more_employed_participant_moves_table2_and_the_abstract(data):
    emp = data.employment.copy()
    arm = emp["participant_id"].map(data.participants.set_index("participant_id")["arm"])
    row = emp.index[(emp["month"] == 12) & (arm == "IPS") & (emp["employed"] == 0)][0]
    emp.loc[row, "employed"] = 1
    before = trial.employment_by_arm(data.participants, data.employment).set_index("month").loc[12]
    after = trial.employment_by_arm(data.participants, emp).set_index("month").loc[12]
    assert after["ips_employed"] == before["ips_employed"] + 1
    assert after["p_value"] != before["p_value"]
    old, new = wording.employment_sentence(before, 12), wording.employment_sentence(after, 12)
    assert "19 of 36 respondents" in old and "20 of 36 respondents" in new
    html = tables.tbl_employment(trial.employment_by_arm(data.participants, emp)).as_raw_html()
    assert "20/36 (55.6)" in html


def test_dropping_a_questionnaire_changes_table3(data):
    q = data.questionnaires.copy()
    row = q.index[(q["month"] == 6) & q["odi"].notna()][0]
    q.loc[row, "odi"] = float("nan")
    before = trial.secondary_outcomes(data.participants, data.questionnaires).set_index(["outcome", "month"])
    after = trial.secondary_outcomes(data.participants, q).set_index(["outcome", "month"])
    arm = data.participants.set_index("participant_id").loc[q.loc[row, "participant_id"], "arm"].lower()
    assert after.loc[("odi", 6), f"{arm}_n"] == before.loc[("odi", 6), f"{arm}_n"] - 1
    assert after.loc[("eq_vas", 6), f"{arm}_n"] == before.loc[("eq_vas", 6), f"{arm}_n"]


def test_sample_size_is_computed_from_the_design():
    design = trial.design(ROOT / "config" / "design.yaml")
    assert trial.sample_size(design).n_per_group == 31
    assert round(trial.sample_size(design).n_exact, 2) == 30.20
    assert trial.sample_size(design, method="pooled").n_per_group == 34


def test_sensitivity_counts_non_respondents_as_not_employed(data):
    s = trial.employment_by_arm(data.participants, data.employment, missing="not_employed").set_index("month")
    analysed = data.participants.loc[data.participants["withdrawn"] == 0, "arm"].value_counts()
    assert (s.loc[12, "ips_n"], s.loc[12, "tau_n"]) == (analysed["IPS"], analysed["TAU"]) == (38, 20)
    assert (s.loc[12, "ips_employed"], s.loc[12, "tau_employed"]) == (19, 7)
    # scipy: chi2_contingency([[19, 19], [7, 13]], correction=False)
    from scipy.stats import chi2_contingency

    assert s.loc[12, "p_value"] == pytest.approx(chi2_contingency([[19, 19], [7, 13]], correction=False).pvalue, rel=1e-12)
