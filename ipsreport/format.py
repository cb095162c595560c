"""Number formatting for tables and prose: the one place where values are rounded for display.

House rules, for every output format: a typographic minus (U+2212) before a negative number; thousands
separated by commas (1,017); P values at three decimals and '<0.001' below that, never '0.000'; one precision
per quantity across the book (``DECIMALS``: percentages and hours at one decimal); and an interval in running
text names itself ('1.76 (95% CI 0.56–5.56)', :func:`fmt_est_ci_text`).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from .printed import prose

__all__ = [
    "round_half_up",
    "fmt_num",
    "fmt_int",
    "fmt_pct",
    "fmt_p",
    "fmt_n_pct",
    "fmt_mean_sd",
    "fmt_ci",
    "fmt_est_ci",
    "fmt_est_ci_text",
    "fmt_hours",
    "is_missing",
    "DECIMALS",
    "MINUS",
]

DASH = "\u2013"  # en dash for ranges
MINUS = "\u2212"  # typographic minus

# One precision per quantity, book-wide.
DECIMALS = {"percent": 1, "hours": 1, "p": 3}


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def round_half_up(value: float, decimals: int) -> Decimal:
    """Round like the papers' software and most readers do (2.345 → 2.35), not to even.

    The decimal string of the float (its shortest repr) is rounded, so 0.125 → 0.13.
    """
    quantum = Decimal(1).scaleb(-decimals)
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)


def _shown(value, text: str, printed: str | None = None):
    """``text`` shown for ``value``: through the registry when the value remembers its key (recorded as the
    printed form ``printed``, by default ``text``)."""
    reported_as = getattr(value, "reported_as", None)
    return reported_as(text, printed) if reported_as is not None else text


def fmt_num(value, decimals: int = 2) -> str:
    """A number at fixed decimals with a typographic minus and thousands separators; '–' for a missing value."""
    if is_missing(value):
        return DASH
    text = f"{round_half_up(value, decimals):,f}"
    if text.startswith("-"):
        text = text[1:] if set(text[1:]) <= set("0.") else MINUS + text[1:]
    return _shown(value, text)


def fmt_int(value) -> str:
    """A count: '1,017'; '–' for a missing value."""
    if is_missing(value):
        return DASH
    n = int(round(value))
    return _shown(value, (MINUS if n < 0 else "") + f"{abs(n):,d}")


def fmt_hours(value) -> str:
    """Hours at the book's precision for hours."""
    return fmt_num(value, DECIMALS["hours"])


def fmt_pct(value, decimals: int = DECIMALS["percent"]) -> str:
    """A percentage (already 0–100) without the % sign."""
    return fmt_num(value, decimals)


@prose
def fmt_p(p, decimals: int = DECIMALS["p"]) -> str:
    """P values as journals print them: three decimals, '<0.001' below that."""
    if is_missing(p):
        return DASH
    floor = 10.0**-decimals
    if p < floor:
        bound = f"{floor:.{decimals}f}"
        return "<" + _shown(p, bound, printed="<" + bound)
    return fmt_num(p, decimals)


@prose
def fmt_n_pct(count, percent, decimals: int = DECIMALS["percent"]) -> str:
    if is_missing(count):
        return DASH
    return f"{fmt_int(count)} ({fmt_pct(percent, decimals)})"


@prose
def fmt_mean_sd(mean, sd, decimals: int = 2) -> str:
    if is_missing(mean):
        return DASH
    return f"{fmt_num(mean, decimals)} ({fmt_num(sd, decimals)})"


@prose
def fmt_ci(low, high, decimals: int = 2) -> str:
    """'0.56–5.56'; with a negative limit '−25.2 to 24.1', since a dash next to a minus sign misleads."""
    a, b = fmt_num(low, decimals), fmt_num(high, decimals)
    return f"{a} to {b}" if MINUS in a + b else f"{a}{DASH}{b}"


@prose
def fmt_est_ci(estimate, low, high, decimals: int = 2) -> str:
    """'1.76 (0.56–5.56)'."""
    if is_missing(estimate):
        return DASH
    return f"{fmt_num(estimate, decimals)} ({fmt_ci(low, high, decimals)})"


@prose
def fmt_est_ci_text(estimate, low, high, decimals: int = 2) -> str:
    """An estimate with its interval for running text, naming the interval: '1.76 (95% CI 0.56–5.56)'."""
    if is_missing(estimate):
        return DASH
    return f"{fmt_num(estimate, decimals)} (95% CI {fmt_ci(low, high, decimals)})"
