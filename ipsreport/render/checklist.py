"""A reporting checklist (CONSORT and its extensions) filled in from where the manuscript reports each item.

The checklist is data: ``checklists: [{id, title, items: [{id, title, places, required}]}]``, each place a
label in the sources (a section id or a div/span id) or ``@title`` (the title page). Given the page and line
range of every label in the final PDF (:mod:`.lines`), each item becomes "reported on page p, lines a–b" (the
first place that was found; more places are listed too) or "not reported".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from . import RenderError
from .lines import Location

__all__ = ["ChecklistItem", "ChecklistRow", "load_checklists", "fill_checklist", "checklist_markdown",
           "missing_required", "checklist_json", "TITLE_PLACE"]

TITLE_PLACE = "@title"


@dataclass(frozen=True)
class ChecklistItem:
    checklist: str
    id: str
    title: str
    places: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class ChecklistRow:
    """One filled-in item (the fields of ``checklist.json``)."""

    checklist: str
    id: str
    description: str
    status: str  # "reported" or "not reported"
    page: int | None
    first_line: int | None
    last_line: int | None
    required: bool
    places: tuple[str, ...]  # the labels found, in checklist order


def load_checklists(path: Path) -> tuple[list[tuple[str, str]], list[ChecklistItem]]:
    """The checklists' (id, title) and their items; a malformed file is an error naming the item."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise RenderError(f"{path}: cannot read the checklist ({e})") from None
    problems, heads, items = [], [], []
    for ci, cl in enumerate(data.get("checklists") or []):
        heads.append((str(cl.get("id")), str(cl.get("title", cl.get("id")))))
        for ii, item in enumerate(cl.get("items") or []):
            where = f"{path}: checklists[{ci}].items[{ii}]"
            if not isinstance(item, dict) or not item.get("id") or not item.get("title"):
                problems.append(f"{where}: needs an id and a title")
                continue
            places = item.get("places") or []
            if not isinstance(places, list) or not all(isinstance(p, str) for p in places):
                problems.append(f"{where} ({item['id']}): places must be a list of labels")
                continue
            items.append(ChecklistItem(str(cl.get("id")), str(item["id"]), str(item["title"]), tuple(places),
                                       bool(item.get("required", True))))
    if problems:
        raise RenderError("checklist problems:\n  " + "\n  ".join(problems))
    return heads, items


def fill_checklist(items: list[ChecklistItem], locations: dict[str, Location]) -> list[ChecklistRow]:
    rows = []
    for item in items:
        found = [p for p in item.places if p == TITLE_PLACE or p in locations]
        if not found:
            rows.append(ChecklistRow(item.checklist, item.id, item.title, "not reported", None, None, None,
                                     item.required, ()))
            continue
        first = found[0]
        if first == TITLE_PLACE and TITLE_PLACE not in locations:
            page, a, b = 1, None, None
        else:
            loc = locations[first]
            page, a, b = loc.page, loc.first_line, loc.last_line
        rows.append(ChecklistRow(item.checklist, item.id, item.title, "reported", page, a, b, item.required,
                                 tuple(found)))
    return rows


def where_text(row: ChecklistRow, locations: dict[str, Location] | None = None) -> str:
    if row.status != "reported":
        return "not reported"
    if row.first_line is None:
        return f"page {row.page}" + (" (title page)" if row.places[:1] == (TITLE_PLACE,) else "")
    lines = (f"line {row.first_line}" if row.first_line == row.last_line
             else f"lines {row.first_line}\u2013{row.last_line}")
    return f"reported on page {row.page}, {lines}"


def missing_required(rows: list[ChecklistRow]) -> list[ChecklistRow]:
    return [r for r in rows if r.required and r.status != "reported"]


def checklist_json(rows: list[ChecklistRow]) -> str:
    fields = ("checklist", "id", "description", "status", "page", "first_line", "last_line", "required")
    return json.dumps([{k: asdict(r)[k] for k in fields} for r in rows], indent=1) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def checklist_markdown(heads: list[tuple[str, str]], rows: list[ChecklistRow], title: str) -> str:
    """The checklist as a markdown document (one pipe table per checklist) for the PDF and DOCX."""
    parts = [f"# {_cell(title)}\n"] if title else []
    for cid, ctitle in heads:
        parts.append(f"\n## {_cell(ctitle)}\n\n| Item | Description | Where reported |\n|:--|:--|:--|")
        for r in rows:
            if r.checklist == cid:
                parts.append(f"| {_cell(r.id)} | {_cell(r.description)}{'' if r.required else ' (if applicable)'} "
                             f"| {_cell(where_text(r))} |")
        parts.append("")
    return "\n".join(parts) + "\n"


def _asdict_rows(rows: list[ChecklistRow]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]
