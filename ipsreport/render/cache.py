"""Per-chapter execution cache under ``.ipsreport-cache/``: skip the kernel when nothing a chapter depends on changed.

The key of a chapter hashes its source, every file of the ``ipsreport`` package, every file under ``data/``
(contents, not mtimes), the installed distributions (name==version) and the engine options that shape its output.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from .execute import ChapterOutput
from .project import Book, Chapter

__all__ = ["CACHE_DIR", "shared_key", "chapter_key", "load", "store"]

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
    names = {f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata["Name"]}
    return sorted(names, key=str.lower)


def shared_key(book: Book) -> str:
    """The part of every chapter key that does not depend on the chapter."""
    import ipsreport

    h = hashlib.sha256()
    package = Path(ipsreport.__file__).resolve().parent
    _hash_tree(h, package, "ipsreport")
    local = book.root / "ipsreport"
    if local.is_dir() and local.resolve() != package:
        _hash_tree(h, local, "project-ipsreport")
    _hash_tree(h, book.root / "data", "data")
    h.update("\n".join(installed_versions()).encode())
    options: dict[str, Any] = {
        "execute": book.execute, "fig-dpi": book.fig_dpi, "fig-width": book.fig_width,
        "fig-height": book.fig_height, "formats": book.formats,
    }
    h.update(json.dumps(options, sort_keys=True, default=str).encode())
    return h.hexdigest()


def chapter_key(shared: str, book: Book, chapter: Chapter) -> str:
    h = hashlib.sha256(shared.encode())
    h.update(chapter.path.encode() + b"\0" + chapter.slug.encode() + b"\0")
    h.update((book.root / chapter.path).read_bytes())
    return h.hexdigest()


def _entry(root: Path, chapter: Chapter) -> Path:
    return root / CACHE_DIR / chapter.slug


def load(root: Path, chapter: Chapter, key: str) -> ChapterOutput | None:
    entry = _entry(root, chapter)
    try:
        if (entry / "key").read_text(encoding="utf-8").strip() != key:
            return None
        markdown = (entry / "chapter.md").read_text(encoding="utf-8")
        results = json.loads((entry / "results.json").read_text(encoding="utf-8"))
        figures = {p.name: p.read_bytes() for p in sorted((entry / "figures").glob("*.png"))}
    except (OSError, ValueError):
        return None
    return ChapterOutput(markdown, figures, results)


def store(root: Path, chapter: Chapter, key: str, output: ChapterOutput) -> None:
    """Write the entry next to the old one, then swap, so a crash never leaves a half-written entry."""
    entry = _entry(root, chapter)
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{chapter.slug}.", dir=entry.parent))
    (tmp / "figures").mkdir()
    (tmp / "chapter.md").write_text(output.markdown, encoding="utf-8")
    (tmp / "results.json").write_text(json.dumps(output.results, indent=1, sort_keys=True), encoding="utf-8")
    for name, data in output.figures.items():
        (tmp / "figures" / name).write_bytes(data)
    (tmp / "key").write_text(key, encoding="utf-8")  # last: an entry without a key is ignored
    if entry.exists():
        shutil.rmtree(entry)
    tmp.rename(entry)
