"""Local search for small integer-grid samples whose rounded summaries, t-test P and Levene decision hit printed targets."""

from __future__ import annotations

import math
import random
from fractions import Fraction
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from ipsreport.format import round_half_up as format_round_half_up

__all__ = ["Display", "ArmTarget", "RowProblem", "solve_row", "round_half_up", "ttest_p", "levene_p"]


def round_half_up(value: float, decimals: int) -> float:
    """Round as a reader does (half away from zero), on the shortest decimal form of the float."""
    return float(format_round_half_up(value, decimals))


def ttest_p(x: np.ndarray, y: np.ndarray, equal_var: bool) -> float:
    """Two-sided P of the independent-samples t test (Student when equal_var, else Welch)."""
    nx, ny = len(x), len(y)
    vx, vy = x.var(ddof=1), y.var(ddof=1)
    diff = x.mean() - y.mean()
    if equal_var:
        df = nx + ny - 2
        pooled = ((nx - 1) * vx + (ny - 1) * vy) / df
        se = math.sqrt(pooled * (1 / nx + 1 / ny))
    else:
        ax, ay = vx / nx, vy / ny
        se = math.sqrt(ax + ay)
        df = (ax + ay) ** 2 / (ax**2 / (nx - 1) + ay**2 / (ny - 1))
    if se == 0:
        return 1.0
    t = abs(diff) / se
    return float(2 * special.stdtr(df, -t))


def levene_p(x: np.ndarray, y: np.ndarray) -> float:
    """P of Levene's test with deviations from the group means (scipy's center='mean')."""
    zx, zy = np.abs(x - x.mean()), np.abs(y - y.mean())
    nx, ny = len(x), len(y)
    n = nx + ny
    grand = (zx.sum() + zy.sum()) / n
    between = nx * (zx.mean() - grand) ** 2 + ny * (zy.mean() - grand) ** 2
    within = ((zx - zx.mean()) ** 2).sum() + ((zy - zy.mean()) ** 2).sum()
    if within == 0:
        return 1.0
    stat = (n - 2) * between / within
    return float(special.fdtrc(1, n - 2, stat))


@dataclass(frozen=True)
class Display:
    """A reported variable: table[sum of the components' units weighted by coef]."""

    name: str
    coef: tuple[int, ...]
    table: np.ndarray = field(compare=False)
    offset: int = 0  # subtracted from the weighted unit sum before the table lookup


@dataclass(frozen=True)
class ArmTarget:
    """Printed summaries of one arm for each display, in display order."""

    n: int
    means: tuple[str, ...]
    sds: tuple[str, ...]
    fixed: tuple[tuple[int, ...], ...] = ()  # rows of component units that the search never moves
    below: tuple[int, int, int] | None = None  # (display index, threshold in table value, exact count below)


@dataclass(frozen=True)
class RowProblem:
    """One table row (or a group of linked rows): both arms, their grids and the tests that must reproduce."""

    name: str
    levels: tuple[tuple[int, int], ...]  # per component: (lowest unit, highest unit)
    displays: tuple[Display, ...]
    ips: ArmTarget
    tau: ArmTarget
    p_values: tuple[str | None, ...]  # printed P per display (None: not printed)
    equal_var: tuple[bool | None, ...]  # Student (True) / Welch (False); Levene must agree
    shapes: tuple[str, str] = ("normal", "normal")
    max_off_grid: int | None = None  # for ODI: at most this many values off the even grid per arm
    off_grid: np.ndarray | None = field(default=None, compare=False)  # per unit: 1 when off the even grid
    steps: tuple[int, ...] = (1,)


def _interval_error(value: float, printed: str, decimals: int, margin: float | None = None) -> float:
    """0 when value rounds (half up) to the printed value, else the distance in half-intervals."""
    centre = float(printed)
    half = 0.5 * 10.0**-decimals
    distance = abs(value - centre)
    if margin is None:
        if distance < half - 1e-9 or (distance <= half + 1e-9 and round_half_up(value, decimals) == centre):
            return 0.0
    elif distance < half - margin:
        return 0.0
    return max(0.0, distance - half) / half + 0.01


def _decimals(printed: str) -> int:
    return len(printed.split(".")[1]) if "." in printed else 0


class _State:
    def __init__(self, problem: RowProblem, units: dict[str, np.ndarray]):
        self.p = problem
        self.units = units  # arm -> (n_free, n_components) integer array

    def values(self, arm: str) -> list[np.ndarray]:
        target = self.p.ips if arm == "ips" else self.p.tau
        u = self.units[arm]
        if target.fixed:
            u = np.vstack([u, np.array(target.fixed, dtype=np.int64)])
        out = []
        for d in self.p.displays:
            idx = u @ np.array(d.coef, dtype=np.int64) - d.offset
            out.append(d.table[idx])
        return out


def _objective(state: _State, levene_margin: float = 0.01) -> float:
    p = state.p
    vals = {arm: state.values(arm) for arm in ("ips", "tau")}
    err = 0.0
    moments_ok = True
    for arm in ("ips", "tau"):
        target = p.ips if arm == "ips" else p.tau
        for k, v in enumerate(vals[arm]):
            mean_e = _interval_error(v.mean(), target.means[k], max(2, _decimals(target.means[k])))
            sd_e = _interval_error(v.std(ddof=1), target.sds[k], max(2, _decimals(target.sds[k])))
            err += mean_e + sd_e
            moments_ok &= mean_e == 0 and sd_e == 0
        if target.below is not None:
            k, threshold, count = target.below
            err += abs(int((vals[arm][k] < threshold).sum()) - count)
        if p.max_off_grid is not None and p.off_grid is not None:
            off = int(p.off_grid[state.units[arm][:, 0]].sum())
            err += max(0, off - p.max_off_grid)
    for k, (printed, equal_var) in enumerate(zip(p.p_values, p.equal_var)):
        if equal_var is None:
            continue
        x, y = vals["ips"][k], vals["tau"][k]
        lev = levene_p(x, y)
        # the test picks Student when Levene is not significant: keep a margin either side of 0.05
        err += max(0.0, lev - (0.05 - levene_margin)) * 20 if not equal_var else max(0.0, 0.05 + levene_margin - lev) * 20
        if printed is not None:
            err += 0.5 * min(4.0, _interval_error(ttest_p(x, y, equal_var), printed, _decimals(printed), 1e-7))
    return err


def _initial(problem: RowProblem, arm: str, rng: np.random.Generator, shape: str) -> np.ndarray:
    target = problem.ips if arm == "ips" else problem.tau
    n_free = target.n - len(target.fixed)
    cols = []
    # draw correlated standard scores so that linked components (HSCL anxiety, depression) move together
    common = rng.standard_normal(n_free)
    for c, (lo, hi) in enumerate(problem.levels):
        d = next(d for d in problem.displays if d.coef[c] == 1 and sum(d.coef) == 1)
        k = problem.displays.index(d)
        if shape == "heavy":
            z = rng.standard_t(3, n_free)
        elif shape == "light":
            z = rng.uniform(-1, 1, n_free)
        elif shape == "skew":
            z = rng.gamma(1.5, 1.0, n_free)
        else:
            z = rng.standard_normal(n_free)
        if len(problem.levels) > 1:
            z = 0.85 * common + 0.53 * z
        z = (z - z.mean()) / (z.std(ddof=1) or 1.0)
        value = float(target.means[k]) + float(target.sds[k]) * z
        units = np.searchsorted(d.table, value) + d.offset
        cols.append(np.clip(units, lo, hi))
    return np.column_stack(cols).astype(np.int64)


def solve_row(problem: RowProblem, rng: np.random.Generator, max_restarts: int = 30, iterations: int = 6000) -> dict[str, np.ndarray]:
    """Search component units for both arms until every printed summary, P and Levene decision is met.

    Returns the best state found (its error is in the key 'error').
    """
    best: tuple[float, dict[str, np.ndarray]] | None = None
    for restart in range(max_restarts):
        shapes = problem.shapes if restart % 3 != 2 else (("heavy", "heavy") if restart % 2 else ("light", "light"))
        units = {arm: _initial(problem, arm, rng, shape) for arm, shape in zip(("ips", "tau"), shapes)}
        state = _State(problem, units)
        err = _objective(state)
        temperature = 0.3
        for it in range(iterations):
            if err == 0:
                break
            arm = "ips" if rng.random() < 0.6 else "tau"
            u = state.units[arm]
            n_free, n_comp = u.shape
            c = int(rng.integers(n_comp))
            step = int(problem.steps[int(rng.integers(len(problem.steps)))])
            lo, hi = problem.levels[c]
            kind = rng.random()
            idx = rng.choice(n_free, size=4, replace=False) if n_free >= 4 else rng.integers(n_free, size=4)
            old = u[:, c].copy()
            if kind < 0.35:
                u[idx[0], c] += step if rng.random() < 0.5 else -step
            elif kind < 0.8:
                u[idx[0], c] += step
                u[idx[1], c] -= step
            else:
                u[idx[0], c] += step
                u[idx[1], c] -= step
                u[idx[2], c] -= step
                u[idx[3], c] += step
            if u[:, c].min() < lo or u[:, c].max() > hi:
                u[:, c] = old
                continue
            new = _objective(state)
            if new <= err or rng.random() < math.exp(-(new - err) / temperature):
                err = new
            else:
                u[:, c] = old
            temperature = max(0.002, temperature * 0.999)
        if best is None or err < best[0]:
            best = (err, {a: v.copy() for a, v in state.units.items()})
        if err == 0:
            break
    assert best is not None
    result = dict(best[1])
    result["error"] = np.array(best[0])
    return result


# ---------------------------------------------------------------------------------------------------------
# Exact mode: linked integer displays (HSCL total = anxiety + depression items) with enumerated sum targets.

def _window(printed: str, decimals: int) -> tuple[Fraction, Fraction]:
    half = Fraction(5, 10 ** (decimals + 1))
    return Fraction(printed) - half, Fraction(printed) + half


def _moment_options(mean: str, sd: str, n: int, divisor: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """Every (sum, sum of squares) of n integer units (value = units / divisor) that round to mean and sd."""
    mlo, mhi = _window(mean, 2)
    slo, shi = _window(sd, 2)
    out = []
    for s in range(math.ceil(mlo * n * divisor), math.floor(mhi * n * divisor) + 1):
        if not (mlo <= Fraction(s, n * divisor) < mhi) or not (lo * n <= s <= hi * n):
            continue
        base = Fraction(s * s, n)
        q_lo = slo**2 * (n - 1) * divisor**2 + base
        q_hi = shi**2 * (n - 1) * divisor**2 + base
        for q in range(math.ceil(q_lo), math.floor(q_hi) + 1):
            var = (q - base) / ((n - 1) * divisor**2)
            if (q - s) % 2 == 0 and slo**2 <= var < shi**2:
                out.append((s, q))
    return out


def _p_from_moments(a: tuple[int, int], b: tuple[int, int], na: int, nb: int, divisor: int, equal_var: bool) -> float:
    ma, mb = a[0] / (na * divisor), b[0] / (nb * divisor)
    va = (a[1] - a[0] ** 2 / na) / ((na - 1) * divisor**2)
    vb = (b[1] - b[0] ** 2 / nb) / ((nb - 1) * divisor**2)
    if equal_var:
        df = na + nb - 2
        se = math.sqrt(((na - 1) * va + (nb - 1) * vb) / df * (1 / na + 1 / nb))
    else:
        se = math.sqrt(va / na + vb / nb)
        df = (va / na + vb / nb) ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    return float(2 * special.stdtr(df, -abs(ma - mb) / se))


def _p_ok(p: float, printed: str) -> bool:
    half = 0.5 * 10.0 ** -_decimals(printed)
    return abs(p - float(printed)) < half - 1e-6


def hscl_targets(ips: ArmTarget, tau: ArmTarget, p_values: tuple[str, str, str], equal_var: tuple[bool, bool, bool],
                 correlation: tuple[float, float] = (0.45, 0.93), ips_deltas: tuple[int, ...] = (0,)
                 ) -> dict[str, list[tuple[int, int]] | int]:
    """Pick (sum, sum of squares) targets for anxiety, depression and total (units of 1/10, 1/15, 1/25 of an item).

    Total units are anxiety units plus depression units, so the sums must add up; the implied correlation of
    anxiety and depression within a person must lie in ``correlation``. Options closest to the printed centres
    come first.
    """
    divisors, bounds = (10, 15, 25), ((10, 40), (15, 60), (25, 100))
    opts = {arm: [_moment_options(t.means[k], t.sds[k], t.n, divisors[k], *bounds[k]) for k in range(3)]
            for arm, t in (("ips", ips), ("tau", tau))}

    def centred(options, t, k):
        m, s = float(t.means[k]), float(t.sds[k])
        div = divisors[k]
        return sorted(options, key=lambda o: (abs(o[0] / (t.n * div) - m) / 0.005
                                              + abs(math.sqrt((o[1] - o[0] ** 2 / t.n) / (t.n - 1)) / div - s) / 0.005))

    for k in range(3):
        opts["ips"][k] = centred(opts["ips"][k], ips, k)
        opts["tau"][k] = centred(opts["tau"][k], tau, k)
    # pairs of (ips, tau) moments that reproduce the printed P, per display
    good = []
    for k in range(3):
        pairs = [(a, b) for a in opts["ips"][k] for b in opts["tau"][k]
                 if _p_ok(_p_from_moments(a, b, ips.n, tau.n, divisors[k], equal_var[k]), p_values[k])]
        good.append(pairs)
    for delta in ips_deltas:
      for pa in good[0]:
        for pd in good[1]:
            sums = (pa[0][0] + pd[0][0] + delta, pa[1][0] + pd[1][0])
            for ph in good[2]:
                if (ph[0][0], ph[1][0]) != sums:
                    continue
                ok = True
                for j, t in enumerate((ips, tau)):
                    n = t.n
                    # one IPS person may carry the delta on the total; its effect on the covariance is negligible
                    cov = ((ph[j][1] - pa[j][1] - pd[j][1]) / 2 - pa[j][0] * pd[j][0] / n) / (n - 1)
                    va = (pa[j][1] - pa[j][0] ** 2 / n) / (n - 1)
                    vd = (pd[j][1] - pd[j][0] ** 2 / n) / (n - 1)
                    r = cov / math.sqrt(va * vd)
                    ok &= correlation[0] <= r <= correlation[1]
                if ok:
                    return {"ips": [pa[0], pd[0], ph[0]], "tau": [pa[1], pd[1], ph[1]], "ips_delta": delta}
    raise ValueError("no moment targets reproduce the printed HSCL summaries")


def solve_exact(problem: RowProblem, targets: dict[str, list[tuple[int, int]]], rng: np.random.Generator,
                max_restarts: int = 40, iterations: int = 20000) -> dict[str, np.ndarray]:
    """Search integer component units whose display sums and sums of squares equal the targets exactly,
    with the Levene decisions and the count below a cut-off as in the problem."""
    coefs = [np.array(d.coef, dtype=np.int64) for d in problem.displays]
    # the IPS total may differ from anxiety + depression units by a delta carried by the first person
    extra = {arm: np.zeros((problem.ips if arm == "ips" else problem.tau).n, dtype=np.int64) for arm in ("ips", "tau")}
    extra["ips"][0] = int(targets.get("ips_delta", 0))

    def shown(arm: str, k: int, u: np.ndarray) -> np.ndarray:
        x = u @ coefs[k]
        return x + extra[arm] if sum(problem.displays[k].coef) > 1 else x

    def arm_error(arm: str, u: np.ndarray) -> float:
        target = problem.ips if arm == "ips" else problem.tau
        err = 0.0
        for k, c in enumerate(coefs):
            x = shown(arm, k, u)
            s_t, q_t = targets[arm][k]
            err += abs(int(x.sum()) - s_t) + abs(int((x * x).sum()) - q_t) / 4
        if target.below is not None:
            k, threshold, count = target.below
            err += 2 * abs(int((problem.displays[k].table[shown(arm, k, u)] < threshold).sum()) - count)
        return err

    def levene_error(units: dict[str, np.ndarray]) -> float:
        err = 0.0
        for k, equal_var in enumerate(problem.equal_var):
            if equal_var is None:
                continue
            d = problem.displays[k]
            lev = levene_p(d.table[shown("ips", k, units["ips"])], d.table[shown("tau", k, units["tau"])])
            err += max(0.0, 0.06 - lev) * 20 if equal_var else max(0.0, lev - 0.04) * 20
        return err

    best = None
    for restart in range(max_restarts):
        shapes = problem.shapes if restart % 2 == 0 else ("heavy", "heavy")
        units = {arm: _initial(problem, arm, rng, shape) for arm, shape in zip(("ips", "tau"), shapes)}
        part = {arm: arm_error(arm, units[arm]) for arm in units}
        lev = levene_error(units)
        err = part["ips"] + part["tau"] + lev
        for it in range(iterations):
            if err == 0:
                break
            arm = "ips" if rng.random() < 0.6 else "tau"
            u = units[arm]
            n, n_comp = u.shape
            c = int(rng.integers(n_comp))
            lo, hi = problem.levels[c]
            idx = rng.choice(n, size=4, replace=False)
            old = u[:, c].copy()
            kind = rng.random()
            if kind < 0.3:
                u[idx[0], c] += 1 if rng.random() < 0.5 else -1
            elif kind < 0.75:
                u[idx[0], c] += 1
                u[idx[1], c] -= 1
            else:
                u[idx[0], c] += 1
                u[idx[1], c] -= 1
                u[idx[2], c] -= 1
                u[idx[3], c] += 1
            if u[:, c].min() < lo or u[:, c].max() > hi:
                u[:, c] = old
                continue
            new_part = arm_error(arm, u)
            new_lev = levene_error(units) if new_part == 0 and part["ips" if arm == "tau" else "tau"] == 0 else lev
            new = new_part + part["ips" if arm == "tau" else "tau"] + (new_lev if new_part == 0 else 1.0 + lev)
            cur = err
            if new <= cur or rng.random() < math.exp(-(new - cur) / 0.15):
                part[arm], lev, err = new_part, new_lev, new
            else:
                u[:, c] = old
        # the error above adds 1 while moments are off; recompute plainly
        final = part["ips"] + part["tau"] + levene_error(units)
        if best is None or final < best[0]:
            best = (final, {a: v.copy() for a, v in units.items()})
        if final == 0:
            break
    assert best is not None
    result = dict(best[1])
    result["error"] = np.array(best[0])
    return result


def exact_vector(n: int, lo: int, hi: int, total: int, squares: int, rng: np.random.Generator, shape: str,
                 iterations: int = 60000) -> np.ndarray | None:
    """n integers in [lo, hi] with the given sum and sum of squares (None when the search fails)."""
    mean = total / n
    sd = math.sqrt(max(squares - total * total / n, 0) / max(n - 1, 1))
    if shape == "heavy":
        z = rng.standard_t(3, n)
    elif shape == "light":
        z = rng.uniform(-1, 1, n)
    else:
        z = rng.standard_normal(n)
    z = (z - z.mean()) / (z.std(ddof=1) or 1.0)
    x = [int(v) for v in np.clip(np.rint(mean + sd * z), lo, hi)]
    draw = random.Random(int(rng.integers(2**62)))
    s, q = sum(x), sum(v * v for v in x)
    err = abs(s - total) + abs(q - squares)
    for _ in range(iterations):
        if err == 0:
            return np.array(x, dtype=np.int64)
        i, j = draw.randrange(n), draw.randrange(n)
        di = 1 if draw.random() < 0.5 else -1
        if i == j or draw.random() < 0.3:
            if not lo <= x[i] + di <= hi:
                continue
            ns, nq = s + di, q + 2 * di * x[i] + 1
            new = abs(ns - total) + abs(nq - squares)
            if new <= err or draw.random() < 0.01:
                x[i] += di
                s, q, err = ns, nq, new
        else:
            if not (lo <= x[i] + di <= hi and lo <= x[j] - di <= hi):
                continue
            nq = q + 2 * di * (x[i] - x[j]) + 2
            new = abs(s - total) + abs(nq - squares)
            if new <= err or draw.random() < 0.01:
                x[i] += di
                x[j] -= di
                q, err = nq, new
    return None


def pair_components(a: np.ndarray, d: np.ndarray, extra: np.ndarray, total_squares: int, table: np.ndarray,
                    below: tuple[float, int] | None, other_total: np.ndarray | None, equal_var: bool | None,
                    ips_first: bool, rng: np.random.Generator, iterations: int = 40000) -> np.ndarray | None:
    """Reorder d against a so that sum((a + d + extra)^2) hits total_squares, with the count below a threshold
    and (when other_total is given) the Levene decision on the total against the other arm."""
    draw = random.Random(int(rng.integers(2**62)))
    av, ev = [int(v) for v in a], [int(v) for v in extra]
    dv = [int(v) for v in d]
    draw.shuffle(dv)
    n = len(dv)
    low = [bool(table[u] < below[0]) if below else False for u in range(len(table))]
    h = [av[i] + dv[i] + ev[i] for i in range(n)]
    q = sum(v * v for v in h)
    count = sum(low[v] for v in h)
    target_count = below[1] if below else 0

    def levene_error() -> float:
        if other_total is None or equal_var is None:
            return 0.0
        x, y = (table[np.array(h)], other_total) if ips_first else (other_total, table[np.array(h)])
        lev = levene_p(x, y)
        return max(0.0, 0.06 - lev) * 20 if equal_var else max(0.0, lev - 0.04) * 20

    def error() -> float:
        base = abs(q - total_squares) + (2 * abs(count - target_count) if below else 0)
        return base if base else levene_error()

    err = error()
    for _ in range(iterations):
        if err == 0:
            return np.array(dv, dtype=np.int64)
        i, j = draw.randrange(n), draw.randrange(n)
        if i == j:
            continue
        hi_new, hj_new = av[i] + dv[j] + ev[i], av[j] + dv[i] + ev[j]
        dq = hi_new * hi_new + hj_new * hj_new - h[i] * h[i] - h[j] * h[j]
        dc = low[hi_new] + low[hj_new] - low[h[i]] - low[h[j]]
        old = (q, count, h[i], h[j])
        q, count, h[i], h[j] = q + dq, count + dc, hi_new, hj_new
        dv[i], dv[j] = dv[j], dv[i]
        new = error()
        if new <= err or draw.random() < 0.02:
            err = new
        else:
            q, count, h[i], h[j] = old
            dv[i], dv[j] = dv[j], dv[i]
    return None


def solve_hscl(problem: RowProblem, targets: dict, rng: np.random.Generator, attempts: int = 200) -> dict[str, np.ndarray]:
    """Anxiety and depression item units per person (columns) for both arms, meeting the exact targets."""
    anx, dep, tot = problem.displays
    delta = int(targets.get("ips_delta", 0))
    for attempt in range(attempts):
        shape = ("normal", "heavy", "light")[attempt % 3]
        comps: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for arm in ("ips", "tau"):
            t = problem.ips if arm == "ips" else problem.tau
            a = exact_vector(t.n, *problem.levels[0], *targets[arm][0], rng, shape)
            d = exact_vector(t.n, *problem.levels[1], *targets[arm][1], rng, shape)
            if a is None or d is None:
                break
            comps[arm] = (a, d)
        if len(comps) < 2:
            continue
        ok = True
        for k, (disp, j) in enumerate(((anx, 0), (dep, 1))):
            if problem.equal_var[k] is None:
                continue
            lev = levene_p(disp.table[comps["ips"][j]], disp.table[comps["tau"][j]])
            ok &= (lev > 0.06) if problem.equal_var[k] else (lev < 0.04)
        if not ok:
            continue
        extra_ips = np.zeros(problem.ips.n, dtype=np.int64)
        extra_ips[0] = delta
        extra_tau = np.zeros(problem.tau.n, dtype=np.int64)
        below = {arm: (t.below[1], t.below[2]) if t.below else None for arm, t in (("ips", problem.ips), ("tau", problem.tau))}
        d_tau = pair_components(*comps["tau"], extra_tau, targets["tau"][2][1], tot.table, below["tau"], None, None, False, rng)
        if d_tau is None:
            continue
        h_tau = tot.table[comps["tau"][0] + d_tau]
        d_ips = pair_components(*comps["ips"], extra_ips, targets["ips"][2][1], tot.table, below["ips"], h_tau,
                                problem.equal_var[2], True, rng)
        if d_ips is None:
            continue
        return {"ips": np.column_stack([comps["ips"][0], d_ips]), "tau": np.column_stack([comps["tau"][0], d_tau]),
                "ips_extra": extra_ips, "error": np.array(0.0)}
    raise RuntimeError(f"{problem.name}: no HSCL sample found")
