"""Statistics for ipsreport: pure functions returning frozen dataclasses or tidy DataFrames (never formatted)."""

from .contingency import (
    ProportionComparison,
    chi2_test_2x2,
    compare_proportions,
    fisher_test_2x2,
    newcombe_risk_difference,
    odds_ratio_woolf,
)
from .adjusted import StandardisedEffects, standardised_logistic
from .mixed import CldaFit, GroupTimeMixedFit, MixedFitInfo, fit_clda, fit_group_time_mixed
from .multiplicity import holm_adjust
from .power import (
    inflate_for_attrition,
    people_to_approach,
    power_curve,
    power_two_proportions,
    sample_size_two_proportions,
)
from .proportions import clopper_pearson_ci, summarize_proportion, wilson_ci
from .registry import STAT_TESTS, get_test, footnote_labels, footnote_for_tests
from .stratified import MantelHaenszelResult, mantel_haenszel_odds_ratio
from .summaries import quantile, split_by_arm, summarize_binary, summarize_categorical, summarize_continuous
from .ttests import MeanComparison, compare_means, levene_mean, student_t_from_summary, welch_t_from_summary

__all__ = [
    # proportions
    "wilson_ci", "clopper_pearson_ci", "summarize_proportion",
    # contingency
    "compare_proportions", "chi2_test_2x2", "fisher_test_2x2", "odds_ratio_woolf", "newcombe_risk_difference",
    "ProportionComparison",
    # t tests
    "compare_means", "levene_mean", "student_t_from_summary", "welch_t_from_summary", "MeanComparison",
    # mixed models
    "fit_group_time_mixed", "GroupTimeMixedFit", "MixedFitInfo", "fit_clda", "CldaFit",
    # stratified, adjusted, multiplicity
    "mantel_haenszel_odds_ratio", "MantelHaenszelResult", "standardised_logistic", "StandardisedEffects",
    "holm_adjust",
    # power
    "sample_size_two_proportions", "power_two_proportions", "inflate_for_attrition", "people_to_approach",
    "power_curve",
    # summaries
    "split_by_arm", "summarize_binary", "summarize_categorical", "summarize_continuous", "quantile",
    # test registry
    "STAT_TESTS", "get_test", "footnote_labels", "footnote_for_tests",
]
