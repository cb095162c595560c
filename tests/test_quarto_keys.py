"""Every YAML key the project uses is one Quarto documents (ipsreport.render.quarto_keys lists each with its
reference page)."""

from pathlib import Path

from ipsreport.render.quarto_keys import QUARTO_KEYS, project_keys, unknown_keys, used_keys

ROOT = Path(__file__).resolve().parents[1]


def test_every_key_the_project_uses_is_documented_by_quarto():
    assert unknown_keys(ROOT) == []


def test_the_project_files_are_all_read():
    files = project_keys(ROOT)
    assert {"_quarto.yml", "_quarto-manuscript.yml", "manuscript.qmd", "chapters/discussion.qmd"} <= set(files)
    assert "manuscript.article" in files["_quarto-manuscript.yml"]
    assert "author[].affiliations[].name" in files["_quarto.yml"]
    assert "cell:tbl-cap" in files["chapters/02-primary-outcome.qmd"]


def test_an_undocumented_key_is_reported(tmp_path):
    (tmp_path / "_quarto.yml").write_text("project:\n  type: book\nformat:\n  typst:\n    papersise: a4\n")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "a.qmd").write_text("---\ntitel: x\n---\n\n```{python}\n#| lable: x\n1\n```\n")
    assert unknown_keys(tmp_path) == ["_quarto.yml: format.typst.papersise", "chapters/a.qmd: front-matter:titel",
                                      "chapters/a.qmd: cell:lable"]


def test_key_paths_mark_list_items():
    assert used_keys({"a": [{"b": 1}, "c"], "d": {"e": None}}) == ["a", "a[].b", "a[]", "d", "d.e"]


def test_every_listed_key_names_a_quarto_reference_page():
    assert all(url.startswith("https://quarto.org/docs/") for url in QUARTO_KEYS.values())
