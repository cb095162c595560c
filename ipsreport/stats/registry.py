"""The registry of statistical tests, as data: table footnotes are generated from it, never typed.

Helper names avoid a leading ``test`` so that pytest never collects them when a test module imports them.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._base import StatTest
from .contingency import CONTINGENCY_TESTS
from .ttests import T_TESTS

__all__ = ["STAT_TESTS", "StatTest", "get_test", "footnote_labels", "footnote_for_tests"]

STAT_TESTS: dict[str, StatTest] = {**CONTINGENCY_TESTS, **T_TESTS}


def get_test(name: str) -> StatTest:
    """The registered test called ``name`` (``pearson``, ``fisher``, ``yates``, ``student``, ``welch``)."""
    try:
        return STAT_TESTS[name]
    except KeyError:
        raise KeyError(f"unknown test {name!r}; registered: {sorted(STAT_TESTS)}") from None


def footnote_labels(names: Iterable[str]) -> list[str]:
    """Footnote labels of the tests used, deduplicated in order of first use (NaN/None/"" skipped)."""
    seen: dict[str, str] = {}
    for name in names:
        if not isinstance(name, str) or not name:
            continue
        seen.setdefault(name, get_test(name).label)
    return list(seen.values())


def footnote_for_tests(names: Iterable[str], prefix: str = "Statistical tests performed: ") -> str:
    """One footnote sentence naming every test used, e.g. from a results frame's ``test`` column:
    ``"Statistical tests performed: Pearson's chi-squared test without continuity correction; Fisher's
    exact test (two-sided)"``. Empty string when no test was used."""
    labels = footnote_labels(names)
    return prefix + "; ".join(labels) if labels else ""
