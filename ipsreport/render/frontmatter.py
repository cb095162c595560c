"""Front matter from Quarto's author schema: normalized authors, placeholders the user must replace, blinding.

Quarto's schema (https://quarto.org/docs/journals/authors.html): each author has ``name`` (a string or
``{given, family, literal}``), ``email``, ``orcid``, ``corresponding``, ``affiliations`` (references to
ids, names, or mappings with ``id``, ``name``, ``department``, ``city``, ``country`` …). A value that starts
with :data:`PLACEHOLDER` is a field the submitting author still has to supply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PLACEHOLDER", "Author", "authors_from_metadata", "normalize_author", "placeholders", "is_placeholder",
           "identifying_strings"]

PLACEHOLDER = "TO BE SUPPLIED"


def is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and value.strip().upper().startswith(PLACEHOLDER)


def _name(value: Any) -> str:
    if isinstance(value, Mapping):
        if value.get("literal"):
            return str(value["literal"])
        return " ".join(str(value[k]) for k in ("given", "family") if value.get(k))
    return str(value)


def _affiliation_names(item: Mapping, shared: Mapping[str, Mapping] | None = None) -> list[str]:
    shared = shared or {}
    raw = item.get("affiliations", item.get("affiliation"))
    if raw is None:
        return []
    names = []
    for aff in raw if isinstance(raw, list) else [raw]:
        if isinstance(aff, Mapping):
            ref = aff.get("ref")
            aff = {**shared.get(str(ref), {}), **aff} if ref else aff
            parts = [str(aff[k]) for k in ("department", "name") if aff.get(k)]
            names.append(", ".join(parts) if parts else str(aff.get("id", "")))
        else:
            names.append(_name(shared.get(str(aff), {}).get("name", aff)))
    return [n for n in names if n]


@dataclass(frozen=True)
class Author:
    """One author as the title page shows it."""

    name: str
    affiliations: tuple[str, ...]
    email: str | None  # None when absent or a placeholder
    orcid: str | None
    corresponding: bool


def authors_from_metadata(value: Any, shared_affiliations: Any = None) -> list[Author]:
    """The ``author`` metadata (a string, a mapping or a list of them) as :class:`Author` records."""
    if value is None:
        return []
    shared = {str(a.get("id")): a for a in (shared_affiliations or []) if isinstance(a, Mapping) and a.get("id")}
    out = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, Mapping):
            out.append(Author(_name(item), (), None, None, False))
            continue
        email = item.get("email")
        orcid = item.get("orcid")
        out.append(Author(
            name=_name(item.get("name", "")),
            affiliations=tuple(_affiliation_names(item, shared)),
            email=None if email is None or is_placeholder(email) else str(email),
            orcid=None if orcid is None or is_placeholder(orcid) else str(orcid),
            corresponding=bool(item.get("corresponding", False)),
        ))
    return out


def normalize_author(item: Mapping) -> dict[str, str]:
    """The engine's flat author record: ``name``, ``affiliation`` (one line), ``email`` (never a placeholder)."""
    author = authors_from_metadata([item])[0]
    out = {"name": author.name}
    if author.affiliations:
        out["affiliation"] = "; ".join(author.affiliations)
    if author.email:
        out["email"] = author.email
    return out


def placeholders(metadata: Any, path: str = "") -> list[str]:
    """Dotted paths (``author[0].email``) of every value that is still a placeholder, in document order."""
    found: list[str] = []
    if isinstance(metadata, Mapping):
        for key, value in metadata.items():
            found += placeholders(value, f"{path}.{key}" if path else str(key))
    elif isinstance(metadata, list):
        for i, value in enumerate(metadata):
            found += placeholders(value, f"{path}[{i}]")
    elif is_placeholder(metadata):
        found.append(path)
    return found


def identifying_strings(value: Any, shared_affiliations: Any = None) -> list[str]:
    """Every name, affiliation and e-mail of the authors: what a blinded version must not contain."""
    strings: list[str] = []
    for author in authors_from_metadata(value, shared_affiliations):
        strings.append(author.name)
        strings += list(author.affiliations)
        if author.email:
            strings.append(author.email)
        if author.orcid:
            strings.append(author.orcid)
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, Mapping):
            for aff in item.get("affiliations") or []:
                if isinstance(aff, Mapping) and aff.get("name"):
                    strings.append(str(aff["name"]))
    return sorted({s for s in strings if s and not is_placeholder(s)}, key=lambda s: (-len(s), s))
