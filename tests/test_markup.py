"""The one escaping path: data strings read back from pandoc as exactly their characters, never as markup."""

from __future__ import annotations

import pytest
from IPython.display import Markdown

from ipsreport import wording
from ipsreport.markup import escape_markdown, literal, markdown_of
from ipsreport.render import pandoc

HOSTILE = [
    "![p](/etc/hostname)",
    "![i](http://127.0.0.1:8765/t.png)",
    '`#read("/kernels/x.json")`{=typst}',
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "`<w:p/>`{=openxml}",
    "<http://127.0.0.1:8765/auto>",
    "[span]{onclick=alert(1)}",
    "$x^2$ @ref [@key] ~sub~ ^sup^ **bold** _em_ | a | b | &amp; \\ trailing\\",
    "1. not a list",
    "# not a heading",
    "::: {.callout-note}",
    "it's \"quoted\" -- and...",
]


def _inlines(markdown: str) -> list:
    blocks = pandoc.markdown_to_ast(markdown)["blocks"]
    assert len(blocks) == 1 and blocks[0]["t"] == "Para", blocks
    return blocks[0]["c"]


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_reads_back_as_plain_words(text):
    inlines = _inlines(escape_markdown(text))
    assert {node["t"] for node in inlines} <= {"Str", "Space"}
    assert pandoc.stringify(inlines) == text


def test_line_breaks_and_control_characters_become_spaces():
    inlines = _inlines(escape_markdown("a\n\n# b\r\n    c\x1b[2J"))
    assert {node["t"] for node in inlines} <= {"Str", "Space"}
    assert pandoc.stringify(inlines) == "a # b c [2J"


def test_literal_and_markdown_of_return_markdown_values():
    assert isinstance(literal("<b>"), Markdown) and literal("<b>").data == r"\<b\>"
    value = markdown_of("**{name}** said {words}", name="*x*", words="<i>")
    assert value.data == r"**\*x\*** said \<i\>"


def test_data_notice_escapes_the_notice_but_keeps_its_callout(monkeypatch):
    monkeypatch.delenv("IPSREPORT_ENGINE", raising=False)

    class Data:
        synthetic = True
        notice = "Synthetic <script>alert(1)</script> ![p](/etc/hostname)"

    value = wording.data_notice(Data())
    ast = pandoc.markdown_to_ast(value.data)
    (div,) = ast["blocks"]
    assert div["t"] == "Div" and "callout-warning" in div["c"][0][1]
    header, para = div["c"][1]
    assert header["t"] == "Header" and pandoc.stringify(header["c"][2]) == "Synthetic data"
    assert {node["t"] for node in para["c"]} <= {"Str", "Space"}
    assert pandoc.stringify(para["c"]) == Data.notice


def test_data_notice_is_empty_for_real_data(monkeypatch):
    monkeypatch.delenv("IPSREPORT_ENGINE", raising=False)

    class Data:
        synthetic = False

    assert wording.data_notice(Data()).data == ""
