"""Each figure as the journal wants it: its own vector PDF and a raster PNG of at least 600 ppi.

The figures come as SVG (captured beside the PNG when the chapters run); Typst places each SVG on a page of
exactly its size and writes it as PDF (vectors kept) and as PNG at the requested resolution.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

__all__ = ["export_figure", "export_figures"]

_PAGE = '#set page(width: auto, height: auto, margin: 0pt)\n#image("{name}")\n'


def export_figure(svg: bytes, stem: Path, ppi: int = 600) -> tuple[Path, Path]:
    """Write ``stem.pdf`` (vector) and ``stem.png`` (``ppi``) from one SVG; return both paths."""
    import typst

    stem = Path(stem)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "figure.svg").write_bytes(svg)
        (folder / "figure.typ").write_text(_PAGE.format(name="figure.svg"), encoding="utf-8")
        pdf, png = stem.with_suffix(".pdf"), stem.with_suffix(".png")
        typst.compile(str(folder / "figure.typ"), output=str(pdf), root=str(folder), timestamp=0)
        typst.compile(str(folder / "figure.typ"), output=str(png), format="png", ppi=ppi, root=str(folder))
    # Typst writes no resolution into the PNG; journals' checks read it from the pHYs chunk.
    from PIL import Image

    with Image.open(png) as im:
        im.load()
        im.save(png, dpi=(ppi, ppi))
    return pdf, png


def export_figures(svgs: list[bytes], folder: Path, ppi: int = 600) -> list[Path]:
    """``figure-1.pdf``, ``figure-1.png``, … in ``folder``, in the order given (the article's numbering)."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for n, svg in enumerate(svgs, 1):
        written.extend(export_figure(svg, folder / f"figure-{n}", ppi))
    return written
