"""Finding the project (data/ and config/) from a chapter's kernel, under either engine."""

from pathlib import Path

from ipsreport import paths


def test_environment_names_the_project(monkeypatch, tmp_path):
    monkeypatch.setenv("IPSREPORT_PROJECT_DIR", str(tmp_path))
    assert paths.data_dir() == tmp_path / "data"
    assert paths.config_file() == tmp_path / "config" / "design.yaml"


def test_quarto_project_root_is_used(monkeypatch, tmp_path):
    monkeypatch.delenv("IPSREPORT_PROJECT_DIR", raising=False)
    monkeypatch.setenv("QUARTO_PROJECT_ROOT", str(tmp_path))
    assert paths.project_dir() == tmp_path


def test_nearest_quarto_project_above_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("IPSREPORT_PROJECT_DIR", raising=False)
    monkeypatch.delenv("QUARTO_PROJECT_ROOT", raising=False)
    (tmp_path / "_quarto.yml").write_text("project: {type: book}\n")
    (tmp_path / "chapters").mkdir()
    monkeypatch.chdir(tmp_path / "chapters")
    assert paths.project_dir() == tmp_path
    monkeypatch.chdir(Path("/"))
    assert paths.project_dir() == Path(paths.__file__).resolve().parents[1]
