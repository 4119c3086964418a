"""Who may read what: a token's `artists` claim, or `admin` for everything.

Unknown ids are 404 before access is considered; known but not yours is 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import Request

from api.http.errors import ApiError
from api.read.catalog_lookup import AlbumEntry, ArtistEntry, TrackEntry
from schemas.tokens import TokenClaims


def claims_of(request: Request) -> TokenClaims:
    claims: TokenClaims = request.state.claims
    return claims


def may_read_artists(claims: TokenClaims, artist_ids: Iterable[int]) -> bool:
    return "admin" in claims.scopes or not claims.artists.isdisjoint(artist_ids)


@dataclass(frozen=True)
class Readers:
    """Who may read one entity: a token listing one of `artist_ids`, or an admin token."""

    artist_ids: frozenset[int]
    label: str  # "track 42", for the 403 message

    def allow(self, claims: TokenClaims) -> bool:
        return may_read_artists(claims, self.artist_ids)


def authorize(request: Request, readers: Readers) -> None:
    """403 unless the request's token may read; the readers are kept on the request, where the
    response cache (api/read/response_cache.py) finds them to check later requests for the same answer."""
    request.state.readers = readers
    if not readers.allow(claims_of(request)):
        raise forbidden(readers)


def forbidden(readers: Readers) -> ApiError:
    return ApiError(403, f"This token may not read {readers.label}.")


def check_track(request: Request, track: TrackEntry | None, track_id: int) -> TrackEntry:
    if track is None:
        raise ApiError(404, f"Track {track_id} is not known.")
    authorize(request, Readers(frozenset(track.artist_ids), f"track {track_id}"))
    return track


def check_album(request: Request, album: AlbumEntry | None, album_id: int) -> AlbumEntry:
    if album is None:
        raise ApiError(404, f"Album {album_id} is not known.")
    authorize(request, Readers(frozenset((album.artist_id,)), f"album {album_id}"))
    return album


def check_artist(request: Request, artist: ArtistEntry | None, artist_id: int) -> ArtistEntry:
    if artist is None:
        raise ApiError(404, f"Artist {artist_id} is not known.")
    authorize(request, Readers(frozenset((artist_id,)), f"artist {artist_id}"))
    return artist
