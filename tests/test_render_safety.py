"""The engine's defences against computed markup: the AST check of executed chapters, the Typst compile
folder and breakable long words in the PDF."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ipsreport.render import RenderError, pdf
from ipsreport.render.engine import render_book
from ipsreport.render.safety import check_computed_markup
from conftest import package_snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "book"
WHERE = "chapters/02-x.qmd"


def _check(executed: str, source: str = "Text 0.\n", figures=(), raw_html=()) -> None:
    check_computed_markup(executed, source, figures, raw_html, WHERE)


@pytest.mark.parametrize(
    ("executed", "named"),
    [
        ("Text ![p](/tmp/canary/secret.txt).", "an image with target `/tmp/canary/secret.txt`"),
        ("Text ![i](http://127.0.0.1:8765/t.png).", "an image with target `http://127.0.0.1:8765/t.png`"),
        ("Text [x](javascript:alert(1)).", "a link to `javascript:alert(1)`"),
        ("Text <http://127.0.0.1:8765/auto>.", "a link to `http://127.0.0.1:8765/auto`"),
        ('Text `#read("/kernels/a.json")`{=typst}.', 'raw typst `#read("/kernels/a.json")`'),
        ("Text `<w:p/>`{=openxml}.", "raw openxml `<w:p/>`"),
        ("Text <script>alert(1)</script>.", "raw html `<script>alert(1)</script>`"),
        ("Text <img src=x onerror=alert(1)>.", "raw html `<img src=x onerror=alert(1)>`"),
        ("Text\n\n```{=latex}\n\\input{/etc/passwd}\n```\n", "raw latex `\\input{/etc/passwd}`"),
        ("Text [x]{onclick=alert(1)}.", "an event-handler attribute `onclick=alert(1)`"),
    ],
)
def test_markup_from_a_value_is_rejected_naming_chapter_and_target(executed, named):
    with pytest.raises(RenderError) as err:
        _check(executed)
    message = str(err.value)
    assert message.startswith(f"{WHERE}: computed output would put markup into the book")
    assert named in message


def test_markup_written_in_the_source_and_made_by_the_engine_is_kept():
    source = ("See [the protocol](https://example.org/p) and ![logo](img/logo.png) `<br>`{=html} 0 and\n\n"
              "```{=typst}\n#pagebreak()\n```\n")
    table = "<table><tr><td>&lt;script&gt;</td></tr></table>"
    executed = (source.replace("0", "42") + "\n![](figures/02-x-1.png){width=6in}\n\n"
                f"```{{=html}}\n{table}\n```\n")
    _check(executed, source, figures=["02-x-1.png"], raw_html=[table + "\n"])


def test_the_same_targets_are_rejected_when_not_the_engines():
    with pytest.raises(RenderError, match=r"an image with target `figures/02-x-2\.png`"):
        _check("![](figures/02-x-2.png)", figures=["02-x-1.png"])
    with pytest.raises(RenderError, match=r"raw html `<table>"):
        _check("```{=html}\n<table></table>\n```\n", raw_html=["<table><tr></tr></table>"])


def test_long_targets_and_control_characters_are_shown_short_and_escaped():
    with pytest.raises(RenderError) as err:
        _check("![p](/tmp/" + "a" * 500 + ")[x](javascript:\x1b[2J)")
    assert "/tmp/" + "a" * 94 + "…`" in str(err.value)
    assert "javascript:\\x1b%5B2J" in str(err.value) and "\x1b" not in str(err.value)


def test_typst_compiles_in_a_folder_of_its_source_and_figures_only(tmp_path, monkeypatch):
    work = tmp_path / "work"
    for name in ("kernels/ch/kernel.json", "reads/ch.json", "results/ch.json", "book.md", "figures/ch-1.png"):
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text("secret")
    seen = {}

    def compile(source, output, root, **kw):
        seen["root"] = Path(root)
        seen["files"] = sorted(p.relative_to(root).as_posix() for p in Path(root).rglob("*"))
        Path(output).write_bytes(b"%PDF")

    import typst

    monkeypatch.setattr(typst, "compile", compile)
    from ipsreport.render.project import read_book

    pdf.write_pdf(read_book(FIXTURE), {"pandoc-api-version": [1, 23, 1], "meta": {}, "blocks": []},
                  None, None, work, tmp_path / "book.pdf")
    assert seen["root"] == work / "typst"
    assert seen["files"] == ["book.typ", "figures", "figures/ch-1.png"]


def test_long_words_get_a_break_opportunity_after_every_character():
    word = "x" * 5000
    ast = {"blocks": [{"t": "Para", "c": [{"t": "Str", "c": "short"}, {"t": "Space"}, {"t": "Str", "c": f"({word})"}]}]}
    para = pdf.break_long_words(ast)["blocks"][0]["c"]
    assert para[0] == {"t": "Str", "c": "short"}
    broken = para[2]["c"]
    assert broken.replace(pdf.ZWSP, "") == f"({word})"
    assert broken.count(pdf.ZWSP) == len(word) + 1  # between every two of the 5,002 characters
    assert pdf.break_long_words({"c": [{"t": "Str", "c": "a" * 29}]}) == {"c": [{"t": "Str", "c": "a" * 29}]}


@pytest.fixture
def isolated_engine(tmp_path):
    with package_snapshot(tmp_path / "package"):
        yield


def test_a_render_whose_value_injects_an_image_fails_and_keeps_the_book(isolated_engine, tmp_path):
    project = tmp_path / "book"
    shutil.copytree(FIXTURE, project)
    (project / "_book").mkdir()
    (project / "_book" / "index.html").write_text("previous")
    (project / "_book" / "results.json").write_text("{}")  # an earlier render's output, which may be replaced
    chapter = project / "chapters" / "02-results.qmd"
    chapter.write_text(chapter.read_text() + "\nA value: `{python} __import__('IPython').display.Markdown("
                       "'![p](/etc/hostname)')`\n")
    with pytest.raises(RenderError) as err:
        render_book(project, formats=["html"], engine="builtin")
    assert str(err.value).startswith("chapters/02-results.qmd: computed output would put markup into the book")
    assert "an image with target `/etc/hostname`" in str(err.value)
    assert sorted(p.name for p in (project / "_book").iterdir()) == ["index.html", "results.json"]
    assert (project / "_book" / "index.html").read_text() == "previous"


def test_links_in_prose_and_captions_count_as_written_in_the_source():
    from ipsreport.render.execute import _source_markdown
    from ipsreport.render.qmd import parse_qmd

    doc = parse_qmd('# T\n\nSee [a](https://a.org) `{python} x`.\n\n```{python}\n#| label: fig-a\n'
                    '#| fig-cap: "After [b](https://b.org)."\n1\n```\n', WHERE)
    source = _source_markdown(doc)
    _check("# T\n\nSee [a](https://a.org) 42.\n\n[After [b](https://b.org).]{.cap}\n", source)
    with pytest.raises(RenderError, match="a link to `https://c.org`"):
        _check("# T\n\nSee [a](https://a.org) [c](https://c.org).\n", source)
