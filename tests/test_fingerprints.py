"""Input fingerprints: which files count as inputs of a render, and how a change is reported."""

import hashlib

from ipsreport.fingerprints import input_files, input_fingerprints, stale_inputs


def _project(tmp_path):
    (tmp_path / "_quarto.yml").write_text("project: {type: book}\n")
    (tmp_path / "index.qmd").write_text("# Hello\n")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "a.qmd").write_text("# A\n")
    (tmp_path / "data" / "s").mkdir(parents=True)
    (tmp_path / "data" / "s" / "x.csv").write_text("id\n1\n")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "design.yaml").write_text("a: 1\n")
    for out in ("_book", ".venv", "tests", ".ipsreport-cache"):
        (tmp_path / out).mkdir()
        (tmp_path / out / "x.qmd").write_text("not an input\n")
    return tmp_path


def test_inputs_are_sources_config_and_data_not_outputs(tmp_path):
    root = _project(tmp_path)
    assert input_files(root) == ["_quarto.yml", "chapters/a.qmd", "config/design.yaml", "data/s/x.csv", "index.qmd"]
    assert input_fingerprints(root)["data/s/x.csv"] == hashlib.sha256(b"id\n1\n").hexdigest()


def test_stale_inputs_names_changed_added_and_removed_files(tmp_path):
    root = _project(tmp_path)
    recorded = input_fingerprints(root)
    assert stale_inputs(recorded, root) == {"changed": [], "added": [], "removed": []}
    (root / "data" / "s" / "x.csv").write_text("id\n2\n")
    (root / "chapters" / "b.qmd").write_text("# B\n")
    (root / "config" / "design.yaml").unlink()
    assert stale_inputs(recorded, root) == {
        "changed": ["data/s/x.csv"], "added": ["chapters/b.qmd"], "removed": ["config/design.yaml"]}
