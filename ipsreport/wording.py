"""Sentences whose words depend on the numbers (significance, direction), built from computed results."""

from __future__ import annotations

import os

from IPython.display import Markdown

from ipsreport.format import fmt_ci, fmt_est_ci_text, fmt_int, fmt_num, fmt_p, fmt_pct, is_missing
from ipsreport.markup import markdown_of
from ipsreport.printed import prose

__all__ = ["ALPHA", "data_notice", "significance", "employment_sentence", "conclusion", "p_text",
           "allocation_sentence", "baseline_balance", "t_test_phrase",
           "secondary_summary", "interaction_summary", "poster_sentence", "allocation_story",
           "progression_sentence", "planning_sentence", "risk_difference_sentence",
           "mixed_model_caveat", "concordance_sentence",
           "thresholds_origin_sentence", "interval_methods_sentence", "sample_size_method_phrase",
           "minimal_important_difference_phrase", "paid_work_comparison_sentence", "pooled_yield_sentence",
           "identified_eligible_sentence",
           "questionnaire_reconstruction_note", "sample_size_method_sentence", "withdrawal_sentence",
           "withdrawal_short", "welch_sensitivity", "clda_summary", "multiplicity_summary", "phase_sentence",
           "bounds_sentence", "adjusted_sentence", "abstract_effects", "abstract_secondary",
           "phase_boundary_source", "family_list", "join_words",
           "clda_caveat"]

ALPHA = 0.05


def data_notice(*datasets) -> Markdown:
    """A visible callout when any data set is a synthetic reconstruction; nothing for real data.

    Markdown for an ``output: asis`` cell; the notices come from the data sets' ``dataset.yaml`` and are
    escaped. Under the built-in engine every page already carries the notice as a banner, so the callout
    (needed under Quarto) is left out there.
    """
    if os.environ.get("IPSREPORT_ENGINE") == "builtin":
        return Markdown("")
    texts = [getattr(d, "notice", "") or "These data are a synthetic reconstruction that matches the published "
             "summaries; they are not participant data." for d in datasets if getattr(d, "synthetic", False)]
    if not texts:
        return Markdown("")
    return markdown_of("::: {{.callout-warning}}\n## Synthetic data\n\n{notice}\n:::\n", notice=" ".join(texts))


@prose
def p_text(p: float) -> str:
    """'P = 0.336' or 'P < 0.001'."""
    formatted = fmt_p(p)
    return f"P {formatted[0]} {formatted[1:]}" if formatted.startswith("<") else f"P = {formatted}"


def significance(p: float, alpha: float = ALPHA) -> str:
    return "statistically significant" if p < alpha else "not statistically significant"


@prose
def employment_sentence(row, months: int) -> str:
    """One sentence on employment by ``months``: both rates, the odds ratio with its CI and the P value.

    ``row`` is one month's row of ``ipsreport.trial.employment_by_arm``.
    """
    diff = row["ips_percent"] - row["tau_percent"]
    direction = "higher" if diff > 0 else "lower" if diff < 0 else "the same"
    return (
        f"By {months} months, {fmt_int(row['ips_employed'])} of {fmt_int(row['ips_n'])} respondents in the IPS arm "
        f"({fmt_pct(row['ips_percent'])}%) and {fmt_int(row['tau_employed'])} of {fmt_int(row['tau_n'])} in the "
        f"TAU arm "
        f"({fmt_pct(row['tau_percent'])}%) had worked in a competitive job; the rate was {direction} with IPS "
        f"(odds ratio {fmt_est_ci_text(row['odds_ratio'], row['or_ci_low'], row['or_ci_high'])}, "
        f"{p_text(row['p_value'])}), a difference that was {significance(row['p_value'])}."
    )


def conclusion(row) -> str:
    """The abstract's conclusion, worded by the 12-month result."""
    if row["p_value"] < ALPHA:
        verdict = "IPS added to pain treatment led to more people finding competitive work within a year"
    elif row["ips_percent"] > row["tau_percent"]:
        verdict = ("Employment was more common with IPS, but the trial was too small for the difference to be "
                   "distinguished from chance")
    else:
        verdict = "The trial found no advantage of IPS for employment within a year"
    return (f"{verdict}. IPS could be delivered inside an interdisciplinary pain service; a larger, multicentre "
            "trial is needed to estimate its effect with useful precision.")


@prose
def allocation_sentence(flow) -> str:
    """How many were allocated to each arm, and the ratio, from the flow counts (``randomized.ips``/``.tau``)."""
    ips, tau = flow["randomized.ips"], flow["randomized.tau"]
    return (f"In all, {fmt_int(ips)} people were allocated to IPS and {fmt_int(tau)} to TAU "
            f"(ratio {fmt_num(_derived(flow, 'allocation_ratio', ips / tau))} to 1)." if tau
            else f"All {fmt_int(ips)} people were allocated to IPS.")


@prose
def baseline_balance(baseline, alpha: float = ALPHA) -> str:
    """Which baseline rows, if any, differ at the significance level (a description, not a test of balance)."""
    tested = baseline.loc[~baseline["subrow"] & baseline["p_value"].notna()]
    low = tested.loc[tested["p_value"] < alpha, "label"].tolist()
    if not low:
        return (f"No baseline characteristic differed between the arms at the {fmt_num(alpha)} level; with randomized "
                "allocation such tests describe chance imbalance rather than bias.")
    return (f"At the {fmt_num(alpha)} level the arms differed in {', '.join(x.lower() for x in low)}; with randomized "
            "allocation such differences arise by chance.")


@prose
def t_test_phrase(comparison, decimals: int = 2) -> str:
    """'the difference of 93.6 (95% CI …) was not statistically significant (Student's t-test, P = 0.428)'."""
    return (f"the difference of {fmt_num(comparison.mean_diff, decimals)} (95% CI "
            f"{fmt_num(comparison.ci_low, decimals)} to {fmt_num(comparison.ci_high, decimals)}) was "
            f"{significance(comparison.p_value)} "
            f"({comparison.test_label}, {p_text(comparison.p_value)})")


@prose
def secondary_summary(secondary, alpha: float = ALPHA) -> str:
    """Which unadjusted secondary comparisons, if any, reached the significance level, and in which direction."""
    hits = secondary.loc[secondary["p_value"] < alpha]
    if hits.empty:
        return f"No unadjusted comparison reached P < {fmt_num(alpha)}."
    parts = []
    for r in _records(hits):
        higher = "IPS" if r["ips_mean"] > r["tau_mean"] else "TAU"
        parts.append(f"{_lower(r['short'])} at {r['month']} months (higher in {higher}; "
                     f"{fmt_num(r['ips_mean'])} vs {fmt_num(r['tau_mean'])}, n = {fmt_int(r['ips_n'])} and "
                     f"{fmt_int(r['tau_n'])}, {p_text(r['p_value'])})")
    return f"Comparisons reaching P < {fmt_num(alpha)}: " + "; ".join(parts) + "."


@prose
def interaction_summary(interactions, alpha: float = ALPHA) -> str:
    """A sentence on the group × time terms of the mixed models."""
    hits = interactions.loc[interactions["p_value"] < alpha]
    smallest = interactions.sort_values("p_value").iloc[0]
    if hits.empty:
        return (f"No group × time term reached P < {fmt_num(alpha)}; the smallest P was "
                f"{fmt_p(smallest['p_value'])} ({_lower(smallest['short'])}).")
    names = _join([_lower(h) for h in hits["short"]])
    return (f"The group × time term reached P < {fmt_num(alpha)} for {names}, without adjustment for the number of "
            "tests (see the section on multiplicity).")


def _lower(label: str) -> str:
    """Lower-case a label's first letter unless it is an abbreviation (ODI, EQ-VAS, HSCL-25)."""
    return label if label[:2].isupper() else label[0].lower() + label[1:]


def _derived(source, name: str, value):
    """``value``, computed here from ``source``, keyed as ``name`` when the source is keyed: a keyed row or result
    (:meth:`ipsreport.results.Keyed.derived`) or a frame keyed with a ``derived`` prefix
    (:func:`ipsreport.results.keyed_frame`). A plain source gives the plain value."""
    derive = getattr(source, "derived", None)
    if derive is None and hasattr(source, "attrs") and hasattr(source, "columns"):
        derive = source.attrs.get("derived")
    return derive(name, value) if derive is not None else value


def _records(frame) -> list[dict]:
    """The rows of ``frame`` as dicts holding the cells themselves: ``DataFrame.to_dict`` would turn a keyed
    value (:func:`ipsreport.results.keyed_frame`) into a plain float and lose its key."""
    return [dict(zip(frame.columns, row)) for row in frame.itertuples(index=False, name=None)]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@prose
def poster_sentence(by_method) -> str:
    """Posters have no denominator: say what they produced."""
    rows = by_method.loc[by_method["method"] == "poster"]
    if rows.empty:
        return ""
    r = rows.iloc[0]
    late = r["after_closure"]
    return (f"Posters cannot have a yield, since nobody knows how many people saw them; they produced "
            f"{fmt_int(r['enquiries'])} enquiries, {fmt_int(late)} of them after recruitment had closed, and "
            f"{fmt_int(r['recruited'])} recruits.")


@prose
def allocation_story(allocation) -> str:
    """How allocation worked, told from the data: randomised first, then allocated by IPS availability."""
    rows = allocation.set_index("allocation")
    parts = []
    if "randomised" in rows.index:
        r = rows.loc["randomised"]
        parts.append(f"The first {fmt_int(r['total'])} participants were randomised in blocks "
                     f"({fmt_int(r['ips'])} IPS, "
                     f"{fmt_int(r['tau'])} TAU).")
    if "allocated" in rows.index:
        r = rows.loc["allocated"]
        parts.append(f"Because IPS was available only for a fixed period, the remaining {fmt_int(r['total'])} were "
                     f"allocated by availability: {fmt_int(r['ips'])} to IPS and {fmt_int(r['tau'])} to TAU. "
                     "Since their "
                     "arm depended on when they were recruited, comparisons between the arms are not protected "
                     "by randomization.")
    return " ".join(parts)


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


@prose
def progression_sentence(progression) -> str:
    counts = progression["verdict"].value_counts()
    reds = progression.loc[progression["verdict"] == "red", "label"].str.lower().tolist()
    g, a, r = (_derived(progression, v, int(counts.get(v, 0))) for v in ("green", "amber", "red"))
    total = _derived(progression, "criteria", len(progression))
    text = (f"Of {_count(total, 'criterion', 'criteria')}, {g} {'was' if g == 1 else 'were'} met "
            f"(green), {a} {'was' if a == 1 else 'were'} amber and {r} {'was' if r == 1 else 'were'} not met (red)")
    return text + (f": {'; '.join(reds)}." if reds else ".")


@prose
def planning_sentence(planning, approach_label: str = "people to approach") -> str:
    """The range of totals over the scenarios, and what the largest needs in ``approach_label`` at the yield."""
    valid = planning.dropna(subset=["n_total"])
    if valid.empty:
        return "No scenario implies a difference between the arms, so no sample size follows."
    big = valid.sort_values("n_total").iloc[-1]
    small = valid.sort_values("n_total").iloc[0]
    text = (f"The totals range from {fmt_int(small['n_total'])} participants ({_lower(small['scenario'])}) to "
            f"{fmt_int(big['n_total'])} ({_lower(big['scenario'])})")
    if is_missing(big["to_approach"]):
        return text + "."
    return text + f"; at the pilot's yield the largest would need about {fmt_int(big['to_approach'])} {approach_label}."


@prose
def risk_difference_sentence(row, months: int) -> str:
    """The absolute difference with its Newcombe interval, and what the interval does or does not exclude."""
    rd = (f"{fmt_num(row['risk_difference'], 1)} percentage points "
          f"(95% CI {fmt_ci(row['rd_ci_low'], row['rd_ci_high'], 1)})")
    if row["rd_ci_low"] <= 0 <= row["rd_ci_high"]:
        reading = "the interval includes no difference as well as differences of practical importance"
    else:
        side = "more" if row["rd_ci_low"] > 0 else "less"
        reading = f"the interval excludes no difference: employment was {side} common with IPS"
    return f"The absolute difference at {months} months was {rd}; {reading}."


def mixed_model_caveat(data) -> str:
    """With reconstructed data the mixed models cannot reproduce the published ones: say so."""
    if not getattr(data, "synthetic", False):
        return ""
    return ("Because the data are a reconstruction from published summaries, which do not determine how each "
            "person's scores hang together over time, these estimates are not the trial's; the reproducibility "
            "appendix sets them beside the published ones.")


@prose
def concordance_sentence(study: str, counts) -> str:
    """'Of the trial's 430 published numbers, 284 are exact, …' from a status → count mapping."""
    total = int(sum(counts.values))
    parts = [f"{int(n)} {status}" for status, n in counts.items() if n]
    return f"Of the {study}'s {total} published numbers: {_join(parts)}."


_THRESHOLD_ORIGINS = {
    "post_hoc": ("The thresholds are this report's own, not the pilot's: the pilot published no progression "
                 "criteria, and these were set in config/design.yaml after its results were known (post hoc), "
                 "so the verdicts illustrate how such criteria would read rather than test a prespecified rule."),
    "prespecified": ("The thresholds, recorded in config/design.yaml, were fixed before the pilot's data were "
                     "seen."),
}


def thresholds_origin_sentence(origin: str) -> str:
    """Who set the progression thresholds and when, from ``feasibility.thresholds_origin`` in the config."""
    if origin not in _THRESHOLD_ORIGINS:
        raise ValueError(f"config/design.yaml feasibility.thresholds_origin: {origin!r} is not one of "
                         f"{sorted(_THRESHOLD_ORIGINS)}")
    return _THRESHOLD_ORIGINS[origin]


_INTERVAL_NAMES = {"wilson": "Wilson score intervals for the proportions",
                   "exact_poisson": ("exact (Garwood) Poisson intervals for the rate per month, the recruitment "
                                     "period treated as fixed")}


def interval_methods_sentence(progression) -> str:
    """Which 95% intervals the progression table shows, from its ``interval`` column."""
    used = [_INTERVAL_NAMES[m] for m in _INTERVAL_NAMES if m in set(progression["interval"])]
    if not used:
        return ""
    return (f"Each observed value has a 95% confidence interval: {_join(used)}; the verdict is read from the "
            "point estimate, and an interval that straddles a threshold means the pilot cannot tell the two "
            "colours apart.")


_POWER_METHOD_PHRASES = {
    "unpooled": "the normal approximation with unpooled variances",
    "pooled": "Fleiss' normal approximation with the variance pooled under the null hypothesis, without continuity "
              "correction",
    "pooled_cc": "Fleiss' normal approximation with pooled variance and the Casagrande–Pike–Smith continuity "
                 "correction",
    "fully_pooled": "the normal approximation with the variance pooled under both hypotheses",
}


def sample_size_method_phrase(method: str) -> str:
    """The sample-size formula in words, from the configured method name (``ipsreport.stats.power``)."""
    if method not in _POWER_METHOD_PHRASES:
        raise ValueError(f"sample-size method {method!r} is not one of {sorted(_POWER_METHOD_PHRASES)}")
    return _POWER_METHOD_PHRASES[method]


@prose
def minimal_important_difference_phrase(mid: dict) -> str:
    """'a minimal important difference of 15 percentage points (an assumption of this report, …)'."""
    points = fmt_num(100 * mid["value"], 0 if float(100 * mid["value"]).is_integer() else 1)
    basis = ("an assumption of this report, not an estimate from either study" if mid.get("basis") == "assumption"
             else str(mid.get("basis", "")))
    return f"a minimal important difference of {points} percentage points ({basis})"


@prose
def paid_work_comparison_sentence(paid) -> str:
    """Paid work measured the same way in both arms (12-month questionnaire, respondents only), and its direction.

    ``paid`` is ``ipsreport.feasibility.paid_work_12m``.
    """
    q = paid.loc[paid["basis"] == "questionnaire"].set_index("arm")
    if q["n"].min() == 0:
        return "No 12-month questionnaire was returned in one arm, so the arms cannot be compared on the same footing."
    i, t = q.loc["IPS"], q.loc["TAU"]
    diff = i["percent"] - t["percent"]
    direction = ("higher in the IPS arm" if diff > 0 else "lower in the IPS arm" if diff < 0
                 else "the same in both arms")
    return (f"Measured the same way in both arms, by the 12-month questionnaire among those who returned it, "
            f"{fmt_int(i['count'])} of {fmt_int(i['n'])} IPS respondents ({fmt_pct(i['percent'])}%, 95% CI "
            f"{fmt_ci(i['ci_low'], i['ci_high'], 1)}%) and {fmt_int(t['count'])} of {fmt_int(t['n'])} TAU respondents "
            f"({fmt_pct(t['percent'])}%, 95% CI {fmt_ci(t['ci_low'], t['ci_high'], 1)}%) were in paid work; the "
            f"proportion was {direction}.")


@prose
def pooled_yield_sentence(setting_row, by_method) -> str:
    """Say what the pilot's pooled primary-care figure adds together, from the methods' denominators."""
    rows = by_method.loc[(by_method["setting"] == setting_row.name) & by_method["approached"].notna()]
    parts = [f"{fmt_int(r['approached'])} {r['denominator']} ({r['short_label']})" for r in _records(rows)]
    return (f"The pilot's abstract pools these as {fmt_int(setting_row['recruited'])} recruits from "
            f"{fmt_int(setting_row['approached'])} people approached in primary care "
            f"({fmt_pct(setting_row['percent'])}%), a sum of {_join(parts)}: denominators of different kinds, so "
            "the pooled figure is the yield of no single method, and this report does not use it as one.")


@prose
def identified_eligible_sentence(by_method) -> str:
    """The methods whose denominator is patients already identified as eligible, with their k of n."""
    rows = by_method.loc[by_method["denominator"] == "patients identified as eligible"]
    if rows.empty:
        return ""
    parts = [f"{r['short_label']}, {fmt_int(r['recruited'])} of {fmt_int(r['approached'])}" for r in _records(rows)]
    return ("The other methods approached only patients a nurse or clinician had already identified as eligible ("
            f"{'; '.join(parts)}): their yields are the share of such patients who agreed to take part, not a "
            "response to an invitation, and cannot be compared with the mail-out's.")


def questionnaire_reconstruction_note(data) -> str:
    """While the pilot data are synthetic: which IPS participants returned the 12-month questionnaire is a
    reconstruction choice (the paper says only that those who found work responded less)."""
    if not getattr(data, "synthetic", False):
        return ""
    return ("The paper does not say which IPS participants returned the 12-month questionnaire; in these "
            "synthetic data that is a reconstruction choice, consistent with its remark that those who found "
            "work responded less often.")


# --- Robustness analyses of the trial (statistical review) ---

_SAMPLE_SIZE_FORMULAS = {
    "unpooled": (r"the normal approximation with unpooled variances, *n* = (*z*~1−α/2~ + *z*~1−β~)^2^ × "
                 r"\[*p*~1~(1 − *p*~1~) + *p*~2~(1 − *p*~2~)\] / (*p*~1~ − *p*~2~)^2^ per arm"),
    "pooled": "Fleiss' formula, which pools the variance under the null hypothesis (no continuity correction)",
    "pooled_cc": ("Fleiss' formula, which pools the variance under the null hypothesis, with a continuity "
                  "correction"),
    "fully_pooled": (r"the normal approximation with the pooled variance under both hypotheses, *n* = "
                     r"(*z*~1−α/2~ + *z*~1−β~)^2^ × 2*p̄*(1 − *p̄*) / (*p*~1~ − *p*~2~)^2^ per arm"),
}


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


@prose
def sample_size_method_sentence(method: str, size=None, other=None) -> Markdown:
    """The sample-size formula named by the configured ``method`` and, given the results, what it and the
    ``other`` method give (``size``/``other`` are :class:`ipsreport.stats.power.SampleSize`).

    Markdown (the formula is typeset), written entirely by the package: no piece comes from data."""
    return Markdown(_sample_size_method_text(method, size, other))


def _sample_size_method_text(method: str, size=None, other=None) -> str:
    if method not in _SAMPLE_SIZE_FORMULAS:
        raise ValueError(f"config/design.yaml: unknown sample-size method {method!r}; "
                         f"known: {sorted(_SAMPLE_SIZE_FORMULAS)}")
    if size is None:
        return f"The sample size uses {_SAMPLE_SIZE_FORMULAS[method]}."
    text = (f"{_capital(_SAMPLE_SIZE_FORMULAS[method])} gives {fmt_num(size.n_exact)}, that is "
            f"{size.n_per_group} participants per arm.")
    if other is not None:
        text += (f" By {_SAMPLE_SIZE_FORMULAS[other.method]}, the same assumptions give {other.n_per_group} "
                 "per arm.")
    return text


@prose
def withdrawal_sentence(flow: dict, data, fisher=None) -> str:
    """Who withdrew, by arm; marked as a reconstruction while the data are synthetic, else with Fisher's test."""
    total, ips, tau = flow["withdrawn"], flow["withdrawn.ips"], flow["withdrawn.tau"]
    if getattr(data, "synthetic", False):
        return (f"{total} withdrew after randomization; the paper gives that total but not the arms, and the "
                f"split used here ({ips} IPS, {tau} TAU) is a choice of the synthetic reconstruction.")
    text = f"{total} withdrew after randomization ({ips} IPS, {tau} TAU)"
    if fisher is None:
        return text + "."
    return (f"{text}: {fmt_pct(fisher.percent1)}% of those allocated to IPS and {fmt_pct(fisher.percent2)}% of "
            f"those allocated to TAU ({p_text(fisher.p_value)}, Fisher's exact test). Withdrawal that depends on the "
            "arm breaks the comparability randomization provides, so the analysed groups may differ in ways the "
            "baseline table does not show.")


@prose
def withdrawal_short(flow: dict, data) -> str:
    """'9 (3 IPS and 6 TAU, split reconstructed)' for the abstract."""
    note = ", split reconstructed" if getattr(data, "synthetic", False) else ""
    return f"{flow['withdrawn']} ({flow['withdrawn.ips']} IPS and {flow['withdrawn.tau']} TAU{note})"


@prose
def welch_sensitivity(secondary, alpha: float = ALPHA) -> str:
    """How the count of comparisons below ``alpha`` changes when Welch's test is used for every row."""
    paper = secondary["p_value"] < alpha
    welch = secondary["p_welch"] < alpha
    changed = secondary.loc[paper != welch]
    head = (f"With Welch's test for every row, {_derived(secondary, 'welch.below_alpha', int(welch.sum()))} of "
            f"{_derived(secondary, 'ttest.count', len(secondary))} comparisons fall below P = {fmt_num(alpha)}, "
            f"against {_derived(secondary, 'ttest.below_alpha', int(paper.sum()))} with the variants of the paper")
    if changed.empty:
        return head + "; no verdict changes."
    parts = [f"{_lower(r['short'])} at {r['month']} months ({fmt_p(r['p_value'])} → {fmt_p(r['p_welch'])})"
             for r in _records(changed)]
    return head + ": " + _join(parts) + (" crosses" if len(parts) == 1 else " cross") + " the line."


@prose
def clda_summary(clda, alpha: float = ALPHA) -> str:
    """Which cLDA treatment effects fall below ``alpha`` (raw), with their estimates."""
    hits = clda.loc[clda["p_value"] < alpha]
    if hits.empty:
        return f"No cLDA treatment effect reached P < {fmt_num(alpha)}."
    parts = []
    for r in _records(hits):
        parts.append(f"{_lower(r['short'])} at {r['month']} months "
                     f"({fmt_est_ci_text(r['estimate'], r['ci_low'], r['ci_high'])}, {p_text(r['p_value'])}; "
                     f"{fmt_int(r['n_groups'])} participants)")
    return (f"Of {_derived(clda, 'clda.count', len(clda))} cLDA treatment effects, "
            f"{_derived(clda, 'clda.below_alpha', len(hits))} fell below P = {fmt_num(alpha)} before adjustment: "
            + "; ".join(parts) + ".")


@prose
def multiplicity_summary(secondary, interactions, clda, holm, alpha: float = ALPHA) -> str:
    """Every test the secondary chapter interprets, how many fall below ``alpha`` raw, and how many after Holm."""
    groups = [("unadjusted follow-up t-tests", "ttest", secondary),
              ("group × time terms of the paper's mixed models", "group_time", interactions),
              ("cLDA treatment effects", "clda", clda)]
    total = _derived(secondary, "all.count", sum(len(frame) for _, _, frame in groups))
    listed = _join([f"{_derived(frame, f'{family}.count', len(frame))} {name} "
                    f"({_derived(frame, f'{family}.below_alpha', int((frame['p_value'] < alpha).sum()))} below "
                    f"{fmt_num(alpha)})" for name, family, frame in groups])
    expected = _derived(secondary, "all.expected_below_alpha", alpha * total)
    text = (f"The chapter interprets {total} tests of secondary outcomes, none of them confirmatory: {listed}. "
            f"If every null hypothesis were true, about {fmt_num(expected, 1)} would fall below "
            f"{fmt_num(alpha)} by chance.")
    for family, rows in holm.groupby("family", sort=False):
        kept = rows.loc[rows["p_holm"] < alpha]
        label = rows["family_label"].iloc[0]
        m = _derived(holm, f"holm.{family}.count", int(rows["m"].iloc[0]))
        if kept.empty:
            text += (f" After Holm's adjustment within the family of {label} ({m} tests), "
                     f"none stays below {fmt_num(alpha)}.")
        else:
            names = _join([f"{_lower(r['short'])} at {r['month']} months" for r in _records(kept)])
            text += (f" After Holm's adjustment within the family of {label} ({m} tests), "
                     f"{names} {'stays' if len(kept) == 1 else 'stay'} below {fmt_num(alpha)}.")
    return text


@prose
def phase_sentence(by_phase, mh, boundary, data) -> str:
    """The primary comparison stratified by allocation phase, and where the boundary date comes from."""
    source = (" The paper does not give the date of the change; the boundary used here is the synthetic "
              "reconstruction's." if getattr(data, "synthetic", False) else "")
    rows = by_phase.set_index("phase")
    parts = [f"{fmt_int(rows.loc[p, 'ips_employed'])}/{fmt_int(rows.loc[p, 'ips_n'])} vs "
             f"{fmt_int(rows.loc[p, 'tau_employed'])}/{fmt_int(rows.loc[p, 'tau_n'])} in the {p} phase"
             for p in rows.index]
    n = _derived(by_phase, "n", int(by_phase[["ips_n", "tau_n"]].to_numpy().sum()))
    return (f"Participants randomized before {boundary:%-d %B %Y} were allocated 2:1, later ones 1:1.{source} "
            f"Stratified by phase ({_join(parts)}; n = {n}), the Mantel–Haenszel odds ratio was "
            f"{fmt_est_ci_text(mh.odds_ratio, mh.ci_low, mh.ci_high)} (Robins–Breslow–Greenland interval), and the "
            f"Breslow–Day test with Tarone's correction found {'no ' if mh.homogeneity_p_value >= ALPHA else ''}"
            f"evidence that the odds ratio differed between the phases ({p_text(mh.homogeneity_p_value)}).")


@prose
def bounds_sentence(bounds) -> str:
    """The primary comparison under the extreme assumptions about missing outcomes."""
    rows = bounds.set_index("scenario")
    ips, tau = rows.loc["ips_favoured"], rows.loc["tau_favoured"]
    m1, m2 = ips["ips_missing"], ips["tau_missing"]
    verdicts = {significance(ips["p_value"]), significance(tau["p_value"])}
    reading = ("so no assumption about them changes the verdict" if len(verdicts) == 1
               else "so the verdict depends on what happened to them")
    return (f"In the analysed groups, {fmt_int(m1)} IPS and {fmt_int(m2)} TAU participants did not answer the "
            f"12-month employment "
            f"question. If every missing IPS participant had worked and no missing TAU participant had, the odds "
            f"ratio would be {fmt_est_ci_text(ips['odds_ratio'], ips['or_ci_low'], ips['or_ci_high'])} "
            f"({p_text(ips['p_value'])}, n = {_derived(bounds, 'n', int(ips['ips_n'] + ips['tau_n']))}); "
            f"in the reverse case "
            f"{fmt_est_ci_text(tau['odds_ratio'], tau['or_ci_low'], tau['or_ci_high'])} ({p_text(tau['p_value'])}), "
            f"{reading}.")


@prose
def adjusted_sentence(adjusted, covariate_labels: list[str]) -> str:
    """The adjusted primary analysis, its covariates labelled as the report's choice, OR, RR and RD."""
    return (f"Adjusted for {_join(covariate_labels)} — covariates chosen by this report, not prespecified by the "
            f"trial — in a logistic regression of the {adjusted.n} respondents, the odds ratio was "
            f"{fmt_est_ci_text(adjusted.odds_ratio, adjusted.or_ci_low, adjusted.or_ci_high)}. Standardised over the "
            f"same participants, the predicted employment was "
            f"{fmt_pct(_derived(adjusted, 'risk_treated_percent', 100 * adjusted.risk_treated))}% with IPS and "
            f"{fmt_pct(_derived(adjusted, 'risk_control_percent', 100 * adjusted.risk_control))}% without, a risk "
            f"ratio of "
            f"{fmt_est_ci_text(adjusted.risk_ratio, adjusted.rr_ci_low, adjusted.rr_ci_high)} and a risk difference of "
            f"{fmt_est_ci_text(adjusted.risk_difference, adjusted.rd_ci_low, adjusted.rd_ci_high, decimals=1)} "
            "percentage points (intervals by the delta method).")


@prose
def abstract_effects(row, adjusted, covariate_labels: list[str]) -> str:
    """The abstract's absolute and relative effects at 12 months, each with its n."""
    n = _derived(row, "n", int(row["ips_n"] + row["tau_n"]))
    return (f"The absolute difference was "
            f"{fmt_est_ci_text(row['risk_difference'], row['rd_ci_low'], row['rd_ci_high'], decimals=1)} percentage "
            f"points (n = {n}). Adjusted for {_join(covariate_labels)} (this report's choice), the risk ratio was "
            f"{fmt_est_ci_text(adjusted.risk_ratio, adjusted.rr_ci_low, adjusted.rr_ci_high)} and the risk difference "
            f"{fmt_est_ci_text(adjusted.risk_difference, adjusted.rd_ci_low, adjusted.rd_ci_high, decimals=1)} points "
            f"(n = {adjusted.n}).")


@prose
def abstract_secondary(secondary, holm, alpha: float = ALPHA) -> str:
    """The abstract's line on the secondary outcomes: how many comparisons, their n, and what survived Holm."""
    n = secondary["ips_n"] + secondary["tau_n"]
    hits = _derived(secondary, "ttest.below_alpha", int((secondary["p_value"] < alpha).sum()))
    kept = _derived(holm, "holm.ttest.below_alpha", int((holm.loc[holm["family"] == "ttest", "p_holm"] < alpha).sum()))
    count = _derived(secondary, "ttest.count", len(secondary))
    n_min, n_max = (_derived(secondary, f"ttest.{k}", int(v)) for k, v in (("n_min", n.min()), ("n_max", n.max())))
    return (f"Of {count} unadjusted comparisons of secondary outcomes at 6 and 12 months "
            f"(n = {n_min} to {n_max} respondents each), {hits or 'none'} fell below "
            f"P = {fmt_num(alpha)}, and {kept or 'none'} after Holm's adjustment.")


def phase_boundary_source(data) -> str:
    """Where the allocation-phase boundary comes from, said while the data are synthetic (else nothing)."""
    if not getattr(data, "synthetic", False):
        return ""
    return (", a date the paper does not give: the boundary is a choice of the synthetic reconstruction, set in "
            "config/design.yaml")


def family_list(families: dict[str, str]) -> str:
    """The configured multiplicity families, by label: 'the unadjusted … and the constrained …'."""
    return _join([f"the {label}" for label in families.values()])


def join_words(items) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return _join(list(items))


def clda_caveat(data) -> str:
    """With reconstructed data the cLDA estimates depend on how the reconstruction linked each person's scores."""
    if not getattr(data, "synthetic", False):
        return ""
    return ("These estimates, too, depend on how the synthetic reconstruction linked each person's scores over "
            "time, which the published summaries do not determine; the paper has no such analysis to compare with.")


# --- Introduction and Discussion of the article -------------------------------------------------------------

@prose
def prior_ips_rates_phrase(ips_percent: float, control_percent: float) -> str:
    """The employment rates of earlier IPS trials that the trial's protocol planned with (percentages)."""
    return (f"{fmt_pct(ips_percent, 0)}% of participants found competitive work with IPS against "
            f"{fmt_pct(control_percent, 0)}% with other vocational services")


def reconstruction_caveat(*datasets) -> str:
    """The limitation that the numbers come from reconstructed, not real, participant data; empty for real data."""
    names = [getattr(d, "name", None) or "a data set" for d in datasets if getattr(d, "synthetic", False)]
    if not names:
        return ""
    which = "both studies" if len(names) == len(datasets) and len(names) > 1 else "part of the data"
    return ("Every number in this article is computed from synthetic participant data for "
            f"{which}, reconstructed to match the published summaries: the reconstruction reproduces the "
            "published margins, not the real associations between variables, so estimates that depend on "
            "those associations (the mixed models, adjusted and within-person analyses) are illustrations of the "
            "method rather than findings, and every number agrees with the papers only as closely as the "
            "concordance tables of the supplement show.")


@prose
def comparison_with_ips_trials_sentence(row, ips_planned: float, control_planned: float) -> str:
    """How the trial's 12-month rates compare with the earlier IPS trials' rates the protocol assumed
    (``ips_planned``, ``control_planned``: percentages)."""
    ips, tau = row["ips_percent"], row["tau_percent"]
    planned = ips_planned - control_planned
    observed = row["risk_difference"] if "risk_difference" in row else ips - tau
    ips_side = "below" if ips < ips_planned else "above" if ips > ips_planned else "equal to"
    tau_side = "above" if tau > control_planned else "below" if tau < control_planned else "equal to"
    gap = "smaller than" if observed < planned else "larger than" if observed > planned else "equal to"
    return (f"The IPS arm's {fmt_pct(ips)}% employed by 12 months is {ips_side} the "
            f"{fmt_pct(ips_planned, 0)}% of earlier IPS trials in severe mental illness, and the TAU arm's "
            f"{fmt_pct(tau)}% is {tau_side} their {fmt_pct(control_planned, 0)}%; the difference between the "
            f"arms, {fmt_num(observed, 1)} percentage points, is {gap} the {fmt_num(planned, 0)} points the "
            "protocol planned for.")


@prose
def sample_size_shortfall_sentence(n_analysed: int, n_required: int, target: int) -> str:
    """Analysed participants against the sample size (``n_required``, both arms) and the recruitment target."""
    short = n_analysed < n_required
    target_word = "short of" if n_analysed < target else "reaching"
    return (f"The trial analysed {fmt_int(n_analysed)} participants, {'fewer than' if short else 'at least'} the "
            f"{fmt_int(n_required)} its sample size calculation required and {target_word} "
            f"the {fmt_int(target)} it aimed to recruit, so its estimates are imprecise.")


@prose
def response_range_sentence(low: float, high: float) -> str:
    return (f"Response to the employment question ranged from {fmt_pct(low)}% to {fmt_pct(high)}% of the "
            "analysed participants, and the main comparisons use respondents only.")


@prose
def pilot_allocation_limitation(n_randomised: int, n_total: int) -> str:
    """The pilot's allocation: randomised for the first participants only."""
    if n_randomised >= n_total:
        return "All pilot participants were randomised."
    return (f"In the pilot only the first {n_randomised} of {n_total} participants were randomised; the rest "
            "were allocated by the availability of IPS, so its arms are not comparable groups.")


@prose
def recruitment_yield_sentence(primary_care_row, pain_row, mailout_row) -> str:
    """The pilot's recruitment by setting (rows of ``recruitment_by_setting``) and the mail-out's yield, the one
    primary-care method whose denominator counts everyone invited (``recruitment_by_method``)."""
    return (f"In the pilot, primary care recruited {fmt_int(primary_care_row['recruited'])} participants; its "
            "mail-out, the one method whose denominator counts everyone invited, recruited "
            f"{fmt_int(mailout_row['recruited'])} of {fmt_int(mailout_row['approached'])} people sent a pack "
            f"({fmt_pct(mailout_row['percent'])}%). Pain services added {fmt_int(pain_row['recruited'])}.")


@prose
def concordance_sentence_reported(study: str, prefix: str, statuses):
    """:func:`concordance_sentence` as a :class:`ipsreport.results.Phrase`, every count printed through the
    results registry: the total under ``{prefix}.total`` and each status under
    ``{prefix}.{status with _ for spaces}`` (zero counts left out)."""
    from .results import Phrase, reported

    counts = [(s, reported(f"{prefix}.{s.replace(' ', '_')}")) for s in statuses]
    counts = [(s, r) for s, r in counts if r.value]
    pieces: list = [f"Of the {study}'s ", reported(f"{prefix}.total"), " published numbers: "]
    for i, (status, r) in enumerate(counts):
        if i:
            pieces.append(" and " if i == len(counts) - 1 else ", ")
        pieces += [r, f" {status}"]
    return Phrase((*pieces, "."))


@prose
def tipping_splits_phrase(splits) -> str:
    """What the tipping-point table holds: 'every split in between', or how many of them when it shows an
    evenly spaced selection (``splits``: ``shown`` and ``total``, :func:`ipsreport.tables.tipping_point_splits`)."""
    if splits["shown"] >= splits["total"]:
        return "every split in between"
    return f"{fmt_int(splits['shown'])} of the {fmt_int(splits['total'])} splits in between, evenly spaced"
