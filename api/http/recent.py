"""A bounded map that drops its least recently used entries first: the response cache's answers, the
charts' bucket counts, the kept answers and the large audiences all keep their most asked entries
this way, each bounded by a weight that stands for its memory (bytes, rows, track ids)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """Values by key; once the entries' total weight (1 each unless `weight(key, value)` says
    otherwise) passes `capacity`, the least recently used are dropped."""

    def __init__(self, capacity: int, weight: Callable[[K, V], int] = lambda key, value: 1) -> None:
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._capacity = capacity
        self._weight = weight
        self._total = 0

    def peek(self, key: K) -> V | None:
        """The value of `key`, without counting it as used."""
        return self._entries.get(key)

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self.pop(key)
        self._entries[key] = value
        self._total += self._weight(key, value)
        while self._total > self._capacity:
            self._total -= self._weight(*self._entries.popitem(last=False))

    def pop(self, key: K) -> None:
        """Drop `key`'s entry, if any."""
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._total -= self._weight(key, previous)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def weight(self) -> int:
        return self._total
