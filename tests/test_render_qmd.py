"""The .qmd parser: cells, #| options, nested fences, inline code and what is rejected."""

import pytest

from ipsreport.render import RenderError
from ipsreport.render.qmd import Cell, InlineExpr, Markdown, parse_qmd

DOC = """---
title: Methods
---

# Methods {#sec-methods}

We had `{python} n` people, shown ``literally as `{python} n` `` and `plain code`.

````markdown
```{python}
#| label: fig-shown
print("never run")
```
````

```{python}
#| label: tbl-a
#| tbl-cap: "A table"
#| echo: true
import pandas as pd
pd.DataFrame({"a": [1]})
```

After: `{python} n + 1`.
"""


def test_cells_and_options():
    doc = parse_qmd(DOC, "ch.qmd")
    assert doc.front_matter == {"title": "Methods"}
    cells = doc.cells
    assert len(cells) == 1
    assert cells[0].options == {"label": "tbl-a", "tbl-cap": "A table", "echo": True}
    assert cells[0].source == 'import pandas as pd\npd.DataFrame({"a": [1]})'
    assert cells[0].line == 16  # the opening fence, 1-based in the file
    assert cells[0].label == "tbl-a"


def test_nested_fence_is_text_not_a_cell():
    doc = parse_qmd(DOC, "ch.qmd")
    prose = "".join(p for b in doc.blocks if isinstance(b, Markdown) for p in b.parts if isinstance(p, str))
    assert '````markdown\n```{python}\n#| label: fig-shown\nprint("never run")\n```\n````' in prose
    assert all(c.label != "fig-shown" for c in doc.cells)


def test_inline_expressions_in_order_with_lines():
    doc = parse_qmd(DOC, "ch.qmd")
    assert doc.inline_exprs == [InlineExpr("n", 7), InlineExpr("n + 1", 24)]
    # the double-backtick span shows inline syntax literally and is not evaluated
    first = doc.blocks[0]
    assert "``literally as `{python} n` ``" in "".join(p for p in first.parts if isinstance(p, str))
    assert isinstance(doc.blocks[1], Cell) and isinstance(doc.blocks[2], Markdown)


def test_inline_code_inside_fenced_block_is_not_evaluated():
    doc = parse_qmd("```\nx = `{python} 1`\n```\n", "a.qmd")
    assert doc.inline_exprs == []


def test_literal_double_brace_cell_shows_code():
    doc = parse_qmd("```{{python}}\n1 + 1\n```\n", "a.qmd")
    assert doc.cells == []
    text = "".join(doc.blocks[0].parts)
    assert "```{python}\n1 + 1\n```" in text


def test_longer_cell_fence_contains_shorter_fence():
    doc = parse_qmd('````{python}\ns = """\n```\n"""\n````\n', "a.qmd")
    assert doc.cells[0].source == 's = """\n```\n"""'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("```{python}\n#| fig-align: center\n1\n```\n", "a.qmd:1: cell option(s) fig-align not supported"),
        ("```{r}\n1\n```\n", "a.qmd:1: code cell engine {r} not supported"),
        ("x `{r} 1`\n", "a.qmd:1: inline code engine {r} not supported"),
        ("```{python}\n#| output: sometimes\n1\n```\n", "output must be true, false or asis"),
        ("```{python}\n1\n", "a.qmd:1: code fence ``` is never closed"),
        ("---\nformat: html\n---\n", "front matter option(s) format not supported"),
    ],
)
def test_unsupported_is_an_error(text, message):
    with pytest.raises(RenderError) as err:
        parse_qmd(text, "a.qmd")
    assert message in str(err.value)


def test_unsupported_option_error_lists_the_supported_ones():
    with pytest.raises(RenderError) as err:
        parse_qmd("text\n\n```{python}\n#| code-fold: true\n1\n```\n", "ch.qmd")
    assert str(err.value).startswith("ch.qmd:3: cell option(s) code-fold not supported")
    assert "fig-cap" in str(err.value) and "tbl-cap" in str(err.value)
