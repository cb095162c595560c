"""Reading _quarto.yml: the supported subset, errors for the rest, the synthetic-data notice."""

from pathlib import Path

import pytest

from ipsreport.render import RenderError
from ipsreport.render.project import read_book, read_notice

FIXTURE = Path(__file__).parent / "fixtures" / "book"
MINIMAL = "project:\n  type: book\nbook:\n  title: T\n  chapters:\n    - index.qmd\n    - a.qmd\n"


def _write(tmp_path, quarto):
    (tmp_path / "_quarto.yml").write_text(quarto)
    (tmp_path / "index.qmd").write_text("# Hi {.unnumbered}\n")
    (tmp_path / "a.qmd").write_text("# A\n")
    return tmp_path


def test_fixture_book_options():
    book = read_book(FIXTURE)
    assert [(c.path, c.kind, c.slug) for c in book.chapters] == [
        ("index.qmd", "front", "index"), ("chapters/01-methods.qmd", "chapter", "01-methods"),
        ("chapters/02-results.qmd", "chapter", "02-results"), ("chapters/references.qmd", "chapter", "references"),
        ("chapters/appendix-extra.qmd", "appendix", "appendix-extra"),
    ]
    assert book.title == "Fixture Trial Report" and book.date == "2024-05-01"
    assert book.authors == [{"name": "Test Author", "affiliation": "Test Unit"}]
    assert book.execute["echo"] is False and book.execute["warning"] is False and book.fig_dpi == 80
    # the CSL path of the real book resolves to the style shipped with the engine
    assert Path(book.csl).name == "vancouver-numeric.csl" and Path(book.csl).exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("crossref:\n  chapters: true\n", "top-level option(s) crossref not supported"),
        ("format:\n  html:\n    theme: cosmo\n", "format.html option(s) theme not supported"),
        ("format:\n  pdf: default\n", "format 'pdf' not supported"),
        ("execute:\n  freeze: auto\n", "execute option(s) freeze not supported"),
    ],
)
def test_unsupported_options_are_errors(tmp_path, extra, message):
    with pytest.raises(RenderError) as err:
        read_book(_write(tmp_path, MINIMAL + extra))
    assert message in str(err.value)


def test_unsupported_book_option_lists_supported(tmp_path):
    with pytest.raises(RenderError) as err:
        read_book(_write(tmp_path, MINIMAL.replace("  title: T\n", "  title: T\n  repo-url: x\n")))
    assert "book option(s) repo-url not supported" in str(err.value) and "appendices" in str(err.value)


def test_missing_chapter_file(tmp_path):
    with pytest.raises(RenderError, match="chapter file b.qmd does not exist"):
        read_book(_write(tmp_path, MINIMAL + "    - b.qmd\n"))


def test_notice_from_dataset_yaml(tmp_path):
    assert read_notice(FIXTURE) == "Fixture notice: these data are synthetic."
    assert read_notice(tmp_path) is None
    folder = tmp_path / "data" / "ips-pain"
    folder.mkdir(parents=True)
    (folder / "dataset.yaml").write_text("synthetic: false\nnotice: hidden\n")
    assert read_notice(tmp_path) is None
    (folder / "dataset.yaml").write_text("synthetic: true\n")
    assert read_notice(tmp_path).startswith("The data in this report are a synthetic reconstruction")


def test_notice_joins_every_synthetic_dataset(tmp_path):
    for name, synthetic in (("a-trial", "true"), ("b-pilot", "true"), ("c-real", "false")):
        folder = tmp_path / "data" / name
        folder.mkdir(parents=True)
        (folder / "dataset.yaml").write_text(f"synthetic: {synthetic}\nnotice: {name} is made up.\n")
    assert read_notice(tmp_path) == "a-trial is made up. b-pilot is made up."


def test_book_downloads_are_checked(tmp_path):
    import shutil

    import pytest

    from ipsreport.render import RenderError
    from ipsreport.render.project import read_book

    shutil.copytree(FIXTURE, tmp_path / "book")
    config = tmp_path / "book" / "_quarto.yml"
    config.write_text(config.read_text().replace("book:\n", "book:\n  downloads: [pdf, epub]\n", 1))
    with pytest.raises(RenderError, match="downloads"):
        read_book(tmp_path / "book")
