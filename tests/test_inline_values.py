"""Inline `{python}` values are printed by Quarto's rule, and no chapter prints a Python repr into the text.

Quarto's rule (quarto-cli 1.11.0, src/core/jupyter/jupyter-inline.ts): the kernel formats the value as a
Jupyter user expression; ``text/markdown`` is inserted as is, quoted ``text/plain`` loses its quotes and is
escaped, other ``text/plain`` is inserted verbatim (so ``np.int64(8)`` reaches the text).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from IPython.core.formatters import DisplayFormatter

from ipsreport.render import RenderError, pandoc
from ipsreport.render.inline import quarto_escaped_plain, quarto_inline_markdown
from ipsreport.render.project import read_book
from ipsreport.render.qmd import Cell, InlineExpr, read_qmd

ROOT = Path(__file__).resolve().parents[1]


def _bundle(expr: str, setup: str = "") -> dict:
    """The MIME bundle IPython makes of the value (the formatter a kernel's user expressions go through)."""
    namespace: dict = {}
    exec("import numpy as np\nfrom IPython.display import Markdown\n" + setup, namespace)
    data, _ = DisplayFormatter().format(eval(expr, namespace))
    return data


# Quarto's own test document tests/docs/smoke-all/inline-execution/inline-jupyter.qmd, with the markdown each
# value becomes, worked by hand from asEscapedMarkdown.
QUARTO_TEST_DOCUMENT = [
    ("1", "1"),
    ('"foo"', "foo"),
    ("'\"foo\"'", '"foo"'),  # repr '"foo"': the outer single quotes go, the inner double quotes stay
    ("'\"foo'", '"foo'),
    ("'*foo*'", r"\*foo\*"),
    ('"*foo*"', r"\*foo\*"),
    ("\"'foo\"", "'foo"),  # repr "'foo"
    ('"1"', "1"),
    ("False", "False"),
    ("True", "True"),
    ("None", "None"),
    ('Markdown("*foo*")', "*foo*"),
]


@pytest.mark.parametrize(("expr", "expected"), QUARTO_TEST_DOCUMENT)
def test_quarto_test_document_values(expr, expected):
    assert quarto_inline_markdown(_bundle(expr), expr, "doc.qmd:1") == expected


def test_numpy_scalars_print_their_repr_as_quarto_does():
    assert quarto_inline_markdown(_bundle("np.int64(8)"), "x", "doc.qmd:1") == "np.int64(8)"
    assert quarto_inline_markdown(_bundle("np.float64(0.5)"), "x", "doc.qmd:1") == "np.float64(0.5)"


def test_quoted_plain_text_escapes_quartos_character_class():
    # The class [\\`*_{}\[\]()>#+-.!] holds the range +-. (+ , - .); < & $ @ are not escaped.
    assert quarto_escaped_plain("'a,b-c.d+e!f#g>h<i&j$k@l'") == r"a\,b\-c\.d\+e\!f\#g\>h<i&j$k@l"
    assert quarto_escaped_plain("'[x](y) `z` {w} _v_'") == r"\[x\]\(y\) \`z\` \{w\} \_v\_"
    # Backslashes are doubled, then escaped again: one backslash in the value (two in its repr) becomes eight.
    assert quarto_escaped_plain("'a\\\\b'") == "a" + "\\" * 8 + "b"
    assert quarto_escaped_plain("no quotes [x]") == "no quotes [x]"


def test_empty_value_leaves_the_expression_in_the_text():
    assert quarto_inline_markdown(_bundle('""'), "x[0]", "doc.qmd:1") == "`{python} x[0]`"


def test_value_displayed_differently_per_format_is_an_error():
    with pytest.raises(RenderError, match=r"doc\.qmd:3: inline expression `df` returns a value displayed as text/html"):
        quarto_inline_markdown(_bundle("pd.DataFrame({'a': [1]})", "import pandas as pd"), "df", "doc.qmd:3")


# --- every inline expression of every chapter, in a real kernel, as Quarto runs them ----------------------

_REPR = re.compile(r"np\.|dtype|array\(|Series|Name:| object at 0x|<IPython|\{python\}")


def _kernel(tmp: Path):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = tmp / "kernels" / "ipsr-inline"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "ipsreport inline test", "language": "python",
        "env": {"IPSREPORT_PROJECT_DIR": str(ROOT), "IPSREPORT_RESULTS_FILE": str(tmp / "results.json"),
                "MPLBACKEND": "module://matplotlib_inline.backend_inline"},
    }))
    km = KernelManager(kernel_name="ipsr-inline", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]),
                       transport="ipc", ip=str(tmp / "ipc"))
    km.start_kernel(cwd=str(ROOT))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    return km, kc


def _chapter_values(path: str, tmp: Path) -> list[tuple[InlineExpr, str]]:
    """Run the chapter as Quarto's notebook.py does: cells in order, each markdown cell's inline expressions as
    one execute request with ``user_expressions``; format each value by Quarto's rule."""
    doc = read_qmd(ROOT, path)
    km, kc = _kernel(tmp)
    values = []
    try:
        for block in doc.blocks:
            if isinstance(block, Cell):
                reply = kc.execute_interactive(block.source, output_hook=lambda msg: None, timeout=600)
                assert reply["content"]["status"] == "ok", f"{path}:{block.line}: {reply['content'].get('evalue')}"
                continue
            exprs = [p for p in block.parts if isinstance(p, InlineExpr)]
            if not exprs:
                continue
            reply = kc.execute_interactive("", user_expressions={str(i): e.expr for i, e in enumerate(exprs)},
                                           output_hook=lambda msg: None, timeout=600)
            results = reply["content"]["user_expressions"]
            for i, expr in enumerate(exprs):
                result = results[str(i)]
                assert result["status"] == "ok", f"{path}:{expr.line}: `{expr.expr}`: {result.get('evalue')}"
                values.append((expr, quarto_inline_markdown(result["data"], expr.expr, f"{path}:{expr.line}")))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return values


def _plain_texts(markdowns: list[str]) -> list[str]:
    sep = "IPSRSEPARATOR"
    text = pandoc.run(["-f", pandoc.READER, "-t", "plain", "--wrap=none"], f"\n\n{sep}\n\n".join(markdowns))
    return [t.strip() for t in text.split(sep)]


@pytest.mark.slow
def test_every_inline_value_of_every_chapter_prints_as_text(tmp_path):
    book = read_book(ROOT)
    values = []
    for i, chapter in enumerate(book.chapters):
        values += [(chapter.path, *v) for v in _chapter_values(chapter.path, tmp_path / str(i))]
    assert len(values) > 100  # every chapter ran and printed its values
    problems = []
    for (path, expr, markdown), text in zip(values, _plain_texts([m for _, _, m in values])):
        where = f"{path}:{expr.line}: `{expr.expr}` printed {markdown!r}"
        if _REPR.search(markdown) or _REPR.search(text):
            problems.append(where)
        elif not text or text[0] in "'\"[({" or text[-1] in "'\"" or "\\" in text:
            problems.append(where)
    assert problems == [], "\n".join(problems)
