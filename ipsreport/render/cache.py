"""Per-chapter execution cache under ``.ipsreport-cache/``: skip the kernel when nothing a chapter depends on changed.

The key of a chapter hashes its source, every file of the ``ipsreport`` package, the list of files under
``data/`` (names), the installed distributions (name==version) and the engine options that shape its output.
An entry also records which data files the chapter opened when it ran (under the names the project uses,
``data/...``, even when a folder is a symlink) and a digest of their contents; it is used only while that
digest still matches, so a change to a data file re-runs exactly the chapters that read it (contents, not
mtimes). Every file of an entry has a sha256 in the entry's index (``manifest.json``), which has its own
checksum; a damaged entry is executed again, and the render summary says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .execute import ChapterOutput
from .project import Book, Chapter

__all__ = ["CACHE_DIR", "shared_key", "chapter_key", "data_files", "data_digest", "load", "store"]

CACHE_DIR = ".ipsreport-cache"
_SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints"}


def _hash_tree(h: "hashlib._Hash", root: Path, label: str) -> None:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if not path.is_file() or _SKIP_DIRS & set(path.parts) or path.suffix in {".pyc", ".pyo"}:
            continue
        h.update(f"{label}/{path.relative_to(root).as_posix()}\0".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())


def installed_versions() -> list[str]:
    """``name==version`` of every distribution on sys.path, from the ``*.dist-info`` folder names.

    Equivalent to importlib.metadata.distributions() but ~50x faster: it reads no METADATA files.
    """
    found: set[str] = set()
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue  # '' is the working directory, which must not change the key
        with os.scandir(entry) as it:
            for item in it:
                if item.name.endswith(".dist-info"):
                    name, _, version = item.name[: -len(".dist-info")].partition("-")
                elif item.name.endswith(".egg-info"):
                    name = item.name[: -len(".egg-info")].split("-")[0]
                    version = _egg_version(Path(item.path))
                else:
                    continue
                found.add(f"{re.sub(r'[-_.]+', '-', name).lower()}=={version}")
    return sorted(found)


def _egg_version(path: Path) -> str:
    info = path / "PKG-INFO" if path.is_dir() else path
    try:
        for line in info.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def package_dir() -> Path:
    """The ipsreport package this engine belongs to (its sources and templates are part of every key)."""
    return Path(__file__).resolve().parents[1]


def shared_key(book: Book) -> str:
    """The part of every chapter key that does not depend on the chapter."""
    h = hashlib.sha256()
    package = package_dir()
    _hash_tree(h, package, "ipsreport")
    local = book.root / "ipsreport"
    if local.is_dir() and local.resolve() != package:
        _hash_tree(h, local, "project-ipsreport")
    h.update("\n".join(data_files(book.root)).encode())
    h.update("\n".join(installed_versions()).encode())
    options: dict[str, Any] = {
        "execute": book.execute, "fig-dpi": book.fig_dpi, "fig-width": book.fig_width,
        "fig-height": book.fig_height, "formats": book.formats,
    }
    h.update(json.dumps(options, sort_keys=True, default=str).encode())
    return h.hexdigest()


def data_files(root: Path) -> list[str]:
    """Every file under ``data/``, relative to it (a new or removed file changes every key)."""
    folder = root / "data"
    if not folder.is_dir():
        return []
    found = []
    # Linked folders are followed: the names are the ones the project uses (data/<link>/...), as in the reads
    # the chapters record, so a data set kept elsewhere behind a symlink is fingerprinted like any other.
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        rel = Path(dirpath).relative_to(folder)
        found += [(rel / f).as_posix() for f in filenames if (Path(dirpath) / f).is_file()]
    return sorted(found)


def data_digest(root: Path, reads: list[str] | None) -> str:
    """Digest of the contents of the data files a chapter read (None: of every data file)."""
    h = hashlib.sha256()
    for name in data_files(root) if reads is None else sorted(reads):
        path = root / "data" / name
        h.update(name.encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"missing")
    return h.hexdigest()


def chapter_key(shared: str, book: Book, chapter: Chapter) -> str:
    h = hashlib.sha256(shared.encode())
    h.update(chapter.path.encode() + b"\0" + chapter.slug.encode() + b"\0")
    h.update((book.root / chapter.path).read_bytes())
    from .include import included_files

    for rel in included_files(book.root, chapter.path):  # an included file changes the chapter
        h.update(rel.encode() + b"\0" + (book.root / rel).read_bytes())
    return h.hexdigest()


def _entry(root: Path, chapter: Chapter) -> Path:
    return root / CACHE_DIR / chapter.slug


MANIFEST = "manifest.json"  # the entry's index: key, data reads, data digest and a sha256 of every file
MANIFEST_SUM = "manifest.sha256"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load(root: Path, chapter: Chapter, key: str) -> tuple[ChapterOutput | None, str | None]:
    """The cached output of ``chapter`` if still valid, and a note when the entry was found damaged (its index
    or a file does not match its checksum): the caller then executes the chapter again."""
    entry = _entry(root, chapter)
    if not entry.is_dir():
        return None, None
    try:
        raw = (entry / MANIFEST).read_bytes()
        expected = (entry / MANIFEST_SUM).read_text(encoding="utf-8").strip()
    except OSError:
        return None, None if (entry / "key").exists() and not (entry / MANIFEST).exists() else "has no index"
    if _sha(raw) != expected:
        return None, "is damaged (its index does not match its checksum)"
    try:
        manifest = json.loads(raw.decode("utf-8"))
        files: dict[str, str] = manifest["files"]
        reads = manifest["data_reads"]
        if manifest["key"] != key or manifest["data_digest"] != data_digest(root, reads):
            return None, None  # out of date, not damaged
        blobs = {name: (entry / name).read_bytes() for name in files}
    except (OSError, ValueError, KeyError, TypeError) as e:
        return None, f"is damaged ({type(e).__name__})"
    bad = sorted(name for name, digest in files.items() if _sha(blobs[name]) != digest)
    if bad:
        return None, f"is damaged ({', '.join(bad)} do(es) not match the checksum)"
    markdown = blobs["chapter.md"].decode("utf-8")
    results = json.loads(blobs["results.json"].decode("utf-8"))
    figures = {name.split("/", 1)[1]: data for name, data in sorted(blobs.items()) if name.startswith("figures/")}
    pieces = json.loads(blobs["pieces.json"].decode("utf-8")) if "pieces.json" in blobs else None
    pieces = [tuple(p) for p in pieces] if pieces is not None else None
    return ChapterOutput(markdown, figures, results, reads, pieces), None


def store(root: Path, chapter: Chapter, key: str, output: ChapterOutput) -> None:
    """Write the entry next to the old one, then swap, so a crash never leaves a half-written entry."""
    entry = _entry(root, chapter)
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{chapter.slug}.", dir=entry.parent))
    blobs: dict[str, bytes] = {
        "chapter.md": output.markdown.encode("utf-8"),
        "results.json": json.dumps(output.results, indent=1, sort_keys=True).encode("utf-8"),
        **{f"figures/{name}": data for name, data in output.figures.items()},
    }
    if output.code_pieces is not None:
        blobs["pieces.json"] = json.dumps(output.code_pieces).encode("utf-8")
    (tmp / "figures").mkdir()
    for name, data in blobs.items():
        (tmp / name).write_bytes(data)
    manifest = {"key": key, "data_reads": output.data_reads, "data_digest": data_digest(root, output.data_reads),
                "files": {name: _sha(data) for name, data in blobs.items()}}
    raw = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    (tmp / MANIFEST).write_bytes(raw)
    (tmp / MANIFEST_SUM).write_text(_sha(raw), encoding="utf-8")  # last: an entry without it is not used
    if entry.exists():
        shutil.rmtree(entry)
    tmp.rename(entry)


# --- Reuse of the previous render's formats ------------------------------------------------------------------------
#
# An unchanged re-render must not pay pandoc and Typst again. Each format's files of the last render are recorded
# (``formats/<format>.json``: the *output key* and a sha256 of every file it wrote); when the key is the same
# and the output folder still holds exactly those bytes, the files are copied instead of written again.

FORMATS_DIR = "formats"


def output_key(book: Book, shared: str, outputs: dict[str, ChapterOutput], notice: str | None, fmt: str) -> str:
    """Everything a format's files are made from: the engine and its options (``shared``), the whole
    ``_quarto.yml``, every chapter's source and intermediate output (markdown and figures), the bibliography
    and CSL, the notice, the book's date as written into the output, and the format."""
    h = hashlib.sha256(f"{shared}\0{fmt}\0{book.date}\0{notice}\0".encode())
    h.update((book.root / "_quarto.yml").read_bytes())
    for ch in book.chapters:
        h.update(ch.path.encode() + b"\0" + (book.root / ch.path).read_bytes())
        out = outputs[ch.slug]
        h.update(hashlib.sha256(out.markdown.encode("utf-8")).digest())
        for name, data in sorted(out.figures.items()):
            h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    for path in [*(book.root / b for b in book.bibliography), *([Path(book.csl)] if book.csl else [])]:
        full = path if path.is_absolute() else book.root / path
        h.update(str(path).encode() + b"\0" + (full.read_bytes() if full.is_file() else b"missing"))
    return h.hexdigest()


def reusable_format(root: Path, fmt: str, key: str, previous: Path) -> list[str] | None:
    """The files (relative to the output folder) of ``fmt`` in ``previous`` when the last render of ``fmt``
    had the same key and they are unchanged since; None otherwise."""
    try:
        stamp = json.loads((root / CACHE_DIR / FORMATS_DIR / f"{fmt}.json").read_text(encoding="utf-8"))
        if stamp["key"] != key or not stamp["files"]:
            return None
        for name, digest in stamp["files"].items():
            if _sha((previous / name).read_bytes()) != digest:
                return None
        return sorted(stamp["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_format(root: Path, fmt: str, key: str, out: Path, files: list[str]) -> None:
    """Remember which files ``fmt`` wrote into ``out`` under ``key`` (see :func:`reusable_format`)."""
    folder = root / CACHE_DIR / FORMATS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = {"key": key, "files": {name: _sha((out / name).read_bytes()) for name in sorted(files)}}
    tmp = folder / f".{fmt}.json.tmp"
    tmp.write_text(json.dumps(stamp, indent=1), encoding="utf-8")
    tmp.replace(folder / f"{fmt}.json")


def forget_formats(root: Path) -> None:
    """A render that wrote nothing reusable (e.g. it failed) leaves no stamp behind."""
    shutil.rmtree(root / CACHE_DIR / FORMATS_DIR, ignore_errors=True)


TIMES_FILE = "chapter-times.json"  # seconds each chapter's last execution took; only orders the next executions


def chapter_times(root: Path) -> dict[str, float]:
    """How long each chapter (by path) took the last time it ran; empty when unknown or unreadable."""
    try:
        times = json.loads((Path(root) / CACHE_DIR / TIMES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(times, dict):
        return {}
    return {k: float(v) for k, v in times.items() if isinstance(k, str) and isinstance(v, (int, float))}


def record_chapter_times(root: Path, durations: dict[str, float]) -> None:
    """Remember ``durations`` (chapter path → seconds) beside the others' earlier times; best effort."""
    if not durations:
        return
    path = Path(root) / CACHE_DIR / TIMES_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{TIMES_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**chapter_times(root), **{k: round(v, 3) for k, v in durations.items()}},
                                  indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only loses the ordering hint
