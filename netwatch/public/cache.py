"""Rendered responses, kept until the data they were rendered from changes.

A page is rendered at most once per change of its inputs (the view's minute and the
revision of what it shows), then served with a strong ETag, gzipped once, from memory.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Entry:
    body: bytes
    content_type: str
    etag: str
    gzipped: bytes | None  # None when compressing does not pay


def make_entry(body: bytes, content_type: str) -> Entry:
    digest = hashlib.sha256(body).hexdigest()[:20]
    packed = gzip.compress(body, compresslevel=6, mtime=0) if len(body) > 1024 else None
    if packed is not None and len(packed) >= len(body):
        packed = None
    return Entry(body, content_type, f'"{digest}"', packed)


class PageCache:
    """LRU of Entry by key; an entry is valid while its dependency value is unchanged."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, tuple[Hashable, Entry]] = OrderedDict()
        self.hits = 0
        self.renders = 0

    def get(self, key: Hashable, dep: Hashable, render: Callable[[], tuple[bytes, str]]) -> Entry:
        got = self._items.get(key)
        if got is not None and got[0] == dep:
            self._items.move_to_end(key)
            self.hits += 1
            return got[1]
        body, content_type = render()
        entry = make_entry(body, content_type)
        self._items[key] = (dep, entry)
        self._items.move_to_end(key)
        self.renders += 1
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)
        return entry

    def clear(self) -> None:
        self._items.clear()
