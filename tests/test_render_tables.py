"""HTML tables to native pandoc tables: notes after the table (DOCX column widths: test_render_typesetting)."""

from ipsreport.render.tables import clean_table_html

HTML = """<table><thead><tr><th>Characteristic</th><th colspan="2">IPS</th></tr>
<tr><th></th><th>n (%)</th><th>P</th></tr></thead>
<tbody><tr><td>Married or living with a partner</td><td>11 (32.4)</td><td>0.279</td></tr></tbody>
<tfoot><tr><td colspan="3">* Pearson's chi-squared test.</td></tr></tfoot></table>"""


def test_table_foot_becomes_a_paragraph_after_the_table():
    cleaned = clean_table_html(HTML)
    assert "<tfoot" not in cleaned
    assert cleaned.endswith("<p>* Pearson's chi-squared test.</p>")
