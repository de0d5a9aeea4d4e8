"""Reading YAML to load it: libyaml's C parser (PyYAML) into dicts and lists that know their lines.

ruamel.yaml's round-trip parser is pure Python: ~0.5 ms per device, 28 s for a 50,000-device
inventory (issue 10). Loading needs no round trip, only values and lines, so `parse` reads
libyaml's events and composes them here, as ruamel would: YAML 1.2 scalars by ruamel's own
resolver table and constructor (only plain strings, nearly every scalar, take a fast path),
merge keys, duplicate keys refused, aliases bounded as `nodes.BoundedComposer` bounds them.
A document this reader does not handle the same way (a `%YAML 1.1` directive, tags on
collections, keys that are collections) is parsed by ruamel instead; so is everything when
PyYAML was built without libyaml. In-place edits (netwatch.config.edit) keep ruamel.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import implicit_resolvers
from ruamel.yaml.tag import Tag

from netwatch.config import nodes
from netwatch.config.errors import ConfigError, Issue
from netwatch.config.nodes import LineMap, LineSeq, YamlValue

try:
    import yaml
    from yaml import events as ev
    from yaml.cyaml import CParser  # type: ignore[attr-defined]  # not in its __all__

    FAST = bool(yaml.__with_libyaml__)
except ImportError:  # pragma: no cover - PyYAML is a dependency; without libyaml: ruamel
    FAST = False

STR = "tag:yaml.org,2002:str"
MERGE = "tag:yaml.org,2002:merge"
MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")


class _Unusual(Exception):
    """Something ruamel reads differently from this reader: let ruamel read the document."""


def _resolvers() -> dict[str, list[tuple[str, Any]]]:
    """ruamel's YAML 1.2 implicit resolvers by first character (as VersionedResolver does),
    each as its compiled pattern's match: ruamel wraps the patterns in a lazy proxy whose
    every attribute read is a Python call (~0.2 s of a 50,000-device load)."""
    table: dict[str, list[tuple[str, Any]]] = {}
    for versions, tag, regexp, first in implicit_resolvers:
        if (1, 2) in versions:
            compiled = regexp.lazy_self() if hasattr(regexp, "lazy_self") else regexp
            for ch in first:
                table.setdefault(ch, []).append((tag, compiled.match))
    return table


_RESOLVERS = _resolvers()


class _Scalars:
    """Plain scalars resolved by ruamel's table; anything but a string built by ruamel."""

    def __init__(self) -> None:
        self._constructor = nodes.new_yaml().constructor
        self._cache: dict[str, Any] = {}

    def plain(self, value: str) -> tuple[str, Any]:
        """(tag, value) of a plain scalar."""
        for tag, match in _RESOLVERS.get(value[:1], ()):
            if match(value):
                if tag == MERGE:
                    return tag, value
                return tag, self.build(tag, value)
        return STR, value

    def build(self, tag: str, value: str) -> Any:
        key = tag + "\x00" + value
        if key in self._cache:
            return self._cache[key]
        node = ScalarNode(Tag(suffix=tag), value, None, None)
        built = self._constructor.construct_object(node, deep=True)
        if isinstance(built, int | float | bool | str | type(None)):
            self._cache[key] = built
        return built


def parse(text: str, file: str) -> YamlValue:
    """One document as dicts and lists with lines; errors as nodes.parse reports them."""
    if not FAST:
        return nodes.parse(text, file)
    try:
        return _Composer(text, file).document()
    except _Unusual:
        return nodes.parse(text, file)
    except yaml.MarkedYAMLError as exc:
        # libyaml reads YAML 1.1, ruamel (the loader of record) 1.2: a few plain scalars that
        # 1.2 allows, such as `{a: :0}` in flow style, are syntax errors to libyaml. Let ruamel
        # decide; only when it refuses too is the document wrong (reported at libyaml's line).
        try:
            return nodes.parse(text, file)
        except ConfigError:
            pass
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError([Issue(file, line, "", f"YAML syntax error: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Issue(file, 0, "", f"YAML error: {exc}")]) from None


class _Frame:
    __slots__ = ("anchor", "container", "key", "key_line", "merges", "start")

    def __init__(self, container: LineMap | LineSeq, anchor: str | None, start: int) -> None:
        self.container = container
        self.anchor = anchor
        self.start = start  # node count before this node (its expanded size at the end)
        self.key: Any = _NO_KEY
        self.key_line = 0
        self.merges: list[Any] = []


_NO_KEY = object()


class _Composer:
    """libyaml events → LineMap / LineSeq / scalars, iteratively (no recursion limit)."""

    def __init__(self, text: str, file: str) -> None:
        self.parser = CParser(text)
        self.file = file
        self.scalars = _Scalars()
        self.anchors: dict[str, tuple[Any, int]] = {}  # name → (node, expanded size)
        self.count = 0  # nodes composed so far, aliases counted expanded
        self.aliases = 0
        self.expanded = 0
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.done = False

    def fail(self, line: int, message: str) -> ConfigError:
        return ConfigError([Issue(self.file, line, "", f"YAML error: {message}")])

    def document(self) -> YamlValue:
        get = self.parser.get_event
        documents = 0
        while True:
            event: Any = get()  # one of yaml.events (the stubs type it Event | None)
            kind = type(event)
            if kind is ev.ScalarEvent:
                self.scalar(event)
            elif kind is ev.MappingStartEvent or kind is ev.SequenceStartEvent:
                self.open(event, kind is ev.MappingStartEvent)
            elif kind is ev.MappingEndEvent or kind is ev.SequenceEndEvent:
                self.close()
            elif kind is ev.AliasEvent:
                self.alias(event)
            elif kind is ev.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise self.fail(event.start_mark.line + 1, "expected a single document")
                if event.version not in (None, (1, 2)):
                    raise _Unusual
            elif kind is ev.StreamEndEvent:
                return self.root

    def scalar(self, event: Any) -> None:
        line = event.start_mark.line + 1
        value: Any = event.value
        tag = event.tag
        if tag is None and not event.style and event.implicit[0]:  # plain (style "")
            tag, value = self.scalars.plain(value)
        elif tag in (None, "!"):
            tag = STR
        else:
            raise _Unusual  # an explicit tag: ruamel keeps some as TaggedScalar, let it decide
        self.count += 1
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1)
        self.add(value, line, merge=tag == MERGE)

    def open(self, event: Any, mapping: bool) -> None:
        if event.tag not in (MAP_TAGS if mapping else SEQ_TAGS):
            raise _Unusual
        line = event.start_mark.line + 1
        if len(self.stack) >= nodes.MAX_DEPTH:
            raise self.fail(line, f"nesting deeper than {nodes.MAX_DEPTH} levels")
        container: LineMap | LineSeq = LineMap(line) if mapping else LineSeq(line)
        if event.anchor is not None:
            self.anchors[event.anchor] = (container, 1)  # an alias inside counts it once
        self.stack.append(_Frame(container, event.anchor, self.count))
        self.count += 1

    def close(self) -> None:
        frame = self.stack.pop()
        container = frame.container
        if frame.merges and isinstance(container, LineMap):
            for source in frame.merges:
                for k, v in source.items():
                    if k not in container:
                        container[k] = v  # no line: errors point at the mapping
        if frame.anchor is not None:
            self.anchors[frame.anchor] = (container, self.count - frame.start)
        self.add(container, container.line)

    def alias(self, event: Any) -> None:
        line = event.start_mark.line + 1
        found = self.anchors.get(event.anchor)
        if found is None:
            raise self.fail(line, f"found undefined alias {event.anchor!r}")
        node, size = found
        self.aliases += 1
        self.expanded += size
        self.count += size
        if self.aliases > nodes.MAX_ALIASES:
            raise self.fail(line, f"more than {nodes.MAX_ALIASES} aliases")
        if self.expanded > nodes.MAX_ALIAS_NODES:
            raise self.fail(
                line,
                f"aliases expand to more than {nodes.MAX_ALIAS_NODES} nodes "
                f"(alias *{event.anchor})",
            )
        self.add(node, line)

    def add(self, value: Any, line: int, merge: bool = False) -> None:
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        container = frame.container
        if isinstance(container, LineSeq):
            container.append(value)
            container.lines.append(line)
            return
        if frame.key is _NO_KEY:
            if isinstance(value, dict | list):
                raise _Unusual  # a collection as a key
            frame.key = _MERGE_KEY if merge else value
            frame.key_line = line
            return
        key, frame.key = frame.key, _NO_KEY
        if key is _MERGE_KEY:
            sources = value if isinstance(value, list) else [value]
            if not all(isinstance(s, dict) for s in sources):
                raise _Unusual
            frame.merges.extend(sources)
            return
        if key in container:
            message = (
                f'while constructing a mapping found duplicate key "{key}" with value '
                f'"{value}" (original value: "{container[key]}")'
            )
            issue = Issue(self.file, frame.key_line, "", f"YAML syntax error: {message}")
            raise ConfigError([issue])
        container[key] = value
        container.lines[key] = (frame.key_line, line)


_MERGE_KEY = object()
