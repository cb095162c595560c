"""The InStep pilot's feasibility analyses: recruitment, allocation, retention, outcomes, progression, planning.

Estimates with confidence intervals, not tests of effectiveness (CONSORT extension for pilot trials).
Pure functions: loaded frames in, tidy frames or flat dictionaries out; nothing is formatted here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ipsreport.stats.power import (
    inflate_for_attrition,
    people_to_approach,
    power_curve,
    sample_size_two_proportions,
)
from ipsreport.stats.proportions import wilson_ci
from ipsreport.stats.summaries import quantile

__all__ = [
    "METHOD_LABELS",
    "STATUS_LABELS",
    "recruitment_by_method",
    "recruitment_by_setting",
    "allocation_by_arm",
    "baseline_by_arm",
    "continuous_by_arm",
    "setting_comparison",
    "retention_by_month",
    "return_patterns",
    "status_at_12_months",
    "progression_criteria",
    "planning_scenarios",
    "planning_power_curves",
    "all_results",
]

ARMS = ("IPS", "TAU")
METHOD_LABELS = {
    "database_mailout": "Database search and mail-out (GP)",
    "hand_search_telephone": "Hand-search of GP records and telephone",
    "poster": "Posters in GP surgeries",
    "opportunistic_gp": "Opportunistic, GP consultations",
    "opportunistic_pain_service": "Opportunistic, pain services",
}
STATUS_LABELS = {
    "paid_work": "In paid work",
    "voluntary_work": "Voluntary work",
    "vocational_training": "Vocational training",
    "job_seeking": "Seeking work",
    "not_working": "Not working",
    "lost_to_follow_up": "Lost to follow-up",
}
_ENQUIRED = ("enquired_ineligible", "recruited", "after_closure")
_YES = {1: "Yes"}
_COMORB = {"no": "No", "yes": "Yes", "not_sure": "Not sure", "missing": "Missing"}
# Baseline table rows: column → (label, {level: level label}); "missing" counts empty cells.
BASELINE_VARIABLES: dict[str, tuple[str, dict]] = {
    "sex": ("Sex", {"male": "Male", "female": "Female"}),
    "ethnicity": ("Ethnic origin", {"white": "White", "black_caribbean": "Black Caribbean",
                                     "black_african": "Black African", "black_other": "Black, other",
                                     "indian": "Indian", "pakistani": "Pakistani", "bangladeshi": "Bangladeshi",
                                     "chinese": "Chinese"}),
    "marital_status": ("Marital status", {"married": "Married", "single": "Single",
                                          "civil_partnership": "Civil partnership", "widowed": "Widowed",
                                          "divorced": "Divorced", "living_with_partner": "Living with a partner"}),
    "further_education": ("Further education or university", {0: "No", 1: "Yes"}),
    "qual_gcse": ("Qualifications held", {1: "O levels, GCSEs or equivalent"}),
    "qual_a_level": ("Qualifications held", {1: "A levels or equivalent"}),
    "qual_vocational": ("Qualifications held", {1: "Vocational certificate"}),
    "qual_degree": ("Qualifications held", {1: "University degree or HND"}),
    "qual_higher_professional": ("Qualifications held", {1: "Higher professional qualification"}),
    "ever_paid_job": ("Ever in a paid job", {0: "No", 1: "Yes"}),
    "left_job_health": ("Left last job because of health", {"no": "No", "mainly": "Mainly", "partly": "Partly",
                                                            "missing": "Missing"}),
    "hrjl_chronic_pain": ("Health problem behind job loss", {1: "Chronic pain"}),
    "hrjl_musculoskeletal": ("Health problem behind job loss", {1: "Back, neck, arm, shoulder or leg"}),
    "hrjl_mental_health": ("Health problem behind job loss", {1: "Mental health problem or stress"}),
    "hrjl_heart_lungs": ("Health problem behind job loss", {1: "Heart or lungs"}),
    "hrjl_other": ("Health problem behind job loss", {1: "Other"}),
    "hrjl_not_applicable": ("Health problem behind job loss", {1: "Not applicable"}),
    "future_work": ("Work sought", {"part_time": "Part time", "full_time": "Full time"}),
    "part_time_hours": ("Hours sought in a part-time job", {"0-8": "0–8", "9-15": "9–15", "16-24": "16–24",
                                                            "25+": "25 or more", "not_applicable": "Not applicable",
                                                            "missing": "Missing"}),
    "comorb_high_blood_pressure": ("High blood pressure", _COMORB),
    "comorb_heart": ("Heart problems", _COMORB),
    "comorb_diabetes": ("Diabetes", _COMORB),
    "comorb_kidney": ("Kidney disease", _COMORB),
    "comorb_stroke": ("Previous stroke or TIA", _COMORB),
    "comorb_arthritis": ("Arthritis", _COMORB),
    "comorb_lung": ("Asthma or other lung problems", _COMORB),
    "comorb_anxiety_depression": ("Anxiety or depression", _COMORB),
    "comorb_gastro": ("Stomach or bowel problems", _COMORB),
}


def _rate(k: int, n: int) -> dict:
    if not n:
        return {"percent": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    low, high = wilson_ci(int(k), int(n))
    return {"percent": 100 * k / n, "ci_low": 100 * low, "ci_high": 100 * high}


def recruitment_by_method(recruitment: pd.DataFrame) -> pd.DataFrame:
    """The pilot's recruitment table counted from ``recruitment.csv``: one row per method.

    Columns: ``method``, ``label``, ``setting``, ``approached`` (NaN when the method has no denominator:
    posters), ``enquiries``, ``ineligible``, ``not_contactable``, ``recruited``, ``after_closure``, yield
    ``percent`` with Wilson ``ci_low``/``ci_high`` (recruited / approached), ``approaches_per_recruit``.
    """
    rows = []
    for method in METHOD_LABELS:
        r = recruitment.loc[recruitment["method"] == method]
        if r.empty:
            continue
        outcome = r["outcome"]
        known_denominator = method != "poster"
        approached = len(r) if known_denominator else np.nan
        recruited = int((outcome == "recruited").sum())
        row = {
            "method": method, "label": METHOD_LABELS[method], "setting": r["setting"].iloc[0],
            "approached": approached, "enquiries": int(outcome.isin(_ENQUIRED).sum()),
            # The pilot's table counts enquiries after closure as identified but not recruitable.
            "ineligible": int(outcome.isin(("enquired_ineligible", "after_closure")).sum()),
            "ineligible_in_paid_work": int((r["ineligible_reason"] == "in_paid_work").sum()),
            "not_contactable": int((outcome == "not_contactable").sum()),
            "recruited": recruited, "after_closure": int((outcome == "after_closure").sum()),
        }
        row |= _rate(recruited, approached) if known_denominator else _rate(0, 0)
        row["approaches_per_recruit"] = approached / recruited if known_denominator and recruited else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def recruitment_by_setting(by_method: pd.DataFrame) -> pd.DataFrame:
    """Primary care vs pain services: approached (methods with a denominator), recruited, yield with CI."""
    rows = []
    for setting, r in by_method.groupby("setting", sort=False):
        approached = int(r["approached"].sum(min_count=1)) if r["approached"].notna().any() else 0
        recruited = int(r["recruited"].sum())
        row = {"setting": setting, "approached": approached, "recruited": recruited}
        row |= _rate(recruited, approached)
        row["approaches_per_recruit"] = approached / recruited if recruited else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def allocation_by_arm(participants: pd.DataFrame) -> pd.DataFrame:
    """Counts of randomised and allocated participants by arm, with the date range of each allocation mode."""
    rows = []
    for allocation, r in participants.groupby("allocation", sort=False):
        counts = r["arm"].value_counts()
        rows.append({"allocation": allocation, "ips": int(counts.get("IPS", 0)), "tau": int(counts.get("TAU", 0)),
                     "total": len(r), "first": r["recruited_on"].min(), "last": r["recruited_on"].max()})
    frame = pd.DataFrame(rows)
    order = {"randomised": 0, "allocated": 1}
    return frame.sort_values("allocation", key=lambda s: s.map(order), ignore_index=True)


def _groups(participants: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"all": participants, "ips": participants.loc[participants["arm"] == "IPS"],
            "tau": participants.loc[participants["arm"] == "TAU"]}


def baseline_by_arm(participants: pd.DataFrame, variables: dict[str, tuple[str, dict]]) -> pd.DataFrame:
    """Counts and percentages of each level of categorical or 0/1 baseline variables, all / IPS / TAU.

    ``variables`` maps column → (label, {level: level label}); for 0/1 columns use {1: label}.
    Percentages use the group size as denominator (as the pilot's table does); missing is a level.
    Columns: ``variable``, ``label``, ``level``, ``level_label``, ``{all,ips,tau}_count``, ``{…}_percent``.
    """
    rows = []
    groups = _groups(participants)
    for column, (label, levels) in variables.items():
        for level, level_label in levels.items():
            row = {"variable": column, "label": label, "level": str(level), "level_label": level_label}
            for name, g in groups.items():
                values = g[column]
                count = int(values.isna().sum()) if level == "missing" else int((values == level).sum())
                row |= {f"{name}_count": count, f"{name}_percent": 100 * count / len(g) if len(g) else np.nan}
            rows.append(row)
    return pd.DataFrame(rows)


def _stata_quantile(values: np.ndarray, q: float) -> float:
    """Stata's percentile definition (``summarize, detail``), as the pilot's analysis used."""
    return quantile(values, q, method="stata")


def continuous_by_arm(participants: pd.DataFrame, column: str) -> pd.DataFrame:
    """n, missing, mean, SD, median and IQR (Stata's percentile definition) for all / IPS / TAU."""
    rows = []
    for name, g in _groups(participants).items():
        v = g[column].astype(float).dropna().to_numpy()
        rows.append({"group": name, "n": len(v), "missing": int(g[column].isna().sum()),
                     "mean": float(v.mean()) if len(v) else np.nan,
                     "sd": float(v.std(ddof=1)) if len(v) > 1 else np.nan,
                     "median": _stata_quantile(v, 0.5) if len(v) else np.nan,
                     "q1": _stata_quantile(v, 0.25) if len(v) else np.nan,
                     "q3": _stata_quantile(v, 0.75) if len(v) else np.nan})
    return pd.DataFrame(rows)


def setting_comparison(participants: pd.DataFrame) -> pd.DataFrame:
    """Primary-care vs pain-service recruits on key characteristics, each a percentage with a Wilson CI.

    Columns: ``characteristic``, ``setting``, ``count``, ``n``, ``percent``, ``ci_low``, ``ci_high``.
    """
    checks = {
        "non_white": ("Ethnic minority (not white)", participants["ethnicity"] != "white"),
        "single": ("Single", participants["marital_status"] == "single"),
        "further_education": ("Further education or university", participants["further_education"] == 1),
        "ever_paid_job": ("Ever in a paid job", participants["ever_paid_job"] == 1),
    }
    rows = []
    for key, (label, flag) in checks.items():
        for setting in ("primary_care", "pain_service"):
            in_setting = participants["setting"] == setting
            k, n = int((flag & in_setting).sum()), int(in_setting.sum())
            rows.append({"characteristic": key, "label": label, "setting": setting, "count": k, "n": n} | _rate(k, n))
    return pd.DataFrame(rows)


def retention_by_month(participants: pd.DataFrame, followup: pd.DataFrame) -> pd.DataFrame:
    """Questionnaire return by arm and month with Wilson CIs: ``month``, ``arm``, ``returned``, ``n``, …"""
    arm_of = participants.set_index("participant_id")["arm"]
    f = followup.assign(arm=followup["participant_id"].map(arm_of))
    rows = []
    for (month, arm), r in f.groupby(["month", "arm"], sort=True):
        k, n = int(r["returned"].sum()), len(r)
        rows.append({"month": int(month), "arm": arm, "returned": k, "n": n} | _rate(k, n))
    return pd.DataFrame(rows)


def return_patterns(participants: pd.DataFrame, followup: pd.DataFrame) -> pd.DataFrame:
    """Participants returning all / none of their follow-up questionnaires, by arm and overall.

    Columns: ``group`` (all, ips, tau), ``n``, ``all_returned``, ``none_returned`` and the percentages with CIs.
    """
    per_person = followup.groupby("participant_id")["returned"].agg(["sum", "count"])
    arm_of = participants.set_index("participant_id")["arm"]
    rows = []
    for name, ids in (("all", participants["participant_id"]),
                      ("ips", participants.loc[participants["arm"] == "IPS", "participant_id"]),
                      ("tau", participants.loc[participants["arm"] == "TAU", "participant_id"])):
        p = per_person.reindex(ids)
        n = len(ids)
        all_k = int((p["sum"] == p["count"]).sum())
        none_k = int((p["sum"] == 0).sum())
        row = {"group": name, "n": n, "all_returned": all_k, "none_returned": none_k}
        row |= {f"all_{k}": v for k, v in _rate(all_k, n).items()}
        row |= {f"none_{k}": v for k, v in _rate(none_k, n).items()}
        rows.append(row)
    del arm_of
    return pd.DataFrame(rows)


def non_responder_profile(participants: pd.DataFrame, followup: pd.DataFrame) -> dict[str, int]:
    """Among those who returned no follow-up questionnaire: how many are men, white, single, further educated."""
    returned = followup.groupby("participant_id")["returned"].sum()
    silent = participants.loc[participants["participant_id"].map(returned).fillna(0) == 0]
    return {"n": len(silent), "male": int((silent["sex"] == "male").sum()),
            "white": int((silent["ethnicity"] == "white").sum()),
            "single": int((silent["marital_status"] == "single").sum()),
            "further_education": int((silent["further_education"] == 1).sum())}


def work_patterns(participants: pd.DataFrame, followup: pd.DataFrame, arm: str) -> dict[str, int]:
    """Paid-work histories over the 3-, 6- and 12-month follow-ups in one arm.

    ``working_from_m3``: in paid work at 12 months and at every follow-up from 3 months;
    ``working_from_m6``: in paid work at 12 months, from 6 months but not at 3; ``not_in_paid_work_12m``;
    among those: ``worked_then_stopped`` (paid work at some follow-up), ``partial_not_working`` (never working,
    returned only one or two questionnaires, none at 12 months), ``never_worked`` (the rest).
    """
    people = participants.loc[participants["arm"] == arm].set_index("participant_id")
    f = followup.loc[followup["participant_id"].isin(people.index)]
    work = f.pivot(index="participant_id", columns="month", values="in_paid_work").reindex(people.index)
    ret = f.pivot(index="participant_id", columns="month", values="returned").reindex(people.index)
    paid = people["status_12m"] == "paid_work"
    ever = (work == 1).any(axis=1)
    n_returned = ret.sum(axis=1)
    partial = ~ever & n_returned.between(1, 2) & (ret[12] == 0)
    return {
        "working_from_m3": int((paid & (work[3] == 1) & (work[6] == 1) & (work[12] == 1)).sum()),
        "working_from_m6": int((paid & (work[3] != 1) & (work[6] == 1) & (work[12] == 1)).sum()),
        "not_in_paid_work_12m": int((~paid).sum()),
        "never_worked": int((~paid & ~ever & ~partial).sum()),
        "worked_then_stopped": int((~paid & ever).sum()),
        "partial_not_working": int(partial.sum()),
    }


def status_at_12_months(participants: pd.DataFrame) -> pd.DataFrame:
    """Status at 12 months by arm: ``status``, ``label``, ``arm``, ``count``, ``n``, percent with Wilson CI."""
    rows = []
    for status, label in STATUS_LABELS.items():
        for arm in ARMS:
            g = participants.loc[participants["arm"] == arm]
            k, n = int((g["status_12m"] == status).sum()), len(g)
            rows.append({"status": status, "label": label, "arm": arm, "count": k, "n": n} | _rate(k, n))
    return pd.DataFrame(rows)


def _months_between(first: pd.Timestamp, last: pd.Timestamp) -> float:
    return max((last - first).days / (365.25 / 12), 1.0)


def progression_criteria(criteria: list[dict], observed: dict[str, float]) -> pd.DataFrame:
    """Traffic-light verdicts: ``key``, ``label``, ``unit``, ``observed``, ``green``, ``amber``, ``verdict``.

    green when observed ≥ green threshold, amber when ≥ amber threshold, red otherwise.
    """
    rows = []
    for c in criteria:
        value = observed[c["key"]]
        verdict = "green" if value >= c["green"] else "amber" if value >= c["amber"] else "red"
        rows.append({"key": c["key"], "label": c["label"], "unit": c["unit"], "observed": value,
                     "green": c["green"], "amber": c["amber"], "verdict": verdict})
    return pd.DataFrame(rows)


def observed_progression_values(instep, by_method: pd.DataFrame) -> dict[str, float]:
    """The observed values the progression criteria are judged on."""
    p, f = instep.participants, instep.followup
    setting = recruitment_by_setting(by_method).set_index("setting")
    months = _months_between(p["recruited_on"].min(), p["recruited_on"].max())
    at12 = f.loc[f["month"] == 12]
    known = (p["status_12m"] != "lost_to_follow_up").mean()
    patterns = return_patterns(p, f).set_index("group")
    return {
        "recruitment_rate": len(p) / months,
        "primary_care_yield": float(setting.loc["primary_care", "percent"]),
        "retention_12m": 100 * float(at12["returned"].mean()),
        "all_returned": float(patterns.loc["all", "all_percent"]),
        "employment_known_12m": 100 * float(known),
    }


def planning_scenarios(scenarios: list[tuple[str, float, float]], alpha: float, power: float, method: str,
                       attrition: float, approach_yield: float) -> pd.DataFrame:
    """Sample size per arm for each (name, p_ips, p_control) scenario, inflated for attrition, and the number
    of people to approach at the observed yield.

    Columns: ``scenario``, ``p_ips``, ``p_control``, ``n_exact``, ``n_per_arm``, ``n_inflated_per_arm``,
    ``n_total``, ``to_approach`` (NaN when the yield is 0).
    """
    rows = []
    for name, p1, p2 in scenarios:
        if math.isclose(p1, p2):
            rows.append({"scenario": name, "p_ips": p1, "p_control": p2, "n_exact": np.nan, "n_per_arm": np.nan,
                         "n_inflated_per_arm": np.nan, "n_total": np.nan, "to_approach": np.nan})
            continue
        ss = sample_size_two_proportions(p1, p2, alpha=alpha, power=power, method=method)
        inflated = inflate_for_attrition(ss.n_per_group, attrition)
        total = 2 * inflated
        rows.append({"scenario": name, "p_ips": p1, "p_control": p2, "n_exact": ss.n_exact,
                     "n_per_arm": ss.n_per_group, "n_inflated_per_arm": inflated, "n_total": total,
                     "to_approach": people_to_approach(total, approach_yield) if approach_yield > 0 else np.nan})
    return pd.DataFrame(rows)


def planning_power_curves(scenarios: list[tuple[str, float, float]], n_values, alpha: float,
                          method: str) -> pd.DataFrame:
    """Power by sample size per arm for each scenario: ``scenario``, ``n_per_group``, ``power``."""
    frames = []
    for name, p1, p2 in scenarios:
        if math.isclose(p1, p2):
            continue
        curve = power_curve(p1, p2, n_values, alpha=alpha, methods=(method,))
        frames.append(curve.assign(scenario=name)[["scenario", "n_per_group", "power"]])
    return pd.concat(frames, ignore_index=True)


def scenarios_from_design(planning: dict, protocol: dict, trial_12m: tuple[float, float],
                          pilot_12m: tuple[float, float]) -> list[tuple[str, float, float]]:
    """Resolve the configured scenario sources into (name, p_ips, p_control) triples."""
    sources = {
        "ips_pain_protocol": (protocol["p_ips"], protocol["p_control"]),
        "ips_pain_observed_12m": trial_12m,
        "instep_observed_12m": pilot_12m,
    }
    return [(s["name"], *sources[s["source"]]) for s in planning["scenarios"]]


def _level_key(level: str) -> str:
    """A level as a result-key segment: 1 → yes, 0 → no, '0-8' → 0_8, '25+' → 25_plus."""
    level = {"1": "yes", "0": "no"}.get(str(level), str(level))
    return level.replace("+", "_plus").replace("-", "_")


def all_results(instep) -> dict:
    """Every pilot value the feasibility chapter registers, under ``feasibility.`` keys."""
    p, f, r = instep.participants, instep.followup, instep.recruitment
    by_method = recruitment_by_method(r)
    out: dict = {}
    for row in by_method.to_dict("records"):
        m = row["method"]
        for k in ("approached", "enquiries", "ineligible", "ineligible_in_paid_work", "not_contactable", "recruited",
                  "percent"):
            value = row[k]
            if not (isinstance(value, float) and math.isnan(value)):
                out[f"recruitment.{m}.{k}"] = value
    for row in recruitment_by_setting(by_method).to_dict("records"):
        out[f"recruited.{row['setting']}"] = row["recruited"]
        out[f"approached.{row['setting']}"] = row["approached"]
        out[f"yield.{row['setting']}.percent"] = row["percent"]
    out["recruited.total"] = len(p)
    counts = p["arm"].value_counts()
    out |= {"arm.ips.n": int(counts.get("IPS", 0)), "arm.tau.n": int(counts.get("TAU", 0)),
            "allocation.randomised": int((p["allocation"] == "randomised").sum())}
    for row in return_patterns(p, f).to_dict("records"):
        g = row["group"]
        out |= {f"retention.all_returned.{g}.count": row["all_returned"],
                f"retention.all_returned.{g}.percent": row["all_percent"],
                f"retention.none_returned.{g}": row["none_returned"]}
    for row in retention_by_month(p, f).to_dict("records"):
        out[f"retention.m{row['month']}.{row['arm'].lower()}.percent"] = row["percent"]
    for row in status_at_12_months(p).to_dict("records"):
        out[f"status_12m.{row['status']}.{row['arm'].lower()}"] = row["count"]
        if row["status"] == "paid_work":
            a = row["arm"].lower()
            out |= {f"employed_12m.{a}.count": row["count"], f"employed_12m.{a}.n": row["n"],
                    f"employed_12m.{a}.percent": row["percent"]}
    for row in baseline_by_arm(p, BASELINE_VARIABLES).to_dict("records"):
        level = _level_key(row["level"])
        for g in ("all", "ips", "tau"):
            out[f"baseline.{row['variable']}.{level}.{g}.count"] = row[f"{g}_count"]
            out[f"baseline.{row['variable']}.{level}.{g}.percent"] = row[f"{g}_percent"]
    for row in continuous_by_arm(p, "age_left_school").to_dict("records"):
        for k in ("n", "missing", "mean", "sd", "median", "q1", "q3"):
            out[f"baseline.age_left_school.{row['group']}.{k}"] = row[k]
    for row in continuous_by_arm(p, "age_left_school").to_dict("records"):
        out[f"baseline.age_left_school.missing.{row['group']}.count"] = row["missing"]
    for row in continuous_by_arm(p, "years_since_paid_work").to_dict("records"):
        for k in ("n", "missing", "median", "q1", "q3"):
            out[f"baseline.years_since_paid_work.{row['group']}.{k}"] = row[k]
        out[f"baseline.years_since_paid_work.missing.{row['group']}.count"] = row["missing"]
    for name, g in _groups(p).items():
        out[f"baseline.years_since_paid_work.over_20y.{name}.count"] = int((g["years_since_paid_work"] > 20).sum())
    single_div = p["marital_status"].isin(["single", "divorced"])
    out["baseline.marital_status.single_or_divorced.all.count"] = int(single_div.sum())
    out["baseline.marital_status.single_or_divorced.all.percent"] = 100 * single_div.mean()
    for setting, g in p.groupby("setting"):
        v = g["years_since_paid_work"].astype(float).dropna().to_numpy()
        for k, q in (("median", 0.5), ("q1", 0.25), ("q3", 0.75)):
            out[f"subgroup.{setting}.years_since_paid_work.{k}"] = _stata_quantile(v, q)
        out[f"subgroup.{setting}.never_worked.count"] = int((g["ever_paid_job"] == 0).sum())
    silent = non_responder_profile(p, f)
    out |= {f"retention.none_returned_profile.{k}.count": v for k, v in silent.items()}
    patterns_all = return_patterns(p, f).set_index("group").loc["all"]
    out["retention.not_all_returned.all.percent"] = 100 - patterns_all["all_percent"]
    out |= {f"work_pattern.tau.{k}": v for k, v in work_patterns(p, f, "TAU").items()}
    out["employers.themes"] = len(instep.employer_themes)
    for row in setting_comparison(p).to_dict("records"):
        out[f"subgroup.{row['setting']}.{row['characteristic']}.percent"] = row["percent"]
    return {f"feasibility.{k}": (v.item() if hasattr(v, "item") else v) for k, v in out.items()}
