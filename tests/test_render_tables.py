"""HTML tables to native pandoc tables: notes after the table, and DOCX column widths."""

import json

from ipsreport.render import pandoc
from ipsreport.render.tables import clean_table_html, proportional_column_widths

HTML = """<table><thead><tr><th>Characteristic</th><th colspan="2">IPS</th></tr>
<tr><th></th><th>n (%)</th><th>P</th></tr></thead>
<tbody><tr><td>Married or living with a partner</td><td>11 (32.4)</td><td>0.279</td></tr></tbody>
<tfoot><tr><td colspan="3">* Pearson's chi-squared test.</td></tr></tfoot></table>"""


def test_table_foot_becomes_a_paragraph_after_the_table():
    cleaned = clean_table_html(HTML)
    assert "<tfoot" not in cleaned
    assert cleaned.endswith("<p>* Pearson's chi-squared test.</p>")


def test_column_widths_follow_content_and_fill_the_width():
    ast = json.loads(pandoc.run(["-f", "html", "-t", "json"], clean_table_html(HTML)))
    table = proportional_column_widths(ast)["blocks"][0]
    widths = [spec[1]["c"] for spec in table["c"][2]]
    assert abs(sum(widths) - 1.0) < 1e-9
    label, count, p = widths
    assert label > count > p  # 28-character cap + padding vs '11 (32.4)' vs '0.279'
