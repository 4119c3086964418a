"""`insights generate`: a synthetic catalog and realistic listening traffic, sent through the public API.

For demos and benchmarks: deterministic for a seed, posted with retries and an optional rate cap.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import time
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate, islice
from typing import Any, TextIO

import httpx
import msgspec

# Invented names only: "{A} {N}" picks an adjective and a noun, and so on.
VOCABULARY = {
    key: tuple(words.split())
    for key, words in {
        "A": "Neon Velvet Golden Silent Electric Midnight Crimson Hollow Paper Wild Lucid Broken Distant "
        "Lunar Amber Glass Faded Restless Northern Static Blue Sunday Tender Quiet Burning Slow Bright Lost",
        "N": "Echo Harbor Signal Garden River Mirror Satellite Ember Horizon Tide Orchard Lantern Comet "
        "Canyon Meadow Circuit Avenue Window Fever Compass Dream Motel Parade Skyline Heart Summer Ghost",
        "V": "Chasing Holding Leaving Finding Calling Dancing Waiting Running Falling Drawing",
        "F": "Ava Milo Nora Theo Luna Jonah Iris Kai Maya Felix Zara Otis Lena Ezra Ruby Soren",
        "L": "Vale Cross Marlow Reyes Okafor Lind Moreau Sato Quinn Hale Novak Idris Brandt Costa",
    }.items()
}
ARTIST_PATTERNS = ("{F} {L}", "{F} {L}", "The {A} {N}s", "{A} {N}", "DJ {N}", "{F} & the {N}s", "{N}")
ALBUM_PATTERNS = ("{A} {N}", "{N}s", "Songs from the {N}", "{N} Sessions", "{A} {N}s", "{V} {N}s")
TRACK_PATTERNS = ("{A} {N}", "{V} the {N}", "{N}", "{N} ({A} Mix)", "{V} {F}", "Letters to {F}")

MAX_AGE_DAYS = 399  # the API refuses events older than 400 days; keep a day of slack
ZIPF_EXPONENT = 1.1  # track popularity ∝ 1 / rank^s: a few hits, a long tail
GROWTH = 1.5  # activity today is e^1.5 ≈ 4.5 times the activity at the far end of the history
LIKE, REPOST, HEARTBEAT_AFTER_PLAY, REPLAY = 0.088, 0.033, 0.12, 0.25  # ≈ 8 % likes, 3 % reposts overall
RECENT_SHARE, RECENT_SECONDS = 0.02, 600
# UTC plays per hour of the day: quiet before dawn, a peak in the evening.
HOUR_WEIGHTS = (3, 2, 1.5, 1, 1, 1, 1.5, 2.5, 3.5, 4, 4.5, 5, 5.5, 5.5, 5.5, 6, 6.5, 7.5, 9, 10, 10, 9, 7, 5)
HOUR_CUM = list(accumulate(HOUR_WEIGHTS))

# Where and how they listen. A listener has a home country and a main device, kept across their events
# (a few travel or switch); the weights are invented but shaped like a streaming service's audience: a
# few large markets and a long tail. Every code is an assigned ISO 3166-1 country and every source and
# platform a value the API accepts (checked by the tests against schemas/events.py).
COUNTRY_WEIGHTS = {
    "US": 220, "GB": 70, "DE": 68, "BR": 60, "MX": 48, "FR": 42, "IN": 40, "JP": 30, "ES": 30, "CA": 28,
    "IT": 25, "AU": 24, "NL": 20, "ID": 20, "PL": 15, "SE": 15, "PH": 15, "AR": 15, "TR": 12, "KR": 12,
    "CO": 12, "NG": 10, "CL": 8, "ZA": 8, "NO": 6, "BE": 6, "AT": 5, "CH": 5, "PT": 5, "IE": 4, "DK": 4,
    "FI": 4, "NZ": 4, "KE": 4, "EG": 4, "VN": 4, "TH": 4, "UA": 3, "RO": 3, "CZ": 3, "GR": 3, "PE": 3,
    "HU": 2, "IL": 2, "SG": 2, "MY": 2, "MA": 2, "GH": 2, "NP": 1, "IS": 1, "EE": 1, "UY": 1, "JM": 1,
}  # fmt: skip
# A listener's main device.
PLATFORM_WEIGHTS = {
    "android": 36,
    "ios": 32,
    "web": 12,
    "desktop": 11,
    "speaker": 3,
    "car": 3,
    "tv": 2,
    "other": 1,
}
SOURCE_WEIGHTS = {
    "playlist": 31, "library": 19, "search": 12, "album": 10, "recommendation": 10, "artist_page": 7,
    "radio": 5, "external": 3, "embed": 2, "other": 1,
}  # fmt: skip
NO_COUNTRY, NO_PLATFORM, NO_SOURCE = 0.06, 0.04, 0.08  # players that leave a field out: `unknown`
TRAVEL, OTHER_DEVICE = 0.03, 0.15  # an event away from home, or on a device other than the main one

EVENTS_PATH, CATALOG_PATH = "/api/v1/events", "/api/v1/catalog"
MAX_BATCH, CATALOG_CHUNK = 1000, 500  # 500 catalog items of < 200 bytes stay far below 1 MiB
MAX_ATTEMPTS, TRANSPORT_ATTEMPTS, MAX_WAIT = 10, 3, 30.0
SCOPE_HINT = "Use a token with the scopes events:write and catalog:write (or admin)."


class GenerateError(Exception):
    """The API refused the generated data or could not be reached; the message is for the user."""


@dataclass(frozen=True)
class Catalog:
    artists: list[dict[str, Any]]
    albums: list[dict[str, Any]]
    tracks: list[dict[str, Any]]


def _words(rng: random.Random, patterns: tuple[str, ...]) -> str:
    return rng.choice(patterns).format(**{key: rng.choice(words) for key, words in VOCABULARY.items()})


def make_catalog(tracks: int, rng: random.Random) -> Catalog:
    """About tracks/12 artists with 1-4 albums of 5-14 tracks each, ~10 % singles, ~15 % collaborations."""
    if tracks < 1:
        raise ValueError("The catalog needs at least one track.")
    artist_count = max(3, round(tracks / 12))
    artists: list[dict[str, Any]] = []
    names: set[str] = set()
    for artist_id in range(1, artist_count + 1):
        name = _words(rng, ARTIST_PATTERNS)
        for _ in range(10):
            if name not in names:
                break
            name = _words(rng, ARTIST_PATTERNS)
        else:
            name = f"{name} {artist_id}"
        names.add(name)
        artists.append({"artist_id": artist_id, "name": name})

    # Every artist gets an album, then some a 2nd, 3rd, 4th while ~90 % of the tracks last; the rest
    # are singles.
    order = rng.sample(range(1, artist_count + 1), artist_count)
    wanted = {artist_id: rng.choices((1, 2, 3, 4), weights=(55, 25, 12, 8))[0] for artist_id in order}
    album_sizes: list[tuple[int, int]] = []
    budget = tracks - tracks // 10
    for round_ in range(1, 5):
        for artist_id in order:
            size = min(budget, rng.randint(5, 14))
            if wanted[artist_id] >= round_ and size >= 5:
                album_sizes.append((artist_id, size))
                budget -= size
    albums = [
        {"album_id": 1001 + i, "title": _words(rng, ALBUM_PATTERNS), "artist_id": artist_id}
        for i, (artist_id, _) in enumerate(album_sizes)
    ]
    owners: list[tuple[int | None, int]] = [
        (1001 + i, artist_id) for i, (artist_id, size) in enumerate(album_sizes) for _ in range(size)
    ]
    owners += [(None, rng.randint(1, artist_count)) for _ in range(tracks - len(owners))]
    track_list = []
    for offset, (album_id, primary) in enumerate(owners):
        artist_ids = [primary]
        if rng.random() < 0.15:  # a collaboration: one featured artist, sometimes two
            featured = 1 + (rng.random() < 0.3)
            while len(artist_ids) <= featured:
                other = rng.randint(1, artist_count)
                if other not in artist_ids:
                    artist_ids.append(other)
        title = _words(rng, TRACK_PATTERNS)
        track_list.append(
            {"track_id": 100001 + offset, "title": title, "album_id": album_id, "artist_ids": artist_ids}
        )
    return Catalog(artists=artists, albums=albums, tracks=track_list)


def _rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Weighted:
    """Values drawn with weights (random.choices, lean: one bisect over the running sums)."""

    def __init__(self, weights: dict[str, int]) -> None:
        self.values, self.cumulative = list(weights), list(accumulate(weights.values()))

    def draw(self, rng: random.Random) -> str:
        return self.values[
            bisect(self.cumulative, rng.random() * self.cumulative[-1], 0, len(self.values) - 1)
        ]


COUNTRIES, PLATFORMS, SOURCES = (
    Weighted(COUNTRY_WEIGHTS),
    Weighted(PLATFORM_WEIGHTS),
    Weighted(SOURCE_WEIGHTS),
)


class Audience:
    """Each listener's home country and main device (None: their player never says), and the optional
    fields of their events: mostly from home on the main device, a play's source drawn afresh."""

    def __init__(self, rng: random.Random, listeners: int) -> None:
        self.rng = rng
        self.home = [None if rng.random() < NO_COUNTRY else COUNTRIES.draw(rng) for _ in range(listeners)]
        self.device = [None if rng.random() < NO_PLATFORM else PLATFORMS.draw(rng) for _ in range(listeners)]

    def fields(self, listener: int, *, play: bool) -> dict[str, str]:
        rng, fields = self.rng, {}
        home, device = self.home[listener], self.device[listener]
        if home is not None:
            fields["country"] = COUNTRIES.draw(rng) if rng.random() < TRAVEL else home
        if device is not None:
            fields["platform"] = PLATFORMS.draw(rng) if rng.random() < OTHER_DEVICE else device
        if play and rng.random() >= NO_SOURCE:
            fields["source"] = SOURCES.draw(rng)
        return fields


def make_events(
    catalog: Catalog, count: int, rng: random.Random, now: datetime, days: int = 400
) -> Iterator[dict[str, Any]]:
    """`count` events over the last `days` days (at most 399) before `now`, the last ~2 % of them
    in the 10 minutes before `now` so that the real-time endpoints show activity. The same catalog, rng
    state and `now` give the same events; event ids embed `now`, so every run sends new events."""
    if not catalog.tracks or now.tzinfo is None:
        raise ValueError("make_events needs a catalog with tracks and an aware `now`.")
    span = max(1, min(days, MAX_AGE_DAYS))
    now_ts = now.timestamp()
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    ranked = [track["track_id"] for track in catalog.tracks]
    rng.shuffle(ranked)  # popularity must not follow id order
    track_cum = list(accumulate(1 / rank**ZIPF_EXPONENT for rank in range(1, len(ranked) + 1)))
    length_ms = {track_id: rng.randint(95_000, 330_000) for track_id in ranked}
    pool = max(10, min(count // 8, 250_000))
    listeners = [
        f"anon-{rng.getrandbits(48):012x}" if rng.random() < 0.15 else f"user-{i}" for i in range(pool)
    ]
    listener_cum = list(accumulate(rng.paretovariate(1.5) for _ in range(pool)))  # heavy listeners
    homes = Audience(rng, pool)
    last_play: dict[str, int] = {}
    recent_from = count - max(1, round(count * RECENT_SHARE))
    run = f"{int(now_ts * 1000):x}"  # in every event id, so a rerun with the same seed is not all dedupe

    def pick(cumulative: list[float]) -> int:
        """An index drawn with the weights whose running sums are `cumulative` (random.choices, lean)."""
        return bisect(cumulative, rng.random() * cumulative[-1], 0, len(cumulative) - 1)

    def history_time() -> float:
        # Inverse CDF of a density ∝ e^(GROWTH·recency): more activity in recent days.
        recency = math.log1p(rng.random() * math.expm1(GROWTH)) / GROWTH
        day = min(span - 1, int((1 - recency) * span))
        hour = pick(HOUR_CUM)
        moment = midnight - day * 86400 + (hour + rng.random()) * 3600
        return moment if moment <= now_ts else midnight + rng.random() * (now_ts - midnight)

    def event(kind: str, track_id: int, who: int, moment: float) -> dict[str, Any]:
        return {
            "event_id": f"{run}-{rng.getrandbits(96):024x}",
            "type": kind,
            "track_id": track_id,
            "listener_id": listeners[who],
            "occurred_at": _rfc3339(min(moment, now_ts)),
        } | homes.fields(who, play=kind == "play")

    emitted = 0
    while emitted < count:
        moment = now_ts - rng.random() * RECENT_SECONDS if emitted >= recent_from else history_time()
        who = pick(listener_cum)
        listener = listeners[who]
        track_id = ranked[pick(track_cum)]
        draw, previous = rng.random(), last_play.get(listener)
        if previous is not None and (draw < LIKE + REPOST or rng.random() < REPLAY):
            track_id = previous  # listeners like, repost and replay what they just heard
        emitted += 1
        if draw < LIKE + REPOST:
            yield event("like" if draw < LIKE else "repost", track_id, who, moment)
            continue
        listened = length_ms[track_id] if rng.random() < 0.6 else rng.randint(5_000, length_ms[track_id])
        yield {**event("play", track_id, who, moment), "listened_ms": listened}
        last_play[listener] = track_id
        if emitted < count and rng.random() < HEARTBEAT_AFTER_PLAY:
            emitted += 1
            yield event("heartbeat", track_id, who, moment + rng.uniform(10, listened / 1000))


def _retry_delay(attempt: int, retry_after: str | None = None) -> float:
    """The server's Retry-After (seconds) when it sent one, else exponential backoff; at most 30 s."""
    try:
        return min(MAX_WAIT, max(0.0, float(retry_after or "")))
    except ValueError:
        return min(MAX_WAIT, 0.5 * 2 ** (attempt - 1))


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST JSON; retries 429/503 (honouring Retry-After) and lost connections, since the server dedupes
    events by id and upserts the catalog; any other failure raises with the server's message."""
    content, headers = msgspec.json.encode(body), {"Content-Type": "application/json"}
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            response = await client.post(path, content=content, headers=headers)
        except httpx.TransportError as error:
            if attempt >= TRANSPORT_ATTEMPTS:
                reason = f"{type(error).__name__}: {error}".rstrip(": ")
                raise GenerateError(
                    f"Cannot reach {client.base_url} ({reason}); is the API running?"
                ) from error
            await asyncio.sleep(_retry_delay(attempt))
            continue
        if response.status_code in (429, 503) and attempt < MAX_ATTEMPTS:
            await asyncio.sleep(_retry_delay(attempt, response.headers.get("Retry-After")))
            continue
        try:
            payload = response.json()
        except ValueError:
            payload = {"message": response.text[:200]}
        if response.is_success and isinstance(payload, dict):
            return dict(payload.get("data") or {})
        message = payload.get("message") if isinstance(payload, dict) else None
        hint = f" {SCOPE_HINT}" if response.status_code in (401, 403) else ""
        raise GenerateError(
            f"POST {path} failed with {response.status_code}: {message or response.text}{hint}"
        )
    raise AssertionError("unreachable: the last attempt returns or raises")


async def post_catalog(client: httpx.AsyncClient, catalog: Catalog) -> None:
    """Upsert the catalog, artists first, then albums, then tracks, in requests of 500 items."""
    for key, items in (("artists", catalog.artists), ("albums", catalog.albums), ("tracks", catalog.tracks)):
        for start in range(0, len(items), CATALOG_CHUNK):
            data = await _post(client, CATALOG_PATH, {key: items[start : start + CATALOG_CHUNK]})
            if data.get("rejected"):
                first = (data.get("errors") or ["?"])[0]
                raise GenerateError(f"The API rejected {data['rejected']} {key}; the first: {first}")


def _chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


async def post_events(
    client: httpx.AsyncClient,
    events: Iterable[dict[str, Any]],
    *,
    batch: int = 500,
    rate: float | None = None,
    concurrency: int = 4,
    progress: Callable[[int], None],
) -> int:
    """Send `events` in batches over `concurrency` connections, at most `rate` events a second;
    `progress` hears the size of every batch sent. Returns how many events the API accepted."""
    size = max(1, min(batch, MAX_BATCH, int(rate) if rate else MAX_BATCH))  # a rate cap paces smoothly
    queue: asyncio.Queue[list[dict[str, Any]] | None] = asyncio.Queue(maxsize=2 * concurrency)
    accepted = 0

    async def send() -> None:
        nonlocal accepted
        while (chunk := await queue.get()) is not None:
            # Await first: `accepted += await ...` would read `accepted` before the await and lose
            # the counts the other senders added meanwhile.
            result = await _post(client, EVENTS_PATH, {"events": chunk})
            accepted += int(result.get("accepted", 0))
            progress(len(chunk))

    clock = asyncio.get_running_loop().time
    started, queued = clock(), 0
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, concurrency)):
                group.create_task(send())
            for chunk in _chunks(events, size):
                if rate:
                    await asyncio.sleep(max(0.0, started + queued / rate - clock()))
                await queue.put(chunk)
                queued += len(chunk)
            for _ in range(max(1, concurrency)):
                await queue.put(None)
    except ExceptionGroup as failure:
        raise failure.exceptions[0] from None
    return accepted


class ProgressBar:
    """Events sent / total, events per second and ETA: redrawn in place on a terminal, else every 10 %."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total, self.out, self.done = total, out, 0
        self.tty, self.started, self.drawn = out.isatty(), time.monotonic(), 0.0
        self.next_tenth, self.width = 1, 0  # the next 10 % step to print; the widest line drawn

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.tty and (now - self.drawn >= 0.1 or self.done >= self.total):
            self.drawn, line = now, self.line(now)
            self.width = max(self.width, len(line))
            self.out.write("\r" + line.ljust(self.width))
        elif not self.tty and self.done * 10 >= self.next_tenth * self.total:
            self.next_tenth = self.done * 10 // max(1, self.total) + 1
            self.out.write(self.line(now) + "\n")
        self.out.flush()

    def finish(self) -> None:
        if self.tty:
            self.out.write("\n")

    def line(self, now: float) -> str:
        speed = self.done / max(now - self.started, 1e-6)
        eta = (self.total - self.done) / speed if speed else 0.0
        filled = 30 * self.done // max(1, self.total)
        bar, minutes = "#" * filled + "." * (30 - filled), int(eta) // 60
        return (
            f"[{bar}] {self.done:,}/{self.total:,} events  {speed:,.0f}/s  ETA {minutes}m{int(eta) % 60:02d}s"
        )


def run_generate(
    url: str,
    token: str,
    events: int,
    tracks: int,
    rate: float | None,
    seed: int,
    days: int,
    out: TextIO | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    summary: TextIO | None = None,
) -> int:
    """Post a catalog of `tracks` tracks, then `events` events, to the API at `url`; 0 when all went in.
    Progress and errors go to `out`; with `summary`, the outcome is also written there as one JSON line
    (`--json`: stdout stays machine-readable while the progress bar draws on stderr)."""
    out = out or sys.stderr  # looked up at the call: the stderr of the moment, not of the import
    rng = random.Random(seed)  # noqa: S311 (reproducible demo data, not secrets)
    catalog = make_catalog(tracks, rng)
    sizes = (
        f"{len(catalog.artists):,} artists, {len(catalog.albums):,} albums, {len(catalog.tracks):,} tracks"
    )
    print(f"insights generate: {sizes} and {events:,} events to {url}", file=out)
    started = time.monotonic()

    async def generate() -> int:
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url, headers=auth, timeout=30, transport=transport) as client:
            await post_catalog(client, catalog)
            bar = ProgressBar(events, out)
            stream = make_events(catalog, events, rng, datetime.now(UTC), days)
            try:
                return await post_events(client, stream, rate=rate, progress=bar.advance)
            finally:
                bar.finish()

    try:
        accepted = asyncio.run(generate())
    except GenerateError as error:
        print(f"insights generate: {error}", file=out)
        return 1
    elapsed = time.monotonic() - started
    rate_sent = events / max(elapsed, 1e-6)
    print(
        f"insights generate: {accepted:,} of {events:,} events accepted ({events - accepted:,} rejected) "
        f"in {elapsed:.1f}s, {rate_sent:,.0f} events/s",
        file=out,
    )
    if summary is not None:
        counts = {key: len(getattr(catalog, key)) for key in ("artists", "albums", "tracks")}
        outcome = {"events": events, "accepted": accepted, "rejected": events - accepted}
        timing = {"seconds": round(elapsed, 3), "events_per_second": round(rate_sent, 1)}
        print(json.dumps({"url": url} | counts | outcome | timing), file=summary)
    return 0 if accepted == events else 1


def _positive(kind: Callable[[str], float]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value

    return convert


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=_positive(int), required=True, metavar="N", help="events to send")
    parser.add_argument("--rate", type=_positive(float), metavar="R", help="at most R events a second")
    parser.add_argument("--tracks", type=_positive(int), default=2000, metavar="T", help="catalog size")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the API (default %(default)s)")
    parser.add_argument("--token", help="events:write + catalog:write token (default: a local admin token)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default %(default)s)")
    parser.add_argument(
        "--days", type=_positive(int), default=400, help="history depth in days, at most 399 used"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the outcome as JSON on stdout (progress stays on stderr)"
    )
