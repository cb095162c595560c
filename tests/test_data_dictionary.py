"""The data dictionary: agrees with docs/data-contract.md, builds the schemas, and data/README.md is current."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

from ipsreport.data.dictionary import (
    DATASETS,
    grid_text,
    render_data_readme,
    write_data_readme,
)
from ipsreport.data.schemas import schemas

PROJECT = Path(__file__).resolve().parents[1]


def test_data_readme_is_up_to_date():
    readme = PROJECT / "data" / "README.md"
    assert readme.read_text(encoding="utf-8") == render_data_readme(), (
        "data/README.md is stale: run .venv/bin/python -m ipsreport.data.dictionary"
    )


def test_write_data_readme(tmp_path):
    path = write_data_readme(tmp_path / "README.md")
    text = path.read_text(encoding="utf-8")
    assert "generated" in text and "synthetic: false" in text
    for d in DATASETS:
        assert f"`data/{d.name}/`" in text
        for f in d.files:
            assert f"### `{f.name}`" in text
            for c in f.columns:
                assert f"| `{c.name}` |" in text


def _contract_columns() -> dict[tuple[str, str], list[str]]:
    """Column names of each file's table in docs/data-contract.md, in order."""
    text = (PROJECT / "docs" / "data-contract.md").read_text(encoding="utf-8")
    out: dict[tuple[str, str], list[str]] = {}
    folder = None
    current = None
    for line in text.splitlines():
        if m := re.match(r"^## `data/([a-z-]+)/`", line):
            folder = m.group(1)
        elif m := re.match(r"^### `([a-z0-9_]+\.csv)`", line):
            current = (folder, m.group(1))
            out[current] = []
        elif line.startswith("## ") or line.startswith("### "):
            current = None
        elif current and line.startswith("| ") and not line.startswith("| column"):
            out[current] += [c.strip() for c in line.split("|")[1].split(",")]
    return out


def test_dictionary_has_the_files_and_columns_of_the_contract():
    contract = _contract_columns()
    ours = {(d.name, f.name): list(f.column_names) for d in DATASETS for f in d.files}
    assert ours == contract


def test_every_column_is_described_and_consistent():
    for d in DATASETS:
        for f in d.files:
            assert set(f.key) <= set(f.column_names)
            assert len(set(f.column_names)) == len(f.columns)
            for c in f.columns:
                assert c.description, (f.name, c.name)
                if c.kind == "id":
                    assert c.pattern, (f.name, c.name)
                if c.kind == "category":
                    assert c.allowed or c.pattern, (f.name, c.name)
                if c.grid is not None:
                    assert c.kind == "number"


def test_schemas_cover_every_file():
    built = schemas()
    for d in DATASETS:
        for f in d.files:
            assert list(built[(d.name, f.name)].columns) == list(f.column_names)


@pytest.mark.parametrize(
    ("step", "text"),
    [
        (Fraction(1), "a whole number"),
        (Fraction(2), "an even integer"),
        (Fraction(1, 2), "a multiple of 0.5"),
        (Fraction(1, 10), "a multiple of 0.1"),
        (Fraction(1, 15), "a multiple of 1/15"),
        (Fraction(1, 25), "a multiple of 1/25"),
    ],
)
def test_grid_text(step, text):
    assert grid_text(step) == text
