"""The app's in-process caches: rendered tiles and coverage results.

Both are keyed by the data versions their entries were made from (see ``freshness``), so an
edit is never served stale: old keys are simply not asked for again and age out. Only touched
from the event loop, so neither needs a lock.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

TILE_CACHE_MAX_BYTES = 64 * 2**20
ENTRY_OVERHEAD_BYTES = 200  # key, node and bytes object; counts empty tiles too
SCOPE_ENTRIES = 8  # a scope's frames (all Beijing: a few MB): the scopes being worked on
COVERAGE_ENTRIES = 32  # a result holds a GeoDataFrame per boundary and the cells: keep few

V = TypeVar("V")


class TileCache:
    """Rendered tiles (gzip bytes, ``b""`` for an empty tile), least recently used evicted first.

    Bounded by bytes, not entries: one huge tile must not flush the cache.
    """

    def __init__(self, max_bytes: int = TILE_CACHE_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size_bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        body = self._entries.get(key)
        if body is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return body

    def put(self, key: tuple[Any, ...], body: bytes) -> None:
        cost = len(body) + ENTRY_OVERHEAD_BYTES
        if cost > self.max_bytes // 8 or key in self._entries:
            return
        self._entries[key] = body
        self.size_bytes += cost
        while self.size_bytes > self.max_bytes:
            _, old = self._entries.popitem(last=False)
            self.size_bytes -= len(old) + ENTRY_OVERHEAD_BYTES


class LruCache(Generic[V]):
    """At most ``entries`` values, least recently used evicted first (coverage results)."""

    def __init__(self, entries: int = COVERAGE_ENTRIES) -> None:
        self.entries = entries
        self._values: OrderedDict[Hashable, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: Hashable) -> V | None:
        value = self._values.get(key)
        if value is not None:
            self._values.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> None:
        self._values[key] = value
        self._values.move_to_end(key)
        while len(self._values) > self.entries:
            self._values.popitem(last=False)
