"""t tests and Levene's test, pinned to the audit's Table 3 values and cross-checked against scipy/statsmodels."""

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind

from ipsreport.stats import STAT_TESTS, footnote_for_tests
from ipsreport.stats.ttests import compare_means, levene_mean, student_t_from_summary, welch_t_from_summary


def printed(value: float, decimals: int) -> str:
    return str(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def test_table3_6m_odi_welch_and_student():
    # Table 3, 6 m pain-related disability: IPS 28, 36.09 (9.71) vs TAU 17, 40.96 (17.27); printed P = 0.298
    # is Welch; Student gives 0.231 (audit).
    args = (28, 36.09, 9.71, 17, 40.96, 17.27)
    assert printed(welch_t_from_summary(*args).p_value, 3) == "0.298"
    assert printed(student_t_from_summary(*args).p_value, 3) == "0.231"


def test_table3_6m_eq_vas_student():
    # Table 3, 6 m health-related QoL: 29, 47.41 (16.16) vs 17, 42.76 (21.08); printed P = 0.405 (Student).
    r = student_t_from_summary(29, 47.41, 16.16, 17, 42.76, 21.08)
    assert printed(r.p_value, 3) == "0.405"
    assert printed(welch_t_from_summary(29, 47.41, 16.16, 17, 42.76, 21.08).p_value, 3) == "0.440"


def test_hours_worked_student():
    # Hours worked during 12 months: IPS 35, 216.53 (447.25) vs TAU 17, 122.94 (255.20); P = 0.428,
    # Student t = 0.799 on 50 df (audit); Welch would give 0.343.
    r = student_t_from_summary(35, 216.53, 447.25, 17, 122.94, 255.20)
    assert (printed(r.p_value, 3), printed(r.t, 3), r.df) == ("0.428", "0.799", 50.0)
    assert printed(welch_t_from_summary(35, 216.53, 447.25, 17, 122.94, 255.20).p_value, 3) == "0.343"


@pytest.mark.parametrize("args", [(28, 36.09, 9.71, 17, 40.96, 17.27), (35, 216.53, 447.25, 17, 122.94, 255.20)])
def test_summary_t_matches_scipy_from_stats(args):
    n1, m1, s1, n2, m2, s2 = args
    for fn, equal_var in ((student_t_from_summary, True), (welch_t_from_summary, False)):
        # scipy: ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=...)
        ref = stats.ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=equal_var)
        r = fn(*args)
        assert (r.t, r.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-10)


@pytest.fixture
def samples():
    rng = np.random.default_rng(20220101)
    x = rng.normal(38, 9, size=28)
    y = rng.normal(45, 18, size=17)
    return x, y


def test_raw_t_matches_scipy_and_statsmodels(samples):
    x, y = samples
    for variant, equal_var, usevar in (("student", True, "pooled"), ("welch", False, "unequal")):
        r = compare_means(x, y, variant=variant)
        # scipy: ttest_ind(x, y, equal_var=...)
        ref = stats.ttest_ind(x, y, equal_var=equal_var)
        assert (r.t, r.p_value, r.df) == pytest.approx((ref.statistic, ref.pvalue, ref.df), rel=1e-10)
        # statsmodels: ttest_ind(x, y, usevar=...) -> (t, p, df)
        sm_t, sm_p, sm_df = ttest_ind(x, y, usevar=usevar)
        assert (r.t, r.p_value, r.df) == pytest.approx((sm_t, sm_p, sm_df), rel=1e-10)
        # statsmodels: CompareMeans(...).tconfint_diff(usevar=...)
        ci = CompareMeans(DescrStatsW(x), DescrStatsW(y)).tconfint_diff(usevar=usevar)
        assert (r.ci_low, r.ci_high) == pytest.approx(ci, rel=1e-10)
        assert r.mean_diff == pytest.approx(x.mean() - y.mean())


def test_levene_matches_scipy_and_hand_anova(samples):
    x, y = samples
    lev = levene_mean(x, y)
    # scipy: levene(x, y, center="mean")
    ref = stats.levene(x, y, center="mean")
    assert (lev.statistic, lev.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-10)
    # by hand: one-way ANOVA F on absolute deviations from the group means
    zx, zy = np.abs(x - x.mean()), np.abs(y - y.mean())
    z = np.concatenate([zx, zy])
    ss_between = len(zx) * (zx.mean() - z.mean()) ** 2 + len(zy) * (zy.mean() - z.mean()) ** 2
    ss_within = ((zx - zx.mean()) ** 2).sum() + ((zy - zy.mean()) ** 2).sum()
    df2 = len(z) - 2
    f = ss_between / (ss_within / df2)
    assert lev.statistic == pytest.approx(f, rel=1e-10)
    assert lev.p_value == pytest.approx(stats.f.sf(f, 1, df2), rel=1e-10)
    assert (lev.df1, lev.df2) == (1, df2)
    # centred on the mean, not scipy's default median
    assert lev.statistic != pytest.approx(stats.levene(x, y).statistic, rel=1e-6)


def test_variant_is_chosen_by_levene(samples):
    x, y = samples
    r = compare_means(x, y)
    assert r.levene_p < 0.05 and r.variant == "welch" and r.p_value == r.p_welch
    assert r.test_label == STAT_TESTS["welch"].label
    # moving the threshold below the observed Levene p switches to Student
    s = compare_means(x, y, alpha_levene=r.levene_p / 2)
    assert s.variant == "student" and s.p_value == s.p_student and s.df == len(x) + len(y) - 2
    # Levene p exactly at alpha: Student (p >= alpha)
    assert compare_means(x, y, alpha_levene=r.levene_p).variant == "student"
    assert footnote_for_tests([r.variant, s.variant]).endswith(
        "Welch's t test (equal variances not assumed); Student's t test (equal variances assumed)")


def test_nans_are_dropped(samples):
    x, y = samples
    r = compare_means(np.append(x, [np.nan, np.nan]), list(y) + [float("nan")])
    ref = compare_means(x, y)
    assert (r.n1, r.n2) == (len(x), len(y))
    assert (r.p_value, r.t, r.levene_p) == (ref.p_value, ref.t, ref.levene_p)
    assert r.sd1 == pytest.approx(np.std(x, ddof=1))


def test_undefined_cases_give_nan_not_errors():
    r = compare_means([1.0], [2.0, 3.0, 4.0])
    assert math.isnan(r.levene_p) and r.variant == "student" and math.isnan(r.p_value)
    with pytest.raises(ValueError):
        compare_means([1, 2, 3], [2, 3, 4], variant="mann-whitney")


def test_result_columns_are_stable(samples):
    cols = compare_means(*samples).to_frame().columns.tolist()
    assert cols == ["n1", "mean1", "sd1", "n2", "mean2", "sd2", "levene_statistic", "levene_p", "variant",
                    "test_label", "t", "df", "p_value", "mean_diff", "se", "ci_low", "ci_high", "p_student",
                    "p_welch", "level"]


def test_accepts_pandas_nullable_columns(samples):
    x, y = samples
    xs = pd.Series(list(x) + [None], dtype="Float64")
    r = compare_means(xs, pd.Series(y))
    assert r.n1 == len(x) and r.p_value == compare_means(x, y).p_value
