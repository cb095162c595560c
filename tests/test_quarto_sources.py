"""The book's sources stay valid Quarto: panache lints them clean, and its check of cross-references (across
chapters, as in a Quarto book) is live."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PANACHE = Path(sys.executable).with_name("panache")


def _lint(folder: Path) -> subprocess.CompletedProcess:
    files = ["index.qmd", "manuscript.qmd", "chapters"]
    return subprocess.run([str(PANACHE), "lint", *files], cwd=folder, capture_output=True, text=True, timeout=120)


def test_book_config_lists_existing_chapters_and_three_formats():
    config = yaml.safe_load((ROOT / "_quarto.yml").read_text())
    assert config["project"]["type"] == "book"
    files = config["book"]["chapters"] + config["book"]["appendices"]
    assert files[0] == "index.qmd"
    assert all((ROOT / f).exists() for f in files)
    assert set(config["format"]) == {"html", "typst", "docx"}
    assert (ROOT / config["bibliography"]).exists() and (ROOT / config["csl"]).exists()


def test_sources_lint_clean():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No issues found" in result.stdout + result.stderr


def test_linter_catches_a_broken_cross_reference(tmp_path):
    shutil.copytree(ROOT / "chapters", tmp_path / "chapters")
    for name in ("index.qmd", "manuscript.qmd", "_quarto.yml", "panache.toml", "references.bib"):
        shutil.copy(ROOT / name, tmp_path / name)
    # The abstract (included by index.qmd and manuscript.qmd) refers to the secondary outcomes.
    abstract = tmp_path / "chapters" / "_abstract.qmd"
    assert "@sec-secondary" in abstract.read_text()
    abstract.write_text(abstract.read_text().replace("@sec-secondary", "@sec-no-such-section"))
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "@sec-no-such-section" in result.stdout + result.stderr
