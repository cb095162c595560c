"""Publishing the review site: gh-pages through a bare remote, folder and zip, and every guard.

The site here is a small stand-in for a render (pages, a PDF, a DOCX and results.json with the input
fingerprints a render records), so the guards and the git handling are tested without rendering the book;
tests/test_book.py publishes a real render.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ipsreport import publish
from ipsreport.fingerprints import input_fingerprints

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["index.html", "01-methods.html", "02-primary-outcome.html", "05-feasibility.html"]
AUTHOR = "Ada Reviewable"
AFFILIATION = "Institute of Openly Named Things"
EMAIL = "ada@example.org"


def _git(cwd: Path, *args: str) -> str:
    env_args = ["-c", "user.name=Test", "-c", "user.email=test@example.org", "-c", "init.defaultBranch=main"]
    return subprocess.run(["git", *env_args, *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def _pdf(text: str) -> bytes:
    import typst

    return typst.compile(f"#set page(width: 10cm, height: 5cm)\n{text}\n".encode())


def _docx(path: Path, text: str) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    document.save(path)


def write_site(project: Path, *, folder: str = "_book", extra: str = "", author: bool = False) -> Path:
    """A stand-in for a render of ``project``: pages, PDF, DOCX and results.json with ``_meta.inputs``."""
    site = project / folder
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir()
    byline = f"<p>{AUTHOR}, {AFFILIATION}</p>" if author else ""
    for page in PAGES:
        (site / page).write_text(f"<html><body><h1>{page}</h1>{byline}<p>38.2% employed {extra}</p></body></html>")
    (site / "book.pdf").write_bytes(_pdf(f"Employment 38.2% {extra}"))
    _docx(site / "book.docx", f"Employment 38.2% {extra}")
    results = {"primary.m12.ips_percent": 38.2, "_meta": {"inputs": input_fingerprints(project)}}
    (site / "results.json").write_text(json.dumps(results))
    return site


@pytest.fixture
def project(tmp_path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(ROOT / "data", project / "data", ignore=shutil.ignore_patterns("examples"))
    shutil.copytree(ROOT / "chapters", project / "chapters")
    shutil.copytree(ROOT / "config", project / "config")
    shutil.copy(ROOT / "index.qmd", project / "index.qmd")
    (project / "_quarto.yml").write_text(
        "project:\n  type: book\n  output-dir: _book\nbook:\n  title: A report\n  author:\n"
        f"    - name: \"{AUTHOR}\"\n      affiliation: \"{AFFILIATION}\"\n      email: \"{EMAIL}\"\n"
        "  chapters: [index.qmd]\n")
    (project / ".gitignore").write_text("_book/\n_book-blinded/\n")
    write_site(project)
    return project


@pytest.fixture
def repo(project, tmp_path) -> tuple[Path, Path]:
    """The project as a git repository with a bare repository as its remote ``origin``."""
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "--bare", "-q", str(remote))
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "project")
    _git(project, "remote", "add", "origin", str(remote))
    return project, remote


def _clone_pages(remote: Path, target: Path) -> Path:
    subprocess.run(["git", "clone", "-q", "--branch", "gh-pages", str(remote), str(target)], check=True,
                   capture_output=True)
    return target


def _project_state(project: Path) -> tuple[str, str, str, str]:
    return (_git(project, "rev-parse", "HEAD"), _git(project, "symbolic-ref", "HEAD"),
            _git(project, "status", "--porcelain", "--untracked-files=all"), _git(project, "diff", "--cached"))


def test_gh_pages_publishes_the_site_and_leaves_the_project_alone(repo, tmp_path):
    project, remote = repo
    before = _project_state(project)
    result = publish.publish_gh_pages(project, message="first submission")
    assert _project_state(project) == before
    clone = _clone_pages(remote, tmp_path / "pages")
    for name in [*PAGES, "book.pdf", "book.docx", "results.json", ".nojekyll", "versions.html", "versions.json"]:
        assert (clone / name).is_file(), name
    assert result.commit == _git(clone, "rev-parse", "HEAD")
    assert _git(clone, "rev-list", "--count", "HEAD") == "1"
    assert _git(clone, "log", "-1", "--format=%P") == ""  # an orphan branch: no parent
    versions = json.loads((clone / "versions.json").read_text())
    assert [v["version"] for v in versions] == [1]
    assert versions[0]["message"] == "first submission"
    assert versions[0]["data"]["data/ips-pain/employment.csv"] == input_fingerprints(project)["data/ips-pain/employment.csv"]
    assert "first submission" in (clone / "versions.html").read_text()
    ids = publish.participant_ids(project)
    assert "NO-001" in ids and len(ids) > 100
    texts = "\n".join(text for _, text in publish.site_texts(clone))
    assert not any(i in texts for i in ids)


def test_second_publish_adds_one_commit_with_the_files_the_render_changed(repo, tmp_path):
    project, remote = repo
    publish.publish_gh_pages(project)
    # A data change and a re-render that changes one page, the PDF and results.json.
    employment = project / "data" / "ips-pain" / "employment.csv"
    employment.write_text(employment.read_text().replace(",12,0", ",12,1", 1))
    site = project / "_book"
    (site / "02-primary-outcome.html").write_text("<html><body><h1>p</h1><p>39.9% employed</p></body></html>")
    (site / "book.pdf").write_bytes(_pdf("Employment 39.9%"))
    results = {"primary.m12.ips_percent": 39.9, "_meta": {"inputs": input_fingerprints(project)}}
    (site / "results.json").write_text(json.dumps(results))
    (site / "changes.html").write_text("<html><body><h1>Changes</h1><p>38.2 → 39.9</p></body></html>")
    result = publish.publish_gh_pages(project, message="data update")
    clone = _clone_pages(remote, tmp_path / "pages")
    assert _git(clone, "rev-list", "--count", "HEAD") == "2"
    changed = set(_git(clone, "diff", "--name-only", "HEAD~1", "HEAD").split())
    render_changed = {"02-primary-outcome.html", "book.pdf", "results.json", "changes.html"}
    publish_record = {"versions.html", "versions.json", "versions/2/changes.html"}
    assert changed == render_changed | publish_record
    assert set(result.added) == {"changes.html", "versions/2/changes.html"}
    assert set(result.changed) == render_changed - {"changes.html"} | {"versions.html", "versions.json"}
    assert [v["version"] for v in json.loads((clone / "versions.json").read_text())] == [1, 2]


def test_stale_render_is_refused(repo):
    project, remote = repo
    chapter = project / "chapters" / "02-primary-outcome.qmd"
    chapter.write_text(chapter.read_text() + "\nOne more sentence.\n")
    with pytest.raises(publish.PublishRefused, match=r"stale: 1 input file\(s\) changed .*chapters/02-primary-outcome.qmd"):
        publish.publish_gh_pages(project)
    assert subprocess.run(["git", "ls-remote", "--heads", str(remote)], capture_output=True, text=True).stdout == ""


def test_missing_site_and_missing_fingerprints_are_refused(project, tmp_path):
    (project / "_book" / "results.json").write_text(json.dumps({"primary.m12.ips_percent": 38.2}))
    with pytest.raises(publish.PublishRefused, match="no fingerprints"):
        publish.publish_folder(project, tmp_path / "out")
    shutil.rmtree(project / "_book")
    with pytest.raises(publish.PublishRefused, match="no rendered site at _book/"):
        publish.publish_folder(project, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_real_data_need_confirmation(project, tmp_path):
    meta = project / "data" / "instep" / "dataset.yaml"
    meta.write_text(meta.read_text().replace("synthetic: true", "synthetic: false"))
    write_site(project)  # re-rendered after the flag changed, so the render is current
    with pytest.raises(publish.PublishRefused, match=r"data/instep hold\(s\) real participant data.*--confirm-real-data"):
        publish.publish_folder(project, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    result = publish.publish_folder(project, tmp_path / "out", confirm_real_data=True)
    assert (tmp_path / "out" / "index.html").is_file() and result.version["version"] == 1


@pytest.mark.parametrize("where", ["html", "pdf", "docx"])
def test_a_participant_id_anywhere_in_the_site_is_refused(project, tmp_path, where):
    site = project / "_book"
    if where == "html":
        (site / "05-feasibility.html").write_text("<p>UK-017 said</p>")
    elif where == "pdf":
        (site / "book.pdf").write_bytes(_pdf("participant NO-012 worked"))
    else:
        _docx(site / "book.docx", "row HC-0042 was employed")
    with pytest.raises(publish.PublishRefused, match=r"participant identifiers .* 1 occurrence\(s\) in 1 file\(s\)"):
        publish.publish_zip(project, tmp_path / "site.zip")
    assert not (tmp_path / "site.zip").exists()


def test_blinded_publish_needs_a_clean_blinded_render(project, tmp_path):
    with pytest.raises(publish.PublishRefused, match="no blinded render at _book-blinded/"):
        publish.publish_folder(project, tmp_path / "out", blinded=True)
    write_site(project, folder="_book-blinded", author=True)
    with pytest.raises(publish.PublishRefused, match="author names, affiliations or e-mails appear"):
        publish.publish_folder(project, tmp_path / "out", blinded=True)
    write_site(project, folder="_book-blinded")
    result = publish.publish_folder(project, tmp_path / "out", blinded=True)
    assert result.version["blinded"] is True
    assert AUTHOR not in (tmp_path / "out" / "index.html").read_text()
    assert publish.author_terms(project) == {AUTHOR, AFFILIATION, EMAIL}


def test_folder_publish_keeps_history_and_refuses_foreign_folders(project, tmp_path):
    out = tmp_path / "out"
    publish.publish_folder(project, out, message="one")
    second = publish.publish_folder(project, out, message="two")
    assert [v["message"] for v in json.loads((out / "versions.json").read_text())] == ["one", "two"]
    assert second.changed == ["versions.html", "versions.json"] and second.added == [] and second.removed == []
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(publish.PublishRefused, match="not empty and holds no earlier publish"):
        publish.publish_folder(project, foreign)
    assert (foreign / "thesis.tex").read_text() == "precious"
    for bad in (project, project / "data" / "site", project / "_book" / "x"):
        with pytest.raises(publish.PublishRefused):
            publish.publish_folder(project, bad)


def test_zip_publish_opens_offline(project, tmp_path):
    target = tmp_path / "review" / "site.zip"
    publish.publish_zip(project, target, message="for the editor")
    with zipfile.ZipFile(target) as z:
        names = set(z.namelist())
        assert {*PAGES, "book.pdf", "book.docx", "versions.html", "versions.json"} <= names
        assert "38.2% employed" in z.read("index.html").decode()
    publish.publish_zip(project, target, message="revision")
    with zipfile.ZipFile(target) as z:
        assert [v["message"] for v in json.loads(z.read("versions.json"))] == ["for the editor", "revision"]


def test_github_pages_address():
    assert publish.github_pages_url("git@github.com:Owner/ips-report.git") == "https://owner.github.io/ips-report/"
    assert publish.github_pages_url("https://github.com/owner/ips-report") == "https://owner.github.io/ips-report/"
    assert publish.github_pages_url("https://github.com/owner/owner.github.io.git") == "https://owner.github.io/"
    assert publish.github_pages_url("/srv/git/report.git") is None


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ipsreport.cli", "publish", *args, "-C", str(project)],
                          capture_output=True, text=True, timeout=120)


def test_cli_refusal_is_one_line_and_exit_2(project, tmp_path):
    chapter = project / "index.qmd"
    chapter.write_text(chapter.read_text() + "\nEdited.\n")
    result = _cli(project, "folder", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("Not published: the render in _book/ is stale")


def test_cli_gh_pages_prints_commit_and_changes(repo):
    project, _ = repo
    result = _cli(project, "gh-pages", "--message", "first")
    assert result.returncode == 0, result.stderr
    assert "Published version 1 to origin/gh-pages" in result.stderr
    assert "commit " in result.stderr and "added" in result.stderr
    assert _cli(project, "gh-pages", "--remote", "nowhere").stderr.startswith("Not published: the repository has no remote")
