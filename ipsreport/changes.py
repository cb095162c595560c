"""The change report: which reported values a render changed, as a reader sees them, and what changed in the
data — kept across renders in the cache folder and written to ``_book/changes.html`` and ``changes.md``.

Values are compared by their printed forms (:func:`ipsreport.results.diff_results`), so a change that never
reaches the page is not a change; the ``_meta`` block is never compared. The data part comes from
:mod:`ipsreport.datadiff` and holds counts only. The project's post-render step (:mod:`ipsreport.hooks`)
calls :func:`prepare_report` with the per-chapter results, :func:`write_report` into the new output folder,
:meth:`ResultsReport.highlight` on its HTML pages (changed numbers get the class ``changed`` and a note
explains the highlighting), :func:`save_report`, and hands :func:`summary_file` to the render summary — the
render engine itself knows nothing about keys.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import datadiff
from .results import META, REPORTED, diff_results, label_of, merge_results

__all__ = [
    "Change",
    "RenderChanges",
    "ResultsReport",
    "compare",
    "compare_results",
    "changed_data_files",
    "report_text",
    "prepare_report",
    "write_report",
    "save_report",
    "report_markdown",
    "report_html",
    "highlight_page",
    "highlight_changed_pages",
    "summary_file",
    "clip",
    "CHANGES_DIR",
    "MAX_HISTORY",
]

CHANGES_DIR = Path(".ipsreport-cache") / "_changes"  # history and row digests (no chapter slug starts with _)
MAX_HISTORY = 50  # renders kept in the report
MAX_SHOWN = 80  # characters of a printed value quoted in a report or the console


def clip(text: str | None, limit: int = MAX_SHOWN) -> str:
    """A printed value as a report quotes it: ``(absent)`` for None, cut to ``limit`` characters with '…',
    control characters shown as escapes (a data string must not drive the terminal)."""
    if text is None:
        return "(absent)"
    text = re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", str(text[: limit * 4]))
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Change:
    """One reported value whose printed form changed: ``key``, readable ``label``, ``chapter``, ``old`` and
    ``new`` printed forms (None when absent on that side)."""

    key: str
    label: str
    chapter: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class RenderChanges:
    """What one render changed: ``rendered_at`` (UTC), ``previous_at`` (the render compared with), the
    ``changes``, the ``data_files`` whose fingerprints changed (``(path, "changed" | "added" | "removed")``)
    and the ``data`` diff per file (counts only; ``data_compared`` is False when the previous render left no
    row digests to compare with)."""

    rendered_at: str
    previous_at: str | None
    changes: tuple[Change, ...]
    data_files: tuple[tuple[str, str], ...] = ()
    data: tuple[datadiff.FileDataDiff, ...] = ()
    data_compared: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RenderChanges:
        return cls(d["rendered_at"], d.get("previous_at"), tuple(Change(**c) for c in d.get("changes", ())),
                   tuple(tuple(x) for x in d.get("data_files", ())),
                   tuple(datadiff.FileDataDiff(**{**x, "columns": tuple(tuple(c) for c in x.get("columns", ())),
                                                  "columns_added": tuple(x.get("columns_added", ())),
                                                  "columns_removed": tuple(x.get("columns_removed", ()))})
                         for x in d.get("data", ())), d.get("data_compared", True))


def _chapter_of(results: dict[str, Any], key: str) -> str:
    return ((results.get(REPORTED) or {}).get(key) or {}).get("chapter", "")


def _label(results: dict[str, Any], key: str) -> str:
    return ((results.get(REPORTED) or {}).get(key) or {}).get("label") or label_of(key)


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Reported values whose printed form differs between two results files (keys in order)."""
    out = []
    for key, a, b in diff_results(old, new):
        side = new if b is not None else old
        out.append(Change(key, _label(side, key), _chapter_of(side, key) or _chapter_of(old, key), a, b))
    return out


def changed_data_files(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    """``(path, "changed" | "added" | "removed")`` for the data files whose sha256 differs between the
    ``_meta`` blocks of two results files (empty when either has no ``_meta``)."""
    a = {f["path"]: f["sha256"] for f in (old.get(META) or {}).get("data_files", [])}
    b = {f["path"]: f["sha256"] for f in (new.get(META) or {}).get("data_files", [])}
    if not a or not b:
        return []
    out = [(p, "changed") for p in sorted(a.keys() & b.keys()) if a[p] != b[p]]
    out += [(p, "added") for p in sorted(b.keys() - a.keys())]
    out += [(p, "removed") for p in sorted(a.keys() - b.keys())]
    return sorted(out)


# -- the report's two formats ---------------------------------------------------------------------------


def _by_chapter(changes: tuple[Change, ...]) -> dict[str, list[Change]]:
    groups: dict[str, list[Change]] = {}
    for c in changes:
        groups.setdefault(c.chapter or "(no chapter)", []).append(c)
    return groups


def _data_lines(entry: RenderChanges) -> list[str]:
    """Plain sentences on the data part of one render (counts only)."""
    lines = [] if entry.data_compared else [
        "Rows were not compared: the cache folder held no row digests from the previous render."]
    for d in entry.data:
        if d.status == "added":
            lines.append(f"{d.file}: new file, {d.rows_added} row(s).")
            continue
        if d.status == "removed":
            lines.append(f"{d.file}: removed ({d.rows_removed} row(s)).")
            continue
        parts = [f"{d.rows_added} row(s) added", f"{d.rows_removed} removed", f"{d.rows_changed} changed"]
        text = f"{d.file}: " + ", ".join(parts)
        if d.columns:
            text += " (" + ", ".join(f"{c}: {n}" for c, n in d.columns) + ")"
        if d.columns_added:
            text += "; columns added: " + ", ".join(d.columns_added)
        if d.columns_removed:
            text += "; columns removed: " + ", ".join(d.columns_removed)
        if not d.keyed:
            text += "; rows matched by content (no key), so an edited row counts as removed and added"
        lines.append(text + ".")
    return lines


def _md_cell(text: str, limit: int = MAX_SHOWN) -> str:
    return clip(text, limit).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("<", "&lt;")


def report_markdown(history: list[RenderChanges]) -> str:
    """``changes.md``: one section per render, newest first; per chapter a table of key, label, old → new."""
    lines = ["# Changes between renders", ""]
    if not history:
        lines += ["No render has changed a reported value yet.", ""]
    for entry in history:
        since = f" (compared with the render of {entry.previous_at})" if entry.previous_at else ""
        lines += [f"## Render of {entry.rendered_at}{since}", ""]
        if entry.data_files:
            lines += ["Data files whose fingerprint changed: "
                      + ", ".join(f"`{p}` ({s})" for p, s in entry.data_files) + ".", ""]
        data = _data_lines(entry)
        if data:
            lines += [f"- {_md_cell(t, 400)}" for t in data] + [""]
        if not entry.changes:
            lines += ["No reported value changed its printed form.", ""]
        for chapter, changes in _by_chapter(entry.changes).items():
            lines += [f"### {_md_cell(chapter)}", "", "| Key | Value | Old | New |", "|---|---|---|---|"]
            lines += [f"| `{c.key}` | {_md_cell(c.label)} | {_md_cell(clip(c.old))} | {_md_cell(clip(c.new))} |"
                      for c in changes]
            lines.append("")
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}th,td{border-bottom:1px solid #ddd;padding:0.25rem 0.6rem;
text-align:left;vertical-align:top}code{font-size:0.9em}td.num{font-variant-numeric:tabular-nums}
.old{color:#8a1c1c}.new{color:#135e13;font-weight:600}
"""


def report_html(history: list[RenderChanges], book_title: str = "") -> str:
    """``changes.html``: the same content as :func:`report_markdown` as a page of the HTML book."""
    e = html.escape
    body = [f'<p><a href="index.html">← {e(book_title or "Back to the book")}</a></p>',
            "<h1>Changes between renders</h1>",
            "<p>Reported values whose printed form changed, newest render first. Values are compared as they are "
            "printed, so differences beyond the printed precision are not listed. Changed numbers are highlighted "
            "in the chapters until the next render; hovering over a number shows its key.</p>"]
    if not history:
        body.append("<p>No render has changed a reported value yet.</p>")
    for entry in history:
        since = f" <small>(compared with the render of {e(entry.previous_at)})</small>" if entry.previous_at else ""
        body.append(f'<section class="render"><h2>Render of {e(entry.rendered_at)}{since}</h2>')
        if entry.data_files:
            body.append("<p>Data files whose fingerprint changed: "
                        + ", ".join(f"<code>{e(p)}</code> ({e(s)})" for p, s in entry.data_files) + ".</p>")
        data = _data_lines(entry)
        if data:
            body.append('<ul class="data-diff">' + "".join(f"<li>{e(clip(t, 400))}</li>" for t in data) + "</ul>")
        if not entry.changes:
            body.append("<p>No reported value changed its printed form.</p>")
        for chapter, changes in _by_chapter(entry.changes).items():
            body.append(f"<h3>{e(chapter)}</h3><table><thead><tr><th>Key</th><th>Value</th><th>Old</th>"
                        "<th>New</th></tr></thead><tbody>")
            for c in changes:
                body.append(f'<tr class="change" data-key="{e(c.key)}"><td><code>{e(c.key)}</code></td>'
                            f'<td>{e(c.label)}</td><td class="num old">{e(clip(c.old))}</td>'
                            f'<td class="num new">{e(clip(c.new))}</td></tr>')
            body.append("</tbody></table>")
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Changes between renders{' – ' + e(book_title) if book_title else ''}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


# -- highlighting changed numbers in the book -----------------------------------------------------------

_NOTE_CSS = (".reported.changed,.ipsr-changed-sample{background:#fff0a0;box-shadow:0 0 0 2px #fff0a0;border-bottom:2px solid #c99a00;"
             "border-radius:2px}.ipsr-changes-note{border-left:4px solid #c99a00;background:#fffbe6;"
             "padding:0.5rem 0.8rem;margin:0.8rem 0}")


def _note_html(previous_at: str | None) -> str:
    since = f" (of {html.escape(previous_at)})" if previous_at else ""
    return (f'<div class="ipsr-changes-note" role="note"><strong>Changed numbers.</strong> '
            f'Numbers highlighted <span class="ipsr-changed-sample">like this</span> print differently from the '
            f'previous render{since}. Hover over a number to see its key and old value; '
            '<a href="changes.html">the change report</a> lists every change.</div>')


def _note_anchor(soup: Any) -> tuple[Any, str]:
    """Where the note goes: after the chapter's title block (Quarto's ``header#title-block-header``, the
    built-in engine's ``header.ipsr-title-block``), else after the first ``h1``, else first in the content."""
    header = soup.select_one("header#title-block-header, header.ipsr-title-block")
    if header is not None:
        return header, "after"
    heading = soup.find("h1")
    if heading is not None:
        return heading, "after"
    return (soup.find("main") or soup.body or soup), "prepend"


def highlight_page(page: str, changes: list[Change] | tuple[Change, ...], previous_at: str | None = None) -> str | None:
    """An HTML page in which every printed value (a ``span.reported``) whose ``data-key`` changed gets the class
    ``changed`` and the title ``key: changed from OLD``, and which starts (after the chapter title) with a note
    explaining the highlighting; None when the page shows no changed value (leave it as it is)."""
    from bs4 import BeautifulSoup

    changed = {c.key: c for c in changes if c.new is not None}
    if not changed or "reported" not in page:
        return None
    soup = BeautifulSoup(page, "lxml")
    found = False
    for span in soup.select("span.reported[data-key]"):
        c = changed.get(span["data-key"])
        if c is None:
            continue
        classes = span.get("class") or []
        if "changed" not in classes:
            span["class"] = [*classes, "changed"]
        span["title"] = f"{c.key}: changed from {clip(c.old, 40)}"  # an attribute: BeautifulSoup escapes it
        found = True
    if not found:
        return None
    if soup.select_one("style.ipsr-changes-style") is None:
        style = soup.new_tag("style", attrs={"class": "ipsr-changes-style"})
        style.string = _NOTE_CSS
        (soup.head or soup.body or soup).append(style)
    if soup.select_one(".ipsr-changes-note") is None:
        note = BeautifulSoup(_note_html(previous_at), "html.parser").div
        anchor, where = _note_anchor(soup)
        anchor.insert_after(note) if where == "after" else anchor.insert(0, note)
    return str(soup)


def highlight_changed_pages(out_dir: Path, changes: list[Change] | tuple[Change, ...],
                            previous_at: str | None = None) -> list[Path]:
    """Apply :func:`highlight_page` to every HTML page of the output folder (``changes.html`` excepted); return
    the pages rewritten. Works on any engine's HTML (built-in or Quarto): it reads only the spans."""
    rewritten = []
    for path in sorted(Path(out_dir).rglob("*.html")):
        if path.name == "changes.html" and path.parent == Path(out_dir):
            continue
        marked = highlight_page(path.read_text(encoding="utf-8", errors="replace"), changes, previous_at)
        if marked is not None:
            path.write_text(marked, encoding="utf-8")
            rewritten.append(path)
    return rewritten


# -- one render's report: prepare, write, save ----------------------------------------------------------


@dataclass(frozen=True)
class ResultsReport:
    """Everything a render needs from the results step: the ``results`` document (values, ``_reported``,
    ``_meta``), the ``changed`` printed forms (``(key, old, new)``), whether there was no previous results
    file (``first``), this render's ``entry`` (None when nothing changed), the ``history`` to write (newest
    first) and the per-row ``digests`` to keep for the next render."""

    project_dir: Path
    results: dict[str, Any]
    changed: list[tuple[str, str | None, str | None]]
    first: bool
    entry: RenderChanges | None
    history: list[RenderChanges]
    digests: dict[str, Any] = field(default_factory=dict)

    def highlight(self, out_dir: Path) -> list[Path]:
        """Mark this render's changed values in the HTML pages of ``out_dir`` (:func:`highlight_changed_pages`)."""
        if self.entry is None or self.first:
            return []
        return highlight_changed_pages(out_dir, self.entry.changes, self.entry.previous_at)


def _load_history(folder: Path) -> list[RenderChanges]:
    try:
        raw = json.loads((folder / "history.json").read_text(encoding="utf-8"))
        return [RenderChanges.from_json(d) for d in raw]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []  # an unreadable history starts afresh rather than failing the render


def _saved_at(root: Path) -> str | None:
    """The render time of the render whose row digests are kept (None when unrecorded)."""
    try:
        return (root / CHANGES_DIR / "data-rows.at").read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def prepare_report(project_dir: Path, chapter_results: dict[str, dict[str, Any]], old: dict[str, Any],
                   engine: str) -> ResultsReport:
    """Merge the chapters' results, add ``_meta``, compare with the previous ``results.json`` (``old``, {} when
    none) and the previous render's data digests, and build the updated history. Raises ValueError when
    chapters registered one key with different values. Writes nothing."""
    from .provenance import results_meta

    root = Path(project_dir)
    merged = merge_results(chapter_results)
    meta = results_meta(root, engine)
    results = {META: meta, **merged}
    changes = compare(old, results)  # against {} on a first render: every value is new
    digests = datadiff.row_digests(root)
    old_at = (old.get(META) or {}).get("rendered_at")
    previous = datadiff.load_digests(root / CHANGES_DIR / "data-rows.json")
    if previous is not None and old_at and _saved_at(root) not in (None, old_at):
        previous = None  # digests of a render whose output never replaced the previous one
    data = datadiff.diff_row_digests(previous, digests) if previous is not None and old else []
    files_changed = changed_data_files(old, results)
    history = _load_history(root / CHANGES_DIR)
    if old_at:
        # The history is saved before the new output is swapped in: entries newer than the output being
        # replaced belong to renders that failed after that point, and are dropped.
        history = [h for h in history if h.rendered_at <= old_at]
    entry = None
    if old and (changes or files_changed or data):
        entry = RenderChanges(meta["rendered_at"], (old.get(META) or {}).get("rendered_at"), tuple(changes),
                              tuple(files_changed), tuple(data), data_compared=previous is not None)
        history = [entry, *history][:MAX_HISTORY]
    return ResultsReport(root, results, [(c.key, c.old, c.new) for c in changes], not old, entry, history, digests)


def write_report(report: ResultsReport, out_dir: Path, book_title: str = "") -> list[Path]:
    """Write ``results.json``, ``changes.html`` and ``changes.md`` into ``out_dir`` (the new output folder)."""
    out_dir = Path(out_dir)
    targets = {
        "results.json": json.dumps(report.results, indent=1, sort_keys=True) + "\n",
        "changes.html": report_html(report.history, book_title),
        "changes.md": report_markdown(report.history),
    }
    for name, text in targets.items():
        (out_dir / name).write_text(text, encoding="utf-8")
    return [out_dir / name for name in targets]


def save_report(report: ResultsReport) -> None:
    """Keep the history and this render's data digests in the cache folder, for the next render's report.
    Called from the post-render step, before the new output is swapped in; should the render fail after that,
    the next render ignores what this one saved (entries newer than the output they replace, digests of
    another render)."""
    folder = report.project_dir / CHANGES_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "history.tmp"
        tmp.write_text(json.dumps([h.to_json() for h in report.history], indent=1), encoding="utf-8")
        tmp.replace(folder / "history.json")
        datadiff.save_digests(report.digests, folder / "data-rows.json")
        (folder / "data-rows.at").write_text(report.results[META]["rendered_at"], encoding="utf-8")
    except OSError:
        pass  # a read-only cache loses the history, not the render


def summary_file(report: ResultsReport) -> dict[str, Any]:
    """The comparison handed to the render summary (``IPSREPORT_CHANGES_FILE``, docs/engine.md): printed
    forms of the changed values, whether there was nothing to compare with, and the report listing them all."""
    return {"changed": [[k, a, b] for k, a, b in report.changed], "first": report.first, "report": "changes.md"}


def compare_results(old: dict[str, Any], new: dict[str, Any]) -> RenderChanges:
    """The comparison of two results files as one report entry (no data diff: that needs the row digests
    kept by the renders)."""
    new_meta, old_meta = new.get(META) or {}, old.get(META) or {}
    return RenderChanges(new_meta.get("rendered_at", "(unknown time)"), old_meta.get("rendered_at"),
                         tuple(compare(old, new)), tuple(changed_data_files(old, new)))


def report_text(entry: RenderChanges) -> str:
    """One entry as plain text for a terminal: data files, then per chapter ``key  label: old → new``."""
    lines = []
    if entry.data_files:
        lines.append("Data files whose fingerprint changed: " + ", ".join(f"{p} ({s})" for p, s in entry.data_files))
    lines += _data_lines(entry)
    for chapter, changes in _by_chapter(entry.changes).items():
        lines.append(f"{clip(chapter)}:")
        lines += [f"  {c.key}  {clip(c.label)}: {clip(c.old)} → {clip(c.new)}" for c in changes]
    n = len(entry.changes)
    lines.append(f"{n} reported value(s) changed their printed form." if n else
                 "No reported value changed its printed form.")
    return "\n".join(lines)
