"""Linear mixed models of a repeated outcome measured at baseline and follow-ups.

Two models, both with a random intercept per participant so that participants with missing follow-ups
contribute the observations they have:

- ``fit_group_time_mixed``: ``outcome ~ group * time`` with time numeric (IPS in Pain Table 4). With the
  interaction in the model, the group term is the difference between the arms at time 0 (baseline), not
  an effect of the intervention, and the group × time term is a difference in linear slopes.
- ``fit_clda``: constrained longitudinal data analysis, time categorical, one baseline mean common to
  both arms (randomization makes them equal in expectation), and the treatment effects as the arm
  differences at each follow-up.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from ._base import ResultMixin

__all__ = ["fit_group_time_mixed", "GroupTimeMixedFit", "MixedFitInfo", "MIXED_TERMS", "fit_clda", "CldaFit"]

# Table-4 row order; maps our stable term names to statsmodels' parameter names.
MIXED_TERMS: dict[str, str] = {
    "group": "group",
    "time": "time",
    "group_time": "group:time",
    "intercept": "Intercept",
}


@dataclass(frozen=True)
class MixedFitInfo(ResultMixin):
    """Facts about one mixed-model fit.

    Fields: ``outcome``, ``n_obs`` (observations used), ``n_groups`` (participants), ``n_dropped``
    (rows with a missing outcome, group or time), ``method`` (``"ML"``), ``converged``, ``log_likelihood``,
    ``random_intercept_var`` (between-participant variance), ``residual_var``, ``group_coding``
    (e.g. ``"IPS=1, other=0"``), ``warnings`` (messages statsmodels raised during the fit, in order).
    """

    outcome: str
    n_obs: int
    n_groups: int
    n_dropped: int
    method: str
    converged: bool
    log_likelihood: float
    random_intercept_var: float
    residual_var: float
    group_coding: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class GroupTimeMixedFit:
    """Result of :func:`fit_group_time_mixed`.

    ``coefficients``: tidy DataFrame, one row per term in the order group, time, group_time, intercept, with
    columns ``term``, ``estimate``, ``se``, ``z`` (estimate/se), ``p_value`` (two-sided normal),
    ``ci_low``, ``ci_high`` (Wald, normal). ``info``: :class:`MixedFitInfo`.
    """

    coefficients: pd.DataFrame
    info: MixedFitInfo


def _code_group(values: pd.Series, treatment: object | None) -> tuple[pd.Series, str]:
    if pd.api.types.is_numeric_dtype(values) and treatment is None:
        levels = set(values.dropna().unique())
        if not levels <= {0, 1}:
            raise ValueError(f"numeric group column must be 0/1, found {sorted(levels)}")
        return values.astype(float), "1 as coded"
    if treatment is None:
        treatment = "IPS"
    present = set(values.dropna().unique())
    if treatment not in present:
        raise ValueError(f"treatment level {treatment!r} not in group column (levels: {sorted(map(str, present))})")
    if len(present) != 2:
        raise ValueError(f"group column must have exactly 2 levels, found {sorted(map(str, present))}")
    coded = (values == treatment).astype(float).where(values.notna())
    return coded, f"{treatment}=1, other=0"


def fit_group_time_mixed(long_df: pd.DataFrame, outcome: str, group_col: str = "group", time_col: str = "time",
                         id_col: str = "participant_id", treatment: object | None = None,
                         level: float = 0.95) -> GroupTimeMixedFit:
    """Fit ``outcome ~ group * time + (1 | id)`` by maximum likelihood.

    ``long_df`` has one row per participant and time point. ``group`` is coded 1 for ``treatment`` (default
    ``"IPS"`` for a text column; a numeric column must already be 0/1) and 0 otherwise; ``time`` is used as
    given (numeric, e.g. months 0/6/12, so the time and group×time estimates are slopes per unit of time).
    Rows with a missing outcome are dropped; each participant contributes the observations they have
    (ML under missing-at-random).

    z = estimate / SE and P = 2(1 − Φ(|z|)) are Wald statistics; the IPS in Pain paper prints these z values
    under the heading 'F Score'. statsmodels warnings (e.g. convergence, boundary) are recorded in
    ``info.warnings`` rather than printed.

    Reference: Laird NM, Ware JH (1982) Biometrics 38:963–974. Fitted with
    ``statsmodels.formula.api.mixedlm(f"{outcome} ~ group * time", data, groups=data[id_col]).fit(reml=False)``.
    Returns :class:`GroupTimeMixedFit`.
    """
    for col in (outcome, group_col, time_col, id_col):
        if col not in long_df.columns:
            raise KeyError(f"column {col!r} not in data")
    group, coding = _code_group(long_df[group_col], treatment)
    data = pd.DataFrame({
        "y": pd.to_numeric(long_df[outcome], errors="raise").astype(float),
        "group": group,
        "time": pd.to_numeric(long_df[time_col], errors="raise").astype(float),
        "pid": long_df[id_col].astype(str),
    })
    complete = data.dropna()
    n_dropped = len(data) - len(complete)
    if complete.empty:
        raise ValueError(f"no complete observations for {outcome!r}")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = smf.mixedlm("y ~ group * time", complete, groups=complete["pid"])
        result = model.fit(reml=False)
    messages = tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))

    z_crit = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for term, name in MIXED_TERMS.items():
        est = float(result.fe_params[name])
        se = float(result.bse_fe[name])
        z = est / se if se > 0 else math.nan
        p = float(2 * stats.norm.sf(abs(z))) if not math.isnan(z) else math.nan
        rows.append({"term": term, "estimate": est, "se": se, "z": z, "p_value": p,
                     "ci_low": est - z_crit * se, "ci_high": est + z_crit * se})
    coefficients = pd.DataFrame(rows, columns=["term", "estimate", "se", "z", "p_value", "ci_low", "ci_high"])

    info = MixedFitInfo(
        outcome=outcome,
        n_obs=int(result.nobs),
        n_groups=int(len(result.model.group_labels)),
        n_dropped=int(n_dropped),
        method="ML",
        converged=bool(result.converged),
        log_likelihood=float(result.llf),
        random_intercept_var=float(np.asarray(result.cov_re)[0, 0]),
        residual_var=float(result.scale),
        group_coding=coding,
        warnings=messages,
    )
    return GroupTimeMixedFit(coefficients, info)


@dataclass(frozen=True)
class CldaFit:
    """Result of :func:`fit_clda`.

    ``effects``: tidy DataFrame, one row per follow-up time in ascending order, with columns ``time``
    (the follow-up's value of the time column), ``estimate`` (treatment − control difference in means at
    that time), ``se``, ``z``, ``p_value`` (two-sided normal), ``ci_low``, ``ci_high`` (Wald, normal).
    ``baseline_mean``: the common baseline mean. ``info``: :class:`MixedFitInfo` (``method`` "REML").
    """

    effects: pd.DataFrame
    baseline_mean: float
    info: MixedFitInfo


def fit_clda(long_df: pd.DataFrame, outcome: str, group_col: str = "group", time_col: str = "time",
             id_col: str = "participant_id", baseline: object = 0, treatment: object | None = None,
             level: float = 0.95) -> CldaFit:
    """Constrained longitudinal data analysis with a random intercept per participant, fitted by REML.

    Mean model: E[y] = μ_0 at ``baseline`` in both arms, and μ_t + δ_t·group at each follow-up t, with
    time categorical (one mean per time, no shape imposed). δ_t, the treatment effect at t, is the
    difference between the arms at t; because the baseline mean is shared, δ_t is adjusted for the chance
    baseline difference, as an analysis of covariance would be, and participants with only a baseline
    value still inform the baseline mean. ``group`` is coded as in :func:`fit_group_time_mixed`.

    Textbook cLDA leaves the covariance of the repeated measures unstructured; statsmodels' ``MixedLM``
    offers random effects only, so the within-participant correlation here is exchangeable (compound
    symmetry through the random intercept). With complete data and equal baseline means in the two arms,
    δ_t equals the difference of the arms' means at t.

    Reference: Liang KY, Zeger SL (2000) Sankhyā B 62:134–148; Coffman CJ, Edelman D, Woolson RF (2016)
    BMJ Open 6:e013096. Fitted with ``statsmodels.api.MixedLM(y, X, groups=id).fit(reml=True)``.
    """
    for col in (outcome, group_col, time_col, id_col):
        if col not in long_df.columns:
            raise KeyError(f"column {col!r} not in data")
    group, coding = _code_group(long_df[group_col], treatment)
    data = pd.DataFrame({
        "y": pd.to_numeric(long_df[outcome], errors="raise").astype(float),
        "group": group,
        "time": long_df[time_col],
        "pid": long_df[id_col].astype(str),
    })
    complete = data.dropna()
    n_dropped = len(data) - len(complete)
    times = sorted(t for t in complete["time"].unique() if t != baseline)
    if baseline not in set(complete["time"]):
        raise ValueError(f"no observations of {outcome!r} at baseline time {baseline!r}")
    if not times:
        raise ValueError(f"no follow-up observations of {outcome!r}")
    columns = {"intercept": np.ones(len(complete))}
    for t in times:
        at = (complete["time"] == t).to_numpy(dtype=float)
        columns[f"time_{t}"] = at
        columns[f"effect_{t}"] = at * complete["group"].to_numpy()
    exog = pd.DataFrame(columns, index=complete.index)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sm.MixedLM(complete["y"].to_numpy(), exog, groups=complete["pid"].to_numpy(),
                           exog_re=np.ones((len(complete), 1)))
        result = model.fit(reml=True)
    messages = tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))

    z_crit = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for t in times:
        est, se = float(result.fe_params[f"effect_{t}"]), float(result.bse_fe[f"effect_{t}"])
        z = est / se if se > 0 else math.nan
        rows.append({"time": t, "estimate": est, "se": se, "z": z,
                     "p_value": float(2 * stats.norm.sf(abs(z))) if not math.isnan(z) else math.nan,
                     "ci_low": est - z_crit * se, "ci_high": est + z_crit * se})
    info = MixedFitInfo(
        outcome=outcome, n_obs=int(result.nobs), n_groups=int(len(result.model.group_labels)),
        n_dropped=int(n_dropped), method="REML", converged=bool(result.converged),
        log_likelihood=float(result.llf), random_intercept_var=float(np.asarray(result.cov_re)[0, 0]),
        residual_var=float(result.scale), group_coding=coding, warnings=messages,
    )
    effects = pd.DataFrame(rows, columns=["time", "estimate", "se", "z", "p_value", "ci_low", "ci_high"])
    return CldaFit(effects, float(result.fe_params["intercept"]), info)
