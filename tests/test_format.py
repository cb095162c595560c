"""Display rounding: half-up at the printed precision, as the papers print."""

import math

import pytest

from ipsreport.format import fmt_est_ci, fmt_mean_sd, fmt_n_pct, fmt_num, fmt_p, fmt_pct, round_half_up


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (2.345, 2, "2.35"),  # half-up, where round() would give 2.35 or 2.34 depending on binary representation
        (0.125, 2, "0.13"),  # round-half-even would give 0.12
        (18.75, 1, "18.8"),  # 6/32 in the trial's Table 1
        (32.3529, 1, "32.4"),  # 11/34
        (-0.004, 2, "0.00"),  # no negative zero
        (-3.53, 2, "\u22123.53"),
    ],
)
def test_fmt_num_rounds_half_up(value, decimals, expected):
    assert fmt_num(value, decimals) == expected


def test_round_half_up_returns_decimal():
    assert str(round_half_up(216.5285714, 2)) == "216.53"


@pytest.mark.parametrize(("p", "expected"), [(0.3361, "0.336"), (0.0005, "<0.001"), (2.86e-07, "<0.001"),
                                             (0.0595, "0.060"), (0.9995, "1.000")])
def test_fmt_p(p, expected):
    assert fmt_p(p) == expected


def test_missing_values_show_a_dash():
    assert fmt_num(math.nan) == "\u2013"
    assert fmt_p(None) == "\u2013"
    assert fmt_mean_sd(math.nan, 1.0) == "\u2013"


def test_composite_formats():
    assert fmt_n_pct(19, 100 * 19 / 36) == "19 (52.8)"
    assert fmt_pct(100 * 7 / 18) == "38.9"
    assert fmt_mean_sd(36.0857, 9.7123) == "36.09 (9.71)"
    assert fmt_est_ci(1.7619, 0.5585, 5.5586) == "1.76 (0.56\u20135.56)"


def test_interval_with_a_negative_limit_uses_to():
    assert fmt_est_ci(0.774, -25.246, 24.125, decimals=1) == "0.8 (\u221225.2 to 24.1)"


def test_thousands_are_separated_alike_in_counts_and_numbers():
    from ipsreport.format import fmt_int

    assert fmt_int(1612) == "1,612"
    assert fmt_int(44788) == "44,788"
    assert fmt_int(999) == "999"
    assert fmt_num(1800.0, 0) == "1,800"
    assert fmt_num(-1234.56, 1) == "\u22121,234.6"


def test_p_is_never_printed_as_zero():
    # Every P from 0 up to just past 0.002 in steps of 1e-6: either '<0.001' or three decimals, never 0.000.
    shown = {fmt_p(i / 1_000_000) for i in range(0, 2100)}
    assert "0.000" not in shown
    assert shown == {"<0.001", "0.001", "0.002"}
    assert fmt_p(0.0) == "<0.001"


def test_interval_in_text_is_named():
    from ipsreport.format import fmt_est_ci_text

    assert fmt_est_ci_text(1.7619, 0.5585, 5.5586) == "1.76 (95% CI 0.56\u20135.56)"
    assert fmt_est_ci_text(93.59, -141.59, 328.76, 1) == "93.6 (95% CI \u2212141.6 to 328.8)"


def test_one_precision_per_quantity():
    from ipsreport.format import DECIMALS, fmt_hours

    assert DECIMALS == {"percent": 1, "hours": 1, "p": 3}
    assert fmt_pct(100 * 1 / 3) == "33.3"
    assert fmt_hours(216.5285714) == "216.5"
    assert fmt_n_pct(8, 100 * 8 / 22) == "8 (36.4)"
