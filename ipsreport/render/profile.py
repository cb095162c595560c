"""Quarto project profiles: which profiles are active and how ``_quarto-<profile>.yml`` merges over ``_quarto.yml``.

The merge reproduces Quarto's ``mergeProjectMetadata`` (quarto-cli ``src/config/metadata.ts``, built on
lodash ``mergeWith`` with ``mergeArrayCustomizer`` from ``src/core/config.ts``), so that
``ipsreport render --profile manuscript`` reads the same configuration as ``quarto render --profile
manuscript``:

- mappings merge key by key, recursively; a scalar in the profile replaces the base value;
- when either side is a list, the lists are **concatenated** (a scalar on the other side becomes a
  one-element list) and duplicates removed, first occurrence kept, equality by JSON text; when one side
  is null, false, 0 or an empty string the other side is taken as is (so a profile cannot empty a list);
- the one exception: a ``contents`` key whose base value is a string is replaced by the profile's value;
- ``null`` in a profile replaces a base scalar or mapping (lodash assigns every value that is not
  ``undefined``).

Active profiles: the ``--profile`` argument, else ``QUARTO_PROFILE``, else ``profile.default`` of
``_quarto.yml``; names separated by commas or spaces; each ``profile.group`` adds its first member when
none of its members is active. Profiles merge in reverse order, so the first one named wins, and
``_quarto.yml.local`` (or ``.yaml.local``) merges last. The ``profile`` key itself is removed.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import RenderError

__all__ = ["ProfileError", "ProjectConfig", "active_profiles", "merge_project_metadata", "read_project_config"]

_STRING_REPLACED_KEYS = ("contents",)


class ProfileError(RenderError):
    """A profile file that cannot be read (missing when named, invalid YAML, not a mapping)."""


def _js_falsy(value: Any) -> bool:
    """JavaScript's falsy values as YAML can produce them (lists and mappings are truthy even when empty)."""
    if value is None or value is False:
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0 or (isinstance(value, float) and math.isnan(value))
    return value == ""


def _js_json(value: Any) -> str:
    """``JSON.stringify`` as JavaScript prints YAML values: integral floats without '.0', insertion order."""
    def normal(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, Mapping):
            return {str(k): normal(x) for k, x in v.items()}
        if isinstance(v, list):
            return [normal(x) for x in v]
        if not isinstance(v, (str, int, float, bool, type(None))):
            return str(v)  # dates: YAML timestamps; JSON text only has to be stable
        return v
    return json.dumps(normal(value), separators=(",", ":"), ensure_ascii=False)


def _merge_arrays(base: Any, overlay: Any) -> list:
    if _js_falsy(base):
        return copy.deepcopy(overlay)
    if _js_falsy(overlay):
        return copy.deepcopy(base)
    left = base if isinstance(base, list) else [base]
    right = overlay if isinstance(overlay, list) else [overlay]
    seen: set[str] = set()
    out = []
    for item in [*left, *right]:
        key = _js_json(item)
        if key not in seen:
            seen.add(key)
            out.append(copy.deepcopy(item))
    return out


def _merge_value(key: str, base: Any, overlay: Any, has_base: bool) -> Any:
    if key in _STRING_REPLACED_KEYS and isinstance(base, str):
        return copy.deepcopy(overlay)
    if isinstance(base, list) or isinstance(overlay, list):
        return _merge_arrays(base if has_base else None, overlay)
    if isinstance(overlay, Mapping):
        # lodash starts from the base mapping, or from an empty one when the base is not a mapping.
        start = base if has_base and isinstance(base, Mapping) else {}
        return _merge_two(start, overlay)
    return copy.deepcopy(overlay)


def _merge_two(base: Mapping, overlay: Mapping) -> dict:
    out = {k: copy.deepcopy(v) for k, v in base.items()}
    for key, value in overlay.items():
        out[key] = _merge_value(str(key), out.get(key), value, key in out)
    return out


def merge_project_metadata(config: Mapping, *overlays: Mapping) -> dict:
    """Quarto's ``mergeProjectMetadata(config, ...overlays)``: a new mapping, the inputs untouched."""
    merged = dict(copy.deepcopy(config))
    for overlay in overlays:
        merged = _merge_two(merged, overlay or {})
    return merged


def _split(names: str | list[str] | None) -> list[str]:
    if names is None:
        return []
    if isinstance(names, (list, tuple)):
        names = ",".join(str(n) for n in names)
    return [n for n in re.split(r"[ ,]+", str(names)) if n]


def active_profiles(requested: str | list[str] | None, config: Mapping, environ: Mapping[str, str] | None = None,
                    ) -> list[str]:
    """The active profiles, in priority order (first wins): ``requested``, else ``QUARTO_PROFILE``, else
    ``profile.default``; then the first member of every ``profile.group`` none of whose members is active."""
    profile_cfg = config.get("profile") if isinstance(config.get("profile"), Mapping) else {}
    env = environ or {}
    active = _split(requested) or _split(env.get("QUARTO_PROFILE")) or _split(profile_cfg.get("default"))
    groups = profile_cfg.get("group") or []
    if groups and not isinstance(groups[0], list):
        groups = [groups]
    for group in groups:
        members = [str(m) for m in group]
        if members and not any(m in active for m in members):
            active.append(members[0])
    return active


@dataclass(frozen=True)
class ProjectConfig:
    """The merged project configuration and where it came from."""

    config: dict[str, Any]
    profiles: tuple[str, ...]  # active profiles, first wins
    files: tuple[str, ...]  # the files merged over _quarto.yml, in merge order (names relative to the project)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ProfileError(f"{path.name}: invalid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ProfileError(f"{path.name}: must be a YAML mapping")
    return dict(data)


def read_project_config(root: Path, requested: str | list[str] | None = None,
                        environ: Mapping[str, str] | None = None) -> ProjectConfig:
    """``_quarto.yml`` with the active profiles and ``_quarto.yml.local`` merged over it, as Quarto reads it.

    A profile named on the command line must have its file (Quarto silently ignores a missing one; here that
    is almost always a typo, so it is an error)."""
    root = Path(root)
    base = _read_yaml(root / "_quarto.yml")
    profiles = active_profiles(requested, base, environ)
    base.pop("profile", None)
    merged, files = base, []
    for name in reversed(profiles):
        path = next((p for p in (root / f"_quarto-{name}.yml", root / f"_quarto-{name}.yaml") if p.exists()), None)
        if path is None:
            if name in _split(requested):
                raise ProfileError(f"profile {name!r}: no _quarto-{name}.yml in {root}")
            continue
        merged = merge_project_metadata(merged, _read_yaml(path))
        files.append(path.name)
    local = next((p for p in (root / "_quarto.yml.local", root / "_quarto.yaml.local") if p.exists()), None)
    if local is not None:
        merged = merge_project_metadata(merged, _read_yaml(local))
        files.append(local.name)
    return ProjectConfig(merged, tuple(profiles), tuple(files))
