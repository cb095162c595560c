"""One render at a time per project: an exclusive lock on ``.ipsreport-cache/render.lock``.

The lock is an ``flock`` on an open file, so it is released by the kernel when the render exits, however it
exits; the file itself stays (its content, the holder's process id, is only informative).
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from . import RenderError

__all__ = ["RenderBusy", "render_lock", "LOCK_FILE"]

LOCK_FILE = Path(".ipsreport-cache") / "render.lock"


class RenderBusy(RenderError):
    """Another render of the same project holds the lock."""


@contextmanager
def render_lock(root: Path):
    path = Path(root) / LOCK_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise RenderError(f"{path.parent}: cannot write the render cache ({e.strerror}); the project folder must be "
                          "writable to render (nothing was changed)") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            who = f" (process {holder})" if holder.isdigit() else ""
            raise RenderBusy(f"another render of this project is running{who}; wait for it to finish") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
