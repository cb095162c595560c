"""The manuscript profile end to end on the fixture book (a few seconds per render): article numbering, journal
layout, word counts recomputed from the DOCX, the checklist's page and line numbers, --strict, blinding, the
supplement, figure files and the submission bundle."""

import json
import re
import shutil
import zipfile
from pathlib import Path

import docx
import pypdf
import pytest

from ipsreport.render import RenderError
from ipsreport.render.manuscript import ManuscriptBackend
from ipsreport.render.pipeline import run_pipeline
from conftest import package_snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "book"
LABELLED = ("::: {#consort-6}\nSupported employment places people in ordinary jobs quickly and keeps supporting "
            "them once they work; this paragraph is the background the checklist points at.\n:::\n")

PROFILE = """project:
  type: manuscript
  output-dir: _manuscript
manuscript:
  article: manuscript.qmd
filters:
  - shift-headings.lua
"""
ARTICLE = """---
title: "A randomized trial of supported employment: fixture manuscript"
---

# Abstract {#abstract .unnumbered}

Supported employment was compared with usual care in a tiny randomized fixture trial of eight people.

{{< include chapters/01-methods.qmd >}}

# Results {.unnumbered}

::: {shift-heading-level-by="1"}
{{< include chapters/02-results.qmd >}}
:::

{{< include chapters/references.qmd >}}
"""
SETTINGS = """running-title: "Fixture running title"
paper: letter
word-limits: {abstract: 10, main-text: 5000}
checklist: config/checklist.yaml
reanalysis:
  funding: "TO BE SUPPLIED: funding"
"""
CHECKLIST = """checklists:
  - id: c
    title: Fixture checklist
    items:
      - {id: "1a", title: "Title", places: ["@title"]}
      - {id: "6", title: "Background", places: [consort-6]}
      - {id: "16a", title: "Design", places: [sec-design]}
      - {id: "12b", title: "Optional thing", places: [], required: false}
"""


@pytest.fixture(scope="module", autouse=True)
def isolated_engine(tmp_path_factory):
    with package_snapshot(tmp_path_factory.mktemp("package")) as snapshot:
        yield snapshot


def _project(folder: Path, labelled: bool = True, before: str = "") -> Path:
    project = folder / "book"
    shutil.copytree(FIXTURE, project)
    methods = project / "chapters" / "01-methods.qmd"
    text = methods.read_text()
    insert = before + (LABELLED if labelled else "")
    methods.write_text(text.replace("## Design {#sec-design}", insert + "\n## Design {#sec-design}"))
    (project / "_quarto-manuscript.yml").write_text(PROFILE)
    (project / "manuscript.qmd").write_text(ARTICLE)
    (project / "config").mkdir()
    (project / "config" / "manuscript.yaml").write_text(SETTINGS)
    (project / "config" / "checklist.yaml").write_text(CHECKLIST)
    return project


def _render(project: Path, strict: bool = False):
    return run_pipeline(project, ManuscriptBackend("manuscript", strict=strict), ["pdf", "docx"])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    project = _project(tmp_path_factory.mktemp("ms"))
    summary = _render(project)
    return project, summary


def _pdf_text(path: Path) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(path).pages)


def _checklist(project: Path) -> dict[str, dict]:
    rows = json.loads((project / "_manuscript" / "checklist.json").read_text())
    return {r["id"]: r for r in rows}


def test_every_output_is_written_and_bundled_with_sha256(rendered):
    project, _ = rendered
    out = project / "_manuscript"
    for name in ["manuscript.pdf", "manuscript.docx", "manuscript-blinded.pdf", "manuscript-blinded.docx",
                 "supplement.pdf", "supplement.docx", "checklist.pdf", "checklist.docx", "checklist.json",
                 "manuscript.json", "figures/figure-1.pdf", "figures/figure-1.png", "submission.zip"]:
        assert (out / name).is_file(), name
    with zipfile.ZipFile(out / "submission.zip") as z:
        manifest = json.loads(z.read("manifest.json"))["items"]
        import hashlib
        for row in manifest:
            assert hashlib.sha256(z.read(row["file"])).hexdigest() == row["sha256"]
        assert "manifest.xml" in z.namelist()
    roles = {r["file"]: r["role"] for r in manifest}
    assert roles["manuscript.pdf"] == "manuscript" and roles["manuscript-blinded.docx"] == "manuscript-blinded"
    assert roles["figures/figure-1.pdf"] == "figure" and roles["checklist.pdf"] == "reporting-checklist"


def test_article_numbering_line_numbers_and_supplement_reference(rendered):
    project, _ = rendered
    text = _pdf_text(project / "_manuscript" / "manuscript.pdf")
    assert "Table 1" in text and "Figure 1" in text
    assert not re.search(r"Table \d+\.\d+|Figure \d+\.\d+", text)
    assert "Supplementary material" in text or "Supplementary Table" in text  # @sec-extra is in the supplement
    # Continuous line numbers: 1, 2, 3 … in the margin of the first pages.
    words = pypdf.PdfReader(project / "_manuscript" / "manuscript.pdf").pages[1].extract_text()
    assert re.search(r"(^|\n)\s*\d+\s", words)
    supplement = _pdf_text(project / "_manuscript" / "supplement.pdf")
    assert "Table S1" in supplement or "Figure S1" in supplement or "Extra" in supplement


def test_letter_paper_from_the_settings_in_pdf_and_docx(rendered):
    project, _ = rendered
    box = pypdf.PdfReader(project / "_manuscript" / "manuscript.pdf").pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    xml = zipfile.ZipFile(project / "_manuscript" / "manuscript.docx").read("word/document.xml").decode()
    assert '<w:pgSz w:w="12240" w:h="15840"/>' in xml
    assert '<w:lnNumType w:countBy="1" w:restart="continuous"/>' in xml
    styles = zipfile.ZipFile(project / "_manuscript" / "manuscript.docx").read("word/styles.xml").decode()
    assert 'w:line="480"' in styles and '<w:sz w:val="24"/>' in styles


def _independent_counts(path: Path) -> tuple[int, int]:
    """Journal counting, written separately from the engine: python-docx paragraphs, tables skipped (not in
    doc.paragraphs), headings and captions skipped, from "Abstract" to the next heading, then to References."""
    d = docx.Document(str(path))
    abstract = main = 0
    state = None
    for p in d.paragraphs:
        style = p.style.name if p.style is not None else ""
        if style.startswith("Heading"):
            title = p.text.strip()
            if title in {"References", "Declarations"}:
                break
            state = "abstract" if title == "Abstract" else ("main" if state else None)
            continue
        if "Caption" in style or style in {"Title", "Bibliography"}:
            continue
        n = len([w for w in p.text.split() if any(ch.isalnum() for ch in w)])
        if state == "abstract":
            abstract += n
        elif state == "main":
            main += n
    return abstract, main


def test_word_counts_agree_with_an_independent_count_of_the_docx_within_2_percent(rendered):
    project, summary = rendered
    report = json.loads((project / "_manuscript" / "manuscript.json").read_text())
    abstract, main = _independent_counts(project / "_manuscript" / "manuscript.docx")
    assert abs(report["word_counts"]["abstract"] - abstract) <= 0.02 * abstract
    assert abs(report["word_counts"]["main_text"] - main) <= 0.02 * main
    assert report["word_counts"]["abstract"] == 16  # the fixture abstract, counted by hand
    assert any("abstract: 16 words, over the limit of 10" in n for n in summary.notes)


def test_checklist_gives_pages_and_lines_or_not_reported(rendered):
    project, _ = rendered
    rows = _checklist(project)
    assert rows["1a"]["status"] == "reported" and rows["1a"]["page"] == 1
    assert rows["1a"]["first_line"] == 1 and rows["1a"]["last_line"] >= 1  # the title's own lines
    for item in ("6", "16a"):
        assert rows[item]["status"] == "reported"
        assert rows[item]["page"] >= 1 and 1 <= rows[item]["first_line"] <= rows[item]["last_line"]
    assert rows["12b"]["status"] == "not reported"
    text = _pdf_text(project / "_manuscript" / "checklist.pdf")
    assert "not reported" in text and re.search(r"page \d+, lines? \d+", text)


def test_moving_a_labelled_paragraph_moves_its_reference(rendered, tmp_path):
    project, _ = rendered
    before = _checklist(project)["6"]
    pushed = _project(tmp_path, before="\n\n".join(["Filler paragraph that pushes the background down the page, "
                                                    "long enough to take a few lines of the manuscript."] * 12)
                      + "\n\n")
    _render(pushed)
    after = _checklist(pushed)["6"]
    assert after["first_line"] > before["first_line"]
    assert after["first_line"] - before["first_line"] >= 12  # twelve paragraphs of at least one line each


def test_removed_label_is_not_reported_and_strict_names_it(tmp_path):
    project = _project(tmp_path, labelled=False)
    _render(project)
    assert _checklist(project)["6"]["status"] == "not reported"
    first = (project / "_manuscript" / "manuscript.pdf").read_bytes()
    with pytest.raises(RenderError) as err:
        _render(project, strict=True)
    message = str(err.value)
    assert "item 6 (Background) is not reported" in message
    assert "reanalysis.funding is a placeholder" in message
    assert (project / "_manuscript" / "manuscript.pdf").read_bytes() == first  # previous output untouched


def test_blinded_files_hold_no_author_name_or_affiliation(rendered):
    project, _ = rendered
    out = project / "_manuscript"
    full = _pdf_text(out / "manuscript.pdf")
    assert "Test Author" in full and "Test Unit" in full
    blinded_pdf = _pdf_text(out / "manuscript-blinded.pdf")
    blinded_docx = "\n".join(p.text for p in docx.Document(str(out / "manuscript-blinded.docx")).paragraphs)
    for text in (blinded_pdf, blinded_docx):
        assert "Test Author" not in text and "Test Unit" not in text


def test_figures_as_vector_pdf_and_600_ppi_png(rendered):
    from PIL import Image

    project, _ = rendered
    fig = project / "_manuscript" / "figures"
    reader = pypdf.PdfReader(fig / "figure-1.pdf")
    assert "/XObject" not in reader.pages[0].get("/Resources", {})  # drawn, not a raster
    with Image.open(fig / "figure-1.png") as im:
        assert round(im.info["dpi"][0]) >= 600
        # The raster covers the vector page at 600 pixels per inch (72 pt per inch).
        assert abs(im.width - float(reader.pages[0].mediabox.width) / 72 * 600) <= 2


def test_tables_at_the_end_with_figure_legends_after_the_references(tmp_path):
    project = _project(tmp_path)
    settings = project / "config" / "manuscript.yaml"
    settings.write_text(settings.read_text() + "tables: end\n")
    _render(project)
    text = _pdf_text(project / "_manuscript" / "manuscript.pdf")
    assert text.index("References") < text.index("Figure legends") < text.rindex("Table 1")
    assert (project / "_manuscript" / "figures" / "figure-1.pdf").is_file()
