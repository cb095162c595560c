"""Data strings cannot execute or inject markup in any format: one whole-book render with hostile job sectors.

The most common sector is printed in the prose of chapter 2 and every sector in its table, so a sector made of
every known vector (a local file and a URL as images, raw Typst reading a file, script and event handlers,
a ``javascript:`` link, raw OpenXML, a 5,000-character word) is rendered to HTML, PDF and DOCX. A canary file
outside the project holds a secret and a local HTTP server counts requests: neither may be reached, and the
hostile text must show up literally.
"""

from __future__ import annotations

import http.server
import re
import secrets
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
LONG_WORD = "x" * 5000
SECRET = "canary-secret-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def canary():
    # Lower case, no underscores: sector labels are capitalized and "_" becomes a space.
    folder = Path("/tmp") / f"ipsrcanary{secrets.token_hex(6)}"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET)
    (folder / "t.png").write_text(SECRET)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    """A server on 127.0.0.1 that records every request; it stops with the module or after 30 minutes."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(SECRET.encode())

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    timer = threading.Timer(1800, httpd.shutdown)
    timer.daemon = True
    timer.start()
    yield httpd.server_address[1], requests
    timer.cancel()
    httpd.shutdown()
    httpd.server_close()


def _hostile_sector(canary: Path, port: int) -> str:
    return " ".join([
        "zulu",
        f"![p]({canary}/secret.txt)",
        f"![i](http://127.0.0.1:{port}/t.png)",
        f'`#read("{canary}/secret.txt")`{{=typst}}',
        '`#read("/book.typ")`{=typst}',
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        f"<http://127.0.0.1:{port}/auto>",
        "`<w:p/>`{=openxml}",
        LONG_WORD,
    ])


def _copy_project(target: Path) -> Path:
    ignore = shutil.ignore_patterns(".venv", "_book*", ".ipsreport-cache", ".git", "__pycache__", ".pytest_cache",
                                    "*.egg-info", "tests", "benchmarks")
    shutil.copytree(ROOT, target, ignore=ignore)
    return target


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, canary, server):
    port, _ = server
    project = _copy_project(tmp_path_factory.mktemp("hostile") / "project")
    data = project / "data" / "ips-pain"
    sector = _hostile_sector(canary, port)
    jobs = pd.read_csv(data / "jobs.csv", dtype=str, keep_default_na=False)
    work = pd.read_csv(data / "work_12m.csv", dtype=str, keep_default_na=False)
    # The two most common sectors become one: the most common, printed in the prose.
    chosen = jobs["job_sector"].isin(jobs["job_sector"].value_counts().index[:2])
    for i in jobs.index[chosen]:
        if jobs.at[i, "job_number"] == "1":  # work_12m.job_sector is the sector of job 1
            work.loc[work["participant_id"] == jobs.at[i, "participant_id"], "job_sector"] = sector
        jobs.at[i, "job_sector"] = sector
    jobs.to_csv(data / "jobs.csv", index=False, lineterminator="\n")
    work.to_csv(data / "work_12m.csv", index=False, lineterminator="\n")
    result = subprocess.run([sys.executable, "-m", "ipsreport.cli", "render", "--to", "html,pdf,docx", "--no-cache",
                             "--engine", "builtin", "-C", str(project)],
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    return project, sector


def _visible(sector: str) -> list[str]:
    """The hostile pieces as a reader sees them (labels are capitalized, "_" shown as a space), without the
    long word; compared with white space removed, since lines may break anywhere in PDF and DOCX."""
    return [re.sub(r"\s+", "", piece.lower()) for piece in sector.split(" ")[1:-1]]


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("\u200b", "")).lower()


def test_no_canary_and_no_request_reach_any_output(rendered, server):
    project, _ = rendered
    _, requests = server
    assert requests == []
    book = project / "_book"
    for path in book.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
            if path.suffix == ".docx":
                with zipfile.ZipFile(path) as z:
                    for name in z.namelist():
                        assert SECRET.encode() not in z.read(name), name
                    media = [n for n in z.namelist() if n.startswith("word/media/")]
                    assert media and all(n.endswith(".png") for n in media)
    from pypdf import PdfReader

    pdf_text = "\n".join(p.extract_text() or "" for p in PdfReader(book / "book.pdf").pages)
    assert SECRET not in pdf_text
    assert "#set page" not in pdf_text  # /book.typ was not read into the PDF


def test_html_holds_no_script_handler_or_javascript_url_and_shows_the_text(rendered):
    project, sector = rendered
    for page in sorted((project / "_book").glob("*.html")):
        html = page.read_text(encoding="utf-8")
        # The only scripts are the book's own (site search, the appendix's filter): none carries the payload.
        assert "<script>alert" not in html.lower(), page.name
        for script in BeautifulSoup(html, "lxml").find_all("script"):
            assert not script.get("src"), page.name
            if script.get("type") == "application/json":  # the search index: data, never run
                assert "<" not in script.get_text(), page.name
            else:
                assert "alert(" not in script.get_text(), page.name
        assert "javascript:" not in html.lower().replace("[x](javascript:alert(1))", ""), page.name
        soup = BeautifulSoup(html, "lxml")
        for tag in soup.find_all(True):
            assert not [a for a in tag.attrs if a.lower().startswith("on")], (page.name, tag)
            for attr in ("href", "src"):
                assert not str(tag.get(attr, "")).lower().startswith(("javascript:", "http://127.0.0.1", "/tmp")), tag
    soup = BeautifulSoup((project / "_book" / "02-primary-outcome.html").read_text(encoding="utf-8"), "lxml")
    text = _squeezed(soup.get_text(" "))
    prose = _squeezed(soup.find(string=re.compile("largest sector")).parent.get_text(" "))
    for piece in _visible(sector):
        assert piece in prose, piece
        assert text.count(piece) >= 2, piece  # prose and table
    assert LONG_WORD in soup.get_text(" ")


def test_pdf_prints_the_text_literally_and_breaks_the_long_word(rendered):
    from pypdf import PdfReader

    project, sector = rendered
    pages = [p.extract_text() or "" for p in PdfReader(project / "_book" / "book.pdf").pages]
    text = _squeezed("\n".join(pages))
    for piece in _visible(sector):
        assert text.count(piece) >= 2, piece  # prose and table
    # Broken into lines that fit the page (about 90 characters of body text, fewer in a table column); the
    # word's first and last pieces share their lines with other text, hence the margin.
    runs = [len(run) for page in pages for run in re.findall(r"x{20,}", page.replace("\u200b", ""))]
    assert sum(runs) >= 2 * (len(LONG_WORD) - 100) and max(runs) < 120


def test_docx_prints_the_text_literally(rendered):
    import docx

    project, sector = rendered
    document = docx.Document(project / "_book" / "book.docx")
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts.extend(cell.text for row in table.rows for cell in row.cells)
    text = _squeezed("\n".join(parts))
    for piece in _visible(sector):
        assert text.count(piece) >= 2, piece
    assert text.count(LONG_WORD) >= 2
