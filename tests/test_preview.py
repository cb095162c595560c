"""`ipsreport preview` driven as an author uses it: edit prose, break a cell, fix it (loopback only, bounded waits)."""

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ipsreport.render.preview import PreviewState, _decorate, is_loopback

FIXTURE = Path(__file__).parent / "fixtures" / "book"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _page(url: str) -> str:
    with contextlib.suppress(OSError):
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")
    return ""


def _wait_for(url: str, condition, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = _page(url)
        if text and condition(text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"{url} did not reach the expected state within {seconds} s; last page:\n{text[:2000]}")


@pytest.fixture
def preview(tmp_path):
    project = tmp_path / "book"
    shutil.copytree(FIXTURE, project)
    port = _free_port()
    log = (tmp_path / "preview.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "ipsreport.cli", "preview", "--port", str(port), "--no-browser",
                             "-C", str(project)], stdout=log, stderr=subprocess.STDOUT)
    try:
        yield project, f"http://127.0.0.1:{port}", tmp_path / "preview.log"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_preview_shows_edits_errors_and_recovers(preview):
    project, base, log = preview
    methods, results = f"{base}/01-methods.html", f"{base}/02-results.html"
    _wait_for(methods, lambda t: "We randomized" in t, 240)
    assert "Preview at http://127.0.0.1:" in log.read_text()
    assert "/__preview__/state" in _page(methods)  # the reload script is in the served page
    assert "/__preview__/state" not in (project / "_book" / "01-methods.html").read_text()  # not in the file

    chapter = project / "chapters" / "01-methods.qmd"
    chapter.write_text(chapter.read_text().replace("We randomized", "After a prose edit we randomized"))
    _wait_for(methods, lambda t: "After a prose edit we randomized" in t, 60)

    source = project / "chapters" / "02-results.qmd"
    good = source.read_text()
    source.write_text(good.replace('trial = pd.read_csv("data/trial.csv")',
                                   'raise ValueError("broken on purpose")'))
    page = _wait_for(results, lambda t: "ipsreport-preview-error" in t, 120)
    assert "broken on purpose" in page and "02-results.qmd" in page
    assert "Employment by arm" in page  # the last good page stays under the error
    assert "broken on purpose" in log.read_text()  # and the terminal says it too

    source.write_text(good)
    page = _wait_for(results, lambda t: "ipsreport-preview-error" not in t, 120)
    assert "Employment by arm" in page


def test_error_banner_is_text_and_loopback_rules():
    state = PreviewState()
    state.finished("<script>alert(1)</script> failed")
    page = _decorate(b"<html><body><p>ok</p></body></html>", state.snapshot()).decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert page.index("ipsreport-preview-error") < page.index("<p>ok</p>")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


CODE_CELL_V1 = """
```{python}
#| label: warm-check
only_in_first_version = 1
print("warm value " + str(20 + 1))
```
"""

CODE_CELL_V2 = """
```{python}
#| label: warm-check
print("warm value " + str(20 + 2))
print("leftover: " + str("only_in_first_version" in globals()))
```
"""


def test_preview_code_edit_runs_in_a_warm_kernel_with_a_clean_namespace(preview):
    """A code edit re-runs the chapter in its warm kernel: the new value shows, nothing of the previous run is
    left in the namespace, and the results registry of the re-run is complete."""
    project, base, log = preview
    results = f"{base}/02-results.html"
    _wait_for(results, lambda t: "Employment by arm" in t, 240)
    source = project / "chapters" / "02-results.qmd"
    good = source.read_text()

    def said(text: str) -> int:  # the terminal wraps long lines
        return " ".join(log.read_text().split()).count(text)

    def until(condition, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

    renders = said("rendered in")
    source.write_text(good + CODE_CELL_V1)
    _wait_for(results, lambda t: "warm value 21" in t, 120)
    until(lambda: said("rendered in") > renders, 30)
    # The next warm kernels are prepared in the background after every render; the terminal says when.
    ready, runs_before = said("warm kernels ready for"), said("in a warm kernel")
    until(lambda: said("warm kernels ready for") > ready, 120)
    source.write_text(good + CODE_CELL_V2)
    page = _wait_for(results, lambda t: "warm value 22" in t, 120)
    assert "leftover: False" in page and "warm value 21" not in page
    until(lambda: said("in a warm kernel") > runs_before, 30)
    registered = json.loads((project / "_book" / "results.json").read_text())
    assert registered["fixture.n_total"] > 0 and "fixture.employed_ips" in registered
