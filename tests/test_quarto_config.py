"""_quarto.yml stays valid Quarto and says what Quarto needs to render the book as the built-in engine does;
the notice filter that Quarto runs shows the data's own notice once per page."""

import json
import os
import subprocess
from pathlib import Path

import yaml

from ipsreport.render import pandoc
from ipsreport.render.project import read_book

ROOT = Path(__file__).resolve().parents[1]
FILTER = ROOT / "_filters" / "synthetic-notice.lua"


def _config():
    return yaml.safe_load((ROOT / "_quarto.yml").read_text())


def test_quarto_renders_exactly_the_book_and_names_its_files_book():
    config = _config()
    book = config["book"]
    assert config["project"]["render"] == book["chapters"] + book["appendices"]
    assert book["output-file"] == "book"
    assert config["format"]["typst"]["citeproc"] is True
    assert config["project"]["pre-render"] == "_scripts/validate-data.py"
    assert config["project"]["post-render"] == "_scripts/collect-results.py"
    assert (ROOT / config["project"]["pre-render"]).is_file() and (ROOT / config["project"]["post-render"]).is_file()
    assert "freeze" not in json.dumps(config)  # chapters that do not execute would register nothing
    parsed = read_book(ROOT)  # the built-in engine accepts every key
    assert parsed.output_file == "book"


def test_built_in_engine_refuses_a_render_list_that_leaves_out_a_chapter(tmp_path):
    import shutil

    import pytest

    from ipsreport.render import RenderError

    for name in ("_quarto.yml", "index.qmd", "references.bib", "_filters", "_scripts", "chapters"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    config = tmp_path / "_quarto.yml"
    config.write_text(config.read_text().replace("    - chapters/05-feasibility.qmd\n", "", 1))
    with pytest.raises(RenderError, match="project.render leaves out chapters/05-feasibility.qmd"):
        read_book(tmp_path)


def _run_filter(tmp_path, markdown: str, datasets: dict[str, str], to: str = "native") -> str:
    for name, text in datasets.items():
        (tmp_path / "data" / name).mkdir(parents=True)
        (tmp_path / "data" / name / "dataset.yaml").write_text(text)
    env = {**os.environ, "QUARTO_PROJECT_ROOT": str(tmp_path)}
    proc = subprocess.run([pandoc.pandoc_path(), "-f", "markdown", "-t", to, "--wrap=none", f"--lua-filter={FILTER}"],
                          input=markdown, capture_output=True, text=True, env=env, check=True)
    return proc.stdout


def test_notice_filter_puts_every_synthetic_notice_on_the_page_once(tmp_path):
    out = _run_filter(tmp_path, "# Methods\n\nText.\n", {
        "b-pilot": "synthetic: true\nnotice: \"Pilot data are synthetic.\"\n",
        "a-trial": "synthetic: true\nnotice: \"Trial data are synthetic <script>x</script>.\"\n",
        "c-real": "synthetic: false\nnotice: \"Never shown.\"\n",
    }, to="html")
    assert out.index("Trial data are synthetic") < out.index("Pilot data are synthetic") < out.index("<h1")
    assert out.count('class="callout-warning ipsr-notice"') == 1
    assert "Never shown" not in out
    assert "<script>" not in out and "&lt;script&gt;" in out  # the data's text stays text


def test_notice_filter_adds_nothing_for_real_data_or_a_page_with_the_notice(tmp_path):
    page = "::: {.callout-warning}\n## Synthetic data\n\nAlready here.\n:::\n\n# Preface\n"
    out = _run_filter(tmp_path, page, {"trial": "synthetic: true\n"}, to="html")
    assert "ipsr-notice" not in out and out.count("Already here") == 1
    assert "ipsr-notice" not in _run_filter(tmp_path / "real", "# A\n", {"trial": "synthetic: false\n"}, to="html")
