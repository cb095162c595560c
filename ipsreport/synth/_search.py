"""Local search for small integer-grid samples whose rounded summaries, t-test P and Levene decision hit printed targets."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from scipy import special

__all__ = ["Display", "ArmTarget", "RowProblem", "solve_row", "round_half_up", "ttest_p", "levene_p"]


def round_half_up(value: float, decimals: int) -> float:
    """Round as a reader does (half away from zero), on the shortest decimal form of the float."""
    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


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
    if margin is None:
        if round_half_up(value, decimals) == centre:
            return 0.0
    elif abs(value - centre) < half - margin:
        return 0.0
    return max(0.0, abs(value - centre) - half) / half + 0.01


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
            err += 0.5 * _interval_error(ttest_p(x, y, equal_var), printed, _decimals(printed), 1e-7) if moments_ok else 1.0
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
