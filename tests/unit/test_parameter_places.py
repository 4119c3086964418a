"""clickhouse-connect finds a statement's parameter places once per text (insights/store.py,
`remember_parameter_places`): the same places and the same bound statement, without reading the text
again at the next call."""

from __future__ import annotations

from datetime import date

import pytest
from clickhouse_connect.driver import binding

from api.read import listener_blocks
from insights.store import remember_parameter_places  # importing the store installs the memo

remembering = pytest.mark.skipif(
    not hasattr(getattr(binding, "_server_bind_matches", None), "original")
    or not hasattr(binding, "_next_sql_token"),
    reason="this clickhouse-connect finds parameter places otherwise: the store leaves it as it is",
)

# A quote before the last place sends clickhouse-connect through its character-by-character reader.
QUOTED = (
    "SELECT arrayReduce('uniqExactState', emptyArrayString()), '{not_a_place:UInt8}', {day:Date}"
    " -- {nor_this:String}\nFROM t WHERE id IN {ids:Array(UInt64)}"
)


def reads_of_the_text(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads: list[int] = []
    step = binding._next_sql_token

    def counted(query: str, index: int, heredoc_ends: dict[str, int]) -> tuple[int, int]:
        reads.append(index)
        return step(query, index, heredoc_ends)

    monkeypatch.setattr(binding, "_next_sql_token", counted)
    return reads


@remembering
def test_the_places_are_those_clickhouse_connect_finds() -> None:
    remembered = binding._server_bind_matches
    assert (
        remembered(QUOTED, ())
        == remembered.original(QUOTED, ())
        == [("day", "Date"), ("ids", "Array(UInt64)")]
    )


@remembering
def test_a_text_is_read_once_however_often_it_is_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    text = QUOTED + " AND 1 = 1"  # a text no other test bound
    reads = reads_of_the_text(monkeypatch)
    first = binding.bind_query(text, {"day": date(2026, 12, 7), "ids": [1, 2]})
    assert reads, "the first bind reads the text"
    done = len(reads)
    again = binding.bind_query(text, {"day": date(2026, 12, 7), "ids": [1, 2]})
    assert len(reads) == done and again == first
    assert first == (text, {"param_day": "2026-12-07", "param_ids": "[1, 2]"})


@remembering
def test_a_popular_entitys_merge_binds_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    parameters = {
        "keys": [],
        "windows": [(2, 7, date(2026, 11, 8), date(2026, 12, 6), 0, 1796685508535848)],
        "window_asks": [[0]],
        "window_entities": [7],
        "counted_asks": [],
        "own": [(1, date(2026, 12, 7))],
        "own_asks": [[0]],
        "own_tracks": [1],
        "own_first": date(2026, 12, 7),
        "own_last": date(2026, 12, 7),
        "exact_own": [],
        "total_tracks": [],
    }
    statement = listener_blocks.merge_statement(parameters)
    assert statement is not None and "'" in statement
    remembered = binding.bind_query(statement, parameters)
    monkeypatch.setattr(binding, "_server_bind_matches", binding._server_bind_matches.original)
    assert binding.bind_query(statement, parameters) == remembered


@remembering
def test_statements_with_binary_values_are_read_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = reads_of_the_text(monkeypatch)
    for _ in range(2):
        done = len(reads)
        binding._server_bind_matches(QUOTED, {"$blob$": b"x"}.keys())
        assert len(reads) > done


def test_a_clickhouse_connect_that_finds_them_otherwise_is_left_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def other_shape(query: str, binary_names: object, server_tz: object) -> list[tuple[str, str]]:
        return []

    monkeypatch.setattr(binding, "_server_bind_matches", other_shape, raising=False)
    remember_parameter_places()
    assert binding._server_bind_matches is other_shape
    monkeypatch.delattr(binding, "_server_bind_matches")
    remember_parameter_places()
    assert not hasattr(binding, "_server_bind_matches")
