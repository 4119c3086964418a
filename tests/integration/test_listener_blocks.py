"""Listener blocks against the real engine: the worker's blocks give exactly the estimate the tracks'
own sketches give, are used only while they hold the entity's tracks of now (a moved track, a rollup
that has not caught up), and the migration builds the blocks the worker would."""

import asyncio
import threading
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest

from api.read import analytics_queries, listener_blocks
from api.read.analytics_queries import (
    SKETCH_ABOVE,
    Audiences,
    Mode,
    TrackPeriod,
    group_figures,
    read_figures,
)
from api.read.analytics_queries import figures as figures_of
from api.read.chart_queries import ChartMemo, chart
from api.read.listener_blocks import (
    ALBUM,
    ALL,
    ALL_TIME,
    ARTIST,
    DAY,
    KEPT_WINDOWS,
    TRACK,
    Ask,
    Entity,
    block_sums,
    keeping_done,
    listeners,
    sums_statement,
    warm_windows,
)
from api.read.process_merges import WINDOWS_SQL
from insights.metrics import CHART_COUNTS, FORESEEN
from insights.migrate import load_migrations
from insights.store import Store
from pipeline.rollups import LISTENER_BLOCKS, ROLLUPS
from pipeline.sink import RollupSink, SourcedEvent
from schemas.events import Event
from schemas.periods import chart_buckets, period_bounds
from tests.integration.statements import MERGE, Statements
from tests.integration.written import write_through_sink as flush

pytestmark = pytest.mark.integration
T = TypeVar("T")

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()
ALBUM_ID, OTHER_ALBUM, ARTIST_ID, GUEST = 7, 8, 70, 71
# Album 7 holds tracks 1 and 2; the artist 70 lists tracks 1, 2 and 3, and track 3 also the guest.
CATALOG = {1: (ALBUM_ID, [ARTIST_ID]), 2: (ALBUM_ID, [ARTIST_ID]), 3: (None, [ARTIST_ID, GUEST])}
DAYS = 75  # of history: two whole months at least, and weeks


@pytest.fixture(autouse=True, params=["in process", "by the engine"])
def merged(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs with the merges made both ways: in the process where few rows are read
    besides the windows (as served), and always by the engine."""
    if request.param == "by the engine":
        monkeypatch.setattr(listener_blocks, "PROCESS_ROWS", -1)
    return str(request.param)


def place(store: Store, track_id: int, album_id: int | None, artist_ids: list[int], version: int) -> None:
    store.command(
        "INSERT INTO tracks (track_id, title, album_id, artist_ids, version)"
        " VALUES ({t:UInt64}, 't', {a:Nullable(UInt64)}, {r:Array(UInt64)}, {v:UInt64})",
        {"t": track_id, "a": album_id, "r": artist_ids, "v": version},
    )


def play(event_id: str, track: int, listener: str, at: datetime) -> Event:
    return Event(event_id=event_id, type="play", track_id=track, listener_id=listener, occurred_at=at)


def plays(track: int, listeners: range, tag: str) -> list[Event]:
    """One play by each listener, spread over the last DAYS days."""
    return [
        play(f"{tag}-{track}-{n}", track, f"listener-{n}", NOW - timedelta(days=n % DAYS)) for n in listeners
    ]


def week_crowd(monday: date) -> list[Event]:
    """SKETCH_ABOVE + 3,000 listeners of the artist's three tracks, all at the start of `monday`."""
    start = datetime.combine(monday, datetime.min.time(), UTC)
    return [play(f"crowd-{n}", 1 + n % 3, f"crowd-{n}", start) for n in range(SKETCH_ABOVE + 3_000)]


def history(store: Store) -> None:
    for track, (album, artists) in CATALOG.items():
        place(store, track, album, artists, 1)
    events = (
        plays(1, range(0, 3_000), "a")
        + plays(2, range(2_000, 4_000), "a")
        + plays(3, range(3_500, 4_500), "a")
    )
    flush(store, events)


def of_tracks(store: Store, tracks: list[int], first: date | None, last: date | None = TODAY) -> int:
    """The union of the tracks' own sketches over the range (all time if `first` is None)."""
    if first is None:
        sql = (
            "SELECT uniqCombined64Merge(17)(listeners_sketch) FROM track_totals"
            " WHERE track_id IN {t:Array(UInt64)}"
        )
        return int(store.query_rows(sql, {"t": tracks})[0][0])
    sql = (
        "SELECT uniqCombined64Merge(17)(listeners_sketch) FROM track_daily"
        " WHERE track_id IN {t:Array(UInt64)} AND day >= {f:Date} AND day <= {l:Date}"
    )
    return int(store.query_rows(sql, {"t": tracks, "f": first, "l": last})[0][0])


RANGES = [
    (TODAY - timedelta(days=6), TODAY),
    (TODAY - timedelta(days=29), TODAY),
    (TODAY - timedelta(days=DAYS - 1), TODAY),
    (TODAY - timedelta(days=60), TODAY - timedelta(days=20)),
    (None, None),
]


def settled(reading: Coroutine[Any, Any, T]) -> T:
    """`reading`'s answer, once the windows it started keeping are built (none is left to land in a
    later test's tables)."""

    async def whole() -> T:
        found = await reading
        await keeping_done()
        return found

    return asyncio.run(whole())


def timeline(
    store: Store, monkeypatch: pytest.MonkeyPatch, which: Callable[[dict[str, Any] | None], str]
) -> list[tuple[str, str]]:
    """("start" or "end", `which` of its parameters) of each statement run from now on, in order."""
    steps: list[tuple[str, str]] = []
    real = store.aquery_rows

    async def recorded(sql: str, parameters: dict[str, Any] | None = None, **options: Any) -> Any:
        steps.append(("start", which(parameters)))
        try:
            return await real(sql, parameters, **options)
        finally:
            steps.append(("end", which(parameters)))

    monkeypatch.setattr(store, "aquery_rows", recorded)
    return steps


def read(store: Store, asks: list[Ask]) -> list[int]:
    """The asks' listeners, once the windows that read started keeping are built."""
    return settled(listeners(store, asks))


def asked(
    store: Store,
    entity: Entity,
    tracks: list[int],
    first: date | None,
    last: date | None,
    exact: bool = False,
) -> int:
    return read(store, [Ask(entity, tuple(tracks), first, last, exact)])[0]


def read_from_tracks(statements: Statements) -> tuple[list[tuple[int, date]], list[int]]:
    """What the last read took from the tracks' own rows: (track, day) rows, and all-time rows."""
    merged = [p for sql, p in statements.run if sql == MERGE][-1]
    return list(merged["own"]), list(merged["total_tracks"])


def test_blocks_give_the_estimate_of_the_tracks_own_sketches(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(clean_store)
    statements = Statements(clean_store, monkeypatch)
    for entity, tracks in (
        (Entity(ALBUM, ALBUM_ID), [1, 2]),
        (Entity(ARTIST, ARTIST_ID), [1, 2, 3]),
        (Entity(ARTIST, GUEST), [3]),
        (Entity(TRACK, 2), [2]),
    ):
        for first, last in RANGES:
            if entity.kind == TRACK and first is None:
                continue  # a track's all time is its own one sketch
            assert asked(clean_store, entity, tracks, first, last) == of_tracks(
                clean_store, tracks, first, last
            )
            if entity.kind != TRACK:  # every block was sound: nothing was read from the tracks
                assert read_from_tracks(statements) == ([], [])
    # Several asks in one read, each its own, also where they share blocks, days or all of them.
    album = Entity(ALBUM, ALBUM_ID)
    ranges = [RANGES[1], RANGES[2], RANGES[2], (RANGES[2][0], TODAY - timedelta(days=1)), RANGES[3]]
    asks = [Ask(album, (1, 2), *days) for days in ranges] + [Ask(Entity(TRACK, 3), (3,), *RANGES[2])]
    expected = [of_tracks(clean_store, [1, 2], *days) for days in ranges] + [
        of_tracks(clean_store, [3], *RANGES[2])
    ]
    for _ in range(2):  # from blocks, then from the windows the first read kept
        assert read(clean_store, asks) == expected


def test_a_track_moved_to_another_album_is_read_from_the_tracks_where_the_blocks_differ(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(clean_store)
    place(clean_store, 2, OTHER_ALBUM, [ARTIST_ID], 2)
    flush(
        clean_store,
        plays(2, range(10_000, 10_500), "b") + plays(1, range(20_000, 20_100), "b"),
        first_offset=10**6,
    )
    statements = Statements(clean_store, monkeypatch)
    # The album's blocks held track 2's plays: none was sound where track 2 played.
    asked(clean_store, Entity(ALBUM, ALBUM_ID), [1], *RANGES[2])
    own, _ = read_from_tracks(statements)
    assert {track for track, _ in own} == {1} and len(own) == DAYS
    for first, last in RANGES:
        for _ in range(2):  # the second read from the window kept by the first
            assert asked(clean_store, Entity(ALBUM, ALBUM_ID), [1], first, last) == of_tracks(
                clean_store, [1], first, last
            )
            assert asked(clean_store, Entity(ALBUM, OTHER_ALBUM), [2], first, last) == of_tracks(
                clean_store, [2], first, last
            )


def test_blocks_behind_their_tracks_are_not_used_until_they_catch_up(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(clean_store)
    # A flush whose listener blocks are not built (as between a flush's rollups, or after a crash).
    behind = RollupSink(clean_store, [r for r in ROLLUPS if r is not LISTENER_BLOCKS])
    behind.claim(range(64), 10**9)
    late = plays(1, range(30_000, 30_040), "late")
    behind.flush([SourcedEvent(e, 0, 10**6 + n) for n, e in enumerate(late)])
    behind.close()
    statements = Statements(clean_store, monkeypatch)
    album = Entity(ALBUM, ALBUM_ID)
    for first, last in RANGES:
        assert asked(clean_store, album, [1, 2], first, last) == of_tracks(clean_store, [1, 2], first, last)
    assert read_from_tracks(statements)[1] == [1, 2]  # all time: from the tracks' own sketches
    # The next flush builds every rollup up to the newest stored offset: the blocks are sound again.
    flush(clean_store, plays(3, range(40_000, 40_001), "next"), first_offset=2 * 10**6)
    statements.run.clear()
    unasked = (TODAY - timedelta(days=40), TODAY)  # no window kept: read from the blocks
    assert asked(clean_store, album, [1, 2], *unasked) == of_tracks(clean_store, [1, 2], *unasked)
    assert read_from_tracks(statements) == ([], [])


BLOCKS_SQL = """SELECT kind, entity_id, grain, start, sum(plays), sum(fingerprint),
    uniqCombined64Merge(17)(listeners), max(max_offset)
FROM listener_blocks GROUP BY kind, entity_id, grain, start ORDER BY kind, entity_id, grain, start"""


def test_the_migration_builds_the_blocks_the_worker_builds(clean_store: Store) -> None:
    """From the day sketches and the catalog, with the day rollup's progress as its own: the same
    rows, and a worker goes on from them without counting anything twice."""
    history(clean_store)
    built = clean_store.query_rows(BLOCKS_SQL)
    (migration,) = [m for m in load_migrations() if m.name == "016_listener_blocks.sql"]
    for _ in range(2):  # rerunning is safe
        for statement in migration.statements:
            clean_store.command(statement)
        assert clean_store.query_rows(BLOCKS_SQL) == built
    more = plays(1, range(50_000, 50_300), "more")
    flush(clean_store, more, first_offset=3 * 10**6)
    for first, last in RANGES:
        assert asked(clean_store, Entity(ALBUM, ALBUM_ID), [1, 2], first, last) == of_tracks(
            clean_store, [1, 2], first, last
        )


def test_a_chart_bucket_past_the_mark_takes_its_blocks_estimate(clean_store: Store) -> None:
    """This week's bucket of the artist holds SKETCH_ABOVE + 3,000 listeners: it is its week block's
    estimate, said to be one; the smaller weeks are counted exactly, and without the entity, all are."""
    history(clean_store)
    monday = TODAY - timedelta(days=TODAY.weekday())
    flush(clean_store, week_crowd(monday), first_offset=5 * 10**6)
    buckets = chart_buckets("1y", NOW)
    artist = Entity(ARTIST, ARTIST_ID)
    shown = settled(chart(clean_store, [1, 2, 3], buckets, entity=artist))
    exact = settled(chart(clean_store, [1, 2, 3], buckets))
    week = of_tracks(clean_store, [1, 2, 3], monday, monday + timedelta(days=6))
    assert shown[-1].estimate and shown[-1].listeners == week
    assert abs(week - exact[-1].listeners) <= exact[-1].listeners / 100
    assert not any(point.estimate for point in exact)
    assert [p for p in shown[:-1]] == exact[:-1]  # the other weeks: exact, and the same
    assert [(p.plays, p.likes, p.reposts) for p in shown] == [(p.plays, p.likes, p.reposts) for p in exact]


def test_a_chart_takes_the_counts_a_first_ask_kept_until_their_bucket_changes(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chart's first ask counts its closed buckets and keeps the counts; the first ask of another
    process counts only the bucket holding now, and shows the same chart; a late play in a kept bucket
    makes its count unsound: that bucket is counted again, and kept anew."""
    history(clean_store)
    buckets, album = chart_buckets("30d", NOW), Entity(ALBUM, ALBUM_ID)
    exact = settled(chart(clean_store, [1, 2], buckets))
    assert settled(chart(clean_store, [1, 2], buckets, entity=album)) == exact
    kept = "SELECT start, listeners FROM bucket_counts FINAL WHERE kind = 2 AND entity_id = 7 ORDER BY start"
    closed = [(p.t.date(), p.listeners) for p in exact[:-1] if p.plays]
    assert clean_store.query_rows(kept) == closed and len(closed) == 29
    statements = Statements(clean_store, monkeypatch)
    assert settled(chart(clean_store, [1, 2], buckets, entity=album)) == exact
    now = int(buckets.starts[-1].timestamp())
    assert [p["counted"] for _, p in statements.run if "counted" in p] == [[now]]
    day = buckets.starts[-4]
    late = play("late", 1, "newcomer", day)
    flush(clean_store, [late], first_offset=7 * 10**6)
    statements.run.clear()
    later = settled(chart(clean_store, [1, 2], buckets, entity=album))
    # Each counted once: the bucket holding now beside the judging, then the late one.
    assert [p["counted"] for _, p in statements.run if "counted" in p] == [[now], [int(day.timestamp())]]
    assert later == settled(chart(clean_store, [1, 2], buckets))
    assert later[-4].listeners == exact[-4].listeners + 1
    assert (day.date(), later[-4].listeners) in clean_store.query_rows(kept)
    # A track's days have no blocks (its days are its day rows): counted, kept, then taken, the same.
    alone = settled(chart(clean_store, [1], buckets))
    for _ in range(2):
        assert settled(chart(clean_store, [1], buckets, entity=Entity(TRACK, 1))) == alone
    assert len(clean_store.query_rows("SELECT start FROM bucket_counts WHERE kind = 1")) == 29


def test_the_sums_of_the_tracks_rows_and_of_the_blocks_they_judge_are_read_side_by_side(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read that needs both the tracks' own sums and those of blocks and windows (a first ask's)
    reads them in two statements at once, each planned on its own thread: the same sums as one."""
    history(clean_store)
    asks = [Ask(Entity(ALBUM, ALBUM_ID), (1, 2), *days) for days in RANGES]
    real = clean_store.aquery_rows
    steps = timeline(
        clean_store, monkeypatch, lambda p: "judged" if p and (p["keys"] or p["windows"]) else "own"
    )
    sums = settled(block_sums(clean_store, asks))
    assert sorted(steps) == [("end", "judged"), ("end", "own"), ("start", "judged"), ("start", "own")]
    assert max(steps.index(("start", w)) for w in ("own", "judged")) < min(
        steps.index(("end", w)) for w in ("own", "judged")
    )
    assert sums.tracks and sums.blocks and sums.totals  # both halves were read
    monkeypatch.setattr(clean_store, "aquery_rows", real)
    monkeypatch.setattr(listener_blocks, "_sums_rows", one)
    whole = settled(block_sums(clean_store, asks))
    for field in ("tracks", "counters", "blocks", "totals", "windows", "built", "listened"):
        assert getattr(sums, field) == getattr(whole, field), field


async def one(store: Store, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The sums in one statement, as they were read before they were split in two."""
    sql = sums_statement(parameters)
    return await store.aquery_rows(sql, parameters) if sql is not None else []


def test_a_chart_asked_again_counts_the_bucket_holding_now_beside_the_judging(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a chart's closed buckets are kept, asking it again counts the bucket holding now (with the
    sums of the others) while the statement that judges the buckets runs, not after it: the same
    chart, in the time of the longer of the two."""
    history(clean_store)
    memo = ChartMemo(recount_below=0)  # kept whatever their listeners, as a popular album's are
    buckets, album = chart_buckets("30d", NOW), Entity(ALBUM, ALBUM_ID)
    exact = settled(chart(clean_store, [1, 2], buckets))
    assert settled(chart(clean_store, [1, 2], buckets, memo, entity=album)) == exact
    steps = timeline(clean_store, monkeypatch, lambda p: "counts" if p and "counted" in p else "judges")
    beside = CHART_COUNTS.labels(read="beside")._value.get()
    assert settled(chart(clean_store, [1, 2], buckets, memo, entity=album)) == exact
    assert CHART_COUNTS.labels(read="beside")._value.get() == beside + 1
    assert sorted(steps) == [("end", "counts"), ("end", "judges"), ("start", "counts"), ("start", "judges")]
    assert steps.index(("start", "counts")) < steps.index(("end", "judges"))


def test_a_closed_bucket_keeps_its_estimate_until_a_late_play_has_it_counted(clean_store: Store) -> None:
    """Last week's bucket of the artist is past the mark: the first ask takes its block's estimate and
    keeps it; the next first ask takes the kept estimate without reading the block; after a late play
    in that week the bucket is counted exactly, and that count is kept."""
    history(clean_store)
    monday = TODAY - timedelta(days=TODAY.weekday() + 7)
    start = datetime.combine(monday, datetime.min.time(), UTC)
    flush(clean_store, week_crowd(monday), first_offset=5 * 10**6)
    buckets, artist = chart_buckets("1y", NOW), Entity(ARTIST, ARTIST_ID)
    week = of_tracks(clean_store, [1, 2, 3], monday, monday + timedelta(days=6))
    first = settled(chart(clean_store, [1, 2, 3], buckets, entity=artist))
    assert first[-2].estimate and first[-2].listeners == week
    # The next first ask takes it from the kept rows: the block is not read once the bucket has one.
    clean_store.command("TRUNCATE TABLE listener_blocks")
    assert settled(chart(clean_store, [1, 2, 3], buckets, entity=artist)) == first
    kept = "SELECT listeners, estimate FROM bucket_counts FINAL WHERE kind = 3 AND start = {w:Date}"
    assert clean_store.query_rows(kept, {"w": monday}) == [(week, 1)]
    late = play("late", 2, "newcomer", start)
    flush(clean_store, [late], first_offset=7 * 10**6)
    later = settled(chart(clean_store, [1, 2, 3], buckets, entity=artist))
    exact = settled(chart(clean_store, [1, 2, 3], buckets))
    assert later[-2].listeners == exact[-2].listeners != week
    assert clean_store.query_rows(kept, {"w": monday}) == [(exact[-2].listeners, 0)]


def crowd(repeats: int = 0) -> list[Event]:
    """Track 1 past SKETCH_ABOVE listeners over its last 20 days; with `repeats`, track 2's first
    2,000 listeners each play it `repeats` times more over those days."""
    return [
        play(f"crowd-{n}", 1, f"crowd-{n}", NOW - timedelta(days=n % 20)) for n in range(SKETCH_ABOVE + 3_000)
    ] + [
        play(f"again-{n}", 2, f"listener-{2_000 + n % 2_000}", NOW - timedelta(days=n % 20))
        for n in range(2_000 * repeats)
    ]


def test_a_first_ask_takes_the_estimate_past_the_mark_and_counts_the_rest(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With its entity, a set's first ask (nothing learnt yet) estimates from blocks what might be past
    the mark before counting anything: the album's period and its large track's are the estimates at
    once, never counted exactly; its previous period, and track 2 (past the mark in plays, not in
    listeners), are counted exactly. The next ask gives the same answer from what the first learnt."""
    history(clean_store)
    flush(clean_store, crowd(repeats=52), first_offset=5 * 10**6)
    bounds = period_bounds("30-days", NOW)
    period, previous = (bounds.start, bounds.today), (bounds.previous_start, bounds.start - timedelta(days=1))
    statements = Statements(clean_store, monkeypatch)
    audiences = Audiences()
    first = settled(group_figures(clean_store, [1, 2], bounds, audiences, Entity(ALBUM, ALBUM_ID), 2))
    figures, tracks = first
    assert figures.listeners == of_tracks(clean_store, [1, 2], *period) > SKETCH_ABOVE
    assert figures.previous_listeners == exact_of(clean_store, [1, 2], *previous)
    assert tracks[1].listeners == of_tracks(clean_store, [1], *period)
    assert tracks[2].plays > SKETCH_ABOVE and tracks[2].listeners == exact_of(clean_store, [2], *period)
    # Nothing past the mark was counted exactly: not the album's period, not track 1's.
    assert all(p.get("exact_from") != bounds.start for _, p in statements.run)
    assert all(1 not in p.get("exact_own_tracks", []) for _, p in statements.run)
    # The listed tracks' estimates merged with the probe's (as its sums rank them), and track 2's
    # exact count after: two merges.
    merges = [p for _, p in statements.run if "window_asks" in p]
    assert len(merges) == 2 and len(merges[1]["exact_own_tracks"]) == 1
    assert audiences.mode((1, 2), bounds).period and audiences.large((1,), period)
    assert not audiences.large((2,), period)
    statements.run.clear()
    assert settled(group_figures(clean_store, [1, 2], bounds, audiences, Entity(ALBUM, ALBUM_ID), 2)) == first
    assert not any("unsketched_tracks" in sql for sql in statements.sql)  # learnt once
    alone = settled(figures_of(clean_store, [1], bounds, Audiences(), Entity(TRACK, 1)))
    assert alone.listeners == tracks[1].listeners
    # What a handler lists as estimates: the figures estimated, known only once read.
    fresh = settled(read_figures(clean_store, [1, 2], bounds, Audiences(), Entity(ALBUM, ALBUM_ID), True, 2))
    assert fresh.mode == Mode(all_time=True, previous=False, period=True) and fresh.figures == figures
    # Listing one track foresees it alone; once track 2 overtakes it, its sums are read when it is listed.
    album = Entity(ALBUM, ALBUM_ID)
    _, one = settled(group_figures(clean_store, [1, 2], bounds, audiences, album, 1))
    assert one[1].listeners > 0 and one[2].listeners == 0
    more = [play(f"more-{n}", 2, f"new-{n}", NOW) for n in range(3_000)]
    flush(clean_store, more, first_offset=6 * 10**6)
    statements.run.clear()
    _, top = settled(group_figures(clean_store, [1, 2], bounds, audiences, album, 1))
    assert (top[1].listeners, top[2].listeners) == (0, exact_of(clean_store, [2], *period))
    assert top[2].plays > top[1].plays and sum(bool(p.get("day_tracks")) for _, p in statements.run) == 2


def test_a_large_group_reads_the_same_figures_from_blocks_and_lists_its_top_tracks(
    clean_store: Store,
) -> None:
    """Album 7 past SKETCH_ABOVE: with its entity, its figures are the ones read without (the same
    sketches' union), its large track comes from blocks and its small one exactly, and with `listed`
    only the most played track gets listeners."""
    history(clean_store)
    flush(clean_store, crowd(), first_offset=5 * 10**6)
    bounds = period_bounds("30-days", NOW)
    album = Entity(ALBUM, ALBUM_ID)
    learnt = [Audiences(), Audiences()]
    for audiences in learnt:  # the first counts are exact, and teach the marks
        settled(group_figures(clean_store, [1, 2], bounds, audiences))
    assert learnt[0].mode((1, 2), bounds).period and learnt[0].large((1,), (bounds.start, bounds.today))
    plain = settled(group_figures(clean_store, [1, 2], bounds, learnt[0]))
    blocks = settled(group_figures(clean_store, [1, 2], bounds, learnt[1], album))
    assert blocks == plain
    top = settled(group_figures(clean_store, [1, 2], bounds, learnt[1], album, listed=1))
    assert top[0] == plain[0] and top[1][1] == plain[1][1]
    assert top[1][2] == TrackPeriod(2, plain[1][2].plays, 0)


def exact_of(store: Store, tracks: list[int], first: date, last: date) -> int:
    sql = (
        "SELECT uniqExactMerge(listeners) FROM track_daily"
        " WHERE track_id IN {t:Array(UInt64)} AND day >= {f:Date} AND day <= {l:Date}"
    )
    return int(store.query_rows(sql, {"t": tracks, "f": first, "l": last})[0][0])


def kept_anew(store: Store, entity_ids: list[int], listeners: int) -> None:
    """The windows of `entity_ids` built again (newer, as a build writes them), with `listeners` as
    their count."""
    store.command(
        "INSERT INTO listener_windows (kind, entity_id, first, last, exact, plays, fingerprint, sketch,"
        " state, listeners) SELECT kind, entity_id, first, last, exact, plays, fingerprint, sketch,"
        " state, {n:UInt64} FROM listener_windows FINAL WHERE entity_id IN {e:Array(UInt64)}",
        {"n": listeners, "e": entity_ids},
    )


def rewrites_of_kept_windows(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The rewrites of the memory table of windows `store` runs from now on (the list fills as they run)."""
    rewrites: list[str] = []
    real = store.command

    def command(sql: str, parameters: dict[str, Any] | None = None) -> None:
        if sql.lstrip().startswith("ALTER TABLE kept_windows"):
            rewrites.append(sql)
        real(sql, parameters)

    monkeypatch.setattr(store, "command", command)
    return rewrites


def test_a_kept_window_answers_the_next_read_until_a_late_play_changes_its_days(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first read of a range keeps its days but the last as one window (a sketch, or an exact
    state for an exact ask); the next reads take it with the last day, and give the same figures; a
    late play on one of its days makes it unsound, and it is kept again."""
    history(clean_store)
    statements = Statements(clean_store, monkeypatch)
    trims = rewrites_of_kept_windows(clean_store, monkeypatch)
    first, last = RANGES[1]
    album, track = Entity(ALBUM, ALBUM_ID), Entity(TRACK, 1)
    for _ in range(2):
        assert asked(clean_store, album, [1, 2], first, last) == of_tracks(clean_store, [1, 2], first, last)
        assert asked(clean_store, track, [1], first, last, exact=True) == exact_of(
            clean_store, [1], first, last
        )
    kept = [sql for sql, p in statements.run if p.get("window_asks")]
    assert len(kept) == 2  # the second reads found both windows sound
    assert len(trims) == 2  # each read that kept a window rewrote the table after it, one block
    windows = (
        "SELECT DISTINCT kind, exact, first, last FROM kept_windows WHERE entity_id IN (1, 7) ORDER BY kind"
    )
    assert clean_store.query_rows(windows) == [
        (1, 1, first, last - timedelta(days=1)),
        (2, 0, first, last - timedelta(days=1)),
    ]
    # A late play on a day of the windows, by a new listener.
    late = [play("late", 1, "newcomer", NOW - timedelta(days=3))]
    flush(clean_store, late, first_offset=7 * 10**6)
    statements.run.clear()
    assert asked(clean_store, album, [1, 2], first, last) == of_tracks(clean_store, [1, 2], first, last)
    assert asked(clean_store, track, [1], first, last, exact=True) == exact_of(clean_store, [1], first, last)
    assert not [p for _, p in statements.run if p.get("window_asks")]  # neither window was sound
    assert len(trims) == 4  # kept again, replacing them: the table rewritten to drop the rows replaced
    statements.run.clear()
    assert asked(clean_store, track, [1], first, last, exact=True) == exact_of(clean_store, [1], first, last)
    assert [p for _, p in statements.run if p.get("window_asks")]  # kept again


def test_a_closed_range_is_one_window_whose_count_is_its_listeners(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A range that is over (a previous period) is kept whole as one window, counted as it is built:
    the next reads take that count and merge nothing for it, while the window stays sound. A window
    kept before windows were counted (0 listeners, but plays) is merged instead."""
    history(clean_store)
    statements = Statements(clean_store, monkeypatch)
    first, last = RANGES[3]
    album, track = Entity(ALBUM, ALBUM_ID), Entity(TRACK, 1)
    sketched = Ask(album, (1, 2), first, last, closed=True)
    exact = Ask(track, (1,), first, last, exact=True, closed=True)
    expected = [of_tracks(clean_store, [1, 2], first, last), exact_of(clean_store, [1], first, last)]
    assert read(clean_store, [sketched, exact]) == expected
    windows = (
        "SELECT kind, exact, first, last, listeners FROM kept_windows WHERE entity_id IN (1, 7) ORDER BY kind"
    )
    assert clean_store.query_rows(windows) == [
        (1, 1, first, last, expected[1]),
        (2, 0, first, last, expected[0]),
    ]
    statements.run.clear()
    assert read(clean_store, [sketched, exact]) == expected
    counted = [p["counted_asks"] for _, p in statements.run if "counted_asks" in p]
    assert counted == [[0, 1]]  # one merge: the sketched ask and the exact one, each by its count

    kept_anew(clean_store, [1, ALBUM_ID], 12_345)  # what the reads take is the count, not a merge
    assert read(clean_store, [sketched, exact]) == [12_345, 12_345]
    kept_anew(clean_store, [1, ALBUM_ID], 0)  # as a window kept before windows were counted: merged
    assert read(clean_store, [sketched, exact]) == expected


def test_all_time_is_kept_as_a_window_merged_with_the_tracks_rows_of_today(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group's all time is kept as a window too: its all-time block, with the sums of the days
    before today. Asked again, with the period's window, they are merged with the tracks' rows of
    today and no block is read. A play of today is counted and leaves the window sound; a late play on
    an earlier day makes it unsound: read from the all-time block, and kept again."""
    history(clean_store)
    statements = Statements(clean_store, monkeypatch)
    album = Entity(ALBUM, ALBUM_ID)
    asks = [Ask(album, (1, 2), None, TODAY), Ask(album, (1, 2), *RANGES[1])]

    def expected() -> list[int]:
        return [of_tracks(clean_store, [1, 2], None), of_tracks(clean_store, [1, 2], *RANGES[1])]

    def merge() -> dict[str, Any]:
        return [p for _, p in statements.run if "window_asks" in p][-1]

    first = read(clean_store, asks)
    assert first == expected()
    assert (ALBUM, ALBUM_ID, ALL, ALL_TIME) in merge()["keys"]
    for events, offset in (([], 0), ([play("today", 2, "newcomer", NOW)], 7 * 10**6)):
        flush(clean_store, events, first_offset=offset)
        statements.run.clear()
        found = read(clean_store, asks)
        assert found == expected()
        assert merge()["keys"] == [] and merge()["total_tracks"] == []
        assert merge()["windows"][0][:4] == (ALBUM, ALBUM_ID, ALL_TIME, TODAY - timedelta(days=1))
        assert sorted(merge()["own"]) == [(1, TODAY), (2, TODAY)]
    assert found[0] > first[0] and found[1] > first[1]  # the newcomer (hashes are fixed)
    flush(clean_store, [play("late", 1, "latecomer", NOW - timedelta(days=40))], first_offset=8 * 10**6)
    for kept in (False, True):
        statements.run.clear()
        assert read(clean_store, asks) == expected()
        assert ((ALBUM, ALBUM_ID, ALL, ALL_TIME) in merge()["keys"]) is not kept


def test_a_merge_reads_the_windows_it_asks_for_however_many_are_kept(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge looks its windows up by key: the windows of other entities kept beside them are not
    read. A read of the memory table copies every state it holds, whatever it then filters (a dense
    sketch about 100 kB, and a millisecond): with 256 sketched windows kept, that merge needed over
    16 MB; looked up, the same merge fits in 8 MB, and its listeners are the same."""
    history(clean_store)
    statements = Statements(clean_store, monkeypatch)
    album = Entity(ALBUM, ALBUM_ID)
    asks = [Ask(album, (1, 2), None, TODAY), Ask(album, (1, 2), *RANGES[1])]
    read(clean_store, asks)  # keeps the windows
    statements.run.clear()
    expected = read(clean_store, asks)
    parameters = [p for s, p in statements.run if s == MERGE][-1]
    assert len(parameters["windows"]) == 2
    first, last = RANGES[1]
    for other in range(1, 257):  # built one a statement, as reads build them
        clean_store.command(
            "INSERT INTO listener_windows (kind, entity_id, first, last, exact, plays, fingerprint,"
            " sketch, state, listeners) SELECT {kind:UInt8}, {other:UInt64}, {first:Date}, {last:Date},"
            " 0, 0, 0, uniqCombined64State(17)(toString(number)), uniqExactState(''), 0"
            " FROM numbers(20000)",
            {"kind": ALBUM, "other": ALBUM_ID + 1_000 * other, "first": first, "last": last},
        )
    assert clean_store.query_rows("SELECT count() FROM kept_windows")[0][0] >= 258
    bounded = {"max_memory_usage": 8_000_000}
    merge = listener_blocks.merge_statement(parameters)
    rows = clean_store.client().query(merge, parameters=parameters, settings=bounded).result_rows
    assert sorted(row[1] for row in rows) == sorted(expected)
    fetched = clean_store.client().query(WINDOWS_SQL, parameters=parameters, settings=bounded).result_rows
    assert len(fetched) == 2  # and the process's fetch of the windows it does not hold
    assert read(clean_store, asks) == expected


def test_a_group_of_more_tracks_reads_today_from_its_day_block_with_the_same_listeners(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past TODAY_FROM_TRACKS tracks a group asked again merges its windows with its day block of
    today, not with its tracks' rows of today (which would be read for the day alone): the listeners
    are the same, also once a play of today has landed."""
    history(clean_store)
    monkeypatch.setattr(listener_blocks, "TODAY_FROM_TRACKS", 1)  # the album's two tracks are more
    statements = Statements(clean_store, monkeypatch)
    album = Entity(ALBUM, ALBUM_ID)
    asks = [Ask(album, (1, 2), None, TODAY), Ask(album, (1, 2), *RANGES[1])]
    read(clean_store, asks)  # keeps the windows
    for events, offset in (([], 0), ([play("today", 2, "newcomer", NOW)], 7 * 10**6)):
        flush(clean_store, events, first_offset=offset)
        statements.run.clear()
        found = read(clean_store, asks)
        assert found == [of_tracks(clean_store, [1, 2], None), of_tracks(clean_store, [1, 2], *RANGES[1])]
        merge = [p for _, p in statements.run if "window_asks" in p][-1]
        assert merge["keys"] == [(ALBUM, ALBUM_ID, DAY, TODAY)] and merge["own"] == []
        assert len(merge["windows"]) == 2


def test_sets_whose_listeners_all_come_from_blocks_read_their_other_figures_from_the_sums(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past a lowered mark in every range, a track's, the album's and the artist's listeners all come
    from blocks: no figures statement runs (a track's all-time plays and listeners, its all-time
    sketch's, come with the sums too), and every figure (plays, likes, reposts, listening, the previous
    period's, all time's, each track's) is the one the figures statement gives."""
    monkeypatch.setattr(analytics_queries, "SKETCH_ABOVE", 500)
    history(clean_store)
    others = [
        Event(
            event_id=f"{kind}-{n}",
            type=kind,
            track_id=1 + n % 3,
            listener_id=f"other-{n}",
            occurred_at=NOW - timedelta(days=n % 61),
            listened_ms=n * 500 if kind == "play" else None,
        )
        for kind, count in (("like", 300), ("repost", 200), ("play", 400))
        for n in range(count)
    ]
    flush(clean_store, others, first_offset=5 * 10**6)
    bounds = period_bounds("30-days", NOW)
    audiences = Audiences()
    sets = {Entity(TRACK, 1): [1], Entity(ALBUM, ALBUM_ID): [1, 2], Entity(ARTIST, ARTIST_ID): [1, 2, 3]}

    def read(entity: Entity, tracks: list[int], blocks: bool) -> Any:
        whose = entity if blocks else None
        return settled(read_figures(clean_store, tracks, bounds, audiences, whose, entity.kind != TRACK))

    for _ in range(2):  # the first counts teach the marks
        for entity, tracks in sets.items():
            read(entity, tracks, True)
    statements = Statements(clean_store, monkeypatch)
    for entity, tracks in sets.items():
        assert audiences.mode(tuple(tracks), bounds) == analytics_queries.SKETCHED_ONLY
        statements.run.clear()
        from_sums = read(entity, tracks, True)
        figures_statements = [sql for sql in statements.sql if "AS part" in sql]
        assert figures_statements == []  # a track's all-time totals too come with its sums
        from_statement = read(entity, tracks, False)
        assert from_sums == from_statement
        figures = from_sums.figures
        assert figures.likes and figures.reposts and figures.listened_ms and figures.previous_plays
        assert figures.plays_total > figures.plays + figures.previous_plays


def test_a_tracks_first_ask_past_the_mark_reads_its_all_time_figures_with_the_probes_sums(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a track's first ask, once the probe finds every listener figure past the mark, no statement
    runs for its all-time plays and listeners: the probe's sums read them (its all-time sketch's
    estimate), and they are the ones the figures statement gives."""
    monkeypatch.setattr(analytics_queries, "SKETCH_ABOVE", 500)
    history(clean_store)
    bounds = period_bounds("30-days", NOW)
    audiences = Audiences()
    statements = Statements(clean_store, monkeypatch)
    first = settled(read_figures(clean_store, [1], bounds, audiences, Entity(TRACK, 1)))
    assert audiences.mode((1,), bounds) == analytics_queries.SKETCHED_ONLY
    assert [sql for sql in statements.sql if "AS part" in sql] == []
    assert first.figures.listeners_total > 500
    assert first == settled(read_figures(clean_store, [1], bounds, audiences, None))


def merges(when: str) -> float:
    return float(FORESEEN.labels(merged=when)._value.get())


def test_a_read_asked_again_merges_ahead_of_its_sums_until_they_judge_otherwise(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An album past a lowered mark asked again merges its listeners as it did last time, beside
    sums of its tracks' own rows only (every block it read was sound and every window kept): the
    blocks and windows are judged by the sums of the rows merged, and the answer is the same. Once a
    late play makes its window unsound, the rows merged ahead are dropped, the blocks' and windows'
    sums are read, and it merges again from what they judge, the late listener counted."""
    monkeypatch.setattr(analytics_queries, "SKETCH_ABOVE", 500)
    history(clean_store)
    bounds = period_bounds("30-days", NOW)
    period = (bounds.start, bounds.today)
    album, audiences = Entity(ALBUM, ALBUM_ID), Audiences()

    def ask() -> tuple[Any, Any]:
        return settled(group_figures(clean_store, [1, 2], bounds, audiences, album, 2))

    def judged_by_their_sums() -> list[dict[str, Any]]:
        """The sums statements that read blocks' or windows' own sums."""
        return [p for _, p in statements.run if "day_tracks" in p and (p["keys"] or p["windows"])]

    first = ask()  # learns the marks, and keeps its windows
    ask()
    statements = Statements(clean_store, monkeypatch)
    before = {when: merges(when) for when in ("ahead", "again", "after")}
    assert ask() == first
    assert merges("ahead") == before["ahead"] + 1 and merges("again") == before["again"]
    assert not judged_by_their_sums() and any(p.get("day_tracks") for _, p in statements.run)
    late = play("late", 1, "newcomer", NOW - timedelta(days=3))
    flush(clean_store, [late], first_offset=7 * 10**6)
    figures, tracks = ask()
    assert judged_by_their_sums()
    # Estimates: the late listener raises the sketches' union (deterministically: hashes are fixed).
    assert figures.listeners == of_tracks(clean_store, [1, 2], *period) > first[0].listeners
    assert tracks[1].listeners == of_tracks(clean_store, [1], *period) > first[1][1].listeners
    assert merges("again") == before["again"] + 1 and merges("ahead") == before["ahead"] + 1
    assert ask() == (figures, tracks)  # its windows kept again: merged ahead


def test_a_process_that_starts_reads_the_windows_built_in_the_last_day(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads take windows from memory, which a restart empties: a process that starts copies those
    built in the last day from the table that outlives it, and its first read takes them."""
    history(clean_store)
    first, last = RANGES[1]
    album = Entity(ALBUM, ALBUM_ID)
    expected = of_tracks(clean_store, [1, 2], first, last)
    assert asked(clean_store, album, [1, 2], first, last) == expected  # keeps the window
    clean_store.command("TRUNCATE TABLE kept_windows")  # as the engine's restart leaves it
    asyncio.run(warm_windows(clean_store))
    statements = Statements(clean_store, monkeypatch)
    assert asked(clean_store, album, [1, 2], first, last) == expected
    assert [p for _, p in statements.run if p.get("window_asks")]  # the window copied, sound


def test_memory_keeps_one_row_a_window_and_the_newest_windows_only(clean_store: Store) -> None:
    """A window built again replaces the one before it in memory, and once more than KEPT_WINDOWS
    windows are kept, a read that builds one drops all but the newest KEPT_WINDOWS."""
    history(clean_store)
    first, last = RANGES[1]
    album = Entity(ALBUM, ALBUM_ID)
    # KEPT_WINDOWS windows of other entities, each built a microsecond after the one before.
    clean_store.command(
        "INSERT INTO kept_windows (kind, entity_id, first, last, exact, plays, fingerprint, sketch, state,"
        " listeners, built_at) SELECT 2, 1000 + number, {first:Date}, {last:Date}, 0, 0, 0,"
        " arrayReduce('uniqCombined64State(17)', emptyArrayString()),"
        " arrayReduce('uniqExactState', emptyArrayString()), 0,"
        " now64(6) - INTERVAL 1 HOUR + toIntervalMicrosecond(number) FROM numbers({n:UInt64})",
        {"first": first, "last": last, "n": KEPT_WINDOWS},
    )
    expected = of_tracks(clean_store, [1, 2], first, last)
    assert asked(clean_store, album, [1, 2], first, last) == expected  # builds the album's window
    kept = "SELECT entity_id, listeners FROM kept_windows ORDER BY built_at"
    rows = clean_store.query_rows(kept)
    assert len(rows) == KEPT_WINDOWS
    assert rows[0][0] == 1000 + 1 and rows[-1][0] == ALBUM_ID  # the oldest went
    kept_anew(clean_store, [ALBUM_ID], 12345)  # the album's window built again
    rows = clean_store.query_rows(kept)
    assert len(rows) == KEPT_WINDOWS and rows[-1] == (ALBUM_ID, 12345)
    assert asked(clean_store, album, [1, 2], first, last) == expected  # its sketch merged, as sound


def test_builds_done_while_memory_is_rewritten_are_rewritten_once_after_it(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The builds of a read are followed by a rewrite of the memory table (one block: the rows of many
    blocks are copied as read); builds done while one runs are rewritten once after it, not once each,
    and every read gives the same listeners."""
    history(clean_store)
    rewrites: list[str] = []
    first_held, release = threading.Event(), threading.Event()
    real = clean_store.command

    def command(sql: str, parameters: dict[str, Any] | None = None) -> None:
        if sql.lstrip().startswith("ALTER TABLE kept_windows"):
            rewrites.append(sql)
            if len(rewrites) == 1:
                first_held.set()
                assert release.wait(30)
        real(sql, parameters)

    monkeypatch.setattr(clean_store, "command", command)
    album = Entity(ALBUM, ALBUM_ID)
    asks = [
        Ask(album, (1, 2), *RANGES[1]),
        Ask(Entity(TRACK, 1), (1,), *RANGES[1], exact=True),
        Ask(album, (1, 2), *RANGES[2]),
    ]

    async def read_while_held() -> list[list[int]]:
        found = [await listeners(clean_store, asks[:1])]
        assert await asyncio.to_thread(first_held.wait, 30)  # the first read's rewrite, held
        found += [await listeners(clean_store, [ask]) for ask in asks[1:]]
        held = listener_blocks._rewriting[id(clean_store)]
        await asyncio.gather(*(task for task in listener_blocks._building if task is not held))  # built
        release.set()
        await keeping_done()
        return found

    expected = [
        [of_tracks(clean_store, [1, 2], *RANGES[1])],
        [exact_of(clean_store, [1], *RANGES[1])],
        [of_tracks(clean_store, [1, 2], *RANGES[2])],
    ]
    assert asyncio.run(read_while_held()) == expected
    assert len(rewrites) == 2
    assert settled(listeners(clean_store, asks)) == [found[0] for found in expected]


def test_reads_at_once_build_each_window_once(clean_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Five reads of the same ranges while their windows are being built: each window is built once
    (the builds are held until every read is done, so none of them could have found it built)."""
    history(clean_store)
    built: list[str] = []
    release = threading.Event()
    real = clean_store.command

    def command(sql: str, parameters: dict[str, Any] | None = None) -> None:
        if "INSERT INTO listener_windows" in sql:
            built.append(sql)
            assert release.wait(30)
        real(sql, parameters)

    monkeypatch.setattr(clean_store, "command", command)
    asks = [
        Ask(Entity(ALBUM, ALBUM_ID), (1, 2), *RANGES[1]),
        Ask(Entity(TRACK, 1), (1,), *RANGES[1], exact=True),
    ]

    async def polled() -> list[list[int]]:
        found = await asyncio.gather(*(listeners(clean_store, asks) for _ in range(5)))
        release.set()
        await keeping_done()
        return list(found)

    expected = [of_tracks(clean_store, [1, 2], *RANGES[1]), exact_of(clean_store, [1], *RANGES[1])]
    assert asyncio.run(polled()) == [expected] * 5
    assert len(built) == 2
