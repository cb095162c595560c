"""The submission bundle: one zip with the files a journal asks for and a manifest naming each file's role.

After the MECA idea that Quarto manuscripts follow (Manuscript Exchange Common Approach: a ``manifest.xml``
listing every item with its ``item-type``), the zip holds ``manifest.xml`` and ``manifest.json`` (file, role,
media type, sha256, bytes). Entries have a fixed timestamp so that the same files give the same zip.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

__all__ = ["BundleItem", "write_bundle", "read_manifest"]

_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class BundleItem:
    path: Path  # the file on disk
    name: str  # its name inside the zip
    role: str  # manuscript, manuscript-blinded, supplement, checklist, figure, metadata …


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _media_type(name: str) -> str:
    kind, _ = mimetypes.guess_type(name)
    if name.endswith(".docx"):
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return kind or "application/octet-stream"


def _manifest_xml(rows: list[dict]) -> str:
    items = "\n".join(
        f'  <item item-type={quoteattr(r["role"])}>\n'
        f'    <instance media-type={quoteattr(r["media_type"])} xlink:href={quoteattr(r["file"])}/>\n'
        "  </item>" for r in rows)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<manifest manifest-version="1" xmlns="https://manuscriptexchange.org/schema/manifest" '
            'xmlns:xlink="http://www.w3.org/1999/xlink">\n' + items + "\n</manifest>\n")


def write_bundle(target: Path, items: list[BundleItem]) -> list[dict]:
    """Write ``target`` (a zip) with ``items`` and both manifests; return the manifest rows."""
    names = [i.name for i in items]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"submission bundle: duplicate file names {', '.join(duplicated)}")
    rows = [{"file": i.name, "role": i.role, "media_type": _media_type(i.name), "sha256": _sha256(i.path),
             "bytes": i.path.stat().st_size} for i in items]
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for item in items:
            info = zipfile.ZipInfo(item.name, _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, item.path.read_bytes())
        for name, text in (("manifest.json", json.dumps({"version": 1, "items": rows}, indent=1) + "\n"),
                           ("manifest.xml", _manifest_xml(rows))):
            info = zipfile.ZipInfo(name, _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
    return rows


def read_manifest(bundle: Path) -> list[dict]:
    with zipfile.ZipFile(bundle) as z:
        return json.loads(z.read("manifest.json"))["items"]
