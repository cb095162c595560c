"""Run a script inside an HTML page in headless Chromium and read back what it found.

The page is copied beside the original (so relative links and figures still resolve) with the script added
before ``</body>``, and shown in an ``<iframe>`` of the requested width (headless Chromium will not make a
window narrower than 500 px, and a phone is 390). Chromium loads the frame's parent with ``--dump-dom`` and a
virtual-time budget; the script writes its result as JSON into a ``<pre id="probe-result">`` of the parent,
read from the dumped DOM. No driver or browser download is needed: only Debian's ``chromium``.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import uuid
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

_RESULT = re.compile(r'<pre id="probe-result">(.*?)</pre>', re.S)

# Hands a value back to Python: the probe script calls ``report(value)``.
_REPORT = """
function report(value) {
  var top = window.parent.document;
  var pre = top.createElement('pre');
  pre.id = 'probe-result';
  pre.textContent = JSON.stringify(value);
  top.body.appendChild(pre);
}
"""


def chromium() -> str | None:
    """The Chromium executable on PATH, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@lru_cache(maxsize=1)
def axe_source() -> str | None:
    """axe-core's JavaScript, as bundled by the ``axe-playwright-python`` package; None when it is absent."""
    try:
        return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return None


def run_in_page(page: Path, script: str, width: int = 1366, height: int = 900, prelude: str = "") -> Any:
    """Load ``page`` at ``width`` × ``height`` CSS pixels, run ``prelude`` then ``script`` (which must call
    ``report(value)`` once), and return the reported value."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("chromium is not installed")
    tag = uuid.uuid4().hex[:8]
    probe = page.with_name(f".probe-{tag}-{page.name}")
    frame = page.with_name(f".frame-{tag}-{page.name}")
    source = page.read_text(encoding="utf-8")
    addition = f"<script>{prelude}</script><script>{_REPORT}\n{script}</script>"
    probe.write_text(source.replace("</body>", addition + "</body>"), encoding="utf-8")
    frame.write_text(f'<!DOCTYPE html><html><body style="margin:0"><iframe title="page" src="{probe.name}" '
                     f'style="width:{width}px;height:{height}px;border:0"></iframe></body></html>', encoding="utf-8")
    try:
        proc = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--hide-scrollbars", "--no-first-run", "--allow-file-access-from-files", "--virtual-time-budget=30000",
             f"--window-size={max(width + 40, 600)},{height + 40}", "--dump-dom", frame.resolve().as_uri()],
            capture_output=True, text=True, timeout=180,
        )
    finally:
        probe.unlink(missing_ok=True)
        frame.unlink(missing_ok=True)
    match = _RESULT.search(proc.stdout)
    if match is None:
        raise RuntimeError(f"no result from {page.name}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    return json.loads(html.unescape(match.group(1)))


AXE_RUN = """
axe.run(document, {resultTypes: ['violations']}).then(function (result) {
  report(result.violations.map(function (v) {
    return {id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(function (n) { return n.target.join(' '); })};
  }));
});
"""

# For every table: is its right edge past the viewport, and if so, is it inside a box of its own that scrolls
# horizontally and itself fits the viewport? Also whether the page as a whole scrolls sideways.
TABLE_OVERFLOW = """
(function () {
  var width = document.documentElement.clientWidth;
  var tables = Array.prototype.map.call(document.querySelectorAll('main table'), function (table, i) {
    var rect = table.getBoundingClientRect();
    var box = null;
    for (var el = table.parentElement; el && el !== document.body; el = el.parentElement) {
      var style = getComputedStyle(el);
      if (style.overflowX === 'auto' || style.overflowX === 'scroll') { box = el; break; }
    }
    var boxRect = box ? box.getBoundingClientRect() : null;
    var caption = table.querySelector('caption');
    return {index: i, caption: caption ? caption.textContent.trim().slice(0, 60) : '',
            left: rect.left, right: rect.right,
            box_right: boxRect ? boxRect.right : null, box_left: boxRect ? boxRect.left : null};
  });
  report({viewport: width, page_scroll_width: document.documentElement.scrollWidth, tables: tables});
})();
"""
