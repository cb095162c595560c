"""Descriptive summaries by arm: valid percentages, Wilson CIs, and the two quantile definitions."""

import math

import numpy as np
import pandas as pd
import pytest

from ipsreport.stats.proportions import wilson_ci
from ipsreport.stats.summaries import (
    quantile,
    split_by_arm,
    summarize_binary,
    summarize_categorical,
    summarize_continuous,
)


@pytest.fixture
def df():
    return pd.DataFrame({
        "arm": ["IPS"] * 6 + ["TAU"] * 4,
        "employed": [1, 0, 1, np.nan, 1, 0, 0, np.nan, 1, 0],
        "age": [30, 41, np.nan, 52, 38, 45, 29, 33, 61, np.nan],
        "sex": ["f", "m", "f", None, "f", "f", "m", "m", "f", "m"],
    })


def test_binary_valid_percent(df):
    out = summarize_binary(split_by_arm(df, "employed"))
    assert out.columns.tolist() == ["arm", "count", "n", "n_missing", "percent", "ci_low", "ci_high"]
    ips = out.set_index("arm").loc["IPS"]
    assert (ips["count"], ips["n"], ips["n_missing"]) == (3, 5, 1)  # missing excluded from the denominator
    assert ips["percent"] == pytest.approx(60.0)
    assert (ips["ci_low"], ips["ci_high"]) == pytest.approx(tuple(100 * v for v in wilson_ci(3, 5)))


def test_binary_overall_row_and_exact_ci(df):
    out = summarize_binary(split_by_arm(df, "employed", arms=["TAU", "IPS"]), overall="All",
                           ci_method="clopper_pearson")
    assert out["arm"].tolist() == ["All", "TAU", "IPS"]
    assert out.loc[0, ["count", "n", "n_missing"]].tolist() == [4, 8, 2]
    with pytest.raises(ValueError):
        summarize_binary({"IPS": [0, 1, 2]})
    with pytest.raises(ValueError):
        summarize_binary(split_by_arm(df, "employed"), overall="IPS")


def test_binary_accepts_booleans():
    out = summarize_binary({"IPS": pd.Series([True, False, None], dtype="boolean")})
    assert out.loc[0, ["count", "n", "n_missing"]].tolist() == [1, 2, 1]


def test_categorical_long_with_zero_levels(df):
    out = summarize_categorical(split_by_arm(df, "sex"), levels=["f", "m", "x"])
    assert out.columns.tolist() == ["arm", "level", "count", "n", "n_missing", "percent"]
    ips = out[out["arm"] == "IPS"].set_index("level")
    assert ips["count"].tolist() == [4, 1, 0] and ips["n"].iloc[0] == 5 and ips["n_missing"].iloc[0] == 1
    assert ips["percent"].sum() == pytest.approx(100.0)
    with pytest.raises(ValueError):
        summarize_categorical(split_by_arm(df, "sex"), levels=["f"])


def test_continuous_matches_pandas(df):
    out = summarize_continuous(split_by_arm(df, "age")).set_index("arm")
    assert out.columns.tolist() == ["n", "n_missing", "mean", "sd", "median", "q1", "q3", "min", "max",
                                    "quantile_method"]
    for arm, part in df.groupby("arm"):
        d = part["age"].describe()  # pandas: linear quantiles, ddof = 1
        row = out.loc[arm]
        assert (row["n"], row["mean"], row["sd"], row["q1"], row["median"], row["q3"]) == pytest.approx(
            (d["count"], d["mean"], d["std"], d["25%"], d["50%"], d["75%"]))


def test_stata_quantiles_by_hand():
    x = [1, 2, 3, 4]
    # Stata summarize, detail: P = n p; integer P -> mean of x_(P), x_(P+1); else x_(ceil P)
    assert [quantile(x, p, "stata") for p in (0.25, 0.5, 0.75)] == [1.5, 2.5, 3.5]
    assert [quantile(x, p) for p in (0.25, 0.5, 0.75)] == [1.75, 2.5, 3.25]  # numpy linear
    y = [15, 16, 16, 16, 14]  # n = 5: P = 1.25 -> x_(2); P = 3.75 -> x_(4)
    assert (quantile(y, 0.25, "stata"), quantile(y, 0.75, "stata")) == (15.0, 16.0)
    assert math.isnan(quantile([np.nan], 0.5, "stata"))


@pytest.mark.parametrize("n", range(1, 14))
def test_stata_quantiles_equal_numpy_type_2(n):
    x = np.random.default_rng(n).integers(0, 30, size=n).astype(float)
    for p in (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0):
        # numpy: quantile(x, p, method="averaged_inverted_cdf")  (Hyndman & Fan type 2)
        assert quantile(x, p, "stata") == pytest.approx(np.quantile(x, p, method="averaged_inverted_cdf"))


def test_continuous_stata_method_and_empty_arm():
    out = summarize_continuous({"IPS": [1, 2, 3, 4], "TAU": [np.nan]}, quantile_method="stata").set_index("arm")
    assert out.loc["IPS", ["q1", "median", "q3"]].tolist() == [1.5, 2.5, 3.5]
    assert out.loc["TAU", "n"] == 0 and math.isnan(out.loc["TAU", "mean"]) and math.isnan(out.loc["TAU", "sd"])
    with pytest.raises(ValueError):
        summarize_continuous({"IPS": [1, 2]}, quantile_method="sas")
