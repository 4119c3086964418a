"""The change notices on `insights.changes`: which tracks' rollups a worker's flush has just made
durable. Workers write them (pipeline/worker.py); every API process reads them to know which of its
memoised answers still hold (api/read/changes.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec


class ChangeNotice(msgspec.Struct, frozen=True):
    """`tracks`: every track with an event in the flush (duplicates included, so a replay announces
    again what a crash may have left unannounced). `everything`: the flush also finished rollups a
    crash had left behind, for tracks it cannot name, so no answer is known to hold any more.
    `days`: for each of `tracks`, the first UTC day (days since 1970-01-01) of its events in the flush,
    so a reader knows which tracks' past days changed; empty from a worker that does not say (every
    named track's days may then have changed)."""

    tracks: tuple[int, ...] = ()
    everything: bool = False
    days: tuple[int, ...] = ()

    def before(self, day: int) -> tuple[int, ...]:
        """The tracks named with an event on a UTC day before `day` (all of them if not known)."""
        if len(self.days) != len(self.tracks):
            return self.tracks
        return tuple(track for track, first in zip(self.tracks, self.days, strict=True) if first < day)


# A notice stays far below Kafka's 1 MB message limit: a flush touching more tracks than this (ids of
# up to 20 bytes each, and a day of 6) announces that everything changed instead.
MAX_NAMED_TRACKS = 20_000

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ChangeNotice)


def encode_notice(tracks: Mapping[int, int] | Iterable[int], everything: bool = False) -> bytes:
    """A notice of `tracks`: each track's first UTC day in the flush (a mapping), or the tracks alone
    (their days not said)."""
    named = tuple(sorted(set(tracks)))
    days = tuple(tracks[track] for track in named) if isinstance(tracks, Mapping) else ()
    if len(named) > MAX_NAMED_TRACKS:
        named, days, everything = (), (), True
    return _encoder.encode(ChangeNotice(named, everything, days))


def decode_notice(payload: bytes) -> ChangeNotice:
    """Raises msgspec.DecodeError (a ValueError) for anything that is not a notice."""
    return _decoder.decode(payload)
