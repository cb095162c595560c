"""Tables: tidy frames in, great_tables ``GT`` objects out. Formatting only; every value is computed elsewhere.

Each P value carries a mark naming its test; the marks' footnotes are generated from the statistics
registry (``ipsreport.stats.registry.STAT_TESTS``), never typed, and only for tests that actually appear.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd
from great_tables import GT, loc, style
from great_tables import html as gt_html

from ipsreport.format import (DECIMALS, fmt_est_ci, fmt_int, fmt_mean_sd, fmt_n_pct, fmt_num, fmt_p, fmt_pct,
                              is_missing)
from ipsreport.stats.registry import STAT_TESTS

__all__ = [
    "TEST_MARKS",
    "tbl_baseline",
    "tbl_employment",
    "tbl_work_indicators",
    "tbl_job_sectors",
    "tbl_secondary",
    "tbl_mixed",
    "tbl_secondary_effects",
    "tbl_historical",
    "tbl_simple",
    "tbl_secondary_sensitivity",
    "tbl_clda",
    "tbl_primary_robustness",
    "tbl_tipping_point",
]

TEST_MARKS = {"pearson": "*", "fisher": "†", "student": "‡", "welch": "§", "yates": "¶"}


def _p_with_mark(p, test) -> str:
    if is_missing(p) or test is None or (isinstance(test, float)):
        return fmt_p(p)
    return f"{fmt_p(p)}{TEST_MARKS[test]}"


def _superscript_marks(text) -> str:
    """A cell's text as HTML, escaped, with trailing footnote marks as superscripts ('0.954<sup>*</sup>')."""
    text = "" if text is None else str(text)
    body = text.rstrip("".join(TEST_MARKS.values()))
    marks = text[len(body):]
    return html.escape(body) + (f"<sup>{html.escape(marks)}</sup>" if marks else "")


def _with_marks(gt: GT, columns: list[str]) -> GT:
    """Footnote marks in these columns print as superscripts in every format (the DOCX and PDF tables are made
    from this HTML, where ``<sup>`` becomes pandoc's Superscript)."""
    return gt.fmt(_superscript_marks, columns=columns)


def _test_notes(tests: Iterable) -> list:
    used = [t for t in TEST_MARKS if t in set(x for x in tests if isinstance(x, str))]
    return [gt_html(f"<sup>{html.escape(TEST_MARKS[t])}</sup> {html.escape(STAT_TESTS[t].label)}.") for t in used]


def _manuscript(gt: GT) -> GT:
    """The house style: compact, no zebra stripes, left-aligned labels."""
    return gt.tab_options(
        table_font_size="13px",
        heading_align="left",
        column_labels_font_weight="bold",
        table_width="100%",
        data_row_padding="3px",
        source_notes_font_size="11px",
    )


def tbl_simple(frame: pd.DataFrame, labels: dict[str, str] | None = None, notes: Iterable[str] = (),
               align_left: Iterable[str] = ()) -> GT:
    """A plain table of already formatted strings: one column per frame column."""
    gt = GT(frame)
    if labels:
        gt = gt.cols_label(**labels)
    numeric = [c for c in frame.columns if c not in set(align_left)]
    left = [c for c in frame.columns if c in set(align_left)]
    if left:
        gt = gt.cols_align("left", columns=left)
    if numeric:
        gt = gt.cols_align("right", columns=numeric)
    for note in notes:
        gt = gt.tab_source_note(note)
    return _manuscript(gt)


def tbl_baseline(baseline: pd.DataFrame, n_ips: int, n_tau: int) -> GT:
    """Table of baseline characteristics by arm: n (valid %) for binary rows, mean (SD) for continuous rows."""
    rows = []
    for r in baseline.itertuples(index=False):
        binary = r.kind == "binary"
        label = ("\u2003" + r.label) if r.subrow else r.label
        rows.append({
            "label": label,
            "ips_np": fmt_n_pct(r.ips_count, r.ips_percent) if binary else "",
            "ips_msd": "" if binary else fmt_mean_sd(r.ips_mean, r.ips_sd),
            "ips_n": fmt_int(r.ips_n),
            "tau_np": fmt_n_pct(r.tau_count, r.tau_percent) if binary else "",
            "tau_msd": "" if binary else fmt_mean_sd(r.tau_mean, r.tau_sd),
            "tau_n": fmt_int(r.tau_n),
            "p": "" if r.subrow else _p_with_mark(r.p_value, r.test),
        })
    frame = pd.DataFrame(rows)
    gt = (
        GT(frame)
        .tab_spanner(f"IPS (n = {n_ips})", columns=["ips_np", "ips_msd", "ips_n"])
        .tab_spanner(f"TAU (n = {n_tau})", columns=["tau_np", "tau_msd", "tau_n"])
        .cols_label(label="Characteristic", ips_np="n (%)", ips_msd="Mean (SD)", ips_n="Valid n",
                    tau_np="n (%)", tau_msd="Mean (SD)", tau_n="Valid n", p="P")
        .cols_align("left", columns=["label"])
        .cols_align("right", columns=["ips_np", "ips_msd", "ips_n", "tau_np", "tau_msd", "tau_n", "p"])
        .tab_source_note("Percentages are of respondents with a valid answer (valid n); benefit types are "
                         "percentages of benefit recipients. SD, standard deviation.")
    )
    gt = _with_marks(gt, ["p"])
    for note in _test_notes(baseline["test"]):
        gt = gt.tab_source_note(note)
    if "welch" in set(baseline["test"]) or "student" in set(baseline["test"]):
        gt = gt.tab_source_note("The t-test variant follows Levene's test (centred on the mean): Student's t "
                                "when P ≥ 0.05, Welch's t otherwise.")
    if "fisher" in set(baseline["test"]):
        gt = gt.tab_source_note("Fisher's exact test is used when any expected cell count is below 5.")
    return _manuscript(gt)


def tbl_employment(employment: pd.DataFrame) -> GT:
    """Employment since baseline by arm at each follow-up: n (%), P, odds ratio and risk difference (95% CI)."""
    rows = []
    for r in employment.itertuples(index=False):
        rows.append({
            "month": f"{r.month} months",
            "ips": f"{r.ips_employed}/{r.ips_n} ({fmt_pct(r.ips_percent)})",
            "tau": f"{r.tau_employed}/{r.tau_n} ({fmt_pct(r.tau_percent)})",
            "p": _p_with_mark(r.p_value, r.test),
            "or": fmt_est_ci(r.odds_ratio, r.or_ci_low, r.or_ci_high),
            "rd": fmt_est_ci(r.risk_difference, r.rd_ci_low, r.rd_ci_high, decimals=1),
        })
    gt = (
        GT(pd.DataFrame(rows))
        .cols_label(**{"month": "Follow-up", "ips": "IPS, n/N (%)", "tau": "TAU, n/N (%)", "p": "P",
                       "or": "OR (95% CI)", "rd": "Risk difference, points (95% CI)"})
        .cols_align("left", columns=["month"])
        .cols_align("right", columns=["ips", "tau", "p", "or", "rd"])
        .tab_source_note("Employed: any competitive employment between baseline and the follow-up point. "
                         "N: respondents at that point (valid percentages).")
        .tab_source_note("OR, odds ratio (IPS vs TAU) with Woolf's logit 95% CI. Risk difference in "
                         "percentage points (IPS − TAU) with Newcombe's hybrid score 95% CI.")
    )
    gt = _with_marks(gt, ["p"])
    for note in _test_notes(employment["test"]):
        gt = gt.tab_source_note(note)
    return _manuscript(gt)


def tbl_work_indicators(hours, hours_range: dict, worked20) -> GT:
    """Hours worked and working ≥ 20 hours in a week during the 12 months, by arm."""
    h = DECIMALS["hours"]
    rows = [
        {"indicator": "Hours worked in 12 months, mean (SD)",
         "ips": f"{fmt_mean_sd(hours.mean1, hours.sd1, h)}; n = {hours.n1}",
         "tau": f"{fmt_mean_sd(hours.mean2, hours.sd2, h)}; n = {hours.n2}",
         "p": _p_with_mark(hours.p_value, hours.variant),
         "effect": fmt_est_ci(hours.mean_diff, hours.ci_low, hours.ci_high, h)},
        {"indicator": "Hours worked, range",
         "ips": f"{fmt_num(hours_range['ips'][0], 0)}–{fmt_num(hours_range['ips'][1], 0)}",
         "tau": f"{fmt_num(hours_range['tau'][0], 0)}–{fmt_num(hours_range['tau'][1], 0)}", "p": "", "effect": ""},
        {"indicator": "Worked ≥ 20 hours in a week, n/N (%)",
         "ips": f"{worked20.count1}/{worked20.n1} ({fmt_pct(worked20.percent1)})",
         "tau": f"{worked20.count2}/{worked20.n2} ({fmt_pct(worked20.percent2)})",
         "p": _p_with_mark(worked20.p_value, worked20.test),
         "effect": "OR " + fmt_est_ci(worked20.odds_ratio, worked20.or_ci_low, worked20.or_ci_high)},
    ]
    gt = (
        GT(pd.DataFrame(rows))
        .cols_label(indicator="Indicator", ips="IPS", tau="TAU", p="P", effect="Difference or OR (95% CI)")
        .cols_align("left", columns=["indicator"])
        .cols_align("right", columns=["ips", "tau", "p", "effect"])
        .tab_source_note("Difference in mean hours is IPS − TAU. OR, odds ratio with Woolf's 95% CI.")
    )
    gt = _with_marks(gt, ["p"])
    for note in _test_notes([hours.variant, worked20.test]):
        gt = gt.tab_source_note(note)
    return _manuscript(gt)


def tbl_job_sectors(sectors: pd.DataFrame, sector_labels: dict[str, str]) -> GT:
    frame = pd.DataFrame({
        "sector": [sector_labels.get(s, s.replace("_", " ").capitalize()) for s in sectors["sector"]],
        "jobs": [fmt_int(j) for j in sectors["jobs"]],
        "percent": [fmt_pct(p) for p in sectors["percent"]],
    })
    return tbl_simple(frame, {"sector": "Sector", "jobs": "Jobs", "percent": "% of jobs"},
                      notes=["Jobs attained by participants in the IPS arm; a participant may hold more than one job."],
                      align_left=["sector"])


def tbl_secondary(secondary: pd.DataFrame) -> GT:
    """Unadjusted secondary outcomes at 6 and 12 months by arm: n, mean (SD) and P."""
    rows = []
    for outcome, group in secondary.groupby("outcome", sort=False):
        row = {"label": group["short"].iloc[0]}
        for r in group.itertuples(index=False):
            m = f"m{r.month}"
            row |= {f"{m}_ips_n": fmt_int(r.ips_n), f"{m}_ips": fmt_mean_sd(r.ips_mean, r.ips_sd),
                    f"{m}_tau_n": fmt_int(r.tau_n), f"{m}_tau": fmt_mean_sd(r.tau_mean, r.tau_sd),
                    f"{m}_p": _p_with_mark(r.p_value, r.test)}
        rows.append(row)
    frame = pd.DataFrame(rows)
    gt = GT(frame)
    labels = {"label": "Outcome"}
    for m, name in (("m6", "6 months"), ("m12", "12 months")):
        gt = gt.tab_spanner(name, columns=[f"{m}_ips_n", f"{m}_ips", f"{m}_tau_n", f"{m}_tau", f"{m}_p"])
        labels |= {f"{m}_ips_n": "IPS n", f"{m}_ips": "IPS mean (SD)", f"{m}_tau_n": "TAU n",
                   f"{m}_tau": "TAU mean (SD)", f"{m}_p": "P"}
    gt = (gt.cols_label(**labels)
          .cols_align("left", columns=["label"])
          .cols_align("right", columns=[c for c in frame.columns if c != "label"])
          .tab_source_note("ODI, Oswestry Disability Index (0–100); EQ-VAS, EuroQol visual analogue scale "
                           "(0–100); HSCL-25, Hopkins Symptom Checklist with its anxiety and depression subscales "
                           "(1–4); pain ratings from the Brief Pain Inventory, now and worst, average and least in "
                           "the past week (0–10). Higher is worse except for EQ-VAS."))
    gt = _with_marks(gt, ["m6_p", "m12_p"])
    for note in _test_notes(secondary["test"]):
        gt = gt.tab_source_note(note)
    gt = gt.tab_source_note("The paper says only 't tests'; the variant of each row is inferred from its printed P "
                            "value. Here it follows Levene's test (centred on the mean): Student's t when P ≥ 0.05, "
                            "Welch's t otherwise. Welch's test for every row is given in a sensitivity table.")
    return _manuscript(gt)


def tbl_secondary_effects(secondary: pd.DataFrame) -> GT:
    """Mean difference IPS − TAU (95% CI) for each secondary outcome at 6 and 12 months (CONSORT item 17a)."""
    rows = []
    for _outcome, group in secondary.groupby("outcome", sort=False):
        row = {"label": group["short"].iloc[0]}
        for r in group.itertuples(index=False):
            row[f"m{r.month}"] = fmt_est_ci(r.mean_difference, r.md_ci_low, r.md_ci_high)
        rows.append(row)
    gt = tbl_simple(pd.DataFrame(rows), {"label": "Outcome", "m6": "6 months", "m12": "12 months"},
                    align_left=["label"],
                    notes=["Difference in means, IPS − TAU, with the 95% CI of the t-test variant used in "
                           "the table above (Student or Welch, by Levene's test). Negative values favour IPS "
                           "except for EQ-VAS."])
    return gt


_TERM_LABELS = {"group": "Difference between arms at baseline (IPS − TAU)",
                "time": "Change per 6 months, TAU (linear)",
                "group_time": "Difference in change per 6 months (IPS − TAU)",
                "intercept": "TAU mean at baseline"}


def _mixed_group_label(r) -> str:
    """An outcome's row-group heading with the fit's size and random-intercept variance, when known."""
    if "n_groups" not in r or is_missing(r.get("random_intercept_var")):
        return r["label"]
    return (f"{r['label']}: {fmt_int(r['n_groups'])} participants, {fmt_int(r['n_obs'])} observations, "
            f"random-intercept variance {fmt_num(r['random_intercept_var'])}")


def tbl_mixed(mixed: pd.DataFrame) -> GT:
    """Linear mixed models (ML, random intercept): estimate, SE, z and P for each term, grouped by outcome."""
    frame = pd.DataFrame({
        "outcome": [_mixed_group_label(r) for r in mixed.to_dict("records")],
        "term": [_TERM_LABELS[t] for t in mixed["term"]],
        "estimate": [fmt_num(v) for v in mixed["estimate"]],
        "se": [fmt_num(v) for v in mixed["se"]],
        "z": [fmt_num(v) for v in mixed["z"]],
        "p": [fmt_p(v) for v in mixed["p_value"]],
    })
    gt = (
        GT(frame, rowname_col="term", groupname_col="outcome")
        .tab_stubhead(label="Term")
        .cols_label(estimate="Estimate", se="SE", z="z", p="P")
        .cols_align("right", columns=["estimate", "se", "z", "p"])
        .tab_source_note("Linear mixed model per outcome fitted by maximum likelihood with a random intercept per "
                         "participant: outcome ~ group + time + group × time, using every available observation "
                         "at baseline, 6 and 12 months. Group = 1 for IPS; time = 0, 1, 2 (forced linear). "
                         "z = estimate / SE; two-sided normal P. SE, standard error.")
        .tab_source_note("This is the paper's specification. Because the model contains the interaction, the "
                         "group term is the difference between the arms at baseline, not an effect of IPS; the "
                         "group × time term is the difference between the arms' linear changes per 6 months.")
    )
    return _manuscript(gt)


def tbl_historical(comparison) -> GT:
    frame = pd.DataFrame([
        {"group": "IPS arm, employed by 12 months",
         "value": f"{comparison.ips_employed}/{comparison.ips_n} ({fmt_pct(comparison.ips_percent)})"},
        {"group": "Historical controls, employed at 12 months",
         "value": f"{comparison.historical_employed}/{comparison.historical_n} ({fmt_pct(comparison.historical_percent)})"},
        {"group": f"χ² (df = {comparison.df}, n = {comparison.n})", "value": fmt_num(comparison.chi2)},
        {"group": "P", "value": fmt_p(comparison.p_value)},
        {"group": "Odds ratio (95% CI)", "value": fmt_est_ci(comparison.odds_ratio, comparison.or_ci_low,
                                                              comparison.or_ci_high)},
    ])
    return tbl_simple(frame, {"group": "Quantity", "value": "Value"}, align_left=["group"],
                      notes=["Pearson's chi-squared test without continuity correction; odds ratio with "
                             "Woolf's 95% CI. The two outcomes are not defined alike (see text)."])


def tbl_concordance_summary(trial, pilot) -> GT:
    """Counts per concordance status for the trial and the pilot."""
    frame = pd.DataFrame({"status": trial["status"].str.capitalize(), "trial": trial["count"].astype(str),
                          "pilot": pilot["count"].astype(str)})
    return tbl_simple(frame, {"status": "Status", "trial": "IPS in Pain trial", "pilot": "InStep pilot"},
                      align_left=["status"])


_CONCORDANCE_LABELS = {"study": "Study", "where": "Where printed", "statistic": "Statistic", "printed": "Printed",
                       "computed": "Computed", "status": "Status", "note": "Note"}


def tbl_concordance(conc: pd.DataFrame) -> GT:
    """Each published number beside the computed one, with its status and any note; ``conc`` is a frame of
    ``ipsreport.concordance.concordance_display`` (or ``not_exact``, which adds the study)."""
    frame = conc[[c for c in _CONCORDANCE_LABELS if c in conc.columns]].copy()
    return tbl_simple(frame, {c: _CONCORDANCE_LABELS[c] for c in frame.columns},
                      align_left=[c for c in frame.columns if c not in {"printed", "computed"}])


def _pct_ci(percent, low, high, decimals: int = 1) -> str:
    if is_missing(percent):
        return "–"
    return f"{fmt_pct(percent, decimals)} ({fmt_pct(low, decimals)}–{fmt_pct(high, decimals)})"


_DENOMINATOR_SHORT = {"packs posted": "packs posted", "patients identified as eligible": "identified eligible"}


def tbl_recruitment(by_method: pd.DataFrame) -> GT:
    """Recruitment by method: approached (with what was counted), enquired or identified, ineligible, not
    contactable, recruited, yield per approach (95% CI)."""
    frame = pd.DataFrame({
        "method": by_method["label"],
        "setting": by_method["setting"].map({"primary_care": "Primary care", "pain_service": "Pain services"}),
        "approached": [("unknown" if is_missing(v) else f"{fmt_int(v)} {_DENOMINATOR_SHORT.get(d, d)}")
                       for v, d in zip(by_method["approached"], by_method["denominator"])],
        "enquiries": [fmt_int(v) for v in by_method["enquiries"]],
        "ineligible": [fmt_int(v) for v in by_method["ineligible"]],
        "not_contactable": [fmt_int(v) for v in by_method["not_contactable"]],
        "recruited": [fmt_int(v) for v in by_method["recruited"]],
        "yield": [("no denominator" if is_missing(p) else _pct_ci(p, lo, hi))
                  for p, lo, hi in zip(by_method["percent"], by_method["ci_low"], by_method["ci_high"])],
    })
    total = {"method": "Total", "setting": "", "approached": "", "enquiries": "", "ineligible": "",
             "not_contactable": fmt_int(by_method["not_contactable"].sum()),
             "recruited": fmt_int(by_method["recruited"].sum()), "yield": ""}
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    return tbl_simple(
        frame,
        {"method": "Method", "setting": "Setting", "approached": "Approached", "enquiries": "Enquired or identified",
         "ineligible": "Ineligible", "not_contactable": "Not contactable", "recruited": "Recruited",
         "yield": "Yield, % (95% CI)"},
        notes=["Approached counts different things: information packs posted for the database mail-out (everyone "
               "a records search found), but patients already identified as eligible for hand-searching and for "
               "opportunistic approaches. Yield = recruited / approached with a 95% Wilson interval, so the two "
               "kinds of yield are not comparable and are not added together. Not contactable: returned a reply "
               "slip but could not be reached. Posters have no denominator. Enquiries that came after recruitment "
               "closed are counted as ineligible."],
        align_left=["method", "setting", "approached"],
    )


def tbl_allocation(allocation: pd.DataFrame) -> GT:
    frame = pd.DataFrame({
        "allocation": allocation["allocation"].map({"randomised": "Randomised (blocks, 1:1)",
                                                    "allocated": "Allocated by IPS availability"}),
        "ips": allocation["ips"].astype(str), "tau": allocation["tau"].astype(str),
        "total": allocation["total"].astype(str),
        "period": [f"{a:%b %Y} – {b:%b %Y}" for a, b in zip(allocation["first"], allocation["last"])],
    })
    return tbl_simple(frame, {"allocation": "Allocation", "ips": "IPS", "tau": "TAU", "total": "Total",
                              "period": "Recruited"}, align_left=["allocation", "period"])


def tbl_pilot_baseline(levels: pd.DataFrame, age_left_school: pd.DataFrame, years_out: pd.DataFrame,
                       n: dict[str, int]) -> GT:
    """The pilot's baseline table: n (%) per level for all / IPS / TAU, grouped by characteristic."""
    rows = []
    for r in levels.to_dict("records"):
        if r["level"] == "missing" and r["all_count"] == 0:
            continue  # a 'Missing' row of zeros says nothing
        rows.append({"group": r["label"], "level": r["level_label"],
                     **{g: fmt_n_pct(r[f"{g}_count"], r[f"{g}_percent"]) for g in ("all", "ips", "tau")}})
    for label, frame, with_mean in (("Age on leaving school, years", age_left_school, True),
                                    ("Years since last in paid work", years_out, False)):
        s = frame.set_index("group")
        if with_mean:
            rows.append({"group": label, "level": "Mean (SD)",
                         **{g: fmt_mean_sd(s.loc[g, "mean"], s.loc[g, "sd"], 1) for g in ("all", "ips", "tau")}})
        rows.append({"group": label, "level": "Median (IQR)",
                     **{g: f"{fmt_num(s.loc[g, 'median'], 1)} ({fmt_num(s.loc[g, 'q1'], 1)}–{fmt_num(s.loc[g, 'q3'], 1)})"
                        for g in ("all", "ips", "tau")}})
        rows.append({"group": label, "level": "Missing", **{g: fmt_int(s.loc[g, "missing"]) for g in ("all", "ips", "tau")}})
    frame = pd.DataFrame(rows)
    gt = (
        GT(frame, rowname_col="level", groupname_col="group")
        .tab_stubhead(label="Characteristic")
        .cols_label(all=f"All (n = {n['all']})", ips=f"IPS (n = {n['ips']})", tau=f"TAU (n = {n['tau']})")
        .cols_align("right", columns=["all", "ips", "tau"])
        .tab_source_note("n (%) of all participants in the column; qualifications and health problems are not "
                         "exclusive. Medians and quartiles use Stata's percentile definition.")
    )
    return _manuscript(gt)


def _k_of_n_ci(count, n, percent, low, high) -> str:
    """'8/22, 36.4 (19.7–57.0)': count of n, then percent with its 95% CI."""
    return f"{fmt_int(count)}/{fmt_int(n)}, {_pct_ci(percent, low, high)}"


def _wide_rates(frame: pd.DataFrame, row_key: str, label, col_key: str, cols: dict[str, str],
                count: str = "count") -> list[dict]:
    """One output row per ``row_key`` value with a 'k/n, % (CI)' cell per ``col_key`` value."""
    rows = []
    for key, r in frame.groupby(row_key, sort=False):
        s = r.set_index(col_key)
        rows.append({"label": label(key, r),
                     **{out: _k_of_n_ci(s.loc[c, count], s.loc[c, "n"], s.loc[c, "percent"], s.loc[c, "ci_low"],
                                        s.loc[c, "ci_high"]) for c, out in cols.items()}})
    return rows


def tbl_setting_comparison(settings: pd.DataFrame) -> GT:
    rows = _wide_rates(settings, "characteristic", lambda _, r: r["label"].iloc[0], "setting",
                       {"primary_care": "primary_care", "pain_service": "pain_service"})
    return tbl_simple(pd.DataFrame(rows), {"label": "Characteristic", "primary_care": "Primary care",
                                           "pain_service": "Pain services"}, align_left=["label"],
                      notes=["n/N, percent (95% Wilson CI)."])


def tbl_retention(retention: pd.DataFrame, patterns: pd.DataFrame) -> GT:
    rows = _wide_rates(retention.sort_values("month"), "month", lambda m, _: f"Returned at {m} months", "arm",
                       {"IPS": "ips", "TAU": "tau"}, count="returned")
    p = patterns.set_index("group")
    for what, col in (("Returned all", "all"), ("Returned none", "none")):
        rows.append({"label": what,
                     **{g: _k_of_n_ci(p.loc[g, f"{col}_returned"], p.loc[g, "n"], p.loc[g, f"{col}_percent"],
                                      p.loc[g, f"{col}_ci_low"], p.loc[g, f"{col}_ci_high"]) for g in ("ips", "tau")}})
    return tbl_simple(pd.DataFrame(rows), {"label": "Questionnaires", "ips": "IPS", "tau": "TAU"}, align_left=["label"],
                      notes=["n/N, percent (95% Wilson CI)."])


def tbl_status(status: pd.DataFrame) -> GT:
    rows = _wide_rates(status, "status", lambda _, r: r["label"].iloc[0], "arm", {"IPS": "ips", "TAU": "tau"})
    return tbl_simple(pd.DataFrame(rows), {"label": "Status at 12 months", "ips": "IPS", "tau": "TAU"},
                      align_left=["label"], notes=["n/N, percent (95% Wilson CI). Paid work in the IPS arm counts "
                                                   "anyone who had attained a job by 12 months."])


def tbl_employer_themes(themes: pd.DataFrame) -> GT:
    frame = themes[["theme", "summary"]].astype(str)
    return tbl_simple(frame, {"theme": "Theme", "summary": "What employers said (paraphrased)"},
                      align_left=["theme", "summary"])


_VERDICT = {"green": "Green: go", "amber": "Amber: modify", "red": "Red: stop or redesign"}


_INTERVAL_NOTES = {"wilson": "Wilson score interval for percentages",
                   "exact_poisson": "exact Poisson interval for the rate per month (recruitment period fixed)"}


def tbl_progression(progression: pd.DataFrame) -> GT:
    """Progression criteria: observed value with its 95% CI beside the thresholds and the traffic light."""
    frame = pd.DataFrame({
        "label": progression["label"],
        "observed": [fmt_num(v, 1) if is_missing(lo) else f"{fmt_num(v, 1)} ({fmt_num(lo, 1)}–{fmt_num(hi, 1)})"
                     for v, lo, hi in zip(progression["observed"], progression["ci_low"], progression["ci_high"])],
        "green": [f"≥ {fmt_num(v, 1)}" for v in progression["green"]],
        "amber": [f"≥ {fmt_num(v, 1)}" for v in progression["amber"]],
        "unit": progression["unit"],
        "verdict": progression["verdict"].map(_VERDICT),
    })
    intervals = [_INTERVAL_NOTES[m] for m in _INTERVAL_NOTES if m in set(progression["interval"])]
    notes = ["95% CI: " + "; ".join(intervals) + "."] if intervals else []
    notes.append("Thresholds from config/design.yaml, set by this report, not by the pilot. Red when below the "
                 "amber threshold; the verdict is read from the observed value.")
    gt = tbl_simple(frame, {"label": "Criterion", "observed": "Observed (95% CI)", "green": "Green",
                            "amber": "Amber", "unit": "Unit", "verdict": "Verdict"},
                    align_left=["label", "unit", "verdict"], notes=notes)
    colours = {"green": "#d9ead3", "amber": "#fff2cc", "red": "#f4cccc"}
    for verdict, colour in colours.items():
        rows = [i for i, v in enumerate(progression["verdict"]) if v == verdict]
        if rows:
            gt = gt.tab_style(style.fill(color=colour), loc.body(columns="verdict", rows=rows))
    return gt


def tbl_planning(planning: pd.DataFrame, approach_label: str = "To approach", attrition_percent: float | None = None,
                 yield_note: str = "") -> GT:
    """Sample size per scenario: rates, per arm, per arm after attrition, total and people to approach."""
    frame = pd.DataFrame({
        "scenario": planning["scenario"],
        "rates": [f"{fmt_pct(100 * a)}% vs {fmt_pct(100 * b)}%" for a, b in zip(planning["p_ips"], planning["p_control"])],
        "n": [fmt_int(v) for v in planning["n_per_arm"]],
        "inflated": [fmt_int(v) for v in planning["n_inflated_per_arm"]],
        "total": [fmt_int(v) for v in planning["n_total"]],
        "approach": [("–" if is_missing(v) else fmt_int(v)) for v in planning["to_approach"]],
    })
    lost = "" if attrition_percent is None else f" ({fmt_pct(attrition_percent, 0)}% lost)"
    return tbl_simple(frame, {"scenario": "Scenario", "rates": "Employment, IPS vs control", "n": "Per arm",
                              "inflated": f"Per arm, after attrition{lost}", "total": "Total",
                              "approach": approach_label}, align_left=["scenario", "rates"],
                      notes=["Two-sided test; per-arm n rounded up, then divided by the proportion expected to have "
                             "employment ascertained at 12 months. " + yield_note])


def tbl_paid_work_12m(paid: pd.DataFrame) -> GT:
    """Paid work at 12 months in the pilot: as reported per arm (different sources) and by questionnaire in both."""
    rows = []
    for basis, r in paid.groupby("basis", sort=False):
        by_arm = r.set_index("arm")
        if basis == "as_reported":
            label = ("As the pilot reported it: IPS, " + by_arm.loc["IPS", "source"] + " ("
                     + by_arm.loc["IPS", "definition"] + "); TAU, " + by_arm.loc["TAU", "source"] + " ("
                     + by_arm.loc["TAU", "definition"] + "); all allocated")
        else:
            label = ("Same ascertainment in both arms: " + by_arm.loc["TAU", "source"] + " ("
                     + by_arm.loc["TAU", "definition"] + "); respondents only")
        cells = {arm.lower(): _k_of_n_ci(*by_arm.loc[arm, ["count", "n", "percent", "ci_low", "ci_high"]])
                 for arm in ("IPS", "TAU")}
        rows.append({"label": label, **cells})
    return tbl_simple(pd.DataFrame(rows), {"label": "Paid work at 12 months", "ips": "IPS", "tau": "TAU"},
                      align_left=["label"],
                      notes=["n/N, percent (95% Wilson CI). The first row's arms differ in source and definition, "
                             "so the difference between them is not an estimate of the effect of IPS."])



def _holm_lookup(holm: pd.DataFrame, family: str) -> dict:
    rows = holm.loc[holm["family"] == family]
    return {(r.outcome, r.month): r.p_holm for r in rows.itertuples(index=False)}


def tbl_secondary_sensitivity(secondary: pd.DataFrame, holm: pd.DataFrame) -> GT:
    """Each follow-up t-test three ways: the paper's variant, Welch's test for every row, and Holm-adjusted."""
    adjusted = _holm_lookup(holm, "ttest")
    rows = []
    for _outcome, group in secondary.groupby("outcome", sort=False):
        row = {"label": group["short"].iloc[0]}
        for r in group.itertuples(index=False):
            m = f"m{r.month}"
            row |= {f"{m}_p": _p_with_mark(r.p_value, r.test), f"{m}_welch": fmt_p(r.p_welch),
                    f"{m}_holm": fmt_p(adjusted.get((r.outcome, r.month)))}
        rows.append(row)
    frame = pd.DataFrame(rows)
    gt = GT(frame)
    labels = {"label": "Outcome"}
    for m, name in (("m6", "6 months"), ("m12", "12 months")):
        gt = gt.tab_spanner(name, columns=[f"{m}_p", f"{m}_welch", f"{m}_holm"])
        labels |= {f"{m}_p": "P, paper's variant", f"{m}_welch": "P, Welch", f"{m}_holm": "P, Holm"}
    family = holm.loc[holm["family"] == "ttest"]
    gt = (gt.cols_label(**labels)
          .cols_align("left", columns=["label"])
          .cols_align("right", columns=[c for c in frame.columns if c != "label"])
          .tab_source_note("P, paper's variant: Student's or Welch's t as in the table of secondary outcomes. "
                           "P, Welch: Welch's t-test for every row (sensitivity analysis). "
                           f"P, Holm: the paper's variant adjusted by Holm's method over the "
                           f"{int(family['m'].iloc[0]) if len(family) else 0} tests of the family "
                           f"'{family['family_label'].iloc[0] if len(family) else ''}'."))
    gt = _with_marks(gt, ["m6_p", "m12_p"])
    for note in _test_notes(secondary["test"]):
        gt = gt.tab_source_note(note)
    return _manuscript(gt)


def tbl_clda(clda: pd.DataFrame, holm: pd.DataFrame) -> GT:
    """cLDA treatment effects (IPS − TAU) at 6 and 12 months with 95% CI, raw and Holm-adjusted P; one row per
    outcome and follow-up, with the fit's participants, observations and random-intercept variance."""
    adjusted = _holm_lookup(holm, "clda")
    rows = []
    for _outcome, group in clda.groupby("outcome", sort=False):
        for k, r in enumerate(group.itertuples(index=False)):
            rows.append({"label": r.short if k == 0 else "", "month": f"{r.month} months",
                         "est": fmt_est_ci(r.estimate, r.ci_low, r.ci_high), "p": fmt_p(r.p_value),
                         "holm": fmt_p(adjusted.get((r.outcome, r.month))),
                         "n": f"{fmt_int(r.n_groups)} / {fmt_int(r.n_obs)}" if k == 0 else "",
                         "var": fmt_num(r.random_intercept_var) if k == 0 else ""})
    frame = pd.DataFrame(rows)
    return tbl_simple(
        frame, {"label": "Outcome", "month": "Follow-up", "est": "Effect, IPS − TAU (95% CI)", "p": "P",
                "holm": "P, Holm", "n": "Participants / observations", "var": "Random-intercept variance"},
        align_left=["label", "month"],
        notes=["Constrained longitudinal data analysis: baseline, 6 and 12 months as outcomes, time categorical, one "
               "baseline mean for both arms, and the treatment effect at each follow-up as the difference between "
               "the arms (negative favours IPS except for EQ-VAS). Linear mixed model with a random intercept per "
               "participant (REML); Wald 95% CI and two-sided normal P.",
               "P, Holm: adjusted over the cLDA treatment effects of all outcomes at both follow-ups."])


def tbl_primary_robustness(bounds: pd.DataFrame, by_phase: pd.DataFrame, mh, adjusted,
                           covariate_labels: list[str]) -> GT:
    """The 12-month primary comparison under other assumptions: missing outcomes, allocation phase, covariates."""
    def k_n(k, n, pct) -> str:
        return f"{fmt_int(k)}/{fmt_int(n)} ({fmt_pct(pct)})"

    rows = []
    for r in bounds.itertuples(index=False):
        rows.append({"group": "Missing outcomes", "analysis": r.label,
                     "ips": k_n(r.ips_employed, r.ips_n, r.ips_percent),
                     "tau": k_n(r.tau_employed, r.tau_n, r.tau_percent),
                     "or": fmt_est_ci(r.odds_ratio, r.or_ci_low, r.or_ci_high), "p": _p_with_mark(r.p_value, r.test)})
    for r in by_phase.itertuples(index=False):
        rows.append({"group": "Allocation phase", "analysis": f"{r.phase} phase (respondents)",
                     "ips": k_n(r.ips_employed, r.ips_n, r.ips_percent),
                     "tau": k_n(r.tau_employed, r.tau_n, r.tau_percent),
                     "or": fmt_est_ci(r.odds_ratio, r.or_ci_low, r.or_ci_high), "p": ""})
    rows.append({"group": "Allocation phase", "analysis": "Mantel–Haenszel, stratified by phase",
                 "ips": k_n(by_phase["ips_employed"].sum(), by_phase["ips_n"].sum(),
                            100 * by_phase["ips_employed"].sum() / by_phase["ips_n"].sum()),
                 "tau": k_n(by_phase["tau_employed"].sum(), by_phase["tau_n"].sum(),
                            100 * by_phase["tau_employed"].sum() / by_phase["tau_n"].sum()),
                 "or": fmt_est_ci(mh.odds_ratio, mh.ci_low, mh.ci_high),
                 "p": f"{fmt_p(mh.homogeneity_p_value)} (homogeneity)"})
    rows.append({"group": "Adjusted (this report's choice)",
                 "analysis": f"Logistic regression on arm, {', '.join(covariate_labels)} (n = {adjusted.n})",
                 "ips": f"{fmt_pct(100 * adjusted.risk_treated)} (standardised)",
                 "tau": f"{fmt_pct(100 * adjusted.risk_control)} (standardised)",
                 "or": fmt_est_ci(adjusted.odds_ratio, adjusted.or_ci_low, adjusted.or_ci_high), "p": ""})
    frame = pd.DataFrame(rows)
    rr = fmt_est_ci(adjusted.risk_ratio, adjusted.rr_ci_low, adjusted.rr_ci_high)
    rd = fmt_est_ci(adjusted.risk_difference, adjusted.rd_ci_low, adjusted.rd_ci_high, decimals=1)
    gt = (GT(frame, rowname_col="analysis", groupname_col="group")
          .cols_label(ips="IPS, n/N (%)", tau="TAU, n/N (%)", p="P")
          .cols_label(**{"or": "OR (95% CI)"})
          .cols_align("right", columns=["ips", "tau", "or", "p"])
          .tab_source_note("Employment by 12 months. Missing outcomes: analysed participants who did not answer, "
                           "set to employed or not as named. Phase odds ratios: Woolf's CI; Mantel–Haenszel: "
                           "Robins–Breslow–Greenland CI, homogeneity by the Breslow–Day test with Tarone's "
                           "correction.")
          .tab_source_note(f"Adjusted: risk ratio {rr} and risk difference {rd}"
                           " percentage points by marginal standardisation (delta-method 95% CIs); covariates chosen "
                           "by this report, not prespecified by the trial."))
    gt = _with_marks(gt, ["p"])
    for note in _test_notes(bounds["test"]):
        gt = gt.tab_source_note(note)
    return _manuscript(gt)


TIPPING_POINT_MAX_SPLITS = 11
"""The tipping-point table shows at most this many splits per arm (rows and columns): every split while an arm
has at most ten missing outcomes, else this many evenly spaced from none to all of them."""


def _shown_splits(missing: int) -> list[int]:
    if missing + 1 <= TIPPING_POINT_MAX_SPLITS:
        return list(range(missing + 1))
    return sorted({round(missing * s / (TIPPING_POINT_MAX_SPLITS - 1)) for s in range(TIPPING_POINT_MAX_SPLITS)})


def tipping_point_splits(tipping: pd.DataFrame) -> dict:
    """How many splits of the missing outcomes the tipping-point table shows (``shown``) of all there are
    (``total``)."""
    m1, m2 = int(tipping["ips_missing_employed"].max()), int(tipping["tau_missing_employed"].max())
    return {"shown": len(_shown_splits(m1)) * len(_shown_splits(m2)), "total": (m1 + 1) * (m2 + 1)}


def tbl_tipping_point(tipping: pd.DataFrame) -> GT:
    """Odds ratio and P for every split of the missing 12-month outcomes (rows IPS, columns TAU); when an arm
    has more than ten missing outcomes, for evenly spaced splits only (see :data:`TIPPING_POINT_MAX_SPLITS`),
    which a note says."""
    m1, m2 = int(tipping["ips_missing_employed"].max()), int(tipping["tau_missing_employed"].max())
    rows_shown, cols_shown = _shown_splits(m1), _shown_splits(m2)
    shown = tipping[tipping["ips_missing_employed"].isin(rows_shown) & tipping["tau_missing_employed"].isin(cols_shown)]
    rows = []
    for i, group in shown.groupby("ips_missing_employed", sort=True):
        row = {"ips": f"{i} of the missing IPS employed"}
        for r in group.itertuples(index=False):
            row[f"tau_{r.tau_missing_employed}"] = f"{fmt_num(r.odds_ratio)} ({fmt_p(r.p_value)})"
        rows.append(row)
    frame = pd.DataFrame(rows)
    labels = {"ips": ""} | {c: f"{c.split('_')[1]} of the missing TAU employed" for c in frame.columns if c != "ips"}
    notes = ["Each cell: odds ratio (P) for employment by 12 months, IPS vs TAU, with every analysed "
             "participant counted and the named number of non-respondents taken as employed. "
             "P by Pearson's chi-squared test, or Fisher's exact test when an expected count is "
             "below 5."]
    if len(rows_shown) < m1 + 1 or len(cols_shown) < m2 + 1:
        notes.append(f"With {fmt_int(m1)} missing outcomes in the IPS arm and {fmt_int(m2)} in the TAU arm there are "
                     f"{fmt_int((m1 + 1) * (m2 + 1))} splits; the table shows {fmt_int(len(rows_shown) * len(cols_shown))} "
                     f"of them, {len(rows_shown)} evenly spaced numbers per arm from none to all of the missing.")
    return tbl_simple(frame, labels, align_left=["ips"], notes=notes)
