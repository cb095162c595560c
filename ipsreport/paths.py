"""Where the project is: the folder holding ``_quarto.yml``, its ``data/`` and ``config/``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_dir", "data_dir", "config_file"]


def project_dir() -> Path:
    """``IPSREPORT_PROJECT_DIR`` (set by ``ipsreport render``) or Quarto's ``QUARTO_PROJECT_ROOT`` if set, else
    the nearest folder at or above the working directory that holds ``_quarto.yml``, else the package's parent
    folder."""
    for name in ("IPSREPORT_PROJECT_DIR", "QUARTO_PROJECT_ROOT"):
        if os.environ.get(name):
            return Path(os.environ[name])
    cwd = Path.cwd()
    for folder in (cwd, *cwd.parents):
        if (folder / "_quarto.yml").exists():
            return folder
    return Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    return project_dir() / "data"


def config_file(name: str = "design.yaml") -> Path:
    return project_dir() / "config" / name
