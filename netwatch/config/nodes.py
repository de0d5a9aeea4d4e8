"""Reading YAML with positions: ruamel.yaml round-trip nodes and their 1-based lines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from netwatch.config.errors import ConfigError, Issue

# An alias costs nothing to parse but its whole subtree to validate: a few KB of nested
# aliases ("billion laughs") expand to billions of nodes. A real inventory of 10,000 devices
# with `<<: *defaults` on each stays far below both bounds.
MAX_ALIASES = 100_000
MAX_ALIAS_NODES = 1_000_000  # nodes reached through aliases, counted as expanded
MAX_DEPTH = 100

# A value as parsed from YAML, not yet checked: a CommentedMap, CommentedSeq, str, int, float,
# bool or None. `object`, not Any: a reader narrows it (isinstance) before using it.
YamlValue = object


class BoundedComposer(Composer):
    """ruamel's composer with a bound on aliases and on what they expand to.

    ruamel.yaml's Composer is untyped: its overridden signatures stay Any."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self._aliases = 0
        self._expanded = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.parser.check_event(AliasEvent):
            event = self.parser.peek_event()
            node = self.anchors.get(event.anchor)
            if node is not None:
                self._aliases += 1
                self._expanded += self._size(node)
                if self._aliases > MAX_ALIASES:
                    raise ComposerError(
                        None, None, f"more than {MAX_ALIASES} aliases", event.start_mark
                    )
                if self._expanded > MAX_ALIAS_NODES:
                    raise ComposerError(
                        None,
                        None,
                        f"aliases expand to more than {MAX_ALIAS_NODES} nodes "
                        f"(alias *{event.anchor})",
                        event.start_mark,
                    )
        return super().compose_node(parent, index)

    def _size(self, node: Node) -> int:
        """Nodes in node's subtree with every alias expanded (memoised: linear time)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        self._sizes[id(node)] = 1  # a node still being composed (self-reference) counts 1
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(self._size(child) for child in node.value)
        elif isinstance(node, MappingNode):
            total += sum(self._size(k) + self._size(v) for k, v in node.value)
        self._sizes[id(node)] = total
        return total


def new_yaml() -> YAML:
    """The one round-trip YAML setup, so that an unchanged file dumps byte-identical."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.Composer = BoundedComposer
    yaml.max_depth = MAX_DEPTH
    return yaml


def parse(text: str, file: str) -> YamlValue:
    """Parse one document; a syntax error becomes a ConfigError at the parser's line."""
    try:
        return new_yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        kind = "YAML error" if isinstance(exc, ComposerError) else "YAML syntax error"
        raise ConfigError([Issue(file, line, "", f"{kind}: {problem}")]) from None
    except YAMLError as exc:
        raise ConfigError([Issue(file, 0, "", f"YAML error: {exc}")]) from None


@dataclass(frozen=True, slots=True)
class Loc:
    """Where a value sits: file, 1-based line and its dotted path in the document."""

    file: str
    line: int
    path: str

    def key(self, m: Mapping, key: str) -> Loc:
        """The location of m[key]'s value (the key's line when the value spans lines)."""
        return Loc(self.file, value_line(m, key, self.line), join(self.path, key))

    def item(self, seq: list, index: int) -> Loc:
        return Loc(self.file, item_line(seq, index, self.line), f"{self.path}[{index}]")


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def node_line(node: YamlValue, default: int) -> int:
    if isinstance(node, CommentedMap | CommentedSeq):
        return node.lc.line + 1
    return default


def key_line(m: Mapping, key: str, default: int) -> int:
    if isinstance(m, CommentedMap):
        try:
            return m.lc.key(key)[0] + 1
        except (KeyError, TypeError):
            pass
    return default


def value_line(m: Mapping, key: str, default: int) -> int:
    if isinstance(m, CommentedMap):
        try:
            return m.lc.value(key)[0] + 1
        except (KeyError, TypeError):
            return key_line(m, key, default)
    return default


def item_line(seq: list, index: int, default: int) -> int:
    if isinstance(seq, CommentedSeq):
        try:
            return seq.lc.item(index)[0] + 1
        except (KeyError, TypeError, IndexError):
            pass
    return default


def type_name(value: YamlValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
