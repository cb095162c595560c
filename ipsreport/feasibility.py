"""The InStep pilot's feasibility analyses: recruitment, allocation, retention, outcomes, progression, planning.

Estimates with confidence intervals, not tests of effectiveness (CONSORT extension for pilot trials).
Pure functions: loaded frames in, tidy frames or flat dictionaries out; nothing is formatted here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipsreport.stats.power import (
    inflate_for_attrition,
    people_to_approach,
    power_curve,
    sample_size_two_proportions,
)
from ipsreport.stats.proportions import wilson_ci
from ipsreport.stats.rates import poisson_rate_ci
from ipsreport.stats.summaries import quantile

__all__ = [
    "METHOD_LABELS",
    "METHOD_SHORT_LABELS",
    "METHOD_DENOMINATORS",
    "APPROACH_NEEDED",
    "STATUS_LABELS",
    "PAID_WORK_SOURCES",
    "ObservedValue",
    "PlanningScenario",
    "recruitment_by_method",
    "recruitment_by_setting",
    "allocation_by_arm",
    "baseline_by_arm",
    "continuous_by_arm",
    "setting_comparison",
    "retention_by_month",
    "return_patterns",
    "status_at_12_months",
    "employment_known_12m",
    "paid_work_12m",
    "observed_progression_values",
    "progression_criteria",
    "progression_results",
    "scenarios_from_design",
    "planning_scenarios",
    "planning_results",
    "method_yield",
    "planning_control_rate",
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
# Short names for use inside sentences.
METHOD_SHORT_LABELS = {
    "database_mailout": "mail-out",
    "hand_search_telephone": "hand-search",
    "poster": "posters",
    "opportunistic_gp": "opportunistic, in GP consultations",
    "opportunistic_pain_service": "opportunistic, in pain services",
}
# What "approached" counts for each method: the denominator of its yield. None: no denominator (posters).
# Mail-out packs went to everyone a Read-code search found; the other methods approached only patients a
# clinician or nurse had already judged eligible, so their yields are not comparable with the mail-out's.
METHOD_DENOMINATORS = {
    "database_mailout": "packs posted",
    "hand_search_telephone": "patients identified as eligible",
    "poster": None,
    "opportunistic_gp": "patients identified as eligible",
    "opportunistic_pain_service": "patients identified as eligible",
}
# For planning: what a trial recruiting by a method would need, in that method's units.
APPROACH_NEEDED = {"packs posted": "information packs to post",
                   "patients identified as eligible": "eligible patients to identify"}
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

    Columns: ``method``, ``label``, ``short_label``, ``setting``, ``denominator`` (what ``approached`` counts, from
    :data:`METHOD_DENOMINATORS`; None for posters), ``approached`` (NaN when the method has no denominator:
    posters), ``enquiries``, ``ineligible``, ``not_contactable``, ``recruited``, ``after_closure``, yield
    ``percent`` with Wilson ``ci_low``/``ci_high`` (recruited / approached), ``approaches_per_recruit``.
    """
    rows = []
    for method in METHOD_LABELS:
        r = recruitment.loc[recruitment["method"] == method]
        if r.empty:
            continue
        outcome = r["outcome"]
        known_denominator = METHOD_DENOMINATORS[method] is not None
        approached = len(r) if known_denominator else np.nan
        recruited = int((outcome == "recruited").sum())
        row = {
            "method": method, "label": METHOD_LABELS[method], "short_label": METHOD_SHORT_LABELS[method],
            "setting": r["setting"].iloc[0],
            "denominator": METHOD_DENOMINATORS[method], "approached": approached,
            "enquiries": int(outcome.isin(_ENQUIRED).sum()),
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
    """Primary care vs pain services: approached (methods with a denominator), recruited, pooled yield with CI.

    The pooled yield adds up denominators of different kinds (packs posted and patients already identified as
    eligible, see :data:`METHOD_DENOMINATORS`): the pilot's abstract reports it, but it is the yield of no
    single method, so any text using it must say that it is pooled.
    """
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


def _arm_table(participants: pd.DataFrame, followup: pd.DataFrame) -> pd.DataFrame:
    """One row per participant: arm, status at 12 months, and the 12-month questionnaire (returned, in work)."""
    at12 = followup.loc[followup["month"] == 12].set_index("participant_id")
    people = participants.set_index("participant_id")[["arm", "status_12m"]]
    # A participant without a 12-month row did not return that questionnaire.
    returned = at12["returned"].reindex(people.index).fillna(0).astype(int)
    in_work = at12["in_paid_work"].reindex(people.index)
    return people.assign(returned_12m=returned, in_paid_work_12m=in_work)


def employment_known_12m(participants: pd.DataFrame, followup: pd.DataFrame) -> pd.DataFrame:
    """Participants whose employment status was ascertained at 12 months, all / IPS / TAU, with Wilson CIs.

    Known means the 12-month questionnaire was returned (``followup.csv``, month 12, ``returned`` = 1) or, in
    the IPS arm only, the employment workers' records give a status (``status_12m`` not
    ``lost_to_follow_up``): those records cover the IPS arm, not TAU. A TAU status carried forward from an
    earlier questionnaire is not known at 12 months.
    Columns: ``group`` (all, ips, tau), ``count``, ``n``, ``percent``, ``ci_low``, ``ci_high``, and
    ``carried_forward``: participants with a status in ``status_12m`` that was not ascertained at 12 months.
    """
    t = _arm_table(participants, followup)
    recorded = t["status_12m"] != "lost_to_follow_up"
    known = (t["returned_12m"] == 1) | ((t["arm"] == "IPS") & recorded)
    rows = []
    for name, mask in (("all", t["arm"].notna()), ("ips", t["arm"] == "IPS"), ("tau", t["arm"] == "TAU")):
        k, n = int((known & mask).sum()), int(mask.sum())
        rows.append({"group": name, "count": k, "n": n} | _rate(k, n)
                    | {"carried_forward": int((recorded & ~known & mask).sum())})
    return pd.DataFrame(rows)


# How paid work at 12 months was ascertained in each arm of the pilot, and what it counts.
PAID_WORK_SOURCES = {
    "IPS": ("employment workers' records", "attained a job by 12 months"),
    "TAU": ("12-month questionnaire (self-report)", "in paid work at the 12-month questionnaire"),
}


def paid_work_12m(participants: pd.DataFrame, followup: pd.DataFrame) -> pd.DataFrame:
    """Paid work at 12 months by arm, in two versions that must not be confused.

    ``basis = "as_reported"``: each arm as the pilot reported it (:data:`PAID_WORK_SOURCES`): IPS from the
    employment workers' records (``status_12m``), TAU from the 12-month questionnaire; denominator every
    participant allocated (non-respondents count as not in work). The two arms differ in source and definition.
    ``basis = "questionnaire"``: both arms from the 12-month questionnaire (``in_paid_work``), among those who
    returned it: the same ascertainment in both arms, on fewer people.
    Columns: ``basis``, ``arm``, ``source``, ``definition``, ``count``, ``n``, ``percent``, ``ci_low``, ``ci_high``.
    """
    t = _arm_table(participants, followup)
    rows = []
    for arm in ARMS:
        g = t.loc[t["arm"] == arm]
        source, definition = PAID_WORK_SOURCES[arm]
        k, n = int((g["status_12m"] == "paid_work").sum()), len(g)
        rows.append({"basis": "as_reported", "arm": arm, "source": source, "definition": definition,
                     "count": k, "n": n} | _rate(k, n))
    for arm in ARMS:
        g = t.loc[(t["arm"] == arm) & (t["returned_12m"] == 1)]
        k, n = int((g["in_paid_work_12m"] == 1).sum()), len(g)
        rows.append({"basis": "questionnaire", "arm": arm, "source": PAID_WORK_SOURCES["TAU"][0],
                     "definition": PAID_WORK_SOURCES["TAU"][1], "count": k, "n": n} | _rate(k, n))
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ObservedValue:
    """An observed feasibility value with its 95% CI.

    Fields: ``value`` (percent for proportions, per month for rates), ``count`` (numerator), ``denominator``
    (participants, packs… for proportions; months of recruitment for rates), ``ci_low``, ``ci_high`` (same
    scale as ``value``), ``interval`` (``"wilson"`` or ``"exact_poisson"``).
    """

    value: float
    count: int
    denominator: float
    ci_low: float
    ci_high: float
    interval: str


def _proportion(k: int, n: int) -> ObservedValue:
    r = _rate(k, n)
    return ObservedValue(float(r["percent"]), int(k), int(n), float(r["ci_low"]), float(r["ci_high"]), "wilson")


def observed_progression_values(instep, by_method: pd.DataFrame) -> dict[str, ObservedValue]:
    """The observed values the progression criteria are judged on, each with its 95% CI.

    ``recruitment_rate``: participants per month between the first and last recruitment, exact Poisson CI
    (the recruitment period treated as fixed). ``mailout_yield``: recruited per mail-out pack posted, the only
    primary-care method whose denominator is everyone invited. ``retention_12m``: 12-month questionnaires
    returned. ``all_returned``: participants returning every questionnaire. ``employment_known_12m``: see
    :func:`employment_known_12m`. Proportions in percent with Wilson CIs.
    """
    p, f = instep.participants, instep.followup
    months = _months_between(p["recruited_on"].min(), p["recruited_on"].max())
    rate, low, high = poisson_rate_ci(len(p), months)
    at12 = f.loc[f["month"] == 12]
    patterns = return_patterns(p, f).set_index("group")
    mail = by_method.set_index("method").loc["database_mailout"]
    known = employment_known_12m(p, f).set_index("group").loc["all"]
    return {
        "recruitment_rate": ObservedValue(rate, len(p), months, low, high, "exact_poisson"),
        "mailout_yield": _proportion(int(mail["recruited"]), int(mail["approached"])),
        "retention_12m": _proportion(int(at12["returned"].sum()), len(p)),
        "all_returned": _proportion(int(patterns.loc["all", "all_returned"]), int(patterns.loc["all", "n"])),
        "employment_known_12m": _proportion(int(known["count"]), int(known["n"])),
    }


def progression_criteria(criteria: list[dict], observed: dict[str, ObservedValue | float]) -> pd.DataFrame:
    """Traffic-light verdicts with each observed value's 95% CI.

    Columns: ``key``, ``label``, ``unit``, ``observed``, ``count``, ``denominator``, ``ci_low``, ``ci_high``,
    ``interval``, ``green``, ``amber``, ``verdict``. Green when observed ≥ green threshold, amber when ≥ amber
    threshold, red otherwise (the verdict is on the point estimate; the CI shows how firm it is).
    A bare number in ``observed`` has no CI (NaN). A configured key with no observed value is an error.
    """
    unknown = [c["key"] for c in criteria if c["key"] not in observed]
    if unknown:
        raise ValueError(f"config/design.yaml feasibility.progression: no observed value for key(s) {unknown}; "
                         f"known keys: {sorted(observed)}")
    rows = []
    for c in criteria:
        o = observed[c["key"]]
        if not isinstance(o, ObservedValue):
            o = ObservedValue(float(o), 0, math.nan, math.nan, math.nan, "")
        verdict = "green" if o.value >= c["green"] else "amber" if o.value >= c["amber"] else "red"
        rows.append({"key": c["key"], "label": c["label"], "unit": c["unit"], "observed": o.value,
                     "count": o.count, "denominator": o.denominator, "ci_low": o.ci_low, "ci_high": o.ci_high,
                     "interval": o.interval, "green": c["green"], "amber": c["amber"], "verdict": verdict})
    return pd.DataFrame(rows)


def progression_results(progression: pd.DataFrame) -> dict:
    """``feasibility.progression.<key>.observed|ci_low|ci_high|verdict|count`` and ``.n`` (proportions) or
    ``.months`` (rates)."""
    out: dict = {}
    for r in progression.to_dict("records"):
        base = f"feasibility.progression.{r['key']}"
        out |= {f"{base}.observed": r["observed"], f"{base}.ci_low": r["ci_low"], f"{base}.ci_high": r["ci_high"],
                f"{base}.verdict": r["verdict"], f"{base}.count": int(r["count"])}
        if r["interval"] == "exact_poisson":
            out[f"{base}.months"] = r["denominator"]
        elif r["interval"] == "wilson":
            out[f"{base}.n"] = int(r["denominator"])
    return out


@dataclass(frozen=True)
class PlanningScenario:
    """Employment rates assumed for a definitive trial. Fields: ``slug`` (result-key segment), ``label``,
    ``p_control``, ``p_ips`` (proportions 0–1), ``control_source``, ``difference_source`` (config names)."""

    slug: str
    label: str
    p_control: float
    p_ips: float
    control_source: str
    difference_source: str


_SLUG = re.compile(r"^[a-z0-9_]+$")


def scenarios_from_design(planning: dict, protocol: dict,
                          pilot_control: ObservedValue | dict) -> list[PlanningScenario]:
    """Resolve the configured scenarios (``feasibility.planning.scenarios``) into rates.

    Control rate sources: ``ips_pain_protocol`` (``ips_pain.sample_size.p_control``), ``pilot_tau``,
    ``pilot_tau_ci_low``, ``pilot_tau_ci_high`` (the pilot's TAU rate, percent, and its 95% CI bounds, from
    ``pilot_control`` with keys ``percent``, ``ci_low``, ``ci_high``). Difference sources:
    ``ips_pain_protocol`` (p_ips − p_control of the protocol) and ``minimal_important_difference``
    (``feasibility.planning.minimal_important_difference``). p_ips = control + difference.
    Unknown sources or malformed slugs raise ``ValueError`` naming the config entry.
    """
    pc = pilot_control if isinstance(pilot_control, dict) else {
        "percent": pilot_control.value, "ci_low": pilot_control.ci_low, "ci_high": pilot_control.ci_high}
    controls = {"ips_pain_protocol": protocol["p_control"], "pilot_tau": pc["percent"] / 100,
                "pilot_tau_ci_low": pc["ci_low"] / 100, "pilot_tau_ci_high": pc["ci_high"] / 100}
    differences = {"ips_pain_protocol": protocol["p_ips"] - protocol["p_control"]}
    if "minimal_important_difference" in planning:
        differences["minimal_important_difference"] = planning["minimal_important_difference"]["value"]
    out, problems = [], []
    for i, s in enumerate(planning["scenarios"]):
        where = f"config/design.yaml feasibility.planning.scenarios[{i}]"
        if not _SLUG.match(str(s.get("slug", ""))):
            problems.append(f"{where}: slug {s.get('slug')!r} must be lower-case letters, digits and _")
        if s.get("control") not in controls:
            problems.append(f"{where}: control {s.get('control')!r} is not one of {sorted(controls)}")
        if s.get("difference") not in differences:
            problems.append(f"{where}: difference {s.get('difference')!r} is not one of {sorted(differences)}")
        if not problems:
            p0 = controls[s["control"]]
            out.append(PlanningScenario(s["slug"], s["label"], p0, p0 + differences[s["difference"]],
                                        s["control"], s["difference"]))
    slugs = [s.get("slug") for s in planning["scenarios"]]
    if len(set(slugs)) != len(slugs):
        problems.append("config/design.yaml feasibility.planning.scenarios: slugs must be unique")
    if problems:
        raise ValueError("; ".join(problems))
    return out


def planning_scenarios(scenarios: list[PlanningScenario | tuple[str, float, float]], alpha: float, power: float,
                       method: str, attrition: float, approach_yield: float) -> pd.DataFrame:
    """Sample size per arm for each scenario, inflated for attrition, and the number of people to approach at
    the yield ``approach_yield`` (a proportion of those approached who are recruited).

    A scenario is a :class:`PlanningScenario` or a ``(name, p_ips, p_control)`` triple (slug = name).
    Columns: ``slug``, ``scenario`` (label), ``p_ips``, ``p_control``, ``n_exact``, ``n_per_arm``,
    ``n_inflated_per_arm``, ``n_total``, ``to_approach`` (NaN when the yield is 0). Rows whose rates are equal
    or fall outside (0, 1) get NaN sizes: no trial can be planned on them.
    """
    rows = []
    for s in scenarios:
        if not isinstance(s, PlanningScenario):
            name, p1, p2 = s
            s = PlanningScenario(name, name, p2, p1, "", "")
        name, p1, p2 = s.label, s.p_ips, s.p_control
        row = {"slug": s.slug, "scenario": name, "p_ips": p1, "p_control": p2}
        if math.isclose(p1, p2) or not (0 < p1 < 1 and 0 < p2 < 1):
            rows.append(row | {"n_exact": np.nan, "n_per_arm": np.nan, "n_inflated_per_arm": np.nan,
                               "n_total": np.nan, "to_approach": np.nan})
            continue
        ss = sample_size_two_proportions(p1, p2, alpha=alpha, power=power, method=method)
        inflated = inflate_for_attrition(ss.n_per_group, attrition)
        total = 2 * inflated
        rows.append(row | {"n_exact": ss.n_exact, "n_per_arm": ss.n_per_group, "n_inflated_per_arm": inflated,
                           "n_total": total,
                           "to_approach": people_to_approach(total, approach_yield) if approach_yield > 0 else np.nan})
    return pd.DataFrame(rows)


def planning_results(planning: pd.DataFrame) -> dict:
    """``feasibility.planning.<slug>.ips_percent|control_percent|n_per_arm|n_inflated_per_arm|n_total|to_approach``."""
    out: dict = {}
    for r in planning.to_dict("records"):
        base = f"feasibility.planning.{r['slug']}"
        out |= {f"{base}.ips_percent": 100 * r["p_ips"], f"{base}.control_percent": 100 * r["p_control"]}
        for k in ("n_exact", "n_per_arm", "n_inflated_per_arm", "n_total", "to_approach"):
            v = r[k]
            out[f"{base}.{k}"] = v if k == "n_exact" or (isinstance(v, float) and math.isnan(v)) else int(v)
    return out


def planning_control_rate(paid_work: pd.DataFrame) -> ObservedValue:
    """The control rate a pilot can offer a trial's planning: TAU in paid work by the 12-month questionnaire,
    among respondents (the ascertainment a trial would use in both arms), percent with its Wilson CI.

    ``paid_work`` is :func:`paid_work_12m`. Respondents only, because the planned size is then inflated for
    those whose status will not be ascertained.
    """
    row = paid_work.loc[(paid_work["basis"] == "questionnaire") & (paid_work["arm"] == "TAU")].iloc[0]
    return _proportion(int(row["count"]), int(row["n"]))


def method_yield(by_method: pd.DataFrame, method: str) -> ObservedValue:
    """Recruited per person approached by one recruitment method (percent, Wilson CI); ``ValueError`` when the
    method is unknown or has no denominator (posters)."""
    rows = by_method.set_index("method")
    if method not in rows.index or pd.isna(rows.loc[method, "approached"]):
        usable = [m for m in rows.index if pd.notna(rows.loc[m, "approached"])]
        raise ValueError(f"config/design.yaml feasibility.planning.recruitment_method: {method!r} has no yield; "
                         f"use one of {usable}")
    return _proportion(int(rows.loc[method, "recruited"]), int(rows.loc[method, "approached"]))


def planning_power_curves(scenarios: list[PlanningScenario], n_values, alpha: float, method: str) -> pd.DataFrame:
    """Power by sample size per arm for each scenario: ``scenario`` (label), ``n_per_group``, ``power``."""
    frames = []
    for s in scenarios:
        if math.isclose(s.p_ips, s.p_control) or not (0 < s.p_ips < 1 and 0 < s.p_control < 1):
            continue
        curve = power_curve(s.p_ips, s.p_control, n_values, alpha=alpha, methods=(method,))
        frames.append(curve.assign(scenario=s.label)[["scenario", "n_per_group", "power"]])
    return pd.concat(frames, ignore_index=True)


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
                  "percent", "ci_low", "ci_high", "approaches_per_recruit", "after_closure"):
            value = row.get(k, math.nan)
            if not (isinstance(value, float) and math.isnan(value)):
                out[f"recruitment.{m}.{k}"] = value
        if row["approached"] and not math.isnan(row["approached"]):
            out[f"recruitment.{m}.enquiries_percent"] = 100 * row["enquiries"] / row["approached"]
    for row in recruitment_by_setting(by_method).to_dict("records"):
        out[f"recruited.{row['setting']}"] = row["recruited"]
        out[f"approached.{row['setting']}"] = row["approached"]
        # Pooled over the setting's methods, whose denominators differ in kind (see recruitment_by_setting).
        out[f"pooled_yield.{row['setting']}.percent"] = row["percent"]
    out["recruited.total"] = len(p)
    counts = p["arm"].value_counts()
    out |= {"arm.ips.n": int(counts.get("IPS", 0)), "arm.tau.n": int(counts.get("TAU", 0)),
            "allocation.randomised": int((p["allocation"] == "randomised").sum())}
    for row in allocation_by_arm(p).to_dict("records"):
        out |= {f"allocation_by_arm.{row['allocation']}.{k}": int(row[k]) for k in ("ips", "tau", "total")}
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
    for row in employment_known_12m(p, f).to_dict("records"):
        out |= {f"employment_known_12m.{row['group']}.{k}": row[k]
                for k in ("count", "n", "percent", "ci_low", "ci_high")}
    for row in paid_work_12m(p, f).to_dict("records"):
        base = f"paid_work_12m.{row['basis']}.{row['arm'].lower()}"
        out |= {f"{base}.{k}": row[k] for k in ("count", "n", "percent", "ci_low", "ci_high")}
    for row in setting_comparison(p).to_dict("records"):
        out[f"subgroup.{row['setting']}.{row['characteristic']}.percent"] = row["percent"]
    return {f"feasibility.{k}": (v.item() if hasattr(v, "item") else v) for k, v in out.items()}
