"""Listener sketches merged in the process: the union of `uniqCombined64(17)` states, as the engine
makes it, from their serialised bytes, and its count, as the engine gives it.

The engine merges a dense sketch by walking its 131,072 packed registers one at a time (0.5 to 1 ms);
unpacked once into a byte each, two sketches merge in microseconds (`numpy.maximum`), and a sketch
kept unpacked (a window's, api/read/process_merges.py) is neither read nor copied again. The union is
the very one the engine makes: a set of the listeners' 64-bit hashes while every state is one and the
union holds at most 4,096, else the registers, each the highest rank any state gives it.

Its count is the engine's own, to the listener: a set's is its size; registers' is the engine's
estimate, computed here the way the engine computes it (the harmonic mean of the registers, from the
count of registers at each rank, summed as the engine sums them; linear counting below 177,700).
Between that threshold and 5 times 2^17 raw the engine also corrects a bias from a table of its own;
`count` gives the registers' ranks there instead, and `ESTIMATES_SQL` asks the engine.

Exact sets (`uniqExact` states) are read too: their 128-bit hashes, counted exactly (`distinct`).

The layout read here is the state's serialised form (the one stored in every table holding the
sketches): a byte for the kind of container, then for a small or medium set a variable-length count
and the 64-bit hashes, and for registers the 131,072 six-bit ranks packed from the lowest bit,
followed by the count of registers at each of the 49 ranks and the count of zero registers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

PRECISION = 17
BUCKETS = 1 << PRECISION
MAX_RANK = 64 - PRECISION + 1  # a 64-bit hash less its bucket bits, plus one
SET_MAX = 1 << (PRECISION - 5)  # the most hashes a set holds before it becomes registers
_SMALL, _MEDIUM, _LARGE = 1, 2, 3
_PACKED = BUCKETS * 6 // 8  # the registers' bytes: six bits each
_TAIL = (MAX_RANK + 1) * 4 + 4  # the counts at each rank (UInt32), then of zero registers (UInt32)
_SHIFTS = np.array([0, 6, 12, 18], dtype=np.uint32)

Registers = npt.NDArray[np.uint8]
Hashes = npt.NDArray[np.uint64]

_ALPHA = 0.7213 / (1 + 1.079 / BUCKETS)  # the harmonic mean's normalising factor
_LINEAR_BELOW = 177_700.0  # the engine counts linearly below this (its bias table's threshold)
_BIASED_UP_TO = 5.0 * BUCKETS  # the raw estimates the engine corrects with its bias table
_UNCORRECTED_PAST = 2.0**32 / 30  # raw estimates the engine takes as they are


class BadSketch(ValueError):
    """Bytes that are not a serialised `uniqCombined64(17)` state."""


@dataclass(slots=True, eq=False)
class Sketch:
    """One state, or a union: a set of hashes (`registers` None) or the registers (`hashes` None)."""

    hashes: Hashes | None
    registers: Registers | None
    _places: tuple[npt.NDArray[np.intp], Registers] | None = None

    @property
    def nbytes(self) -> int:
        held = self.hashes if self.registers is None else self.registers
        return 0 if held is None else int(held.nbytes)

    def places(self) -> tuple[npt.NDArray[np.intp], Registers]:
        """The register each of a set's hashes sets, and to what rank (found once: a set of today's
        rows is merged into each ask it serves)."""
        if self._places is None:
            self._places = _places_of(self.hashes if self.hashes is not None else EMPTY_HASHES)
        return self._places


EMPTY_HASHES: Hashes = np.zeros(0, dtype=np.uint64)
EMPTY = Sketch(EMPTY_HASHES, None)


def _varint(data: bytes | memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise BadSketch("the state ends inside its count")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if byte < 0x80:
            return value, at
        shift += 7


def parse(data: bytes | memoryview) -> Sketch:
    """The state serialised as `data` (an empty string is an empty sketch)."""
    if not len(data):
        return EMPTY
    kind = data[0]
    if kind in (_SMALL, _MEDIUM):
        size, at = _varint(data, 1)
        if len(data) != at + 8 * size:
            raise BadSketch(f"a set of {size} hashes in {len(data)} bytes")
        return Sketch(np.frombuffer(data, dtype="<u8", count=size, offset=at).astype(np.uint64), None)
    if kind == _LARGE:
        if len(data) != 1 + _PACKED + _TAIL:
            raise BadSketch(f"registers in {len(data)} bytes")
        packed = np.frombuffer(data, dtype=np.uint8, count=_PACKED, offset=1).reshape(-1, 3).astype(np.uint32)
        words = packed[:, 0] | (packed[:, 1] << 8) | (packed[:, 2] << 16)
        registers = ((words[:, None] >> _SHIFTS) & 0x3F).astype(np.uint8).reshape(-1)
        return Sketch(None, registers)
    raise BadSketch(f"unknown container {kind}")


def _places_of(hashes: Hashes) -> tuple[npt.NDArray[np.intp], Registers]:
    """The registers the engine fills with these hashes: the low bits pick the register, and the rank
    is one more than the trailing zeros of the rest (at most MAX_RANK)."""
    buckets = (hashes & np.uint64(BUCKETS - 1)).astype(np.intp)
    tails = hashes >> np.uint64(PRECISION)
    lowest = tails & (~tails + np.uint64(1))  # the lowest set bit (0 for a zero tail)
    ranks = np.full(len(hashes), MAX_RANK, dtype=np.uint8)
    nonzero = lowest != 0
    ranks[nonzero] = np.minimum(np.log2(lowest[nonzero]).astype(np.uint8) + 1, MAX_RANK)
    return buckets, ranks


def _distinct_hashes(hashes: Hashes) -> Hashes:
    ordered = np.sort(hashes)
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return ordered[first]


def union(sketches: Iterable[Sketch]) -> Sketch:
    """The union of the sketches, as the engine merges them: registers, the highest rank each state
    gives each (a set's hashes counted into them), unless every state is a set and their union holds at
    most SET_MAX hashes (it is then that set). The sketches are left as they are."""
    sets: list[Sketch] = []
    registers: Registers | None = None
    for sketch in sketches:
        if sketch.registers is not None:
            if registers is None:
                registers = sketch.registers.copy()
            else:
                np.maximum(registers, sketch.registers, out=registers)
        elif sketch.hashes is not None and len(sketch.hashes):
            sets.append(sketch)
    if registers is None:
        if not sets:
            return EMPTY
        if len(sets) == 1:
            return sets[0]
        hashes = _distinct_hashes(np.concatenate([s.hashes for s in sets if s.hashes is not None]))
        if len(hashes) <= SET_MAX:
            return Sketch(hashes, None)
        registers, sets = np.zeros(BUCKETS, dtype=np.uint8), [Sketch(hashes, None)]
    for sketch in sets:
        np.maximum.at(registers, *sketch.places())
    return Sketch(None, registers)


Ranks = tuple[int, ...]  # how many registers hold each rank, 0 to MAX_RANK


def ranks(registers: Registers) -> Ranks:
    return tuple(np.bincount(registers, minlength=MAX_RANK + 1).tolist())


def count(sketch: Sketch) -> int | Ranks:
    """The listeners the engine gives the sketch: a set's size, or registers' estimate; where the engine
    would correct the estimate's bias, the registers' ranks instead (ask it: ESTIMATES_SQL)."""
    if sketch.registers is None:
        return 0 if sketch.hashes is None else len(sketch.hashes)
    held = ranks(sketch.registers)
    counted = estimate(held)
    return held if counted is None else counted


def estimate(ranks: Ranks) -> int | None:
    """The engine's estimate of registers holding these ranks; None where it corrects its bias."""
    raw = _ALPHA * BUCKETS * BUCKETS / _denominator(ranks)
    if raw > _UNCORRECTED_PAST:
        return int(raw + 0.5)
    zeros = ranks[0]
    linear = BUCKETS * (math.log(BUCKETS) - math.log(zeros)) if zeros else None
    if linear is not None and linear < _LINEAR_BELOW:
        return int(linear + 0.5)
    if raw <= _BIASED_UP_TO:
        return None
    return int(raw + 0.5)


def _denominator(ranks: Ranks) -> float:
    """The sum of 2^-rank over the registers, as the engine sums it: from the highest rank down, in
    extended precision. While no register passes rank 35 every partial sum is exact in a double (17 bits
    of registers' count and 35 of fraction), so a double gives the same sum, 40 times faster."""
    if not any(ranks[_EXACT_IN_DOUBLE + 1 :]):
        total = 0.0
        for n in reversed(ranks[: _EXACT_IN_DOUBLE + 1]):
            total = total / 2 + n
        return total
    wide = np.longdouble(ranks[MAX_RANK])
    for n in reversed(ranks[:MAX_RANK]):
        wide = wide / np.longdouble(2) + np.longdouble(n)
    return float(wide)


_EXACT_IN_DOUBLE = 53 - PRECISION - 1


def _packed(registers: Registers) -> bytes:
    """Registers (a multiple of four) packed as the engine stores them: six bits each, lowest first."""
    groups = registers.reshape(-1, 4).astype(np.uint32)
    words = groups[:, 0] | (groups[:, 1] << 6) | (groups[:, 2] << 12) | (groups[:, 3] << 18)
    return np.stack([words & 0xFF, (words >> 8) & 0xFF, words >> 16], axis=1).astype(np.uint8).tobytes()


# The engine's estimate of registers depends on how many hold each rank, not on which: for each union
# it is asked of a state whose registers hold the same ranks in order, spelt in a few bytes (`lead`,
# the ranks that do not fill a group of four) and as a count of four-register groups of each rank (the
# groups' packed bytes, three a rank, in one constant); the counts stored after the registers are zeros
# (the estimate does not read them).
_GROUPS = b"".join(_packed(np.full(4, rank, dtype=np.uint8)) for rank in range(MAX_RANK + 1)).hex()
ESTIMATES_SQL = f"""
SELECT arrayMap((lead, groups) -> finalizeAggregation(CAST(concat(char({_LARGE}), unhex(lead),
        arrayStringConcat(arrayMap((n, rank) -> repeat(substring(unhex('{_GROUPS}'), rank * 3 + 1, 3), n),
            groups, range({MAX_RANK + 1}))),
        repeat(char(0), {_TAIL})) AS AggregateFunction(uniqCombined64({PRECISION}), String))),
    {{leads:Array(String)}}, {{groups:Array(Array(UInt64))}})"""


def estimates_parameters(unions: Sequence[Ranks]) -> dict[str, Any]:
    """ESTIMATES_SQL's parameters for registers holding these ranks."""
    leads, groups = [], []
    for held in unions:
        leads.append(_packed(np.repeat(np.arange(MAX_RANK + 1, dtype=np.uint8), [n % 4 for n in held])).hex())
        groups.append([n // 4 for n in held])
    return {"leads": leads, "groups": groups}


# Exact sets (`uniqExact` states of strings): the 128-bit hashes of the listeners, each as its low and
# high 64 bits, serialised as a variable-length count and the hashes, 16 bytes each.
Keys = npt.NDArray[np.uint64]  # shape (n, 2)
NO_KEYS: Keys = np.zeros((0, 2), dtype=np.uint64)


def parse_exact(data: bytes | memoryview) -> Keys:
    """The hashes of the exact set serialised as `data` (an empty string is an empty set)."""
    if not len(data):
        return NO_KEYS
    size, at = _varint(data, 0)
    if len(data) != at + 16 * size:
        raise BadSketch(f"an exact set of {size} hashes in {len(data)} bytes")
    return np.frombuffer(data, dtype="<u8", count=2 * size, offset=at).reshape(-1, 2)


def distinct(keys: Keys) -> Keys:
    """The distinct hashes, ordered by their low half (then high, where low halves are equal)."""
    if len(keys) < 2:
        return keys
    ordered = keys[np.argsort(keys[:, 0], kind="stable")]
    same_low = ordered[1:, 0] == ordered[:-1, 0]
    same_high = ordered[1:, 1] == ordered[:-1, 1]
    if np.any(same_low & ~same_high):  # low halves shared by different hashes (about 1 in 10^9)
        ordered = keys[np.lexsort((keys[:, 1], keys[:, 0]))]
        same_low = ordered[1:, 0] == ordered[:-1, 0]
        same_high = ordered[1:, 1] == ordered[:-1, 1]
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ~(same_low & same_high)
    return ordered[first]


@dataclass(frozen=True, slots=True)
class ExactSet:
    """Distinct hashes held for many unions (a window's): `keys` as `distinct` orders them."""

    keys: Keys

    @classmethod
    def of(cls, keys: Keys) -> ExactSet:
        return cls(distinct(keys))

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes)

    def union_count(self, others: Sequence[Keys]) -> int:
        """How many distinct hashes this set and `others` hold together."""
        added = distinct(np.concatenate(others)) if others else NO_KEYS
        if not len(added):
            return len(self.keys)
        lows = self.keys[:, 0]
        if len(lows) > 1 and np.any(lows[1:] == lows[:-1]):  # a shared low half: no search by it
            return len(distinct(np.concatenate([self.keys, added])))
        at = np.minimum(np.searchsorted(lows, added[:, 0]), max(len(lows) - 1, 0))
        if not len(lows):
            return len(added)
        found = (lows[at] == added[:, 0]) & (self.keys[at, 1] == added[:, 1])
        return len(self.keys) + int(np.count_nonzero(~found))
