"""The built-in render engine: a Quarto-book subset rendered to HTML, PDF (Typst) and DOCX without Quarto.

Public surface: :func:`render_book`, :class:`RenderSummary`, :func:`print_summary` and :class:`RenderError`.
Everything else lives in plumbing modules (``qmd``, ``execute``, ``crossref``, ``html`` …).
"""

from __future__ import annotations

__all__ = ["RenderError", "RenderSummary", "render_book", "print_summary"]


class RenderError(Exception):
    """A render failed; the message is ready to show to the user as is."""

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


def __getattr__(name: str):
    # Lazy so that `from ipsreport.render import RenderError` stays cheap (no pandoc/nbclient imports).
    if name in {"RenderSummary", "render_book", "print_summary"}:
        from . import engine

        return getattr(engine, name)
    raise AttributeError(name)
