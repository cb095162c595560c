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

__all__ = ["fit_group_time_mixed", "GroupTimeMixedFit", "MixedFitInfo", "MIXED_TERMS", "fit_clda", "CldaFit",
           "random_intercept_fit", "RandomInterceptFit", "LARGE_DATA_GROUPS"]

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
    With more than :data:`LARGE_DATA_GROUPS` participants, by :func:`random_intercept_fit` (the same likelihood).
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

    if complete["pid"].nunique() > LARGE_DATA_GROUPS:
        exog = pd.DataFrame({"Intercept": 1.0, "group": complete["group"], "time": complete["time"],
                             "group:time": complete["group"] * complete["time"]})
        result = _LargeDataResult.fit(complete["y"], exog, complete["pid"], reml=False)
        messages: tuple[str, ...] = ()
    else:
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
    BMJ Open 6:e013096. Fitted with ``statsmodels.api.MixedLM(y, X, groups=id).fit(reml=True)``; with more
    than :data:`LARGE_DATA_GROUPS` participants, by :func:`random_intercept_fit` (the same likelihood).
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

    if complete["pid"].nunique() > LARGE_DATA_GROUPS:
        result = _LargeDataResult.fit(complete["y"], exog, complete["pid"], reml=True)
        messages: tuple[str, ...] = ()
    else:
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


# -- many participants ----------------------------------------------------------------------------------------

LARGE_DATA_GROUPS = 500
"""Above this many participants the random-intercept models are fitted by :func:`random_intercept_fit` instead
of statsmodels' ``MixedLM``, whose likelihood loops over participants in Python (minutes for thousands of
them). Both maximise the same (restricted) likelihood; the trial's data (58 participants) stay with MixedLM."""


@dataclass(frozen=True)
class RandomInterceptFit:
    """Result of :func:`random_intercept_fit`: ``fe_params`` and ``bse_fe`` (fixed effects and their standard
    errors, in the columns' order), ``residual_var`` (σ²), ``random_intercept_var`` (τ²), ``llf`` (the
    maximised log-likelihood, restricted for REML), ``n_obs``, ``n_groups``, ``converged``."""

    fe_params: np.ndarray
    bse_fe: np.ndarray
    residual_var: float
    random_intercept_var: float
    llf: float
    n_obs: int
    n_groups: int
    converged: bool


def random_intercept_fit(y: np.ndarray, exog: np.ndarray, groups, reml: bool) -> RandomInterceptFit:
    """ML or REML fit of ``y = X β + u_group + e`` (u ~ N(0, τ²), e ~ N(0, σ²)), vectorised over participants.

    With γ = τ²/σ² a participant's covariance is σ²(I + γJ), whose inverse is σ⁻²(I − w J), w = γ/(1 + nγ); so
    X'V⁻¹X, X'V⁻¹y and r'V⁻¹r need only each participant's sums, and for a given γ, β is the GLS solution and
    σ² has a closed form. The (restricted) log-likelihood profiled over β and σ² is maximised over log γ
    (bounded Brent; γ → 0 is the boundary of no between-participant variance). Standard errors are
    √diag((X'V̂⁻¹X)⁻¹), as ``nlme::lme`` reports them; statsmodels' MixedLM inverts the joint observed
    information of the fixed effects and variances instead (on the trial's data the
    two standard errors differ by less than 0.1% of their value).

    Reference: Harville DA (1977) JASA 72:320–338 (profiling); Pinheiro JC, Bates DM (2000) Mixed-Effects
    Models in S and S-PLUS, ch. 2.
    """
    from scipy import optimize

    y = np.asarray(y, dtype=float)
    x = np.asarray(exog, dtype=float)
    codes, _ = pd.factorize(np.asarray(groups), sort=False)
    n_obs, p = x.shape
    n_groups = int(codes.max()) + 1
    sizes = np.bincount(codes, minlength=n_groups).astype(float)
    sx = np.column_stack([np.bincount(codes, weights=x[:, k], minlength=n_groups) for k in range(p)])
    sy = np.bincount(codes, weights=y, minlength=n_groups)
    xtx, xty = x.T @ x, x.T @ y
    dof = n_obs - p if reml else n_obs

    def profile(log_gamma: float):
        gamma = math.exp(log_gamma)
        w = gamma / (1.0 + sizes * gamma)
        a = xtx - (sx * w[:, None]).T @ sx
        beta = np.linalg.solve(a, xty - (sx * w[:, None]).T @ sy)
        r = y - x @ beta
        sr = np.bincount(codes, weights=r, minlength=n_groups)
        q = float(r @ r - (w * sr * sr).sum())
        sigma2 = q / dof
        logdet = float(np.log1p(sizes * gamma).sum())
        deviance = dof * math.log(2 * math.pi * sigma2) + dof + logdet
        if reml:
            deviance += float(np.linalg.slogdet(a)[1])
        return deviance, beta, a, sigma2, gamma

    found = optimize.minimize_scalar(lambda t: profile(t)[0], bounds=(-25.0, 12.0), method="bounded",
                                     options={"xatol": 1e-10, "maxiter": 500})
    deviance, beta, a, sigma2, gamma = profile(float(found.x))
    bse = np.sqrt(np.diag(np.linalg.inv(a)) * sigma2)
    return RandomInterceptFit(beta, bse, sigma2, gamma * sigma2, -0.5 * deviance, n_obs, n_groups, bool(found.success))


class _LargeDataResult:
    """The attributes of a statsmodels MixedLM result that the fits above read, from :func:`random_intercept_fit`."""

    def __init__(self, fit: RandomInterceptFit, names: list[str]):
        self.fe_params = pd.Series(fit.fe_params, index=names)
        self.bse_fe = pd.Series(fit.bse_fe, index=names)
        self.nobs = fit.n_obs
        self.model = type("Model", (), {"group_labels": range(fit.n_groups)})()
        self.converged = fit.converged
        self.llf = fit.llf
        self.cov_re = np.array([[fit.random_intercept_var]])
        self.scale = fit.residual_var

    @classmethod
    def fit(cls, y: pd.Series, exog: pd.DataFrame, groups: pd.Series, reml: bool) -> _LargeDataResult:
        found = random_intercept_fit(y.to_numpy(float), exog.to_numpy(float), groups.to_numpy(), reml)
        return cls(found, list(exog.columns))
