"""Covariate-adjusted comparison of a binary outcome: logistic regression and marginal standardisation.

The model is logit P(y = 1) = β0 + β1·treatment + γ'covariates, with treatment = 1 for group 1 (IPS). Its
exp(β1) is a conditional odds ratio. The risk ratio and risk difference are marginal: every participant's
risk is predicted twice, as if all were treated and as if none were, and the two averages are compared
(standardisation to the analysed sample). Risk differences are in percentage points, as elsewhere.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from ._base import ResultMixin

__all__ = ["standardised_logistic", "StandardisedEffects"]


@dataclass(frozen=True)
class StandardisedEffects(ResultMixin):
    """Adjusted effects of treatment on a binary outcome (group 1 vs group 2).

    Fields:
    - ``odds_ratio``, ``or_ci_low``, ``or_ci_high`` — exp(β1) with its Wald CI (conditional on covariates).
    - ``risk_treated``, ``risk_control`` — standardised risks (0–1): mean predicted risk with everyone set to
      group 1, and to group 2.
    - ``risk_ratio``, ``rr_ci_low``, ``rr_ci_high`` — their ratio; CI by the delta method on the log scale.
    - ``risk_difference``, ``rd_ci_low``, ``rd_ci_high`` — their difference in percentage points; CI by the
      delta method.
    - ``n`` (participants in the model), ``n_events``, ``covariates`` (design columns after coding, in
      order), ``coefficients`` (β in the order intercept, treatment, covariates), ``converged``,
      ``level``.
    """

    odds_ratio: float
    or_ci_low: float
    or_ci_high: float
    risk_treated: float
    risk_control: float
    risk_ratio: float
    rr_ci_low: float
    rr_ci_high: float
    risk_difference: float
    rd_ci_low: float
    rd_ci_high: float
    n: int
    n_events: int
    covariates: tuple[str, ...]
    coefficients: tuple[float, ...]
    converged: bool
    level: float


def _design(frame: pd.DataFrame, treatment: str, covariates: Sequence[str]) -> pd.DataFrame:
    """Intercept, treatment, then covariates; text or category columns become 0/1 indicators (first level
    dropped)."""
    parts = [pd.Series(1.0, index=frame.index, name="intercept"), frame[treatment].astype(float).rename("treatment")]
    for name in covariates:
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            parts.append(col.astype(float).rename(name))
        else:
            dummies = pd.get_dummies(col.astype(str), prefix=name, prefix_sep="=", drop_first=True, dtype=float)
            parts.extend(dummies[c] for c in dummies.columns)
    return pd.concat(parts, axis=1)


def standardised_logistic(frame: pd.DataFrame, outcome: str, treatment: str, covariates: Sequence[str] = (),
                          level: float = 0.95) -> StandardisedEffects:
    """Fit the logistic model by maximum likelihood and standardise its predictions over ``frame``.

    ``outcome`` must be 0/1, ``treatment`` 0/1 (1 = group 1); rows with any missing value in these columns or
    in ``covariates`` are dropped (complete cases). With V the model's covariance matrix of β and
    g_t = mean_i p_i(t)(1 − p_i(t)) x_i(t) the gradient of the standardised risk μ_t, the delta-method
    variances are (g_1 − g_0)' V (g_1 − g_0) for μ_1 − μ_0 and (g_1/μ_1 − g_0/μ_0)' V (…) for
    log(μ_1/μ_0).
    With no covariates the model is saturated, so the risks are the observed proportions and the intervals
    reduce to the Wald (Katz log) intervals of the 2×2 table.

    References: Greenland S (2004) Am J Epidemiol 160:301–305 (model-based standardisation);
    Localio AR, Margolis DJ, Berlin JA (2007) J Clin Epidemiol 60:874–882. The fit is
    ``statsmodels.api.Logit(y, X).fit()``.
    """
    needed = [outcome, treatment, *covariates]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise KeyError(f"columns {missing} not in data")
    data = frame[needed].dropna()
    y = data[outcome].astype(float)
    if not set(y.unique()) <= {0.0, 1.0}:
        raise ValueError(f"outcome {outcome!r} must be 0/1")
    if set(data[treatment].astype(float).unique()) != {0.0, 1.0}:
        raise ValueError(f"treatment {treatment!r} must be 0/1 with both groups present")
    x = _design(data, treatment, covariates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.Logit(y.to_numpy(), x.to_numpy()).fit(disp=False, maxiter=200)
    beta = np.asarray(fit.params)
    cov = np.asarray(fit.cov_params())
    z = stats.norm.ppf(0.5 + level / 2)

    def standardised(t: float) -> tuple[float, np.ndarray]:
        xt = x.to_numpy().copy()
        xt[:, 1] = t
        p = 1 / (1 + np.exp(-xt @ beta))
        return float(p.mean()), (p * (1 - p)) @ xt / len(p)

    mu1, g1 = standardised(1.0)
    mu0, g0 = standardised(0.0)
    rd_se = math.sqrt(float((g1 - g0) @ cov @ (g1 - g0)))
    grad_log_rr = g1 / mu1 - g0 / mu0
    log_rr_se = math.sqrt(float(grad_log_rr @ cov @ grad_log_rr))
    b1, b1_se = float(beta[1]), math.sqrt(float(cov[1, 1]))
    rr = mu1 / mu0
    return StandardisedEffects(
        odds_ratio=math.exp(b1), or_ci_low=math.exp(b1 - z * b1_se), or_ci_high=math.exp(b1 + z * b1_se),
        risk_treated=mu1, risk_control=mu0,
        risk_ratio=rr, rr_ci_low=rr * math.exp(-z * log_rr_se), rr_ci_high=rr * math.exp(z * log_rr_se),
        risk_difference=100 * (mu1 - mu0), rd_ci_low=float(100 * (mu1 - mu0 - z * rd_se)),
        rd_ci_high=float(100 * (mu1 - mu0 + z * rd_se)),
        n=int(len(data)), n_events=int(y.sum()), covariates=tuple(x.columns[2:]),
        coefficients=tuple(float(b) for b in beta), converged=bool(fit.mle_retvals.get("converged", True)),
        level=level,
    )
