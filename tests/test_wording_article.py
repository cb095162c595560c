"""Computed sentences of the Introduction and Discussion: hand-worked values and both branches of each word."""

import pandas as pd

from ipsreport import wording as w


def _row(ips, tau):
    return pd.Series({"ips_percent": ips, "tau_percent": tau})


def test_comparison_with_earlier_ips_trials():
    assert w.comparison_with_ips_trials_sentence(_row(52.8, 38.9), 61, 23) == (
        "The IPS arm's 52.8% employed by 12 months is below the 61% of earlier IPS trials in severe mental illness, "
        "and the TAU arm's 38.9% is above their 23%; the difference between the arms, 13.9 percentage points, is "
        "smaller than the 38 points the protocol planned for.")
    text = w.comparison_with_ips_trials_sentence(_row(70.0, 20.0), 61, 23)
    assert "is above the 61%" in text and "is below their 23%" in text and "larger than the 38 points" in text


def test_sample_size_shortfall():
    assert w.sample_size_shortfall_sentence(58, 62, 80).startswith(
        "The trial analysed 58 participants, fewer than the 62 its sample size calculation required and short of "
        "the 80")
    assert "at least the 62" in w.sample_size_shortfall_sentence(90, 62, 80)
    assert "reaching the 80" in w.sample_size_shortfall_sentence(90, 62, 80)


def test_pilot_allocation_and_reconstruction_caveat():
    assert "first 18 of 50" in w.pilot_allocation_limitation(18, 50)
    assert w.pilot_allocation_limitation(50, 50) == "All pilot participants were randomised."

    class D:
        def __init__(self, synthetic):
            self.synthetic = synthetic
    assert "both studies" in w.reconstruction_caveat(D(True), D(True))
    assert "part of the data" in w.reconstruction_caveat(D(True), D(False))
    assert w.reconstruction_caveat(D(False), D(False)) == ""


def test_prior_rates_and_recruitment_yield():
    assert w.prior_ips_rates_phrase(61, 23) == (
        "61% of participants found competitive work with IPS against 23% with other vocational services")
    text = w.recruitment_yield_sentence(pd.Series({"recruited": 37}), pd.Series({"recruited": 13}),
                                        pd.Series({"recruited": 26, "approached": 1017, "percent": 100 * 26 / 1017}))
    assert "recruited 26 of 1,017 people sent a pack (2.6%)" in text and "added 13" in text


def test_tipping_table_phrase_says_when_the_table_shows_a_selection():
    import numpy as np

    from ipsreport import tables

    grid = pd.DataFrame([(i, j) for i in range(3) for j in range(2)], columns=["ips_missing_employed",
                                                                              "tau_missing_employed"])
    assert tables.tipping_point_splits(grid) == {"shown": 6, "total": 6}
    assert w.tipping_splits_phrase(tables.tipping_point_splits(grid)) == "every split in between"
    big = pd.DataFrame({"ips_missing_employed": np.repeat(np.arange(201), 3), "tau_missing_employed": np.tile([0, 1, 2], 201)})
    splits = tables.tipping_point_splits(big)
    assert splits == {"shown": 11 * 3, "total": 201 * 3}
    assert w.tipping_splits_phrase(splits) == "33 of the 603 splits in between, evenly spaced"
