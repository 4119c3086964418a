"""What the OpenAPI document (schemas/openapi.py) tells clients in words: the introduction, the tags,
and each operation's description, keyed by its operationId."""

from __future__ import annotations

from schemas.answers import ERROR_CODES
from schemas.events import MAX_EVENTS_PER_BATCH, PLATFORMS, SOURCES
from schemas.fields import PERIOD_TEXT, TIMEFRAME_TEXT

CODES_TEXT = ", ".join(f"{status} `{code}`" for status, code in ERROR_CODES.items())

DESCRIPTION = f"""Streaming analytics for music creators: send listening events and catalog updates, \
read plays, listeners, engagement, growth, charts and realtime figures per track, album and artist.

Authentication: every path under `/api/` needs `Authorization: Bearer <token>`, a signed token made \
with `insights token create --scope SCOPE [--artist ID]...`. Each endpoint names the scope it needs; \
`admin` has them all. A read token lists the artists it may read: a track is readable if any of its \
artists is listed, an album if its artist is, an artist if listed. An unknown id is 404, a known one \
that is not yours 403.

Success bodies are `{{"success": true, "data": {{...}}}}`. Errors are `{{"success": false, "message", \
"error"}}` with one code per status: {CODES_TEXT}; a validation error also lists \
`errors: [{{field, message}}]`.

Periods: {PERIOD_TEXT}

Counting: a repeated `event_id` counts once; `heartbeat` events count only toward realtime \
`active_listeners`."""

TAGS = [
    {"name": "Health", "description": "Probes and metrics for operators; no token needed."},
    {
        "name": "Ingest",
        "description": "Write listening events and the catalog. A 202 means every accepted item is "
        "durably in Kafka (acks=all); invalid items are reported per index, the valid ones still taken.",
    },
    {"name": "Tracks", "description": "Figures of one track."},
    {"name": "Albums", "description": "Figures over all the tracks of an album."},
    {"name": "Artists", "description": "Figures over every track that lists an artist, and collaborations."},
    {"name": "Exports", "description": "Everything a token may read, as CSV, JSON, a JSON report or a PDF."},
    {"name": "Tokens", "description": "Token administration: revoke a token by its id."},
    {"name": "Docs", "description": "This description, as OpenAPI JSON and as a page."},
]

ACCESS_TEXT = (
    "An export holds exactly what the token may read: `admin` reads everything; otherwise the artists "
    "the token lists, the albums of those artists, and the tracks that list one of them."
)
CACHED_TEXT = "Cached: send the `ETag` back in `If-None-Match` to get 304 while it holds."

METRICS_TEXT = """Figures for the period (`period`, default `30-days`):

- `plays.total`: every `play` event ever; `plays.period`: `play` events with `occurred_at` in the period.
- `listeners.total`: distinct `listener_id` over all `play` events ever; `listeners.unique`: distinct \
listeners of the period's plays.
- `engagement.likes` / `engagement.reposts`: `like` / `repost` events in the period.
- `growth.plays_change`: (period - previous) / previous * 100, rounded to one decimal, where previous is \
the equal-length period just before; null when previous is 0. `growth.listeners_change` likewise on \
`listeners.unique`."""
CHART_TEXT = f"""Gap-filled UTC buckets, oldest first, `t` = bucket start, from the bucket holding the \
period's start to the bucket holding now. {TIMEFRAME_TEXT} `listeners` are distinct per bucket."""
OVER_ALBUM = "over all the album's tracks; listeners are distinct across the tracks, never summed.\n\n"
BREAKDOWN_TEXT = (
    "`play` events in the range (any zone, like the analytics) grouped by the listener's country, "
    "where the play came from (`source`: " + ", ".join(SOURCES) + ") or what it played on "
    "(`platform`: " + ", ".join(PLATFORMS) + "). `rows`: up to `limit` values, most plays first, then "
    "value; listeners are distinct per row. `share`: the row's plays / every play in the range x 100, "
    "1 decimal. `other`: the values past `limit` together (listeners distinct across them). `unknown`: "
    "plays that did not say."
)
LISTING_TEXT = (
    "What the token may read, ordered by id, `limit` at a time: follow `next_cursor` (null on the last "
    "page) to walk every item once. `q` keeps the items whose {} contains it, in any case."
)

OPERATION_TEXT = {
    "healthz": "Answers 200 while the process serves requests; checks nothing else.",
    "readyz": "Answers 200 when both Kafka and ClickHouse answer a real round trip, else 503.",
    "metrics": "The process's counters (ingest outcomes, worker writes, duplicates, dead letters, retries) "
    "in the Prometheus text format. Counts only, never data; scrape it from inside the network.",
    "postEvents": f"1 to {MAX_EVENTS_PER_BATCH} events per request. Each valid event is written to Kafka, "
    "each invalid one reported with its index in `errors`; if none is valid the answer is 422. If Kafka "
    "is down the answer is 503 and nothing of the batch is accepted: retry it whole (repeated "
    "`event_id`s count once).",
    "postCatalog": "Upserts: the newest write of an id wins. Invalid items are reported with their list "
    "position (`field` like `tracks[0].title`); if none is valid the answer is 422.",
    "trackAnalytics": METRICS_TEXT,
    "trackChart": CHART_TEXT,
    "trackRealtime": "The last hour by minute. `active_listeners`: distinct listeners with any `play` or "
    "`heartbeat` in the last 5 minutes; `plays_last_5m` / `plays_last_60m` by `occurred_at`; `series`: "
    "60 one-minute buckets ending with the current minute.",
    "albumAnalytics": "The track figures " + OVER_ALBUM + METRICS_TEXT + "\n\n`tracks`: every track of "
    "the album with its period plays and listeners, most played first.",
    "albumChart": "The track chart " + OVER_ALBUM + CHART_TEXT,
    "artistAnalytics": "The track figures over every track that lists the artist; listeners are distinct "
    "across the tracks, never summed.\n\n" + METRICS_TEXT + "\n\n`top_tracks`: up to 10 of the artist's "
    "tracks, most played in the period first.",
    "artistChart": "The track chart over every track that lists the artist.\n\n" + CHART_TEXT,
    "artistCollaborations": "`total_collaborations`: tracks the artist shares with at least one other "
    "artist. `top_collaborators`: up to 10 artists by shared tracks, then plays. `collaboration_tracks`: "
    "every shared track with its all-time plays, most played first.",
    "trackBreakdown": BREAKDOWN_TEXT,
    "albumBreakdown": BREAKDOWN_TEXT + " Over all the album's tracks; listeners distinct across them.",
    "artistBreakdown": BREAKDOWN_TEXT + " Over all the artist's tracks; listeners distinct across them.",
    "listTracks": LISTING_TEXT.format("title"),
    "listAlbums": LISTING_TEXT.format("title"),
    "listArtists": LISTING_TEXT.format("name"),
    "exportFormats": "The formats the export endpoints produce.",
    "exportCsv": "One row per readable entity of `type`, most played in the period first (then by id): "
    "`<type>_id`, `title` (`name` for artists), what tells it apart (a track's `album_id`, `album`, "
    "`artist_ids`, `artists`; an album's `artist_id`, `artist`), `plays`, `plays_total`, `listeners`, "
    "`likes`, `reposts`, the period's `from` and `to` dates and `tz`, then `listening_qualified_plays`, "
    "`listening_total_ms` and `listening_avg_ms`; the same figures as the single-entity endpoints. With "
    '`"layout": "breakdowns"`, instead a row per entity, dimension (country, source, platform) and value: '
    "the entity's id and title or name, `dimension`, `slice` (`ranked`, `other`, `unknown`), `rank`, "
    "`value`, `value_name`, `plays`, `listeners`, `share`, `from`, `to`, `tz` (the breakdown endpoints' "
    "figures, `limit` values ranked). `artist_id`, `album_id` or `track_id` in the body narrows it to "
    "what belongs to that entity (the view on screen). UTF-8, a header row, CRLF line ends, streamed. A "
    "text cell starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'` so a "
    "spreadsheet shows it instead of running it.",
    "exportJson": "The rows of the CSV export as `{success, data: {type, period, from, to, tz, layout, "
    "rows}}`, streamed; a track's `artist_ids` and `artists` are arrays. An entity row carries "
    "`listening` as an object, and with `include_breakdowns` its `breakdowns` by country, source and "
    "platform (as the breakdown endpoints answer them, `limit` values ranked); the `breakdowns` layout "
    "gives the CSV's rows, with null `rank` and `value` for `other` and `unknown`.",
    "exportReport": "Totals and growth per artist, album and track, their listening and their breakdowns "
    "by country, source and platform (also over everything together, in `summary`), rankings, "
    "collaborations, and the chart series when asked; every figure as the single-entity and breakdown "
    "endpoints answer it.",
    "exportPdf": "The report as a PDF: title page (artist, period, generated-at), summary figures with "
    "growth, listening time, a plays-and-listeners chart over the period, a top-tracks chart, where and "
    "how they listen (countries by name, sources and platforms, as bars with their plays, listeners and "
    "share), tables per album and track, and collaborations. The file is named "
    "`insights-report-<artist>-<period>-<YYYY-MM-DD>.pdf`.",
    "revokeToken": "Every API process refuses the token within about a second (each keeps the revoked "
    "ids in memory and reloads them every second). Revoking twice is harmless.",
    "listRevocations": "Every revoked token, the latest first.",
    "acceptKafkaReset": "When Kafka's log was lost or a topic recreated, ingest answers 503 and the worker "
    "writes nothing until an operator says the reset was deliberate: this starts a new epoch for the "
    "Kafka now answering, and counting resumes (`insights kafka accept-reset` calls it). Harmless when "
    "Kafka matches.",
    "openapiJson": "This description of the API as an OpenAPI 3.1 document.",
    "docsPage": "The same description as a self-contained HTML page.",
}
