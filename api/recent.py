"""A bounded map that drops its least recently used entries first: the response cache's answers, the
charts' bucket counts and the large audiences all keep their most asked entries this way."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """Values by key; once the entries' total weight (1 each unless `weight` says otherwise) passes
    `capacity`, the least recently used are dropped."""

    def __init__(self, capacity: int, weight: Callable[[V], int] = lambda value: 1) -> None:
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
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._total -= self._weight(previous)
        self._entries[key] = value
        self._total += self._weight(value)
        while self._total > self._capacity:
            self._total -= self._weight(self._entries.popitem(last=False)[1])
