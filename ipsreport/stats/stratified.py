"""A binary outcome compared between two groups across strata: Mantel–Haenszel odds ratio and homogeneity.

Each stratum is given as ``(k1, n1, k2, n2)`` — events and size in group 1 (IPS) and group 2 (TAU) — and
laid out as in :mod:`ipsreport.stats.contingency`:

    [[a, b],     a = k1, b = n1 − k1
     [c, d]]     c = k2, d = n2 − k2

so the common odds ratio is group 1 relative to group 2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from ._base import ResultMixin

__all__ = ["mantel_haenszel_odds_ratio", "MantelHaenszelResult"]


@dataclass(frozen=True)
class MantelHaenszelResult(ResultMixin):
    """Common odds ratio over strata and the test that the stratum odds ratios are equal.

    Fields:
    - ``odds_ratio`` — Mantel–Haenszel estimate Σ(ad/n) / Σ(bc/n); ``ci_low``, ``ci_high`` — its CI from the
      Robins–Breslow–Greenland variance of log OR; ``log_se`` — that standard error.
    - ``breslow_day``, ``breslow_day_p`` — Breslow–Day chi-square of homogeneity and its P (df = strata − 1).
    - ``tarone``, ``tarone_p`` — the same statistic with Tarone's correction, which makes it a proper
      chi-square when the common OR is the Mantel–Haenszel estimate; ``homogeneity_p_value`` equals
      ``tarone_p`` (the one the report prints).
    - ``df``, ``n_strata`` (strata used: both groups present), ``level``.
    """

    odds_ratio: float
    ci_low: float
    ci_high: float
    log_se: float
    breslow_day: float
    breslow_day_p: float
    tarone: float
    tarone_p: float
    homogeneity_p_value: float
    df: int
    n_strata: int
    level: float


def _cells(stratum: Sequence[int], index: int) -> tuple[float, float, float, float]:
    if len(stratum) != 4:
        raise ValueError(f"stratum {index}: expected (k1, n1, k2, n2), got {tuple(stratum)!r}")
    k1, n1, k2, n2 = (int(v) for v in stratum)
    for k, n in ((k1, n1), (k2, n2)):
        if n < 0 or k < 0 or k > n:
            raise ValueError(f"stratum {index}: need 0 <= k <= n, got k={k}, n={n}")
    return float(k1), float(n1 - k1), float(k2), float(n2 - k2)


def _expected_a(a: float, b: float, c: float, d: float, odds_ratio: float) -> float:
    """The cell-a count, with the stratum's margins fixed, whose odds ratio equals ``odds_ratio``.

    Solves A(n − r1 − c1 + A) = OR (r1 − A)(c1 − A) for A within the attainable range.
    """
    r1, c1, n = a + b, a + c, a + b + c + d
    low, high = max(0.0, c1 - (n - r1)), min(r1, c1)
    if odds_ratio == 1.0:
        return r1 * c1 / n
    # (1 − OR) A² + (n − r1 − c1 + OR (r1 + c1)) A − OR r1 c1 = 0
    qa = 1.0 - odds_ratio
    qb = n - r1 - c1 + odds_ratio * (r1 + c1)
    qc = -odds_ratio * r1 * c1
    disc = math.sqrt(qb * qb - 4 * qa * qc)
    for root in ((-qb + disc) / (2 * qa), (-qb - disc) / (2 * qa)):
        if low - 1e-9 <= root <= high + 1e-9:
            return root
    raise ArithmeticError("no attainable expected count")  # cannot happen for 0 < OR < ∞


def mantel_haenszel_odds_ratio(strata: Sequence[Sequence[int]], level: float = 0.95) -> MantelHaenszelResult:
    """Mantel–Haenszel common odds ratio with the Robins–Breslow–Greenland CI and Breslow–Day test.

    With R = ad/n, S = bc/n, P = (a + d)/n, Q = (b + c)/n per stratum:
    OR_MH = ΣR / ΣS and
    Var(log OR_MH) = ΣPR / (2(ΣR)²) + Σ(PS + QR) / (2 ΣR ΣS) + ΣQS / (2(ΣS)²).

    Breslow–Day: with A the cell-a count that, under the stratum's margins, gives OR_MH, and
    V = 1 / (1/A + 1/B + 1/C + 1/D), X² = Σ(a − A)² / V on (strata − 1) df; Tarone's correction subtracts
    (Σa − ΣA)² / ΣV. Strata lacking either group carry no information and are left out.

    References: Mantel N, Haenszel W (1959) JNCI 22:719–748; Robins J, Breslow N, Greenland S (1986)
    Biometrics 42:311–323; Breslow NE, Day NE (1980) Statistical Methods in Cancer Research I, IARC;
    Tarone RE (1985) Biometrika 72:91–95. Equivalent to R ``mantelhaen.test(x)$estimate``/``$conf.int`` and
    ``DescTools::BreslowDayTest(x, correct = TRUE)``.
    """
    cells = [_cells(s, i) for i, s in enumerate(strata, start=1)]
    cells = [t for t in cells if t[0] + t[1] > 0 and t[2] + t[3] > 0]
    if not cells:
        raise ValueError("no stratum has both groups")
    sum_r = sum_s = pr = ps_qr = qs = 0.0
    for a, b, c, d in cells:
        n = a + b + c + d
        r, s = a * d / n, b * c / n
        p, q = (a + d) / n, (b + c) / n
        sum_r, sum_s = sum_r + r, sum_s + s
        pr, ps_qr, qs = pr + p * r, ps_qr + p * s + q * r, qs + q * s
    if sum_r == 0 or sum_s == 0:
        raise ValueError("the Mantel–Haenszel odds ratio is 0 or infinite: every stratum has a zero in the "
                         "same diagonal")
    odds_ratio = sum_r / sum_s
    var = pr / (2 * sum_r**2) + ps_qr / (2 * sum_r * sum_s) + qs / (2 * sum_s**2)
    se = math.sqrt(var)
    z = stats.norm.ppf(0.5 + level / 2)

    bd = sum_obs = sum_exp = sum_var = 0.0
    for a, b, c, d in cells:
        big_a = _expected_a(a, b, c, d, odds_ratio)
        big_b, big_c = a + b - big_a, a + c - big_a
        big_d = b + d - big_b
        if min(big_a, big_b, big_c, big_d) <= 0:
            continue  # a stratum with a zero margin has no variance and adds nothing to the test
        v = 1 / (1 / big_a + 1 / big_b + 1 / big_c + 1 / big_d)
        bd += (a - big_a) ** 2 / v
        sum_obs, sum_exp, sum_var = sum_obs + a, sum_exp + big_a, sum_var + v
    df = len(cells) - 1
    tarone = bd - (sum_obs - sum_exp) ** 2 / sum_var if sum_var > 0 else math.nan
    bd_p = float(stats.chi2.sf(bd, df)) if df > 0 else math.nan
    tarone_p = float(stats.chi2.sf(tarone, df)) if df > 0 else math.nan
    return MantelHaenszelResult(
        odds_ratio=odds_ratio, ci_low=math.exp(math.log(odds_ratio) - z * se),
        ci_high=math.exp(math.log(odds_ratio) + z * se), log_se=se,
        breslow_day=bd, breslow_day_p=bd_p, tarone=tarone, tarone_p=tarone_p, homogeneity_p_value=tarone_p,
        df=df, n_strata=len(cells), level=level,
    )
