"""Reading the small YAML files of ``data/`` (``dataset.yaml``) safely: UTF-8 checked with a line number,
size capped, and no YAML aliases.

Aliases are refused outright rather than expanded: a few hundred bytes of nested aliases (a "billion laughs"
document) expand to gigabytes, and a ``dataset.yaml`` has no use for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["MAX_YAML_BYTES", "YamlFileError", "NoAliasSafeLoader", "read_yaml", "key_lines", "nested_key_lines"]

MAX_YAML_BYTES = 256 * 1024
"""A ``dataset.yaml`` is a few lines; anything larger than this is not one."""


class NoAliasSafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader that rejects any alias (``*name``) with a located error."""

    def compose_node(self, parent, index):  # noqa: D102 - PyYAML hook
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "uses a YAML alias (*name), which dataset files may not use", event.start_mark
            )
        return super().compose_node(parent, index)


@dataclass(frozen=True)
class YamlFileError(Exception):
    """Why a YAML file could not be read: ``line`` (1-based, None when unknown) and the ``rule`` broken."""

    line: int | None
    rule: str

    def __str__(self) -> str:
        return self.rule if self.line is None else f"line {self.line}: {self.rule}"


def _text(path: Path, max_bytes: int) -> str:
    size = path.stat().st_size
    if size > max_bytes:
        raise YamlFileError(None, f"is {size:,} bytes, more than the {max_bytes:,} a dataset file may have")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise YamlFileError(line, "is not UTF-8 text; save it as UTF-8") from None


def read_yaml(path: str | Path, max_bytes: int = MAX_YAML_BYTES) -> tuple[Any, str]:
    """The parsed document and the text of ``path``; raises :class:`YamlFileError` when the file is too
    large, not UTF-8, not valid YAML or uses an alias."""
    text = _text(Path(path), max_bytes)
    try:
        return yaml.load(text, Loader=NoAliasSafeLoader), text  # noqa: S506 - a safe loader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or ""
        rule = problem if "alias" in problem else "is not valid YAML"
        raise YamlFileError(None if mark is None else mark.line + 1, rule) from None


def key_lines(text: str) -> dict[str, int]:
    """The line of each top-level key of a mapping document (empty when the text is not one)."""
    try:
        node = yaml.compose(text, Loader=NoAliasSafeLoader)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in node.value}


def nested_key_lines(text: str, *path: str) -> dict[str, int]:
    """The line of each key of the mapping found at ``path`` of keys below the top (empty when absent)."""
    try:
        node = yaml.compose(text, Loader=NoAliasSafeLoader)
    except yaml.YAMLError:
        return {}
    for name in path:
        if not isinstance(node, yaml.MappingNode):
            return {}
        node = next((v for k, v in node.value if str(k.value) == name), None)
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
