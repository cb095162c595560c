"""Holm's step-down adjustment, checked on lists ordered and multiplied by hand."""

import math

import pytest

from ipsreport.stats.multiplicity import holm_adjust


def test_holm_on_a_hand_ordered_list():
    # Sorted: 0.005 (×4 = 0.02), 0.01 (×3 = 0.03), 0.03 (×2 = 0.06), 0.04 (×1 = 0.04, raised to 0.06 so that
    # the adjusted values keep the order of the raw ones). R: p.adjust(c(.01, .04, .03, .005), "holm").
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02], abs=1e-15)


def test_holm_caps_at_one_and_skips_missing():
    out = holm_adjust([0.4, float("nan"), 0.2, 0.9])
    # m = 3 (the NaN is not a test): 0.2 × 3 = 0.6, 0.4 × 2 = 0.8, 0.9 × 1 → max(0.8, 0.9) = 0.9.
    assert out[0] == pytest.approx(0.8) and out[2] == pytest.approx(0.6) and out[3] == pytest.approx(0.9)
    assert math.isnan(out[1])
    assert holm_adjust([0.5, 0.6]).tolist() == [1.0, 1.0]


def test_holm_rejects_values_outside_0_1():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm_adjust([0.1, 1.2])
