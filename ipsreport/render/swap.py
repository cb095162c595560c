"""Put a freshly rendered output folder in place of the previous one, and guard what the tool may replace.

One implementation for every backend: the new tree is written next to the old one and exchanged with it by a
single ``renameat2(RENAME_EXCHANGE)`` call (Linux ≥ 3.15; through ctypes), so at every instant the output
folder is either the whole old tree or the whole new one. Where the call is not available, two renames are
used, and :func:`recover` (run by the next render) restores the old tree if a render was killed between them.

Temporaries are named after the project and the process (``<out>.tmp-<project>-<pid>-…``,
``<out>.old-<project>-<pid>-…``, ``ipsreport-<project>-<pid>-…`` in the temporary folder), so a render removes
only its own project's leftovers, and only those whose process is gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from . import RenderError

__all__ = ["project_tag", "output_target", "check_output_dir", "new_output_dir", "work_dir", "swap_into_place",
           "recover", "clean_stale", "RESERVED_FOLDERS", "RESULTS_FILE"]

# Folders of a project that a render must never replace or write into.
RESERVED_FOLDERS = ("data", "chapters", "config", "ipsreport", "tests")
RESULTS_FILE = "results.json"  # its presence marks a folder as the output of an earlier render
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def project_tag(root: Path) -> str:
    """A short stable name for a project folder (its resolved path), used in temporary names."""
    return hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:8]


def output_target(root: Path, output_dir: str) -> Path:
    """The folder the render writes: ``output-dir`` relative to the project, with a symlink followed to its
    target (the rules of :func:`check_output_dir` apply to the target)."""
    return (Path(root) / output_dir).resolve()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_dir(root: Path, output_dir: str, force: bool = False) -> Path:
    """Refuse an output folder the tool does not own; return the resolved folder to write.

    Refused: the project folder or any folder above it; ``data/``, ``chapters/``, ``config/``, ``ipsreport/``,
    ``tests/`` or anything inside them; an existing file; an existing non-empty folder holding no
    ``results.json`` of an earlier render (unless ``force``); a read-only folder.
    """
    root = Path(root).resolve()
    target = output_target(root, output_dir)
    named = f"output-dir {output_dir!r}" + (f" (a link to {target})" if (root / output_dir).is_symlink() else "")
    if _inside(root, target):
        raise RenderError(f"_quarto.yml: {named} is the project folder or a folder above it; the render would "
                          "replace the project. Choose a folder of its own, such as _book.")
    for name in RESERVED_FOLDERS:
        reserved = (root / name).resolve()
        if _inside(target, reserved) or _inside(reserved, target):
            raise RenderError(f"_quarto.yml: {named} is or contains the project's {name}/ folder; the render "
                              "would replace it. Choose a folder of its own, such as _book.")
    if target.exists() and not target.is_dir():
        raise RenderError(f"_quarto.yml: {named} is an existing file, not a folder; the render will not replace it.")
    if target.is_dir():
        if any(target.iterdir()) and not (target / RESULTS_FILE).is_file() and not force:
            raise RenderError(f"{target} is not empty and holds no {RESULTS_FILE} of an earlier render, so it may "
                              "not be this book's output; the render will not replace it. Empty or remove it, "
                              "choose another output-dir, or pass --force to replace it.")
        # Write bits off means "keep this" even for a user (root) whom permissions do not stop.
        if not os.access(target, os.W_OK) or not target.stat().st_mode & 0o222:
            raise RenderError(f"{target} is read-only; the render will not replace it. Make it writable "
                              "or choose another output-dir.")
    parent = target.parent
    if not parent.is_dir():
        raise RenderError(f"_quarto.yml: {named}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RenderError(f"{parent} is read-only: the render cannot write {target.name}/ there (nothing was "
                          "changed). Make it writable or choose another output-dir.")
    return target


def _private_dir(prefix: str, parent: Path | None) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    return path


def new_output_dir(root: Path, target: Path) -> Path:
    """An empty folder next to ``target`` (same file system, so the swap is a rename), readable by others."""
    path = _private_dir(f"{target.name}.tmp-{project_tag(root)}-{os.getpid()}-", target.parent)
    path.chmod(0o755)  # mkdtemp makes it private; the output is meant to be shared or served
    return path


def work_dir(root: Path) -> Path:
    """A private scratch folder in the temporary folder, named after the project and this process."""
    try:
        return _private_dir(f"ipsreport-{project_tag(root)}-{os.getpid()}-", None)
    except OSError as e:
        raise RenderError(f"cannot create a scratch folder in {tempfile.gettempdir()} ({e.strerror}); set TMPDIR "
                          "to a writable folder") from None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths; False when the system call is not available (then nothing happened)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


# Test seam: the fallback (two renames) can be forced.
USE_EXCHANGE = True


def swap_into_place(root: Path, new: Path, target: Path) -> None:
    """Replace ``target`` by ``new``; the old tree is deleted only once the new one is in place."""
    if not target.exists():
        new.rename(target)
        return
    if USE_EXCHANGE and _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the old tree
        return
    old = target.with_name(f"{target.name}.old-{project_tag(root)}-{os.getpid()}-{os.urandom(4).hex()}")
    target.rename(old)
    try:
        new.rename(target)
    except OSError:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


_TEMP = re.compile(r"^(?P<base>.+)\.(?P<kind>tmp|old)-(?P<tag>[0-9a-f]{8})-(?P<pid>\d+)-")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(root: Path, target: Path) -> str | None:
    """A render killed between the two renames of the fallback left ``<out>.old-*`` and no ``<out>``: put the
    old tree back. Returns a note for the summary, or None."""
    if target.exists():
        return None
    tag = project_tag(root)
    olds = [p for p in target.parent.glob(f"{target.name}.old-{tag}-*") if p.is_dir()]
    if not olds:
        return None
    newest = max(olds, key=lambda p: p.stat().st_mtime)
    newest.rename(target)
    return f"restored {target.name}/ from {newest.name} (an earlier render was interrupted while swapping)"


def clean_stale(root: Path, target: Path) -> list[str]:
    """Delete this project's temporaries whose process is gone (call only while holding the render lock)."""
    tag = project_tag(root)
    removed = []
    candidates = list(target.parent.glob(f"{target.name}.tmp-{tag}-*"))
    if target.exists():
        candidates += target.parent.glob(f"{target.name}.old-{tag}-*")
    candidates += Path(tempfile.gettempdir()).glob(f"ipsreport-{tag}-*")
    for path in candidates:
        m = _TEMP.match(path.name) or re.match(r"^ipsreport-(?P<tag>[0-9a-f]{8})-(?P<pid>\d+)-", path.name)
        if not m or m.group("tag") != tag or _alive(int(m.group("pid"))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    # Half-written cache entries (".<chapter>.<random>"): only a render holding the lock writes them, so any
    # found now belong to a render that was killed.
    for path in (root / ".ipsreport-cache").glob(".*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(f".ipsreport-cache/{path.name}")
    return removed
