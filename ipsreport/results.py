"""The registry of reported values: chapters register every statistic they report under a stable dotted key.

Every registered value also carries its *unit* and its *printed form* (the string a reader sees). The unit and
the default precision are inferred from the key's last part by one table, :data:`UNIT_RULES`, with explicit
``unit=``/``decimals=`` overrides. A chapter prints a registered value through :func:`reported`, which
returns a :class:`Reported`: it prints its printed form and remembers its key, and the printed form stored is
then exactly the string on the page. A value never printed keeps the default precision of its unit. Change
reports compare printed forms, so a change that never reaches the page is not a change.

A chapter runs in its own kernel (under Quarto or the built-in engine), so the registry writes through to a
JSON file named by the environment variable ``IPSREPORT_RESULTS_FILE`` (one file per chapter), or, under
Quarto, into the folder ``IPSREPORT_RESULTS_DIR`` with one file per chapter. The render step merges the
files into ``_book/results.json``: the values at the top level under their keys, and the reserved blocks
``_reported`` (unit, decimals, printed form, label and chapter of every key) and ``_meta`` (provenance, see
:mod:`ipsreport.provenance`). Keys starting with ``_`` are reserved for these blocks. Outside a render
(tests, an interactive session) values stay in memory.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .format import DASH, fmt_est_ci, fmt_est_ci_text, fmt_int, fmt_num, fmt_p
from .printed import Phrase, Reported, in_prose, mark

__all__ = [
    "register",
    "register_many",
    "registered",
    "clear",
    "reported",
    "reported_p",
    "reported_est_ci",
    "reported_est_ci_text",
    "Reported",
    "Phrase",
    "Num",
    "Count",
    "keyed",
    "keyed_frame",
    "value",
    "print_keyed",
    "UnitRule",
    "UNIT_RULES",
    "unit_of",
    "printed_form",
    "label_of",
    "slug",
    "reported_forms",
    "merge_results",
    "merge_result_files",
    "diff_results",
    "REPORTED",
    "META",
]

_KEY = re.compile(r"^[a-z0-9][a-z0-9_]*(\.[a-z0-9_]+)*$")
REPORTED = "_reported"  # the block of units and printed forms in a results file
META = "_meta"  # the provenance block of results.json (never compared)
CHAPTER = "_chapter"  # in a per-chapter file: the chapter that wrote it

_values: dict[str, Any] = {}
_reported: dict[str, dict[str, Any]] = {}


# -- units and printed forms ----------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitRule:
    """How values of a kind of key are printed: ``unit`` (a word a reader understands: ``percent``,
    ``percentage points``, ``ratio``, ``p``, ``count``, ``hours``, …), ``decimals`` (the default precision;
    0 prints an integer) and ``style`` (``number``, ``count``, ``p`` — three decimals with ``<0.001`` —, or
    ``text``)."""

    unit: str
    decimals: int
    style: str = "number"


_P = UnitRule("p", 3, "p")
_PERCENT = UnitRule("percent", 1)
_PP = UnitRule("percentage points", 1)
_RATIO = UnitRule("ratio", 2)
_COUNT = UnitRule("count", 0, "count")
_NUMBER = UnitRule("number", 2)
_STATISTIC = UnitRule("statistic", 2)
_TEXT = UnitRule("text", 0, "text")

_COUNT_WORDS = (
    "n|count|denominator|total|df|employed|analysed|analyzed|randomised|randomized|withdrawn|recruited|"
    "approached|enquiries|excluded|included|eligible|ineligible|returned|responded|missing|themes|jobs|"
    "per_group|participants|contacts|events|cases|controls|all|ips|tau|never_worked|not_contactable"
)

# The one table: the first pattern matching the key's last part wins. Patterns are full matches.
UNIT_RULES: tuple[tuple[str, UnitRule], ...] = (
    (r"p_value|p|.*_p|.*_p_value", _P),
    (r"(.*_)?percent(age)?|.*_percent_.*|percent_.*", _PERCENT),
    (r"risk_difference|rd|rd_ci_(low|high)|.*_pp|.*percentage_points|.*_rd", _PP),
    (r"odds_ratio|or|or_ci_(low|high)|.*_ratio|rr|rr_ci_(low|high)|hr|hr_ci_(low|high)|.*_ratio_ci_(low|high)",
     _RATIO),
    (r"(.*_)?per_6_months?", UnitRule("per 6 months", 1)),
    (r"(.*_)?per_month", UnitRule("per month", 1)),
    (r"(.*_)?hours|hours_.*", UnitRule("hours", 1)),
    (r"(.*_)?weeks", UnitRule("weeks", 1)),
    (r"(.*_)?months", UnitRule("months", 1)),
    (r"(.*_)?years", UnitRule("years", 1)),
    (r"(.*_)?days", UnitRule("days", 1)),
    (rf"(.*_)?({_COUNT_WORDS})|n_.*|.*_n|.*_count|count_.*|ineligible_.*|not_in_.*|working_from_.*|"
     r"worked_then_.*|partial_.*|.*_(ips|tau)", _COUNT),
    (r"z|t|f|chi2|statistic|.*_statistic|u|w", _STATISTIC),
    (r"mean|sd|se|median|q1|q3|iqr|min|max|estimate|mean_difference|md_ci_(low|high)|ci_(low|high)|"
     r".*_(mean|sd|median|ci_low|ci_high)|rate|.*_rate", _NUMBER),
)
_COMPILED = tuple((re.compile(pattern), rule) for pattern, rule in UNIT_RULES)

# Measurements (a mean, an SD, a range, a difference of means) take the unit of what they measure when a key
# part names it, e.g. ``hours.ips.mean`` is in hours.
_MEASURES = {"mean", "sd", "se", "median", "q1", "q3", "iqr", "min", "max", "mean_difference", "md_ci_low",
             "md_ci_high", "ci_low", "ci_high", "estimate"}
_MEASURED_IN = {"hours": "hours"}


def unit_of(key: str, value: Any = None) -> UnitRule:
    """The unit and default precision of ``key``, from its last part (see :data:`UNIT_RULES`).

    Strings are ``text``; a key no rule matches is a ``count`` when its value is an integer, else a ``number``
    at 2 decimals.
    """
    if isinstance(value, str) or isinstance(value, bool):
        return _TEXT
    parts = key.split(".")
    last = parts[-1]
    for pattern, rule in _COMPILED:
        if pattern.fullmatch(last):
            if last in _MEASURES:
                for part in parts[:-1]:
                    if part in _MEASURED_IN:
                        return UnitRule(_MEASURED_IN[part], rule.decimals, rule.style)
            if rule in (_NUMBER, _STATISTIC) and isinstance(value, (int, np.integer)):
                return _COUNT  # an integer under a generic name (``concordance.trial.exact``) counts something
            return rule
    if isinstance(value, (int, np.integer)):
        return _COUNT
    return _NUMBER


def printed_form(value: Any, rule: UnitRule, decimals: int | None = None) -> str:
    """The string a reader sees for ``value`` printed by ``rule`` (at ``decimals`` when given)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    places = rule.decimals if decimals is None else decimals
    if rule.style == "p":
        return fmt_p(value, places)
    if rule.style == "count" and decimals is None:
        return fmt_int(value).replace("-", "\u2212")
    return fmt_num(value, places)


_LABEL_WORDS = {
    "ips": "IPS", "tau": "TAU", "p_value": "P value", "levene_p": "Levene's test P value", "sd": "SD",
    "se": "standard error", "n": "n", "df": "degrees of freedom", "chi2": "χ²", "z": "z",
    "or_ci_low": "odds ratio, lower 95% limit", "or_ci_high": "odds ratio, upper 95% limit",
    "md_ci_low": "mean difference, lower 95% limit", "md_ci_high": "mean difference, upper 95% limit",
    "rd_ci_low": "risk difference, lower 95% limit", "rd_ci_high": "risk difference, upper 95% limit",
    "odi": "ODI", "hscl": "HSCL", "eq5d": "EQ-5D", "sf12": "SF-12", "q1": "first quartile",
    "q3": "third quartile", "hours20": "≥ 20 hours a week",
}


def label_of(key: str) -> str:
    """A readable label for ``key``: its parts in words, ``m12`` as ``12 months``, ``ips`` as ``IPS``."""
    words = []
    for part in key.split("."):
        if part in _LABEL_WORDS:
            words.append(_LABEL_WORDS[part])
        elif re.fullmatch(r"m\d+", part):
            words.append(f"{part[1:]} months")
        else:
            words.append(part.replace("_", " "))
    text = " · ".join(words)
    return text[:1].upper() + text[1:]


def slug(text: str) -> str:
    """A key part for a data-derived name (a sector, a site): ``[a-z0-9_]`` only.

    A name that already is such a part stays as it is; any other name (``Retail``, ``RETAIL!``, ``Ærø``) gets
    its lower-cased ASCII letters and digits plus a short stable hash of the full name, so that names
    differing only in case, punctuation or non-ASCII letters never share a key.
    """
    text = str(text)
    plain = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if plain == text:
        return plain
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{plain}_{digest}" if plain else f"x{digest}"


# -- registering ----------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Turn numpy scalars and keyed numbers into JSON-ready Python values; NaN becomes None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool) and type(value) is not int:
        value = int(value)  # a Count
    elif isinstance(value, float) and type(value) is not float:
        value = float(value)  # a Num
    elif isinstance(value, str) and type(value) is not str:
        value = str(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    raise TypeError(f"only numbers and strings can be registered, not {type(value).__name__}")


def _target_file() -> Path | None:
    explicit = os.environ.get("IPSREPORT_RESULTS_FILE")
    if explicit:
        return Path(explicit)
    folder = os.environ.get("IPSREPORT_RESULTS_DIR")
    if folder:
        # Under Quarto: one file per rendered document, named after it.
        doc = os.environ.get("QUARTO_DOCUMENT_PATH", "") + "/" + os.environ.get("QUARTO_DOCUMENT_FILE", "")
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", doc.strip("/")) or f"kernel-{os.getpid()}"
        return Path(folder) / f"{name}.json"
    return None


def _chapter() -> str:
    """The chapter this kernel runs: the results file's name (the built-in engine names it after the chapter's
    page) or, under Quarto, the document's file name without extension."""
    document = os.environ.get("QUARTO_DOCUMENT_FILE")
    if document:
        return Path(document).stem
    target = _target_file()
    return target.stem if target is not None else ""


_batch_depth = 0  # inside register_many: one write at the end instead of one per value


def _write_through() -> None:
    if _batch_depth:
        return
    target = _target_file()
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps({**_values, REPORTED: _reported, CHAPTER: _chapter()}, sort_keys=True,
                                  separators=(",", ":")), encoding="utf-8")
        tmp.replace(target)


def _same(a: Any, b: Any) -> bool:
    """Equal values; 2 and 2.0 are the same number, but True is not 1."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    return a == b and (numbers or type(a) is type(b))


def register(key: str, value: Any, *, unit: str | None = None, decimals: int | None = None,
             repeats: bool = False) -> None:
    """Record a reported value under ``key``, with its unit and default printed form.

    ``unit`` and ``decimals`` override what :func:`unit_of` infers from the key. Registering a key again with
    the same value is allowed (a re-run cell); with a different value it is an error, since two numbers
    under one key would make ``results.json`` disagree with the page. ``repeats`` marks a value that this
    chapter repeats from another (the abstract, the discussion): the change report then files the key under
    the chapter that reports it.
    Returns None, so a cell ending in a registration shows nothing (a cell's last value is displayed).
    """
    if not _KEY.match(key):
        raise ValueError(f"result key {key!r} is not a lower-case dotted name (parts of a-z, 0-9, _)")
    plain = _plain(value)
    if key in _values and not _same(_values[key], plain):
        raise ValueError(f"result {key!r} is already registered with the value {repr(_values[key])[:80]}; "
                         f"registering {repr(plain)[:80]} under the same key is an error (two names mapped to one "
                         "key?)")
    inferred = unit_of(key, plain)
    rule = UnitRule(unit or inferred.unit, inferred.decimals if decimals is None else decimals,
                    "number" if decimals is not None and inferred.style == "count" else inferred.style)
    _values[key] = plain
    entry = _reported.get(key, {})
    _reported[key] = {"unit": rule.unit, "decimals": rule.decimals, "style": rule.style,
                      "default": printed_form(plain, rule), **{k: v for k, v in entry.items() if k == "printed"}}
    if repeats and (not entry or entry.get("repeats")):  # every registration of the key here is a repeat
        _reported[key]["repeats"] = True
    _write_through()


def register_many(values: Mapping[str, Any], prefix: str = "", repeats: bool = False) -> None:
    """Register every item of ``values`` (keys joined to ``prefix`` with a dot); ``repeats`` as for
    :func:`register`."""
    global _batch_depth
    _batch_depth += 1
    try:
        for key, value in values.items():
            register(f"{prefix}.{key}" if prefix else key, value, repeats=repeats)
    finally:
        _batch_depth -= 1
    _write_through()


def registered() -> dict[str, Any]:
    """A copy of what this process has registered."""
    return dict(_values)


def reported_forms() -> dict[str, dict[str, Any]]:
    """A copy of the units and printed forms this process has recorded (the ``_reported`` block)."""
    return {k: dict(v) for k, v in _reported.items()}


def clear() -> None:
    _values.clear()
    _reported.clear()


# -- printing registered values in prose ----------------------------------------------------------------


def _require(key: str) -> None:
    if key not in _values:
        raise KeyError(f"result {key!r} is not registered in this chapter; register it before printing it")


def _record_printed(key: str, text: str) -> None:
    """Record ``text`` as a printed form of ``key`` on the page."""
    forms = _reported[key].setdefault("printed", [])
    if text not in forms:
        forms.append(text)
        _write_through()


def reported(key: str, decimals: int | None = None) -> Reported:
    """The registered value ``key`` as printed in prose (at ``decimals`` instead of its unit's default when
    given). Its printed form is recorded as the one on the page."""
    _require(key)
    entry = _reported[key]
    rule = UnitRule(entry["unit"], entry["decimals"], entry["style"])
    text = printed_form(_values[key], rule, decimals)
    _record_printed(key, text)
    return Reported(key, _values[key], rule.unit, text)


def reported_p(key: str) -> Phrase:
    """``P = 0.336`` or ``P < 0.001`` (the style of :func:`ipsreport.wording.p_text`) for a registered P value."""
    value = reported(key)
    if value.text.startswith("<"):
        return Phrase(("P < ", Reported(value.key, value.value, value.unit, value.text[1:])))
    return Phrase(("P = ", value))


def reported_est_ci(estimate: str, low: str, high: str) -> Phrase:
    """``1.76 (0.56–5.56)`` from three registered keys (``−25.2 to 24.1`` when a limit is negative):
    :func:`ipsreport.format.fmt_est_ci` of their keyed values, at the estimate's unit's precision."""
    return fmt_est_ci(value(estimate), value(low), value(high), _reported[estimate]["decimals"])


def reported_est_ci_text(estimate: str, low: str, high: str) -> Phrase:
    """``1.76 (95% CI 0.56–5.56)`` from three registered keys, as :func:`ipsreport.format.fmt_est_ci_text`
    prints an estimate in running text."""
    return fmt_est_ci_text(value(estimate), value(low), value(high), _reported[estimate]["decimals"])


# -- values that remember their key: numbers printed through wording functions -----------------------------
#
# A chapter hands a wording function its rows and results *keyed* (:func:`keyed`, :func:`keyed_frame`): every
# field whose registry key is known becomes a :class:`Num` or :class:`Count`, a plain float or int that also
# carries its key. The formatting functions of :mod:`ipsreport.format` hand such a value's printed text to its
# ``reported_as`` method, which records it as the page's printed form and returns a :class:`Reported`.


class Num(float):
    """A registered float that remembers its ``key``; arithmetic on it gives plain floats."""

    key: str

    def __new__(cls, value: float, key: str) -> "Num":
        self = super().__new__(cls, value)
        self.key = key
        return self

    def reported_as(self, text: str, printed: str | None = None) -> Any:
        """``text``, as a format function prints this value, through the registry (:func:`print_keyed`)."""
        return print_keyed(self, text, printed)

    def _repr_markdown_(self) -> str:
        """As an inline value on its own: its key's default printed form, through the registry."""
        return reported(self.key)._repr_markdown_()

    def __reduce__(self):
        return (float, (float(self),))


class Count(int):
    """A registered integer that remembers its ``key``; in a wording function's f-string, ``f"{count}"``
    prints it as :func:`fmt_int` does, through the registry."""

    key: str

    def __new__(cls, value: int, key: str) -> "Count":
        self = super().__new__(cls, value)
        self.key = key
        return self

    def __format__(self, spec: str) -> str:
        if spec == "" and in_prose():  # a count in a wording function's f-string: printed as fmt_int prints it
            return print_keyed(self, fmt_int(int(self)))
        return int.__format__(int(self), spec)

    def reported_as(self, text: str, printed: str | None = None) -> Any:
        """``text``, as a format function prints this value, through the registry (:func:`print_keyed`)."""
        return print_keyed(self, text, printed)

    def _repr_markdown_(self) -> str:
        """As an inline value on its own: printed as :func:`fmt_int` prints a count, through the registry."""
        return print_keyed(self, fmt_int(int(self)))._repr_markdown_()

    def __reduce__(self):
        return (int, (int(self),))


def print_keyed(value: Any, text: str, printed: str | None = None) -> Any:
    """``text``, shown for ``value``: unchanged for a plain value; for a :class:`Num`/:class:`Count` recorded as
    its key's printed form (``printed`` when the sentence shows only part of it, as ``P < 0.001`` shows 0.001 of
    <0.001) and returned as a :class:`Reported` (inside a :func:`prose` function, as marked text that the
    decorator turns back into one)."""
    key = getattr(value, "key", None)
    if key is None or key not in _reported:
        return text
    _record_printed(key, printed or text)
    shown = Reported(key, _values[key], _reported[key]["unit"], text)
    return mark(shown) if in_prose() else shown


def _keyed_value(value: Any, key: str) -> Any:
    """``value`` as a :class:`Num`/:class:`Count` for ``key`` when ``key`` is registered with that value."""
    if key not in _values or isinstance(value, (bool, str, np.bool_)) or value is None:
        return value
    plain = _plain(value) if isinstance(value, (int, float, np.generic)) else None
    if plain is None or not _same(_values[key], plain):
        return value
    return Count(plain, key) if isinstance(plain, int) else Num(plain, key)


def _candidates(prefix: str, name: str, names: Mapping[str, str] | None) -> list[str]:
    """The keys field ``name`` may have under ``prefix``, in order (see :class:`Keyed`)."""
    if names and name in names:
        return [f"{prefix}.{names[name]}"]
    out = [f"{prefix}.{name}"]
    head, sep, tail = name.partition("_")
    if sep:
        out.append(f"{prefix}.{head}.{tail}")  # ips_percent → ips.percent
    return out


class Keyed:
    """A row (a mapping or a pandas Series) or a result object whose fields come back as :class:`Num`/:class:`Count`
    when their key is registered: the key of field ``f`` under ``prefix`` is ``prefix.f``, else with the first
    underscore as a dot (``ips_percent`` → ``prefix.ips.percent``), or as ``names`` maps it. Any other field,
    and any other attribute, is the wrapped object's own."""

    def __init__(self, source: Any, prefix: str, names: Mapping[str, str] | None = None):
        self._source, self._prefix, self._names = source, prefix, dict(names or {})

    def _key_value(self, name: str, value: Any) -> Any:
        for key in _candidates(self._prefix, name, self._names):
            keyed_value = _keyed_value(value, key)
            if keyed_value is not value:
                return keyed_value
        return value

    def __getitem__(self, name):
        return self._key_value(name, self._source[name]) if isinstance(name, str) else self._source[name]

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._key_value(name, getattr(self._source, name))

    def derived(self, name: str, value: Any) -> Any:
        """``value``, computed by the caller from this source (a percentage of a proportion, a sum of counts),
        keyed as ``prefix.name`` when registered there with that value."""
        return self._key_value(name, value)

    def get(self, name, default=None):
        try:
            return self[name]
        except (KeyError, IndexError):
            return default

    def __contains__(self, name) -> bool:
        return name in self._source

    def __iter__(self):
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)


def value(key: str) -> Any:
    """The registered value ``key`` as a number that remembers its key (a string as it is), for a wording
    function that takes a number."""
    _require(key)
    return _keyed_value(_values[key], key)


def keyed(source: Any, prefix: str, names: Mapping[str, str] | None = None) -> Keyed:
    """``source`` with its registered fields as values that remember their key (see :class:`Keyed`)."""
    return Keyed(source, prefix, names)


def keyed_frame(frame, prefix_of=None, names: Mapping[str, Any] | None = None, derived: str | None = None,
                repeats: bool = False):
    """A copy of ``frame`` whose numeric cells are :class:`Num`/:class:`Count` where their key is registered:
    ``prefix_of(row)`` gives a row's key prefix, and each column's key under it follows :class:`Keyed`'s rule;
    a column that ``names`` maps to a function gets its key from that function of the row instead (for a value
    registered under another branch, e.g. ``secondary.welch.m6.odi.p_value``). Numeric columns become object
    columns; comparisons, sums and sorting work as before. For prose only: a table takes the plain frame.

    With ``derived`` (a key prefix), a sentence that counts or sums over the frame reports what it derives
    through the frame's ``attrs["derived"]``: ``derive(name, value)`` registers ``value`` under
    ``derived.name`` and returns it keyed (how many comparisons fell below the significance level, say), as a
    repeat (see :func:`register`) when ``repeats``."""
    import pandas as pd

    names = dict(names or {})
    relative = {k: v for k, v in names.items() if not callable(v)}
    out = frame.copy()
    records = frame.to_dict("records")
    prefixes = [prefix_of(r) if prefix_of else "" for r in records]
    for column in frame.columns:
        if not isinstance(column, str) or frame[column].dtype.kind not in "iuf":
            continue
        cells = []
        for prefix, record in zip(prefixes, records):
            value = record[column]
            if callable(names.get(column)):
                cells.append(_keyed_value(value, names[column](record)))
            else:
                cells.append(Keyed(record, prefix, relative)[column] if prefix else value)
        out[column] = pd.Series(cells, index=frame.index, dtype=object)
    if derived:
        out.attrs["derived"] = functools.partial(_register_derived, derived, repeats)
    return out


def _register_derived(prefix: str, repeats: bool, name: str, value: Any) -> Any:
    """Register what a sentence derived from a keyed frame under ``prefix.name``, and return it keyed."""
    key = f"{prefix}.{name}"
    register(key, value, repeats=repeats)
    return _keyed_value(value, key)


# -- merging and comparing ------------------------------------------------------------------------------


def merge_results(chapters: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Merge the results of several chapters (``{chapter name: what its registry wrote}``); a key registered
    with different values in two chapters is an error.

    The result holds the values under their keys (sorted) and a ``_reported`` block: per key its unit,
    decimals, printed form (the page's when it was printed, else the default of its unit), label and
    chapter.
    """
    merged: dict[str, Any] = {}
    forms: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    for name, content in chapters.items():
        chapter = content.get(CHAPTER) or name
        block = content.get(REPORTED) or {}
        for key, value in content.items():
            if key.startswith("_"):
                continue
            if key in merged and merged[key] != value:
                raise ValueError(f"result {key!r} registered with different values in {origin[key]} and {name}")
            merged[key] = value
            origin.setdefault(key, name)
            entry = block.get(key) or {}
            rule = UnitRule(entry["unit"], entry["decimals"], entry["style"]) if entry else unit_of(key, value)
            printed = list(forms.get(key, {}).get("printed_in_prose", []))
            printed += [t for t in entry.get("printed", []) if t not in printed]
            # The key's chapter is the first that reports it rather than repeating it (see register).
            earlier = forms.get(key, {})
            home = chapter if not earlier or (earlier["repeated_only"] and not entry.get("repeats")) \
                else earlier["chapter"]
            forms[key] = {"unit": rule.unit, "decimals": rule.decimals, "style": rule.style,
                          "printed": " / ".join(printed) if printed else printed_form(value, rule),
                          "printed_in_prose": printed, "label": label_of(key), "chapter": home,
                          "repeated_only": bool(earlier.get("repeated_only", True) and entry.get("repeats"))}
    out: dict[str, Any] = dict(sorted(merged.items()))
    for entry in forms.values():
        entry["in_prose"] = bool(entry.pop("printed_in_prose"))
        del entry["repeated_only"]
    out[REPORTED] = dict(sorted(forms.items()))
    return out


def merge_result_files(files: list[Path]) -> dict[str, Any]:
    """:func:`merge_results` of per-chapter result files, each named after its chapter."""
    return merge_results({Path(p).stem: json.loads(Path(p).read_text(encoding="utf-8")) for p in files})


def printed_values(results: Mapping[str, Any]) -> dict[str, str]:
    """``{key: printed form}`` of a results file: its ``_reported`` printed forms, or (for a file written before
    printed forms were recorded) each value at its unit's default precision. Reserved blocks are skipped."""
    block = results.get(REPORTED) or {}
    out = {}
    for key, value in results.items():
        if key.startswith("_"):
            continue
        entry = block.get(key)
        out[key] = entry["printed"] if entry and "printed" in entry else printed_form(value, unit_of(key, value))
    return out


def diff_results(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """Keys whose printed form changed, appeared or disappeared: ``(key, old, new)`` printed forms, None for
    absent. Values that differ only beyond their printed precision are not changes; ``_meta`` and other
    reserved blocks are never compared."""
    a, b = printed_values(old), printed_values(new)
    return [(key, a.get(key), b.get(key)) for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]
