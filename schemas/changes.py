"""The change notices on `insights.changes`: which tracks' rollups a worker's flush has just made
durable. Workers write them (pipeline/worker.py); every API process reads them to know which of its
memoised answers still hold (api/read/changes.py)."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec


class ChangeNotice(msgspec.Struct, frozen=True):
    """`tracks`: every track with an event in the flush (duplicates included, so a replay announces
    again what a crash may have left unannounced). `everything`: the flush also finished rollups a
    crash had left behind, for tracks it cannot name, so no answer is known to hold any more."""

    tracks: tuple[int, ...] = ()
    everything: bool = False


# A notice stays far below Kafka's 1 MB message limit: a flush touching more tracks than this (ids of
# up to 20 bytes each) announces that everything changed instead.
MAX_NAMED_TRACKS = 20_000

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ChangeNotice)


def encode_notice(tracks: Iterable[int], everything: bool = False) -> bytes:
    named = tuple(sorted(set(tracks)))
    if len(named) > MAX_NAMED_TRACKS:
        named, everything = (), True
    return _encoder.encode(ChangeNotice(named, everything))


def decode_notice(payload: bytes) -> ChangeNotice:
    """Raises msgspec.DecodeError (a ValueError) for anything that is not a notice."""
    return _decoder.decode(payload)
