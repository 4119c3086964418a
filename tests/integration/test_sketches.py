"""Listener states read in the process, against the real engine: each `uniqCombined64(17)` sketch and
each union of them is counted as the engine counts it, to the listener (the unions whose bias the engine
corrects by the count it gives from their registers' ranks), and each union of exact sets too."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from api.read import sketches
from insights.store import Store

# Sets (small and medium), the point where a set becomes registers, linear counting, the engine's bias
# range, and plain estimates.
SIZES = [0, 1, 16, 17, 1_000, 4_095, 4_096, 4_097, 4_200, 60_000, 150_000, 300_000, 500_000, 1_200_000]


# Each kind of state: the function making it, and the one merging states.
FUNCTIONS = {
    "sketch": ("uniqCombined64State(17)", "uniqCombined64Merge(17)"),
    "state": ("uniqExactState", "uniqExactMerge"),
}


def states(store: Store, column: str, ranges: list[tuple[int, int]]) -> list[tuple[bytes, int]]:
    """For each (offset, n): the state of n listeners from `offset` on, as bytes, and the engine's count."""
    function = FUNCTIONS[column][0]
    rows = []
    for offset, n in ranges:
        ((state, count),) = store.query_rows(
            f"SELECT CAST({function}(toString(number + {{offset:UInt64}})) AS String),"
            f" finalizeAggregation({function}(toString(number + {{offset:UInt64}})))"
            " FROM numbers({n:UInt64})",
            {"offset": offset, "n": n},
            binary=True,
        )
        rows.append((state, int(count)))
    return rows


def counted(store: Store, union: sketches.Sketch) -> int:
    """The count of a union as the product gives it: the process's, else the engine's from its ranks."""
    found = sketches.count(union)
    if isinstance(found, int):
        return found
    ((estimates,),) = store.query_rows(sketches.ESTIMATES_SQL, sketches.estimates_parameters([found]))
    return int(estimates[0])


def merged_by_engine(store: Store, column: str, ranges: list[tuple[int, int]]) -> int:
    function, merge = FUNCTIONS[column]
    parts = " UNION ALL ".join(
        f"SELECT {function}(toString(number + {offset})) AS s FROM numbers({n})" for offset, n in ranges
    )
    return int(store.query_rows(f"SELECT {merge}(s) FROM ({parts})")[0][0])


def test_each_sketch_is_counted_as_the_engine_counts_it(embedded_store: Store) -> None:
    found = states(embedded_store, "sketch", [(7, n) for n in SIZES])
    ways: set[str] = set()
    for (state, count), n in zip(found, SIZES, strict=True):
        sketch = sketches.parse(state)
        assert (sketch.registers is None) == (n <= sketches.SET_MAX)
        by_process = sketches.count(sketch)
        ways.add("process" if isinstance(by_process, int) else "engine")
        assert counted(embedded_store, sketch) == count, n
    assert ways == {"process", "engine"}  # both ways were tried


def test_unions_are_counted_as_the_engine_merges_them(embedded_store: Store) -> None:
    """Random unions of overlapping sketches, sets and registers, each sketch left as it was."""
    rng = random.Random(43)
    ranges = [
        (rng.randrange(0, 400_000), rng.choice([3, 900, 2_500, 4_000, 9_000, 120_000, 400_000]))
        for _ in range(14)
    ]
    parsed = [sketches.parse(state) for state, _ in states(embedded_store, "sketch", ranges)]
    before = [s.registers.copy() if s.registers is not None else s.hashes for s in parsed]
    for _ in range(25):
        chosen = rng.sample(range(len(ranges)), rng.choice([1, 2, 3, 5]))
        union = sketches.union(parsed[i] for i in chosen)
        assert counted(embedded_store, union) == merged_by_engine(
            embedded_store, "sketch", [ranges[i] for i in chosen]
        )
    for was, sketch in zip(before, parsed, strict=True):
        assert np.array_equal(was, sketch.registers if sketch.registers is not None else sketch.hashes)


def test_a_union_of_sets_past_a_set_is_registers(embedded_store: Store) -> None:
    """Two sets of 3,000 listeners, half shared (4,500 in all), and of 2,000 each, disjoint (4,000)."""
    for ranges, expected in (
        ([(0, 3_000), (1_500, 3_000)], "registers"),
        ([(0, 2_000), (2_000, 2_000)], "set"),
    ):
        union = sketches.union(sketches.parse(state) for state, _ in states(embedded_store, "sketch", ranges))
        assert ("set" if union.registers is None else "registers") == expected
        assert counted(embedded_store, union) == merged_by_engine(embedded_store, "sketch", ranges)


@pytest.mark.parametrize("held", [False, True])
def test_exact_sets_are_counted_exactly(embedded_store: Store, held: bool) -> None:
    ranges = [(0, 50_000), (49_000, 3_000), (10, 5), (200_000, 0), (52_000, 1)]
    keys = [sketches.parse_exact(state) for state, _ in states(embedded_store, "state", ranges)]
    assert [len(k) for k in keys] == [n for _, n in ranges]
    expected = merged_by_engine(embedded_store, "state", ranges)
    if held:
        assert sketches.ExactSet.of(keys[0]).union_count(keys[1:]) == expected
    else:
        assert len(sketches.distinct(np.concatenate(keys))) == expected


def test_hashes_sharing_a_low_half_are_told_apart() -> None:
    """Two hashes with the same low 64 bits are two listeners (the engine keeps 128 bits)."""
    keys: Any = np.array([[5, 1], [5, 2], [5, 1], [3, 9]], dtype=np.uint64)
    assert len(sketches.distinct(keys)) == 3
    held = sketches.ExactSet.of(keys[:2])
    assert held.union_count([np.array([[5, 2], [5, 3]], dtype=np.uint64)]) == 3


def test_what_is_not_a_state_is_refused() -> None:
    for data in (b"\x09", b"\x02\x05" + bytes(8), b"\x03" + bytes(10)):
        with pytest.raises(sketches.BadSketch):
            sketches.parse(data)
    with pytest.raises(sketches.BadSketch):
        sketches.parse_exact(b"\x02" + bytes(16))
