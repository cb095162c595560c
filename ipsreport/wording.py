"""Sentences whose words depend on the numbers (significance, direction), built from computed results."""

from __future__ import annotations

import os

from ipsreport.format import fmt_est_ci, fmt_num, fmt_p, fmt_pct

__all__ = ["ALPHA", "data_notice", "significance", "employment_sentence", "conclusion", "p_text",
           "allocation_sentence", "baseline_balance", "t_test_phrase",
           "secondary_summary", "interaction_summary", "poster_sentence", "allocation_story",
           "progression_sentence", "planning_sentence", "risk_difference_sentence",
           "mixed_model_caveat", "concordance_sentence"]

ALPHA = 0.05


def data_notice(*datasets) -> str:
    """A visible callout when any data set is a synthetic reconstruction; nothing for real data.

    Under the built-in engine every page already carries the notice as a banner, so the callout (needed
    under Quarto) is left out there.
    """
    if os.environ.get("IPSREPORT_ENGINE") == "builtin":
        return ""
    texts = [getattr(d, "notice", "") or "These data are a synthetic reconstruction that matches the published "
             "summaries; they are not participant data." for d in datasets if getattr(d, "synthetic", False)]
    if not texts:
        return ""
    return "::: {.callout-warning}\n## Synthetic data\n\n" + " ".join(texts) + "\n:::\n"


def p_text(p: float) -> str:
    """'P = 0.336' or 'P < 0.001'."""
    formatted = fmt_p(p)
    return f"P {formatted[0]} {formatted[1:]}" if formatted.startswith("<") else f"P = {formatted}"


def significance(p: float, alpha: float = ALPHA) -> str:
    return "statistically significant" if p < alpha else "not statistically significant"


def employment_sentence(row, months: int) -> str:
    """One sentence on employment by ``months``: both rates, the odds ratio with its CI and the P value.

    ``row`` is one month's row of ``ipsreport.trial.employment_by_arm``.
    """
    diff = row["ips_percent"] - row["tau_percent"]
    direction = "higher" if diff > 0 else "lower" if diff < 0 else "the same"
    return (
        f"By {months} months, {int(row['ips_employed'])} of {int(row['ips_n'])} respondents in the IPS arm "
        f"({fmt_pct(row['ips_percent'])}%) and {int(row['tau_employed'])} of {int(row['tau_n'])} in the TAU arm "
        f"({fmt_pct(row['tau_percent'])}%) had worked in a competitive job; the rate was {direction} with IPS "
        f"(odds ratio {fmt_est_ci(row['odds_ratio'], row['or_ci_low'], row['or_ci_high'])}, "
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


def allocation_sentence(participants) -> str:
    """How many were allocated to each arm, and the ratio, in the data."""
    counts = participants["arm"].value_counts()
    ips, tau = int(counts.get("IPS", 0)), int(counts.get("TAU", 0))
    return (f"In all, {ips} people were allocated to IPS and {tau} to TAU "
            f"(ratio {fmt_num(ips / tau)} to 1)." if tau else f"All {ips} people were allocated to IPS.")


def baseline_balance(baseline, alpha: float = ALPHA) -> str:
    """Which baseline rows, if any, differ at the significance level (a description, not a test of balance)."""
    tested = baseline.loc[~baseline["subrow"] & baseline["p_value"].notna()]
    low = tested.loc[tested["p_value"] < alpha, "label"].tolist()
    if not low:
        return (f"No baseline characteristic differed between the arms at the {alpha:g} level; with randomized "
                "allocation such tests describe chance imbalance rather than bias.")
    return (f"At the {alpha:g} level the arms differed in {', '.join(x.lower() for x in low)}; with randomized "
            "allocation such differences arise by chance.")


def t_test_phrase(comparison) -> str:
    """'the difference of 93.59 hours (95% CI …) was not statistically significant (Student's t-test, P = 0.428)'."""
    return (f"the difference of {fmt_num(comparison.mean_diff)} (95% CI {fmt_num(comparison.ci_low)} to "
            f"{fmt_num(comparison.ci_high)}) was {significance(comparison.p_value)} "
            f"({comparison.test_label}, {p_text(comparison.p_value)})")


def secondary_summary(secondary, alpha: float = ALPHA) -> str:
    """Which unadjusted secondary comparisons, if any, reached the significance level, and in which direction."""
    hits = secondary.loc[secondary["p_value"] < alpha]
    if hits.empty:
        return f"No unadjusted comparison reached P < {fmt_num(alpha)}."
    parts = []
    for r in hits.to_dict("records"):
        higher = "IPS" if r["ips_mean"] > r["tau_mean"] else "TAU"
        parts.append(f"{_lower(r['short'])} at {r['month']} months (higher in {higher}; "
                     f"{fmt_num(r['ips_mean'])} vs {fmt_num(r['tau_mean'])}, {p_text(r['p_value'])})")
    return f"Comparisons reaching P < {fmt_num(alpha)}: " + "; ".join(parts) + "."


def interaction_summary(interactions, alpha: float = ALPHA) -> str:
    """A sentence on the group × time terms of the mixed models."""
    hits = interactions.loc[interactions["p_value"] < alpha]
    smallest = interactions.sort_values("p_value").iloc[0]
    if hits.empty:
        return (f"No group × time term reached P < {fmt_num(alpha)}; the smallest P was "
                f"{fmt_p(smallest['p_value'])} ({_lower(smallest['short'])}).")
    names = _join([_lower(h) for h in hits["short"]])
    return f"The group × time term reached P < {fmt_num(alpha)} for {names}."


def _lower(label: str) -> str:
    """Lower-case a label's first letter unless it is an abbreviation (ODI, EQ-VAS, HSCL-25)."""
    return label if label[:2].isupper() else label[0].lower() + label[1:]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def poster_sentence(by_method) -> str:
    """Posters have no denominator: say what they produced."""
    rows = by_method.loc[by_method["method"] == "poster"]
    if rows.empty:
        return ""
    r = rows.iloc[0]
    late = int(r["after_closure"])
    return (f"Posters cannot have a yield, since nobody knows how many people saw them; they produced "
            f"{int(r['enquiries'])} enquiries, {late} of them after recruitment had closed, and "
            f"{int(r['recruited'])} recruits.")


def allocation_story(allocation) -> str:
    """How allocation worked, told from the data: randomised first, then allocated by IPS availability."""
    rows = allocation.set_index("allocation")
    parts = []
    if "randomised" in rows.index:
        r = rows.loc["randomised"]
        parts.append(f"The first {int(r['total'])} participants were randomised in blocks ({int(r['ips'])} IPS, "
                     f"{int(r['tau'])} TAU).")
    if "allocated" in rows.index:
        r = rows.loc["allocated"]
        parts.append(f"Because IPS was available only for a fixed period, the remaining {int(r['total'])} were "
                     f"allocated by availability: {int(r['ips'])} to IPS and {int(r['tau'])} to TAU. Since their "
                     "arm depended on when they were recruited, comparisons between the arms are not protected "
                     "by randomization.")
    return " ".join(parts)


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def progression_sentence(progression) -> str:
    counts = progression["verdict"].value_counts()
    reds = progression.loc[progression["verdict"] == "red", "label"].str.lower().tolist()
    g, a, r = (int(counts.get(v, 0)) for v in ("green", "amber", "red"))
    text = (f"Of {_count(len(progression), 'criterion', 'criteria')}, {g} {'was' if g == 1 else 'were'} met "
            f"(green), {a} {'was' if a == 1 else 'were'} amber and {r} {'was' if r == 1 else 'were'} not met (red)")
    return text + (f": {'; '.join(reds)}." if reds else ".")


def planning_sentence(planning) -> str:
    valid = planning.dropna(subset=["n_total"])
    if valid.empty:
        return "No scenario implies a difference between the arms, so no sample size follows."
    big = valid.sort_values("n_total").iloc[-1]
    small = valid.sort_values("n_total").iloc[0]
    return (f"The totals range from {int(small['n_total'])} participants ({small['scenario']}) to "
            f"{int(big['n_total'])} ({big['scenario']}); at the pilot's primary-care yield the largest would mean "
            f"approaching about {int(big['to_approach']):,} people.")


def risk_difference_sentence(row, months: int) -> str:
    """The absolute difference with its Newcombe interval, and what the interval does or does not exclude."""
    rd = fmt_est_ci(row["risk_difference"], row["rd_ci_low"], row["rd_ci_high"], decimals=1)
    if row["rd_ci_low"] <= 0 <= row["rd_ci_high"]:
        reading = "the interval includes no difference as well as differences of practical importance"
    else:
        side = "more" if row["rd_ci_low"] > 0 else "less"
        reading = f"the interval excludes no difference: employment was {side} common with IPS"
    return f"The absolute difference at {months} months was {rd} percentage points; {reading}."


def mixed_model_caveat(data) -> str:
    """With reconstructed data the mixed models cannot reproduce the published ones: say so."""
    if not getattr(data, "synthetic", False):
        return ""
    return ("Because the data are a reconstruction from published summaries, which do not determine how each "
            "person's scores hang together over time, these estimates are not the trial's; the reproducibility "
            "appendix sets them beside the published ones.")


def concordance_sentence(study: str, counts) -> str:
    """'Of the trial's 430 published numbers, 284 are exact, …' from a status → count mapping."""
    total = int(sum(counts.values))
    parts = [f"{int(n)} {status}" for status, n in counts.items() if n]
    return f"Of the {study}'s {total} published numbers: {_join(parts)}."


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
