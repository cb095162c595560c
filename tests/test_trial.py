"""The trial's analyses on the shipped data: every number the margins determine is reproduced, and the
analysis functions follow perturbed data."""

from pathlib import Path

import pandas as pd
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


# --- robustness analyses (statistical review) ---

def test_bounds_odds_ratios_follow_from_the_cell_counts(data):
    bounds = trial.primary_bounds(data.participants, data.employment).set_index("scenario")
    # Respondents 19/36 and 7/18; 2 IPS and 2 TAU analysed participants did not answer at 12 months.
    assert (bounds.loc["respondents", "ips_missing"], bounds.loc["respondents", "tau_missing"]) == (2, 2)
    # IPS favoured: 21/38 vs 7/20 → OR = 21·13 / (17·7); TAU favoured: 19/38 vs 9/20 → 19·11 / (19·9).
    assert bounds.loc["ips_favoured", ["ips_employed", "ips_n", "tau_employed", "tau_n"]].tolist() == [21, 38, 7, 20]
    assert bounds.loc["ips_favoured", "odds_ratio"] == pytest.approx(21 * 13 / (17 * 7), rel=1e-12)
    assert bounds.loc["tau_favoured", "odds_ratio"] == pytest.approx(19 * 11 / (19 * 9), rel=1e-12)
    assert bounds.loc["missing_not_employed", "odds_ratio"] == pytest.approx(19 * 13 / (19 * 7), rel=1e-12)
    results = trial.all_results(data, trial.design(ROOT / "config" / "design.yaml"))
    assert results["primary.bounds.m12.ips_favoured.odds_ratio"] == pytest.approx(273 / 119, rel=1e-12)
    tipping = trial.tipping_point(data.participants, data.employment)
    assert len(tipping) == 3 * 3 and tipping["odds_ratio"].max() == pytest.approx(273 / 119, rel=1e-12)


def test_phase_stratified_primary_uses_the_configured_boundary(data):
    design = trial.design(ROOT / "config" / "design.yaml")
    boundary = trial.phase_boundary(design)
    by_phase = trial.primary_by_phase(data.participants, data.employment, boundary).set_index("phase")
    assert by_phase["ips_employed"].sum() == 19 and by_phase["ips_n"].sum() == 36
    assert by_phase["tau_employed"].sum() == 7 and by_phase["tau_n"].sum() == 18
    (a1, n1, c1, m1), (a2, n2, c2, m2) = (by_phase.loc[p, ["ips_employed", "ips_n", "tau_employed", "tau_n"]]
                                          for p in ("2:1", "1:1"))
    t1, t2 = n1 + m1, n2 + m2
    mh = ((a1 * (m1 - c1) / t1 + a2 * (m2 - c2) / t2) / ((n1 - a1) * c1 / t1 + (n2 - a2) * c2 / t2))
    result = trial.phase_stratified_primary(by_phase.reset_index())
    assert result.odds_ratio == pytest.approx(mh, rel=1e-12)
    # Moving the boundary moves participants between the phases.
    later = trial.primary_by_phase(data.participants, data.employment, boundary + pd.Timedelta(days=120))
    assert later.set_index("phase").loc["2:1", "ips_n"] > by_phase.loc["2:1", "ips_n"]
    with pytest.raises(KeyError, match="allocation_phase_boundary"):
        trial.phase_boundary({})


def test_welch_sensitivity_changes_the_12_month_anxiety_verdict(data):
    sec = trial.secondary_outcomes(data.participants, data.questionnaires).set_index(["outcome", "month"])
    row = sec.loc[("hscl_anxiety", 12)]
    assert row["test"] == "student" and round(row["p_value"], 3) == 0.060
    assert round(row["p_welch"], 3) == 0.038
    text = wording.welch_sensitivity(sec.reset_index())
    assert "anxiety at 12 months" in text.lower()


def test_new_result_keys_are_complete(data):
    results = trial.all_results(data, trial.design(ROOT / "config" / "design.yaml"))
    for outcome in trial.OUTCOMES:
        for m in ("m6", "m12"):
            assert f"secondary.welch.{m}.{outcome}.p_value" in results
            for s in ("estimate", "ci_low", "ci_high", "p_value"):
                assert f"secondary.clda.{m}.{outcome}.{s}" in results
            for family in ("ttest", "clda"):
                p = results[f"secondary.holm.{family}.{m}.{outcome}.p_value"]
                assert 0 <= p <= 1
    raw = results["secondary.m12.bpi_worst.p_value"]
    holm = results["secondary.holm.ttest.m12.bpi_worst.p_value"]
    assert raw < holm <= min(1, 18 * raw)
    for s in ("mh_odds_ratio", "ci_low", "ci_high", "homogeneity_p_value"):
        assert f"primary.phase_stratified.m12.{s}" in results
    for s in ("odds_ratio", "or_ci_low", "or_ci_high", "risk_ratio", "rr_ci_low", "rr_ci_high", "risk_difference",
              "rd_ci_low", "rd_ci_high"):
        assert f"primary.adjusted.m12.{s}" in results
    assert results["primary.adjusted.m12.rr_ci_low"] < results["primary.adjusted.m12.risk_ratio"]


def test_unknown_multiplicity_family_is_named():
    with pytest.raises(ValueError, match="multiplicity_families.*nope"):
        trial.holm_families(None, None, {"nope": "x"})


def test_adjusted_primary_uses_the_configured_covariates(data):
    design = trial.design(ROOT / "config" / "design.yaml")
    adj = trial.adjusted_primary(data.participants, data.employment, design["adjustment_covariates"],
                                 trial.phase_boundary(design))
    assert adj.n == 54 and adj.covariates == ("allocation_phase=2:1", "age", "female")
    with pytest.raises(KeyError, match="adjustment_covariates"):
        trial.adjusted_primary(data.participants, data.employment, ["shoe_size"], trial.phase_boundary(design))


def test_sample_size_sentence_follows_the_configured_method():
    design = trial.design(ROOT / "config" / "design.yaml")
    text = wording.sample_size_method_sentence(design["sample_size"]["method"]).data
    assert "unpooled" in text
    pooled = wording.sample_size_method_sentence("pooled").data
    assert "Fleiss" in pooled and "unpooled" not in pooled
    with pytest.raises(ValueError, match="sample-size method 'nope'"):
        wording.sample_size_method_sentence("nope")


def test_withdrawals_are_marked_reconstructed_while_synthetic_and_tested_when_real(data):
    import dataclasses

    flow = trial.participant_flow(data.participants, data.employment, data.questionnaires)
    assert data.synthetic
    assert "reconstruction" in wording.withdrawal_sentence(flow, data)
    assert "reconstructed" in wording.withdrawal_short(flow, data)
    real = dataclasses.replace(data, synthetic=False)
    fisher = trial.withdrawal_by_arm(data.participants)
    # 3/41 vs 6/26. Two-sided Fisher by hand: hypergeometric (N 67, 9 withdrawals, 41 IPS) probabilities of
    # every split no more probable than the observed one, summed.
    from math import comb

    prob = {k: comb(41, k) * comb(26, 9 - k) / comb(67, 9) for k in range(10)}
    p_hand = sum(p for p in prob.values() if p <= prob[3] * (1 + 1e-7))
    assert fisher.p_value == pytest.approx(p_hand, rel=1e-9)
    text = wording.withdrawal_sentence(flow, real, fisher)
    assert "reconstruction" not in text and "Fisher's exact test" in text and wording.p_text(p_hand) in text
    assert "reconstructed" not in wording.withdrawal_short(flow, real)
