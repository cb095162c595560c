"""Journal layout for a pandoc DOCX: page size, 12 pt body, double spacing, continuous line numbers, page
numbers in the footer — by editing the WordprocessingML parts pandoc wrote.

Word numbers lines itself from ``<w:lnNumType w:countBy="1" w:restart="continuous"/>`` in the section
properties; page numbers are a ``PAGE`` field in a footer part.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

__all__ = ["PAGE_SIZES_TWIPS", "apply_journal_layout"]

PAGE_SIZES_TWIPS = {"a4": (11906, 16838), "letter": (12240, 15840), "us-letter": (12240, 15840)}
_FOOTER_REL_ID = "rIdIpsrFooter"
_FOOTER = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<w:ftr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    '<w:p><w:pPr><w:jc w:val="center"/></w:pPr>'
    '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>'
    '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>'
    "</w:p></w:ftr>"
)


def _sect_pr(paper: str, line_numbers: bool) -> str:
    width, height = PAGE_SIZES_TWIPS[paper]
    return ('<w:sectPr>'
            f'<w:footerReference w:type="default" r:id="{_FOOTER_REL_ID}"/>'
            f'<w:pgSz w:w="{width}" w:h="{height}"/>'
            '<w:pgMar w:top="1418" w:right="1418" w:bottom="1418" w:left="1701" w:header="709" w:footer="709" '
            'w:gutter="0"/>'
            + ('<w:lnNumType w:countBy="1" w:restart="continuous"/>' if line_numbers else "")
            + "</w:sectPr>")


def apply_journal_layout(path: Path, paper: str = "a4", font_pt: float = 12.0, double: bool = True,
                         line_numbers: bool = True) -> None:
    paper = paper.lower()
    if paper not in PAGE_SIZES_TWIPS:
        raise ValueError(f"paper must be one of {', '.join(PAGE_SIZES_TWIPS)}, not {paper!r}")
    path = Path(path)
    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    doc = parts["word/document.xml"].decode("utf-8")
    if 'xmlns:r="' not in doc[:2000]:
        doc = doc.replace("<w:document ", '<w:document xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
                                          '2006/relationships" ', 1)
    doc = re.sub(r"<w:sectPr\b.*?</w:sectPr>|<w:sectPr\b[^>]*/>", "", doc, flags=re.S)
    doc = doc.replace("</w:body>", _sect_pr(paper, line_numbers) + "</w:body>")
    parts["word/document.xml"] = doc.encode("utf-8")
    parts["word/footer-ipsr.xml"] = _FOOTER.encode("utf-8")
    rels = parts["word/_rels/document.xml.rels"].decode("utf-8")
    rels = rels.replace("</Relationships>",
                        f'<Relationship Id="{_FOOTER_REL_ID}" Type="http://schemas.openxmlformats.org/officeDocument/'
                        '2006/relationships/footer" Target="footer-ipsr.xml"/></Relationships>')
    parts["word/_rels/document.xml.rels"] = rels.encode("utf-8")
    types = parts["[Content_Types].xml"].decode("utf-8")
    if "footer-ipsr.xml" not in types:
        types = types.replace("</Types>", '<Override PartName="/word/footer-ipsr.xml" ContentType="application/'
                              'vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/></Types>')
    parts["[Content_Types].xml"] = types.encode("utf-8")
    styles = parts["word/styles.xml"].decode("utf-8")
    half_points = str(int(round(font_pt * 2)))
    spacing = '<w:spacing w:line="480" w:lineRule="auto"/>' if double else ""
    defaults = (f'<w:docDefaults><w:rPrDefault><w:rPr><w:sz w:val="{half_points}"/><w:szCs w:val="{half_points}"/>'
                f'</w:rPr></w:rPrDefault><w:pPrDefault><w:pPr>{spacing}</w:pPr></w:pPrDefault></w:docDefaults>')
    styles = re.sub(r"<w:docDefaults>.*?</w:docDefaults>", defaults, styles, count=1, flags=re.S)
    # pandoc's body styles set their own size and spacing: make them follow the defaults.
    styles = re.sub(r'(<w:style w:type="paragraph"[^>]*w:styleId="(?:BodyText|FirstParagraph|Normal)"'
                    r'.*?</w:style>)', lambda m: re.sub(r"<w:spacing [^>]*/>|<w:sz [^>]*/>|<w:szCs [^>]*/>", "",
                                                        m.group(1)), styles, flags=re.S)
    parts["word/styles.xml"] = styles.encode("utf-8")
    tmp = path.with_suffix(".tmp.docx")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    tmp.replace(path)
