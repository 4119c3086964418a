"""The listing's search over one joined string finds exactly what a test of each title finds."""

from __future__ import annotations

import random

from api.read.catalog_lookup import TrackEntry
from api.read.listing_routes import Ordered


def naive(entries: list[TrackEntry], last_id: int, query: str) -> list[int]:
    """Independently: every entry past `last_id`, ascending, whose folded title holds `query`."""
    return sorted(e.track_id for e in entries if e.track_id > last_id and query in e.title.casefold())


def test_a_search_finds_what_a_test_of_each_title_finds() -> None:
    rng = random.Random(5)
    alphabet = "ab\nßSs "  # separators inside titles, and case folding that changes lengths (ß -> ss)
    for _ in range(300):
        entries = [
            TrackEntry(
                rng.randrange(1, 10_000), "".join(rng.choices(alphabet, k=rng.randrange(0, 6))), None, ()
            )
            for _ in range(rng.randrange(0, 30))
        ]
        entries = list({e.track_id: e for e in entries}.values())
        ordered = Ordered.of(entries)
        for _ in range(10):
            query = "".join(rng.choices(alphabet, k=rng.randrange(0, 4))).casefold()
            last_id = rng.choice([0, *(e.track_id for e in entries)])
            found = [e.track_id for e in ordered.after(last_id, query)]
            assert found == naive(entries, last_id, query), (query, last_id)


def test_a_search_reaches_the_last_entry_and_past_the_end() -> None:
    entries = [
        TrackEntry(1, "Dawn", None, ()),
        TrackEntry(2, "Down", None, ()),
        TrackEntry(3, "dawn", None, ()),
    ]
    ordered = Ordered.of(entries)
    assert [e.track_id for e in ordered.after(0, "dawn")] == [1, 3]
    assert [e.track_id for e in ordered.after(3, "dawn")] == []
    assert [e.track_id for e in ordered.after(0, "n\nd")] == []  # never across two titles
