"""Who may read what (ARCHITECTURE §6.3): a token's `artists` claim, or `admin` for everything.

Unknown ids are 404 before access is considered; known but not yours is 403.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request

from api.catalog_queries import AlbumEntry, ArtistEntry, TrackEntry
from api.errors import ApiError
from schemas.tokens import TokenClaims


def claims_of(request: Request) -> TokenClaims:
    claims: TokenClaims = request.state.claims
    return claims


def may_read_artists(claims: TokenClaims, artist_ids: Iterable[int]) -> bool:
    return "admin" in claims.scopes or not claims.artists.isdisjoint(artist_ids)


def check_track(claims: TokenClaims, track: TrackEntry | None, track_id: int) -> TrackEntry:
    if track is None:
        raise ApiError(404, f"Track {track_id} is not known.")
    if not may_read_artists(claims, track.artist_ids):
        raise ApiError(403, f"This token may not read track {track_id}.")
    return track


def check_album(claims: TokenClaims, album: AlbumEntry | None, album_id: int) -> AlbumEntry:
    if album is None:
        raise ApiError(404, f"Album {album_id} is not known.")
    if not may_read_artists(claims, (album.artist_id,)):
        raise ApiError(403, f"This token may not read album {album_id}.")
    return album


def check_artist(claims: TokenClaims, artist: ArtistEntry | None, artist_id: int) -> ArtistEntry:
    if artist is None:
        raise ApiError(404, f"Artist {artist_id} is not known.")
    if not may_read_artists(claims, (artist_id,)):
        raise ApiError(403, f"This token may not read artist {artist_id}.")
    return artist
