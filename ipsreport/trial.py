"""The IPS in Pain trial's analyses: loaded data in, tidy frames and flat result dictionaries out.

Each function applies the paper's statistical choices (Pearson chi-square without continuity correction,
Fisher's exact test when an expected count is below 5, Woolf odds-ratio intervals, Student or Welch t-test
by Levene's test, maximum-likelihood mixed models) to the data; nothing here formats or rounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ipsreport.paths import config_file
from ipsreport.results import slug
from ipsreport.stats.contingency import chi2_test_2x2, compare_proportions, compare_proportions_grid, odds_ratio_woolf
from ipsreport.stats.adjusted import StandardisedEffects, standardised_logistic
from ipsreport.stats.mixed import fit_clda, fit_group_time_mixed
from ipsreport.stats.multiplicity import holm_adjust
from ipsreport.stats.power import SampleSize, sample_size_two_proportions
from ipsreport.stats.stratified import MantelHaenszelResult, mantel_haenszel_odds_ratio
from ipsreport.stats.ttests import compare_means

__all__ = [
    "ARMS",
    "OUTCOMES",
    "BINARY_BASELINE",
    "CONTINUOUS_BASELINE",
    "participant_flow",
    "analysed",
    "baseline_characteristics",
    "employment_by_arm",
    "hours_worked",
    "worked_20h_week",
    "job_sector_shares",
    "secondary_outcomes",
    "mixed_models",
    "historical_comparison",
    "response_rates",
    "allocation_phase",
    "primary_by_phase",
    "phase_stratified_primary",
    "primary_bounds",
    "tipping_point",
    "adjusted_primary",
    "clda_models",
    "holm_families",
    "withdrawal_by_arm",
    "robustness_results",
    "design_results",
    "phase_key",
    "phase_count_results",
    "covariate_labels",
]

ARMS = ("IPS", "TAU")

# Questionnaire outcomes in the order of the paper's tables: column, label, range.
OUTCOMES: dict[str, tuple[str, str]] = {
    "odi": ("Pain-related disability (ODI)", "0–100"),
    "eq_vas": ("Health-related quality of life (EQ-VAS)", "0–100"),
    "hscl": ("Psychological distress (HSCL-25)", "1–4"),
    "hscl_anxiety": ("Anxiety (HSCL-25 subscale)", "1–4"),
    "hscl_depression": ("Depression (HSCL-25 subscale)", "1–4"),
    "bpi_current": ("Pain now (BPI)", "0–10"),
    "bpi_worst": ("Worst pain, past week (BPI)", "0–10"),
    "bpi_average": ("Average pain, past week (BPI)", "0–10"),
    "bpi_least": ("Least pain, past week (BPI)", "0–10"),
}

SHORT_LABELS = {"odi": "ODI", "eq_vas": "EQ-VAS", "hscl": "HSCL-25", "hscl_anxiety": "Anxiety",
                "hscl_depression": "Depression", "bpi_current": "Pain now", "bpi_worst": "Worst pain",
                "bpi_average": "Average pain", "bpi_least": "Least pain"}

# Binary baseline characteristics: key, label, how to derive the 0/1 series from participants.
BINARY_BASELINE: dict[str, str] = {
    "female": "Female",
    "higher_education": "Higher education",
    "partner": "Married or living with a partner",
    "has_children": "Has children",
    "benefit_any": "Receives a benefit",
    "benefit_waa": "Work assessment allowance",
    "benefit_disability": "Disability benefit",
    "benefit_other": "Other benefit",
    "out_of_work_2y": "Out of work for more than 2 years",
    "hscl_above_cutoff": "HSCL-25 at or above 1.75",
}
BENEFIT_SUBTYPES = {
    "benefit_waa": "work_assessment_allowance",
    "benefit_disability": "disability_benefit",
    "benefit_other": "other_benefit",
}
CONTINUOUS_BASELINE: dict[str, str] = {"age": "Age, years", **{k: v[0] for k, v in OUTCOMES.items()}}
HSCL_CUTOFF = 1.75


def analysed(participants: pd.DataFrame) -> pd.DataFrame:
    """The analysed participants: randomized and not withdrawn."""
    return participants.loc[participants["withdrawn"] == 0]


def participant_flow(participants: pd.DataFrame, employment: pd.DataFrame, questionnaires: pd.DataFrame) -> dict:
    """Counts for the CONSORT flow diagram: randomized, withdrawn and analysed by arm, responders by month."""
    flow: dict = {"randomized": int(len(participants)), "withdrawn": int(participants["withdrawn"].sum()),
                  "analysed": int((participants["withdrawn"] == 0).sum())}
    arm_of = participants.set_index("participant_id")["arm"]
    for arm in ARMS:
        in_arm = participants["arm"] == arm
        flow[f"randomized.{arm.lower()}"] = int(in_arm.sum())
        flow[f"withdrawn.{arm.lower()}"] = int(participants.loc[in_arm, "withdrawn"].sum())
        flow[f"analysed.{arm.lower()}"] = int((in_arm & (participants["withdrawn"] == 0)).sum())
    emp = employment.assign(arm=employment["participant_id"].map(arm_of))
    for month, rows in emp.groupby("month"):
        for arm in ARMS:
            responded = rows.loc[rows["arm"] == arm, "employed"].notna().sum()
            flow[f"employment_responders.m{int(month)}.{arm.lower()}"] = int(responded)
    scores = list(OUTCOMES)
    q = questionnaires.assign(arm=questionnaires["participant_id"].map(arm_of))
    q = q.assign(returned=q[scores].notna().any(axis=1))
    for month, rows in q.groupby("month"):
        for arm in ARMS:
            flow[f"questionnaire_responders.m{int(month)}.{arm.lower()}"] = int(rows.loc[rows["arm"] == arm, "returned"].sum())
    return flow


def _baseline_binary_series(participants: pd.DataFrame, questionnaires: pd.DataFrame,
                            cutoff: float) -> dict[str, pd.Series]:
    """0/1 series (indexed like ``participants``, NaN = missing) for each binary baseline row."""
    out = {key: participants[key].astype("Float64") for key in ("female", "higher_education", "partner",
                                                                  "has_children", "out_of_work_2y")}
    benefit = participants["benefit_type"]
    out["benefit_any"] = (benefit != "none").astype("Float64").where(benefit.notna())
    recipients = benefit.where(benefit != "none")
    for key, value in BENEFIT_SUBTYPES.items():
        out[key] = (recipients == value).astype("Float64").where(recipients.notna())
    base = questionnaires.loc[questionnaires["month"] == 0].set_index("participant_id")["hscl"]
    hscl = participants["participant_id"].map(base).astype("Float64")
    out["hscl_above_cutoff"] = (hscl >= cutoff).astype("Float64").where(hscl.notna())
    return {key: out[key] for key in BINARY_BASELINE}


def baseline_characteristics(participants: pd.DataFrame, questionnaires: pd.DataFrame,
                             cutoff: float = HSCL_CUTOFF) -> pd.DataFrame:
    """Table 1 as a tidy frame: one row per characteristic.

    Columns: ``variable``, ``label``, ``kind`` (binary | continuous), ``subrow`` (benefit types, which are
    percentages of recipients and have no test), for each arm ``{arm}_count``, ``{arm}_n`` (valid
    denominator or respondents), ``{arm}_percent``, ``{arm}_mean``, ``{arm}_sd``; ``test``, ``p_value``.
    """
    people = analysed(participants).reset_index(drop=True)
    base = questionnaires.loc[questionnaires["month"] == 0].set_index("participant_id")
    rows = []
    for key, series in _baseline_binary_series(people, questionnaires, cutoff).items():
        row = {"variable": key, "label": BINARY_BASELINE[key], "kind": "binary", "subrow": key in BENEFIT_SUBTYPES}
        counts = {}
        for arm in ARMS:
            values = series[people["arm"] == arm].dropna()
            k, n = int(values.sum()), int(len(values))
            counts[arm] = (k, n)
            row |= {f"{arm.lower()}_count": k, f"{arm.lower()}_n": n, f"{arm.lower()}_percent": 100 * k / n if n else np.nan}
        if key in BENEFIT_SUBTYPES:
            row |= {"test": None, "p_value": np.nan}
        else:
            cmp = compare_proportions(*counts["IPS"], *counts["TAU"])
            row |= {"test": cmp.test, "p_value": cmp.p_value}
        rows.append(row)
    for key, label in CONTINUOUS_BASELINE.items():
        if key == "age":
            values = people.set_index("participant_id")["age"]
        else:
            values = people["participant_id"].map(base[key]).set_axis(people["participant_id"])
        arm = people.set_index("participant_id")["arm"]
        x = values[arm == "IPS"].astype(float).dropna().to_numpy()
        y = values[arm == "TAU"].astype(float).dropna().to_numpy()
        cmp = compare_means(x, y)
        row = {"variable": key, "label": label, "kind": "continuous", "subrow": False}
        for a, v in (("ips", x), ("tau", y)):
            row |= {f"{a}_n": len(v), f"{a}_mean": float(np.mean(v)), f"{a}_sd": float(np.std(v, ddof=1))}
        row |= {"test": cmp.variant, "p_value": cmp.p_value}
        rows.append(row)
    return pd.DataFrame(rows)


def _arm_counts(frame: pd.DataFrame, arm_of: pd.Series, column: str) -> dict[str, tuple[int, int]]:
    values = frame.assign(arm=frame["participant_id"].map(arm_of)).dropna(subset=[column])
    return {arm: (int(values.loc[values["arm"] == arm, column].sum()), int((values["arm"] == arm).sum())) for arm in ARMS}


def employment_by_arm(participants: pd.DataFrame, employment: pd.DataFrame,
                      missing: str = "exclude") -> pd.DataFrame:
    """Table 2 as a tidy frame: one row per follow-up month.

    ``missing="exclude"`` (the paper's analysis) uses respondents as the denominator; ``"not_employed"`` is
    a sensitivity analysis that counts every analysed non-respondent as not employed.

    Columns: ``month``, ``ips_employed``, ``ips_n``, ``ips_percent`` (and ``tau_*``), ``test``,
    ``statistic``, ``p_value``, ``odds_ratio``, ``or_ci_low``, ``or_ci_high``, ``risk_difference``
    (percentage points, IPS − TAU), ``rd_ci_low``, ``rd_ci_high``, and Wilson 95% limits of each rate
    (``{arm}_ci_low``/``{arm}_ci_high``, percent).
    """
    from ipsreport.stats.proportions import wilson_ci

    if missing not in ("exclude", "not_employed"):
        raise ValueError("missing must be 'exclude' or 'not_employed'")
    arm_of = participants.set_index("participant_id")["arm"]
    rows = []
    for month, frame in employment.groupby("month", sort=True):
        if missing == "not_employed":
            frame = frame.assign(employed=frame["employed"].fillna(0))
        counts = _arm_counts(frame, arm_of, "employed")
        cmp = compare_proportions(*counts["IPS"], *counts["TAU"])
        row = {"month": int(month)}
        for arm, (k, n) in counts.items():
            low, high = wilson_ci(k, n)
            row |= {f"{arm.lower()}_employed": k, f"{arm.lower()}_n": n, f"{arm.lower()}_percent": 100 * k / n,
                    f"{arm.lower()}_ci_low": 100 * low, f"{arm.lower()}_ci_high": 100 * high}
        row |= {
            "test": cmp.test, "statistic": cmp.statistic, "p_value": cmp.p_value,
            "odds_ratio": cmp.odds_ratio, "or_ci_low": cmp.or_ci_low, "or_ci_high": cmp.or_ci_high,
            "risk_difference": cmp.risk_difference, "rd_ci_low": cmp.rd_ci_low, "rd_ci_high": cmp.rd_ci_high,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def hours_worked(participants: pd.DataFrame, work: pd.DataFrame):
    """Total hours worked in 12 months by arm, compared by t-test (variant by Levene's test)."""
    arm_of = participants.set_index("participant_id")["arm"]
    w = work.assign(arm=work["participant_id"].map(arm_of)).dropna(subset=["hours_worked"])
    x = w.loc[w["arm"] == "IPS", "hours_worked"].astype(float).to_numpy()
    y = w.loc[w["arm"] == "TAU", "hours_worked"].astype(float).to_numpy()
    return compare_means(x, y), {"ips": (x.min(), x.max()), "tau": (y.min(), y.max())}


def worked_20h_week(participants: pd.DataFrame, work: pd.DataFrame):
    """Ever worked at least 20 hours in a week during 12 months, by arm (Fisher when expected < 5)."""
    counts = _arm_counts(work, participants.set_index("participant_id")["arm"], "worked_20h_week")
    return compare_proportions(*counts["IPS"], *counts["TAU"])


def job_sector_shares(jobs: pd.DataFrame) -> pd.DataFrame:
    """Share of jobs attained by IPS participants per sector: ``sector``, ``jobs``, ``percent``; largest first."""
    counts = jobs["job_sector"].value_counts()
    frame = pd.DataFrame({"sector": counts.index.astype(str), "jobs": counts.to_numpy().astype(int)})
    frame["percent"] = 100 * frame["jobs"] / frame["jobs"].sum()
    return frame.sort_values(["jobs", "sector"], ascending=[False, True], ignore_index=True)


def secondary_outcomes(participants: pd.DataFrame, questionnaires: pd.DataFrame) -> pd.DataFrame:
    """Table 3 as a tidy frame: one row per outcome and follow-up month (6, 12).

    Columns: ``outcome``, ``label``, ``month``, ``{arm}_n``, ``{arm}_mean``, ``{arm}_sd``, ``levene_p``,
    ``test`` (student | welch), ``statistic``, ``df``, ``p_value``, ``mean_difference``, ``md_ci_low``,
    ``md_ci_high``, ``p_welch`` (Welch's test whatever Levene says: the sensitivity column).
    """
    arm_of = participants.set_index("participant_id")["arm"]
    q = questionnaires.assign(arm=questionnaires["participant_id"].map(arm_of))
    rows = []
    for outcome, (label, _) in OUTCOMES.items():
        for month in (6, 12):
            at = q.loc[q["month"] == month]
            x = at.loc[at["arm"] == "IPS", outcome].astype(float).dropna().to_numpy()
            y = at.loc[at["arm"] == "TAU", outcome].astype(float).dropna().to_numpy()
            cmp = compare_means(x, y)
            rows.append({
                "outcome": outcome, "label": label, "short": SHORT_LABELS[outcome], "month": month,
                "ips_n": cmp.n1, "ips_mean": cmp.mean1, "ips_sd": cmp.sd1,
                "tau_n": cmp.n2, "tau_mean": cmp.mean2, "tau_sd": cmp.sd2,
                "levene_p": cmp.levene_p, "test": cmp.variant, "statistic": cmp.t, "df": cmp.df,
                "p_value": cmp.p_value, "mean_difference": cmp.mean_diff,
                "md_ci_low": cmp.ci_low, "md_ci_high": cmp.ci_high, "p_welch": cmp.p_welch,
            })
    return pd.DataFrame(rows)


def mixed_models(participants: pd.DataFrame, questionnaires: pd.DataFrame) -> pd.DataFrame:
    """Table 4 as a tidy frame: ``outcome``, ``label``, ``term`` (group, time, group_time, intercept),
    ``estimate``, ``se``, ``z``, ``p_value``, ``n_obs``, ``n_groups``, ``random_intercept_var``.

    group = 1 for IPS, time = 0, 1, 2 for months 0, 6, 12; random intercept per participant; ML. This is the
    paper's specification: with the interaction in the model, ``group`` is the difference between the arms
    at baseline and ``group_time`` the difference in their linear slopes per 6 months.
    """
    arm_of = participants.set_index("participant_id")["arm"]
    long = questionnaires.assign(
        group=(questionnaires["participant_id"].map(arm_of) == "IPS").astype(int),
        time=questionnaires["month"].map({0: 0, 6: 1, 12: 2}).astype(int),
    )
    frames = []
    for outcome, (label, _) in OUTCOMES.items():
        data = long[["participant_id", "group", "time", outcome]].dropna()
        data = data.astype({outcome: float})
        fit = fit_group_time_mixed(data, outcome)
        frames.append(fit.coefficients.assign(outcome=outcome, label=label, short=SHORT_LABELS[outcome],
                                              n_obs=fit.info.n_obs, n_groups=fit.info.n_groups,
                                              random_intercept_var=fit.info.random_intercept_var))
    cols = ["outcome", "label", "short", "term", "estimate", "se", "z", "p_value", "n_obs", "n_groups",
            "random_intercept_var"]
    return pd.concat(frames, ignore_index=True)[cols]


@dataclass(frozen=True)
class HistoricalComparison:
    """IPS employment by 12 months vs the registry's historical controls employed at 12 months."""

    ips_employed: int
    ips_n: int
    historical_employed: int
    historical_n: int
    chi2: float
    df: int
    n: int
    p_value: float
    odds_ratio: float
    or_ci_low: float
    or_ci_high: float

    @property
    def ips_percent(self) -> float:
        return 100 * self.ips_employed / self.ips_n

    @property
    def historical_percent(self) -> float:
        return 100 * self.historical_employed / self.historical_n


def historical_comparison(participants, employment, controls) -> HistoricalComparison:
    arm_of = participants.set_index("participant_id")["arm"]
    k1, n1 = _arm_counts(employment.loc[employment["month"] == 12], arm_of, "employed")["IPS"]
    k2, n2 = int(controls["employed_12m"].sum()), int(controls["employed_12m"].notna().sum())
    chi = chi2_test_2x2(k1, n1, k2, n2)
    ratio = odds_ratio_woolf(k1, n1, k2, n2)
    return HistoricalComparison(k1, n1, k2, n2, chi.statistic, chi.df, chi.n, chi.p_value,
                                ratio.odds_ratio, ratio.ci_low, ratio.ci_high)


def response_rates(participants: pd.DataFrame, employment: pd.DataFrame) -> pd.DataFrame:
    """Response to the primary outcome by arm and month: ``month``, ``arm``, ``responded``, ``analysed``, ``percent``."""
    people = analysed(participants)
    size = people["arm"].value_counts()
    arm_of = people.set_index("participant_id")["arm"]
    emp = employment.assign(arm=employment["participant_id"].map(arm_of))
    rows = []
    for (month, arm), frame in emp.groupby(["month", "arm"], sort=True):
        responded = int(frame["employed"].notna().sum())
        rows.append({"month": int(month), "arm": arm, "responded": responded, "analysed": int(size[arm]),
                     "percent": 100 * responded / int(size[arm])})
    return pd.DataFrame(rows)


def employment_results(employment: pd.DataFrame) -> dict:
    """Table 2's values under ``primary.m{month}.…`` keys (without the ``primary`` prefix)."""
    out = {}
    for r in employment.to_dict("records"):
        m = f"m{r['month']}"
        for arm in ("ips", "tau"):
            out |= {f"{m}.{arm}.employed": r[f"{arm}_employed"], f"{m}.{arm}.n": r[f"{arm}_n"],
                    f"{m}.{arm}.percent": r[f"{arm}_percent"]}
        out |= {f"{m}.{k}": r[k] for k in ("p_value", "odds_ratio", "or_ci_low", "or_ci_high", "risk_difference",
                                           "rd_ci_low", "rd_ci_high")}
        out[f"{m}.n"] = int(r["ips_n"] + r["tau_n"])
        out[f"{m}.test"] = r["test"]
    return out


def design(path: str | Path | None = None) -> dict:
    """The trial's design assumptions from ``config/design.yaml`` (section ``ips_pain``)."""
    return load_design(path)["ips_pain"]


def load_design(path: str | Path | None = None) -> dict:
    """The whole design file: inputs such as sample-size assumptions and progression thresholds."""
    path = Path(path) if path else config_file("design.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def sample_size(design: dict, method: str | None = None) -> SampleSize:
    """The protocol's sample-size calculation from the design assumptions."""
    s = design["sample_size"]
    return sample_size_two_proportions(s["p_ips"], s["p_control"], alpha=s["alpha"], power=s["power"],
                                       method=method or s["method"])


def baseline_results(baseline: pd.DataFrame) -> dict:
    """Table 1's values under ``{variable}.{arm}.{statistic}`` keys (the caller adds ``baseline``)."""
    out = {}
    for r in baseline.to_dict("records"):
        v = r["variable"]
        for arm in ("ips", "tau"):
            stats = ("count", "n", "percent") if r["kind"] == "binary" else ("n", "mean", "sd")
            for s in stats:
                key = "denominator" if (s == "n" and r["kind"] == "binary") else s
                value = r[f"{arm}_{s}"]
                out[f"{v}.{arm}.{key}"] = int(value) if s in ("count", "n") else value
        if not r["subrow"]:
            out[f"{v}.p_value"] = r["p_value"]
            out[f"{v}.test"] = r["test"]
    return out


SECTOR_LABELS = {
    "health_social": "Health and social services",
    "childcare_school": "Child care and school",
    "business_assistant": "Assistant in a business",
    "retail": "Shop and retail",
}


def sector_label(code: str) -> str:
    """A readable sector name: the known labels, else the code with spaces."""
    return SECTOR_LABELS.get(code, str(code).replace("_", " ").capitalize())


def work_results(hours, hours_range: dict, worked20, sectors: pd.DataFrame) -> dict:
    """Hours worked, ≥ 20 hours a week and job-sector shares under ``hours.``, ``hours20.``, ``jobs.`` keys."""
    out = {
        "hours.ips.n": hours.n1, "hours.ips.mean": hours.mean1, "hours.ips.sd": hours.sd1,
        "hours.tau.n": hours.n2, "hours.tau.mean": hours.mean2, "hours.tau.sd": hours.sd2,
        "hours.ips.min": hours_range["ips"][0], "hours.ips.max": hours_range["ips"][1],
        "hours.tau.min": hours_range["tau"][0], "hours.tau.max": hours_range["tau"][1],
        "hours.p_value": hours.p_value, "hours.test": hours.variant, "hours.levene_p": hours.levene_p,
        "hours.mean_difference": hours.mean_diff, "hours.md_ci_low": hours.ci_low, "hours.md_ci_high": hours.ci_high,
        "hours20.ips.count": worked20.count1, "hours20.ips.n": worked20.n1, "hours20.ips.percent": worked20.percent1,
        "hours20.tau.count": worked20.count2, "hours20.tau.n": worked20.n2, "hours20.tau.percent": worked20.percent2,
        "hours20.p_value": worked20.p_value, "hours20.test": worked20.test,
        "hours20.odds_ratio": worked20.odds_ratio, "hours20.or_ci_low": worked20.or_ci_low,
        "hours20.or_ci_high": worked20.or_ci_high,
        "jobs.total": int(sectors["jobs"].sum()),
    }
    for r in sectors.to_dict("records"):
        key = slug(r["sector"])
        out[f"jobs.sector.{key}.count"] = r["jobs"]
        out[f"jobs.sector.{key}.percent"] = r["percent"]
    return out


def outcome_trajectories(participants: pd.DataFrame, questionnaires: pd.DataFrame) -> pd.DataFrame:
    """Mean and t-based 95% CI of each outcome by arm and month (0, 6, 12), respondents only.

    Columns: ``outcome``, ``arm``, ``month``, ``n``, ``mean``, ``sd``, ``ci_low``, ``ci_high``.
    """
    from scipy import stats as sps

    arm_of = participants.set_index("participant_id")["arm"]
    q = questionnaires.assign(arm=questionnaires["participant_id"].map(arm_of))
    rows = []
    for outcome in OUTCOMES:
        for (arm, month), frame in q.groupby(["arm", "month"], sort=True):
            v = frame[outcome].astype(float).dropna().to_numpy()
            n = len(v)
            mean = float(v.mean()) if n else np.nan
            sd = float(v.std(ddof=1)) if n > 1 else np.nan
            half = float(sps.t.ppf(0.975, n - 1) * sd / np.sqrt(n)) if n > 1 else np.nan
            rows.append({"outcome": outcome, "arm": arm, "month": int(month), "n": n, "mean": mean, "sd": sd,
                         "ci_low": mean - half, "ci_high": mean + half})
    return pd.DataFrame(rows)


def secondary_results(secondary: pd.DataFrame) -> dict:
    """Table 3's values under ``m{month}.{outcome}.{arm}.{n,mean,sd}`` keys (caller adds ``secondary``)."""
    out = {}
    for r in secondary.to_dict("records"):
        base = f"m{r['month']}.{r['outcome']}"
        for arm in ("ips", "tau"):
            for s in ("n", "mean", "sd"):
                out[f"{base}.{arm}.{s}"] = r[f"{arm}_{s}"]
        out |= {f"{base}.p_value": r["p_value"], f"{base}.test": r["test"], f"{base}.levene_p": r["levene_p"],
                f"{base}.mean_difference": r["mean_difference"], f"{base}.md_ci_low": r["md_ci_low"],
                f"{base}.md_ci_high": r["md_ci_high"]}
    return out


def mixed_results(mixed: pd.DataFrame) -> dict:
    """Table 4's values under ``{outcome}.{term}.{estimate,se,z,p_value}`` keys (caller adds ``mixed``)."""
    out = {}
    for r in mixed.to_dict("records"):
        for s in ("estimate", "se", "z", "p_value"):
            out[f"{r['outcome']}.{r['term']}.{s}"] = r[s]
    return out


def historical_results(c: HistoricalComparison) -> dict:
    """The ancillary comparison under ``ancillary.`` keys (caller adds the prefix)."""
    return {
        "historical.n": c.historical_n, "historical.employed": c.historical_employed,
        "historical.percent": c.historical_percent, "ips.n": c.ips_n, "ips.employed": c.ips_employed,
        "ips.percent": c.ips_percent, "chi2": c.chi2, "df": c.df, "n": c.n, "p_value": c.p_value,
        "odds_ratio": c.odds_ratio, "or_ci_low": c.or_ci_low, "or_ci_high": c.or_ci_high,
    }


def all_results(data, design_inputs: dict | None = None) -> dict:
    """Every value the trial chapters register, under the same keys, from the same functions.

    The concordance appendix compares these with the published numbers; a test checks that the keys and
    values equal those the chapters wrote to ``results.json``.
    """
    design_inputs = design_inputs or design()
    p, q, e = data.participants, data.questionnaires, data.employment
    out: dict = {}
    out |= {f"flow.{k}": v for k, v in participant_flow(p, e, q).items()}
    ss = sample_size(design_inputs)
    out |= {"sample_size.per_group": ss.n_per_group, "sample_size.exact": ss.n_exact}
    baseline = baseline_characteristics(p, q, cutoff=design_inputs["hscl_cutoff"])
    out |= {f"baseline.{k}": v for k, v in baseline_results(baseline).items()}
    out |= {f"primary.{k}": v for k, v in employment_results(employment_by_arm(p, e)).items()}
    sensitivity = employment_results(employment_by_arm(p, e, missing="not_employed"))
    out |= {f"primary.sensitivity.{k}": v for k, v in sensitivity.items() if k.startswith("m12.")}
    hours, hours_range = hours_worked(p, data.work_12m)
    out |= work_results(hours, hours_range, worked_20h_week(p, data.work_12m), job_sector_shares(data.jobs))
    response = response_rates(p, e)
    out |= {"response.primary.min_percent": response["percent"].min(),
            "response.primary.max_percent": response["percent"].max()}
    out |= {f"secondary.{k}": v for k, v in secondary_results(secondary_outcomes(p, q)).items()}
    out |= {f"mixed.{k}": v for k, v in mixed_results(mixed_models(p, q)).items()}
    out |= {f"ancillary.{k}": v for k, v in
            historical_results(historical_comparison(p, e, data.historical_controls)).items()}
    out |= robustness_results(data, design_inputs)
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in out.items()}


# --- Robustness of the primary analysis and of the secondary outcomes (statistical review, issue 8) ---

PHASES = ("2:1", "1:1")
# The families Holm's method can be applied to, and the column of the frame holding their raw P values.
MULTIPLICITY_SOURCES = ("ttest", "clda")


# How the adjustment covariates are named in the text.
COVARIATE_LABELS = {"allocation_phase": "allocation phase", "age": "age", "female": "sex"}


def covariate_labels(covariates) -> list[str]:
    """Readable names of the adjustment covariates, in the configured order."""
    return [COVARIATE_LABELS.get(c, c.replace("_", " ")) for c in covariates]


def phase_boundary(design_inputs: dict) -> pd.Timestamp:
    """The first day of 1:1 allocation, from ``allocation_phase_boundary`` in the design."""
    value = design_inputs.get("allocation_phase_boundary")
    if value is None:
        raise KeyError("config/design.yaml: ips_pain.allocation_phase_boundary is missing (a date, YYYY-MM-DD)")
    try:
        return pd.Timestamp(str(value))
    except ValueError:
        raise ValueError(f"config/design.yaml: ips_pain.allocation_phase_boundary {value!r} is not a date "
                         "(YYYY-MM-DD)") from None


def allocation_phase(participants: pd.DataFrame, boundary) -> pd.Series:
    """``"2:1"`` for participants randomized before ``boundary``, ``"1:1"`` from it on (indexed like the input)."""
    boundary = pd.Timestamp(boundary)
    dates = pd.to_datetime(participants["randomized_on"])
    return pd.Series(np.where(dates < boundary, PHASES[0], PHASES[1]), index=participants.index,
                     name="allocation_phase")


def _primary_frame(participants: pd.DataFrame, employment: pd.DataFrame, month: int,
                   boundary=None) -> pd.DataFrame:
    """One row per analysed participant: ``arm``, ``ips`` (1/0), ``employed`` (NaN when not known), the
    characteristics of participants.csv and, given a boundary, ``allocation_phase``."""
    people = analysed(participants).reset_index(drop=True)
    at = employment.loc[employment["month"] == month].set_index("participant_id")["employed"]
    frame = people.assign(employed=people["participant_id"].map(at).astype(float),
                          ips=(people["arm"] == "IPS").astype(int))
    if boundary is not None:
        frame = frame.assign(allocation_phase=allocation_phase(frame, boundary))
    return frame


def _counts(frame: pd.DataFrame) -> tuple[int, int, int, int]:
    known = frame.dropna(subset=["employed"])
    ips, tau = known.loc[known["ips"] == 1, "employed"], known.loc[known["ips"] == 0, "employed"]
    return int(ips.sum()), int(len(ips)), int(tau.sum()), int(len(tau))


def primary_by_phase(participants: pd.DataFrame, employment: pd.DataFrame, boundary, month: int = 12) -> pd.DataFrame:
    """Employment by ``month`` in each allocation phase (respondents): ``phase``, ``ips_employed``, ``ips_n``,
    ``tau_employed``, ``tau_n``, ``ips_percent``, ``tau_percent``, ``odds_ratio``, ``or_ci_low``,
    ``or_ci_high`` (Woolf; 0.5 added to every cell when one is 0)."""
    frame = _primary_frame(participants, employment, month, boundary)
    rows = []
    for phase in PHASES:
        k1, n1, k2, n2 = _counts(frame.loc[frame["allocation_phase"] == phase])
        row = {"phase": phase, "ips_employed": k1, "ips_n": n1, "tau_employed": k2, "tau_n": n2,
               "ips_percent": 100 * k1 / n1 if n1 else np.nan, "tau_percent": 100 * k2 / n2 if n2 else np.nan}
        if n1 and n2:
            ratio = odds_ratio_woolf(k1, n1, k2, n2)
            row |= {"odds_ratio": ratio.odds_ratio, "or_ci_low": ratio.ci_low, "or_ci_high": ratio.ci_high}
        else:
            row |= {"odds_ratio": np.nan, "or_ci_low": np.nan, "or_ci_high": np.nan}
        rows.append(row)
    return pd.DataFrame(rows)


def phase_stratified_primary(by_phase: pd.DataFrame) -> MantelHaenszelResult:
    """Mantel–Haenszel odds ratio over the allocation phases of :func:`primary_by_phase`, with the
    Robins–Breslow–Greenland CI and the Breslow–Day test (Tarone-corrected) of equal odds ratios."""
    strata = by_phase[["ips_employed", "ips_n", "tau_employed", "tau_n"]].astype(int).to_numpy().tolist()
    return mantel_haenszel_odds_ratio(strata)


BOUND_SCENARIOS = {
    "respondents": "Respondents only (the paper's analysis)",
    "missing_not_employed": "Every non-respondent not employed",
    "ips_favoured": "IPS favoured: missing IPS employed, missing TAU not",
    "tau_favoured": "TAU favoured: missing TAU employed, missing IPS not",
}


def primary_bounds(participants: pd.DataFrame, employment: pd.DataFrame, month: int = 12) -> pd.DataFrame:
    """The primary comparison under the extreme assumptions about the analysed participants whose outcome is
    missing, one row per scenario of ``BOUND_SCENARIOS``.

    Columns: ``scenario``, ``label``, ``ips_missing``, ``tau_missing``, ``ips_employed``, ``ips_n``,
    ``tau_employed``, ``tau_n``, ``ips_percent``, ``tau_percent``, ``test``, ``p_value``, ``odds_ratio``,
    ``or_ci_low``, ``or_ci_high``, ``risk_difference``, ``rd_ci_low``, ``rd_ci_high`` (as
    :func:`employment_by_arm`).
    """
    frame = _primary_frame(participants, employment, month)
    k1, r1, k2, r2 = _counts(frame)
    m1 = int(((frame["ips"] == 1) & frame["employed"].isna()).sum())
    m2 = int(((frame["ips"] == 0) & frame["employed"].isna()).sum())
    cells = {"respondents": (k1, r1, k2, r2), "missing_not_employed": (k1, r1 + m1, k2, r2 + m2),
             "ips_favoured": (k1 + m1, r1 + m1, k2, r2 + m2), "tau_favoured": (k1, r1 + m1, k2 + m2, r2 + m2)}
    rows = []
    for scenario, (a, n1, c, n2) in cells.items():
        cmp = compare_proportions(a, n1, c, n2)
        rows.append({"scenario": scenario, "label": BOUND_SCENARIOS[scenario], "ips_missing": m1, "tau_missing": m2,
                     "ips_employed": a, "ips_n": n1, "tau_employed": c, "tau_n": n2,
                     "ips_percent": cmp.percent1, "tau_percent": cmp.percent2, "test": cmp.test,
                     "p_value": cmp.p_value, "odds_ratio": cmp.odds_ratio, "or_ci_low": cmp.or_ci_low,
                     "or_ci_high": cmp.or_ci_high, "risk_difference": cmp.risk_difference,
                     "rd_ci_low": cmp.rd_ci_low, "rd_ci_high": cmp.rd_ci_high})
    return pd.DataFrame(rows)


def tipping_point(participants: pd.DataFrame, employment: pd.DataFrame, month: int = 12) -> pd.DataFrame:
    """Every split of the missing primary outcomes: how many missing IPS and missing TAU participants are
    taken as employed (the rest not), and the resulting comparison.

    Columns: ``ips_missing_employed``, ``tau_missing_employed``, ``ips_employed``, ``ips_n``,
    ``tau_employed``, ``tau_n``, ``test``, ``p_value``, ``odds_ratio``, ``risk_difference``.
    """
    frame = _primary_frame(participants, employment, month)
    k1, r1, k2, r2 = _counts(frame)
    m1 = int(((frame["ips"] == 1) & frame["employed"].isna()).sum())
    m2 = int(((frame["ips"] == 0) & frame["employed"].isna()).sum())
    # (m1 + 1)(m2 + 1) tables: compared at once (the automatic test, odds ratio and risk difference of
    # compare_proportions, without the intervals the table does not show), so a large trial's grid stays fast.
    i, j = (g.ravel() for g in np.meshgrid(np.arange(m1 + 1), np.arange(m2 + 1), indexing="ij"))
    cmp = compare_proportions_grid(k1 + i, r1 + m1, k2 + j, r2 + m2)
    return pd.DataFrame({
        "ips_missing_employed": i.tolist(), "tau_missing_employed": j.tolist(), "ips_employed": (k1 + i).tolist(),
        "ips_n": [r1 + m1] * len(i), "tau_employed": (k2 + j).tolist(), "tau_n": [r2 + m2] * len(i),
        "test": cmp["test"].tolist(), "p_value": cmp["p_value"].tolist(), "odds_ratio": cmp["odds_ratio"].tolist(),
        "risk_difference": cmp["risk_difference"].tolist(),
    })


def adjusted_primary(participants: pd.DataFrame, employment: pd.DataFrame, covariates, boundary,
                     month: int = 12) -> StandardisedEffects:
    """Logistic regression of employment by ``month`` on arm and ``covariates`` (respondents with every
    covariate known), with the risk ratio and difference by marginal standardisation.

    ``covariates`` are participants.csv columns or ``allocation_phase``; a covariate's choice is the
    report's (``adjustment_covariates`` in the design), not the trial's.
    """
    frame = _primary_frame(participants, employment, month, boundary)
    unknown = [c for c in covariates if c not in frame.columns]
    if unknown:
        raise KeyError(f"config/design.yaml: ips_pain.adjustment_covariates names unknown columns {unknown}")
    return standardised_logistic(frame, "employed", "ips", list(covariates))


def clda_models(participants: pd.DataFrame, questionnaires: pd.DataFrame) -> pd.DataFrame:
    """cLDA per outcome: baseline, 6 and 12 months as outcomes, common baseline mean, treatment effects at 6
    and 12 months (IPS − TAU), random intercept per participant (REML).

    Columns: ``outcome``, ``label``, ``short``, ``month``, ``estimate``, ``se``, ``z``, ``p_value``,
    ``ci_low``, ``ci_high``, ``n_obs``, ``n_groups``, ``random_intercept_var``, ``converged``.
    """
    arm_of = participants.set_index("participant_id")["arm"]
    long = questionnaires.assign(arm=questionnaires["participant_id"].map(arm_of))
    frames = []
    for outcome, (label, _) in OUTCOMES.items():
        data = long[["participant_id", "arm", "month", outcome]].dropna().astype({outcome: float})
        fit = fit_clda(data, outcome, group_col="arm", time_col="month", baseline=0, treatment="IPS")
        frames.append(fit.effects.rename(columns={"time": "month"}).assign(
            outcome=outcome, label=label, short=SHORT_LABELS[outcome], n_obs=fit.info.n_obs,
            n_groups=fit.info.n_groups, random_intercept_var=fit.info.random_intercept_var,
            converged=fit.info.converged))
    cols = ["outcome", "label", "short", "month", "estimate", "se", "z", "p_value", "ci_low", "ci_high", "n_obs",
            "n_groups", "random_intercept_var", "converged"]
    out = pd.concat(frames, ignore_index=True)[cols]
    return out.astype({"month": int})


def holm_families(secondary: pd.DataFrame, clda: pd.DataFrame, families: dict[str, str]) -> pd.DataFrame:
    """Holm-adjusted P values within each configured family.

    ``families`` maps a family key to its label (``multiplicity_families`` in the design): ``ttest`` is the
    follow-up t-tests of :func:`secondary_outcomes` (the variant the paper used), ``clda`` the treatment
    effects of :func:`clda_models`. Columns: ``family``, ``family_label``, ``outcome``, ``short``, ``month``,
    ``p_value``, ``p_holm``, ``m`` (tests in the family).
    """
    unknown = sorted(set(families) - set(MULTIPLICITY_SOURCES))
    if unknown:
        raise ValueError(f"config/design.yaml: ips_pain.multiplicity_families has unknown families {unknown}; "
                         f"known: {list(MULTIPLICITY_SOURCES)}")
    sources = {"ttest": secondary, "clda": clda}
    frames = []
    for key, label in families.items():
        tests = sources[key][["outcome", "short", "month", "p_value"]].reset_index(drop=True)
        frames.append(tests.assign(family=key, family_label=label, p_holm=holm_adjust(tests["p_value"]),
                                   m=int(tests["p_value"].notna().sum())))
    cols = ["family", "family_label", "outcome", "short", "month", "p_value", "p_holm", "m"]
    return pd.concat(frames, ignore_index=True)[cols]


def withdrawal_by_arm(participants: pd.DataFrame):
    """Withdrawal after randomization, IPS vs TAU, by Fisher's exact test (withdrawals are few)."""
    counts = {arm: (int(participants.loc[participants["arm"] == arm, "withdrawn"].sum()),
                    int((participants["arm"] == arm).sum())) for arm in ARMS}
    return compare_proportions(*counts["IPS"], *counts["TAU"], test="fisher")


def welch_results(secondary: pd.DataFrame) -> dict:
    """``welch.m{month}.{outcome}.p_value`` (caller adds ``secondary``)."""
    return {f"welch.m{r['month']}.{r['outcome']}.p_value": r["p_welch"] for r in secondary.to_dict("records")}


def clda_results(clda: pd.DataFrame) -> dict:
    """``clda.m{month}.{outcome}.{estimate,ci_low,ci_high,p_value,n_groups}`` (caller adds ``secondary``)."""
    return {f"clda.m{r['month']}.{r['outcome']}.{s}": r[s] for r in clda.to_dict("records")
            for s in ("estimate", "ci_low", "ci_high", "p_value", "n_groups")}


def holm_results(holm: pd.DataFrame) -> dict:
    """``holm.{family}.m{month}.{outcome}.p_value`` (caller adds ``secondary``)."""
    return {f"holm.{r['family']}.m{r['month']}.{r['outcome']}.p_value": r["p_holm"] for r in holm.to_dict("records")}


def phase_results(mh: MantelHaenszelResult, month: int = 12) -> dict:
    """``phase_stratified.m12.{mh_odds_ratio,ci_low,ci_high,homogeneity_p_value}`` (caller adds ``primary``)."""
    base = f"phase_stratified.m{month}"
    return {f"{base}.mh_odds_ratio": mh.odds_ratio, f"{base}.ci_low": mh.ci_low, f"{base}.ci_high": mh.ci_high,
            f"{base}.homogeneity_p_value": mh.homogeneity_p_value}


def bounds_results(bounds: pd.DataFrame, month: int = 12) -> dict:
    """``bounds.m12.{ips_favoured,tau_favoured}.{odds_ratio,or_ci_low,or_ci_high,p_value}`` and the missing
    outcomes the bounds fill in, ``bounds.m12.ips_favoured.{ips_missing,tau_missing}`` (caller adds ``primary``)."""
    rows = bounds.set_index("scenario")
    out = {f"bounds.m{month}.{s}.{k}": rows.loc[s, k] for s in ("ips_favoured", "tau_favoured")
           for k in ("odds_ratio", "or_ci_low", "or_ci_high", "p_value")}
    return out | {f"bounds.m{month}.ips_favoured.{k}": int(rows.loc["ips_favoured", k])
                  for k in ("ips_missing", "tau_missing")}


def adjusted_results(adjusted: StandardisedEffects, month: int = 12) -> dict:
    """``adjusted.m12.{odds_ratio,…,rd_ci_high}`` (caller adds ``primary``)."""
    keys = ("odds_ratio", "or_ci_low", "or_ci_high", "risk_ratio", "rr_ci_low", "rr_ci_high", "risk_difference",
            "rd_ci_low", "rd_ci_high")
    out = {f"adjusted.m{month}.{k}": getattr(adjusted, k) for k in keys}
    out[f"adjusted.m{month}.risk_treated_percent"] = 100 * adjusted.risk_treated
    out[f"adjusted.m{month}.risk_control_percent"] = 100 * adjusted.risk_control
    out[f"adjusted.m{month}.n"] = int(adjusted.n)
    return out


def robustness_results(data, design_inputs: dict) -> dict:
    """The sensitivity and supplementary analyses under their full ``primary.…`` and ``secondary.…`` keys."""
    p, q, e = data.participants, data.questionnaires, data.employment
    boundary = phase_boundary(design_inputs)
    secondary = secondary_outcomes(p, q)
    clda = clda_models(p, q)
    holm = holm_families(secondary, clda, design_inputs["multiplicity_families"])
    out: dict = {}
    out |= {f"secondary.{k}": v for k, v in welch_results(secondary).items()}
    out |= {f"secondary.{k}": v for k, v in clda_results(clda).items()}
    out |= {f"secondary.{k}": v for k, v in holm_results(holm).items()}
    mh = phase_stratified_primary(primary_by_phase(p, e, boundary))
    out |= {f"primary.{k}": v for k, v in phase_results(mh).items()}
    out |= {f"primary.{k}": v for k, v in bounds_results(primary_bounds(p, e)).items()}
    adjusted = adjusted_primary(p, e, design_inputs["adjustment_covariates"], boundary)
    out |= {f"primary.{k}": v for k, v in adjusted_results(adjusted).items()}
    return out


def design_results(design: dict) -> dict:
    """The design inputs the prose states, under ``design.…`` keys (the caller adds nothing): the sample-size
    assumptions as percentages, the significance levels, the HSCL-25 cut-off and the recruitment target. They
    are inputs from ``config/design.yaml``, registered so that a changed assumption shows in the change report."""
    s = design["sample_size"]
    return {"design.sample_size.ips_percent": 100 * s["p_ips"],
            "design.sample_size.control_percent": 100 * s["p_control"],
            "design.sample_size.alpha": s["alpha"], "design.sample_size.power_percent": 100 * s["power"],
            "design.alpha": design["alpha"], "design.hscl_cutoff": design["hscl_cutoff"],
            "design.recruitment_target": int(design["recruitment_target"])}


def phase_key(phase: str) -> str:
    """A key part for an allocation phase: ``2:1`` → ``2_to_1``."""
    return str(phase).replace(":", "_to_")


def phase_count_results(by_phase: pd.DataFrame, month: int = 12) -> dict:
    """The counts of the phase-stratified comparison, ``phase_stratified.m12.{phase}.{ips,tau}.{employed,n}``
    with the phase as :func:`phase_key` writes it (caller adds ``primary``)."""
    return {f"phase_stratified.m{month}.{phase_key(r['phase'])}.{arm}.{k}": int(r[f"{arm}_{k}"])
            for r in by_phase.to_dict("records") for arm in ("ips", "tau") for k in ("employed", "n")}
