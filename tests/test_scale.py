"""Large data: the fast paths that keep a 100-times larger reconstruction renderable give the same answers as the
straightforward computations, and validation of large files still reports every problem with its place.

- the tipping-point grid equals one full :func:`compare_proportions` per table, value for value;
- its table shows at most 11 splits per arm, and says so when it leaves splits out;
- the vectorised random-intercept fit (used above 500 participants) maximises the same likelihood as an
  independent implementation and as statsmodels;
- validation of scaled data reports problems of the rules across rows and files, all at once, located.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from ipsreport.data.validate import Problem, validate_data_dir
from ipsreport.stats import mixed
from ipsreport.stats.contingency import compare_proportions, compare_proportions_grid
from ipsreport.synth.scale import scale_data
from ipsreport.tables import tbl_tipping_point
from ipsreport import trial
from test_stats_mixed import ml_random_intercept, simulate

PROJECT = Path(__file__).resolve().parents[1]


# -- the tipping-point grid -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n1, n2, k1_range, k2_range", [
    (12, 10, range(0, 13), range(0, 11)),  # small tables: Fisher's test, zero cells (Haldane), both extremes
    (40, 35, range(5, 36, 3), range(2, 34, 4)),  # Pearson and Fisher mixed
    (2900, 2900, range(1100, 1400, 37), range(700, 900, 41)),  # large: Pearson throughout
])
def test_grid_comparison_equals_one_full_comparison_per_table(n1, n2, k1_range, k2_range):
    k1, k2 = (g.ravel() for g in np.meshgrid(list(k1_range), list(k2_range), indexing="ij"))
    grid = compare_proportions_grid(k1, n1, k2, n2)
    tests = set()
    for i, (a, c) in enumerate(zip(k1, k2)):
        full = compare_proportions(int(a), n1, int(c), n2)
        tests.add(full.test)
        assert grid["test"][i] == full.test
        assert grid["odds_ratio"][i] == full.odds_ratio  # exactly: the same arithmetic
        assert grid["risk_difference"][i] == full.risk_difference
        assert grid["p_value"][i] == full.p_value or (math.isnan(full.p_value) and math.isnan(grid["p_value"][i]))
    if n1 < 100:
        assert "fisher" in tests


def test_grid_comparison_checks_the_counts():
    with pytest.raises(ValueError):
        compare_proportions_grid(np.array([11]), 10, np.array([1]), 10)


def _trial_with_missing(n_per_arm: int, missing_ips: int, missing_tau: int):
    """Participants and 12-month employment with the given numbers of missing outcomes per arm."""
    people, rows = [], []
    for arm, missing in (("IPS", missing_ips), ("TAU", missing_tau)):
        for i in range(n_per_arm):
            pid = f"NO-{len(people) + 1:05d}"
            people.append({"participant_id": pid, "arm": arm, "withdrawn": 0})
            employed = pd.NA if i < missing else int(i % (3 if arm == "IPS" else 5) == 0)
            rows.append({"participant_id": pid, "month": 12, "employed": employed})
    participants = pd.DataFrame(people).astype({"withdrawn": "Int64"})
    employment = pd.DataFrame(rows).astype({"month": "Int64", "employed": "Int64"})
    return participants, employment


def test_tipping_point_equals_a_full_comparison_of_every_split():
    participants, employment = _trial_with_missing(30, 4, 3)
    tipping = trial.tipping_point(participants, employment)
    assert len(tipping) == 5 * 4
    frame = trial._primary_frame(participants, employment, 12)
    k1, r1, k2, r2 = trial._counts(frame)
    for r in tipping.itertuples(index=False):
        full = compare_proportions(k1 + r.ips_missing_employed, r1 + 4, k2 + r.tau_missing_employed, r2 + 3)
        assert (r.test, r.p_value, r.odds_ratio, r.risk_difference) == (
            full.test, full.p_value, full.odds_ratio, full.risk_difference)
        assert (r.ips_n, r.tau_n) == (30, 30)


def test_tipping_table_shows_every_split_of_a_small_grid_and_eleven_per_arm_of_a_large_one():
    small = trial.tipping_point(*_trial_with_missing(30, 4, 3))
    html = tbl_tipping_point(small).as_raw_html()
    assert "4 of the missing IPS employed" in html and "3 of the missing TAU employed" in html
    assert "splits; the table shows" not in html

    large = trial.tipping_point(*_trial_with_missing(400, 150, 40))
    assert len(large) == 151 * 41
    gt = tbl_tipping_point(large)
    shown = gt._tbl_data
    assert len(shown) == 11 and len(shown.columns) == 1 + 11
    html = gt.as_raw_html()
    for i in (0, 15, 75, 150):
        assert f"{i} of the missing IPS employed" in html
    assert "16 of the missing IPS employed" not in html
    for j in (0, 4, 20, 40):
        assert f"{j} of the missing TAU employed" in html
    assert ("With 150 missing outcomes in the IPS arm and 40 in the TAU arm there are 6,191 splits; the table "
            "shows 121 of them, 11 evenly spaced numbers per arm from none to all of the missing.") in html


# -- random-intercept models of many participants ---------------------------------------------------------------


def _design(df):
    g = (df["group"] == "IPS").to_numpy(float)
    t = df["time"].to_numpy(float)
    return np.column_stack([g, t, g * t, np.ones_like(t)])


@pytest.mark.parametrize("seed", [7, 11])
def test_vectorised_ml_fit_equals_the_independent_profile_likelihood(seed):
    df = simulate(missing=0.25, seed=seed).dropna(subset=["odi"])
    fast = mixed.random_intercept_fit(df["odi"].to_numpy(), _design(df), df["participant_id"].to_numpy(), reml=False)
    beta, se, (sigma2, tau2), ll = ml_random_intercept(df)
    assert fast.fe_params == pytest.approx(beta, rel=1e-6, abs=1e-6)
    assert fast.bse_fe == pytest.approx(se, rel=1e-5)  # both sqrt(diag((X'V^-1 X)^-1))
    assert fast.llf == pytest.approx(ll, abs=1e-7)
    assert fast.residual_var == pytest.approx(sigma2, rel=1e-5)
    assert fast.random_intercept_var == pytest.approx(tau2, rel=1e-5)
    assert fast.converged and fast.n_groups == df["participant_id"].nunique() and fast.n_obs == len(df)


def test_vectorised_reml_fit_reaches_statsmodels_optimum():
    df = simulate(missing=0.2, seed=5).dropna(subset=["odi"])
    x = _design(df)
    fast = mixed.random_intercept_fit(df["odi"].to_numpy(), x, df["participant_id"].to_numpy(), reml=True)
    ref = sm.MixedLM(df["odi"].to_numpy(), x, groups=df["participant_id"].to_numpy()).fit(reml=True)
    assert fast.llf >= ref.llf - 1e-8  # the same restricted likelihood, maximised at least as well
    assert fast.llf == pytest.approx(ref.llf, abs=1e-5)
    assert fast.fe_params == pytest.approx(ref.fe_params, rel=1e-4)
    assert fast.random_intercept_var == pytest.approx(float(np.asarray(ref.cov_re)[0, 0]), rel=1e-3)
    assert fast.residual_var == pytest.approx(ref.scale, rel=1e-3)
    # expected (X'V^-1 X) vs observed joint information: close, not equal, on 40 participants
    assert fast.bse_fe == pytest.approx(ref.bse_fe, rel=1e-2)


def test_models_of_many_participants_use_the_vectorised_fit_with_the_same_results(monkeypatch):
    df = simulate(n_ips=60, n_tau=50, missing=0.2, seed=3)
    slow_mixed = mixed.fit_group_time_mixed(df, "odi")
    slow_clda = mixed.fit_clda(df, "odi")
    monkeypatch.setattr(mixed, "LARGE_DATA_GROUPS", 50)
    monkeypatch.setattr(mixed.smf, "mixedlm", None)  # the fast path must not reach statsmodels
    monkeypatch.setattr(mixed.sm, "MixedLM", None)
    fast_mixed = mixed.fit_group_time_mixed(df, "odi")
    fast_clda = mixed.fit_clda(df, "odi")
    a, b = slow_mixed.coefficients.set_index("term"), fast_mixed.coefficients.set_index("term")
    assert list(b.index) == ["group", "time", "group_time", "intercept"]
    assert b["estimate"].to_numpy() == pytest.approx(a["estimate"].to_numpy(), rel=1e-4, abs=1e-5)
    assert b["se"].to_numpy() == pytest.approx(a["se"].to_numpy(), rel=5e-3)
    assert fast_mixed.info.n_obs == slow_mixed.info.n_obs and fast_mixed.info.n_groups == slow_mixed.info.n_groups
    assert fast_mixed.info.log_likelihood == pytest.approx(slow_mixed.info.log_likelihood, abs=1e-5)
    a, b = slow_clda.effects.set_index("time"), fast_clda.effects.set_index("time")
    assert b["estimate"].to_numpy() == pytest.approx(a["estimate"].to_numpy(), rel=1e-4, abs=1e-5)
    assert b["se"].to_numpy() == pytest.approx(a["se"].to_numpy(), rel=5e-3)
    assert fast_clda.baseline_mean == pytest.approx(slow_clda.baseline_mean, rel=1e-6)
    assert fast_clda.info.method == "REML" and fast_clda.info.converged


# -- validation of large files ----------------------------------------------------------------------------------


def _edit(path: Path, row: int, column: str, value: str) -> int:
    """Set one cell of a CSV (``row`` counts data rows from 0); return its line number."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows[row + 1][rows[0].index(column)] = value
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return row + 2


def _first_row(path: Path, **match: str) -> int:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    hit = frame.index[np.logical_and.reduce([frame[k] == v for k, v in match.items()])]
    return int(hit[0])


def test_validation_of_scaled_data_reports_every_rule_across_rows_at_once(tmp_path):
    data = tmp_path / "data"
    scale_data(PROJECT / "data", data, 5)
    assert validate_data_dir(data) == []
    employment, jobs = data / "ips-pain" / "employment.csv", data / "ips-pain" / "jobs.csv"
    recruitment, followup = data / "instep" / "recruitment.csv", data / "instep" / "followup.csv"

    # a late copy's participant: employed at 12 months, not employed at 24
    emp = pd.read_csv(employment, dtype=str, keep_default_na=False).pivot(index="participant_id", columns="month",
                                                                           values="employed")
    ever = emp.index[(emp["6"] == "0") & (emp["12"] == "1") & (emp["24"] == "1")][-1]
    line_emp = _edit(employment, _first_row(employment, participant_id=ever, month="24"), "employed", "0")
    # a participant's second job numbered 3
    job = pd.read_csv(jobs, dtype=str, keep_default_na=False)
    two = job[job["job_number"] == "2"]["participant_id"].iloc[-1]
    line_job = _edit(jobs, _first_row(jobs, participant_id=two, job_number="2"), "job_number", "3")
    # a follow-up row of nobody; a recruited person recruited again on a later line
    line_fu = _edit(followup, 100, "participant_id", "UK-99999")
    rec = pd.read_csv(recruitment, dtype=str, keep_default_na=False)
    recruited = rec.index[rec["outcome"] == "recruited"]
    first_id = rec.at[recruited[0], "participant_id"]
    line_rec = _edit(recruitment, int(recruited[-1]), "participant_id", first_id)
    lost = rec.at[recruited[-1], "participant_id"]

    problems = validate_data_dir(data)
    expected = [
        Problem("data/ips-pain/employment.csv", line_emp, "employed", "0",
                "is 0 after employed = 1 at month 12 (employment is cumulative)"),
        Problem("data/ips-pain/jobs.csv", line_job, "job_number", "3",
                f"leaves a gap: the jobs of {two} must be numbered 1, 2, … (expected 2)"),
        Problem("data/instep/recruitment.csv", line_rec, "participant_id", first_id,
                f"is recruited twice (also on line {int(recruited[0]) + 2})"),
        Problem("data/instep/followup.csv", line_fu, "participant_id", "UK-99999", "is not in participants.csv"),
    ]
    for p in expected:
        assert p in problems, p
    lost_line = _first_row(data / "instep" / "participants.csv", participant_id=lost) + 2
    assert Problem("data/instep/participants.csv", lost_line, "participant_id", lost,
                   "has no recruited row in recruitment.csv") in problems


def test_a_date_beyond_what_a_frame_holds_is_a_located_problem_not_a_crash(tmp_path):
    from data_fixture import set_cell, valid_files, write_data_dir

    files = valid_files()
    early = set_cell(files, "ips-pain/participants.csv", 0, "randomized_on", "1000-01-01")
    late = set_cell(files, "ips-pain/participants.csv", 1, "randomized_on", "2999-12-31")
    problems = validate_data_dir(write_data_dir(tmp_path, files))
    rule = "is outside the dates 1677-09-22 to 2262-04-11 that can be read"
    assert Problem("data/ips-pain/participants.csv", early, "randomized_on", "1000-01-01", rule) in problems
    assert Problem("data/ips-pain/participants.csv", late, "randomized_on", "2999-12-31", rule) in problems


def test_row_digests_hash_every_cell_even_when_texts_repeat(tmp_path):
    import hashlib

    from ipsreport.datadiff import row_digests

    folder = tmp_path / "data" / "other"
    folder.mkdir(parents=True)
    (folder / "visits.csv").write_text("visit_id,site,score\nV1,A,1\nV2,A,1\nV3,B,2\n", encoding="utf-8")
    digests = row_digests(tmp_path)["data/other/visits.csv"]
    sha = lambda text, n: hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]  # noqa: E731
    assert digests["keyed"] and digests["columns"] == ["visit_id", "site", "score"]
    assert digests["rows"] == {sha(f"{v}\x1e1", 16): [sha(v, 12), sha(s, 12), sha(c, 12)]
                               for v, s, c in (("V1", "A", "1"), ("V2", "A", "1"), ("V3", "B", "2"))}
