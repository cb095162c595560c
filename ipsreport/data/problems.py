"""Violations of the data contract as values: where (file, sheet, line or row, column, source variable), what
value, which rule; and their one-line text, safe to print on a terminal.

Every piece of data text in a message (the value, a column name read from a header, a rule that quotes a
value) passes through :func:`ipsreport.data.quoting.escape_controls`, and quoted values are capped at
:data:`ipsreport.data.quoting.MAX_QUOTED_CHARS` characters, so no message can move the cursor, clear the
screen or run to megabytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ipsreport.data.quoting import escape_controls, quoted, shorten

__all__ = ["MAX_SHOWN", "MAX_RULE_CHARS", "Problem", "DataValidationError", "format_problem", "format_problems",
           "file_too_large"]

MAX_SHOWN = 200
"""How many problems a listing shows before it says how many more there are."""
MAX_RULE_CHARS = 400
"""A rule is a sentence; one that quotes data is cut here."""
_MAX_NAME_CHARS = 80  # column names and file names come from the data too


@dataclass(frozen=True)
class Problem:
    """One violation of the data contract.

    ``file`` is shown relative to the project (``data/ips-pain/participants.csv``); ``line`` is the 1-based
    line of the file (header = 1), None for a problem of the whole file; ``column`` is the contract column
    (or the ``dataset.yaml`` key); ``value`` is the cell as written (None when there is none to show);
    ``rule`` says what is wrong, in words.

    For a contract file read from a source file (SPSS, Stata, Excel; see :mod:`ipsreport.data.sources`),
    ``file`` is the source file, ``sheet`` its Excel sheet, ``line`` the row (``row_word`` is then ``row``:
    the case number of an SPSS or Stata file, the sheet's row number in Excel), ``variable`` the source
    variable the contract column is read from and ``source_value`` the value as the source holds it when it
    differs from ``value`` (e.g. ``4`` for ``NO-004``).
    """

    file: str
    line: int | None
    column: str | None
    value: str | None
    rule: str
    sheet: str | None = None
    variable: str | None = None
    source_value: str | None = None
    row_word: str = "line"

    def __str__(self) -> str:
        return format_problem(self)


def _name(text: str) -> str:
    return escape_controls(shorten(text, _MAX_NAME_CHARS))


def format_problem(p: Problem) -> str:
    """``data/ips-pain/participants.csv, line 14, column arm: value 'IPSX' is not one of IPS, TAU``; for a
    source file ``data/ips-pain/trial.xlsx, sheet participants, row 5, variable group (column arm): value 3
    is not in the codes of arm``. Data text is escaped and shortened (see the module docstring)."""
    where = [_name(p.file)]
    if p.sheet is not None:
        where.append(f"sheet {_name(p.sheet)}")
    if p.line is not None:
        where.append(f"{p.row_word} {p.line}")
    if p.variable is not None:
        column = f" (column {_name(p.column)})" if p.column is not None and p.column != p.variable else ""
        where.append(f"variable {_name(p.variable)}{column}")
    elif p.column is not None:
        where.append(f"{'key' if p.file.endswith('.yaml') else 'column'} {_name(p.column)}")
    rule = escape_controls(shorten(p.rule, MAX_RULE_CHARS))
    if p.value is None:
        what = rule
    elif p.source_value is not None and p.source_value != p.value:
        what = f"value {quoted(p.source_value)} (read as {quoted(p.value)}) {rule}"
    else:
        what = f"value {quoted(p.value)} {rule}"
    return f"{', '.join(where)}: {what}"


def format_problems(problems: Sequence[Problem], limit: int = MAX_SHOWN) -> str:
    """One line per problem, the first ``limit`` of them, then how many more were left out."""
    lines = [format_problem(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"… and {len(problems) - limit} more problems ({len(problems)} in all)")
    return "\n".join(lines)


def file_too_large(size: int, max_bytes: int) -> str:
    """The rule of a data file larger than validation reads."""
    return (f"is {size / 1e6:,.1f} MB, more than the {max_bytes / 1e6:,.1f} MB validation reads of one file "
            "(raise the limit with --max-file-mb or IPSREPORT_MAX_DATA_MB)")


class DataValidationError(Exception):
    """The data do not meet the contract; ``.problems`` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        n = len(self.problems)
        return f"{n} data problem{'s' if n != 1 else ''}:\n{format_problems(self.problems)}"
