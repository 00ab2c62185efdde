"""Fuzzy matching of a spoken request ("here comes the sun by the beatles") against the index."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MIN_SCORE = 70.0
"""Matches scoring below this (0-100) are not offered."""
TIE_MARGIN = 4.0
"""Matches this close to the best one make the request ambiguous."""

_BY = re.compile(r"\s+by\s+", re.IGNORECASE)
_KIND_ORDER = {"playlist": 0, "track": 1, "artist": 2, "album": 3, "genre": 4}
_PER_KIND = 20

Row = tuple[int, str, str, str, str, str]
"""(id, title, artist, album, album_artist, genre), as `Library.search_rows` gives."""


@dataclass(frozen=True)
class Match:
    """One thing a request may mean, with the tracks it would play in order."""

    kind: str
    """"track", "artist", "album", "genre" or "playlist"."""
    name: str
    artist: str
    score: float
    """0-100, higher is closer."""
    track_ids: list[int] = field(default_factory=list)

    @property
    def description(self) -> str:
        by = f" by {self.artist}" if self.artist else ""
        return {
            "track": f"{self.name}{by}",
            "album": f"the album {self.name}{by}",
            "artist": f"songs by {self.name}",
            "genre": f"{self.name} music",
            "playlist": f"the playlist {self.name}",
        }[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "artist": self.artist,
            "score": round(self.score, 1),
            "track_ids": list(self.track_ids),
            "description": self.description,
        }


def find(
    rows: list[Row],
    query: str,
    artist: str | None = None,
    playlists: Mapping[str, list[int]] | None = None,
    limit: int = 5,
) -> list[Match]:
    """The best matches for `query`, best first; "X by Y" is also tried as title X, artist Y."""
    query = query.strip()
    if not query:
        return []
    readings: list[tuple[str, str | None]] = [(query, artist.strip() if artist else None)]
    if artist is None:
        parts = _BY.split(query)
        if len(parts) >= 2 and parts[-1] and " by ".join(parts[:-1]):
            readings.append((" by ".join(parts[:-1]), parts[-1]))
    best: dict[tuple[str, str, str], Match] = {}
    for text, who in readings:
        for match in _candidates(rows, text, who, playlists or {}):
            key = (match.kind, match.name.casefold(), match.artist.casefold())
            if key not in best or best[key].score < match.score:
                best[key] = match
    ordered = sorted(best.values(), key=lambda m: (-m.score, _KIND_ORDER[m.kind], m.name))
    return ordered[:limit]


def is_ambiguous(matches: list[Match]) -> bool:
    """Whether the runner-up is too close to the best match to choose without asking."""
    return len(matches) >= 2 and matches[1].score >= matches[0].score - TIE_MARGIN


def _candidates(rows: list[Row], text: str, who: str | None, playlists: Mapping[str, list[int]]) -> list[Match]:
    matches = _tracks(rows, text, who) + _albums(rows, text, who)
    if who is None:
        matches += _groups(rows, text, "artist", lambda r: {r[2], r[4]})
        matches += _groups(rows, text, "genre", lambda r: {r[5]})
        matches += [
            Match("playlist", name, "", score, list(ids))
            for name, score in _scored(text, playlists)
            for ids in [playlists[name]]
        ]
    return matches


def _tracks(rows: list[Row], text: str, who: str | None) -> list[Match]:
    from rapidfuzz import fuzz, process, utils

    found = process.extract(
        text, [row[1] for row in rows], scorer=fuzz.WRatio, processor=utils.default_process,
        score_cutoff=MIN_SCORE, limit=None,
    )
    seen: set[tuple[str, str]] = set()
    matches = []
    for _, score, index in sorted(found, key=lambda item: -item[1]):
        track_id, title, track_artist = rows[index][:3]
        if who is not None:
            score = _with_artist(score, who, (track_artist, rows[index][4]))
            if score < MIN_SCORE:
                continue
        key = (title.casefold(), track_artist.casefold())
        if key in seen:  # the same song on two albums is one choice, not an ambiguity
            continue
        seen.add(key)
        matches.append(Match("track", title, track_artist, score, [track_id]))
    return sorted(matches, key=lambda m: -m.score)[:_PER_KIND]


def _albums(rows: list[Row], text: str, who: str | None) -> list[Match]:
    albums: dict[tuple[str, str], list[int]] = {}
    for track_id, _, _, album, album_artist, _ in rows:
        if album:
            albums.setdefault((album, album_artist), []).append(track_id)
    names = {album for album, _ in albums}
    scores = dict(_scored(text, names))
    matches = []
    for (album, album_artist), ids in albums.items():
        score = scores.get(album)
        if score is None:
            continue
        if who is not None:
            score = _with_artist(score, who, (album_artist,))
            if score < MIN_SCORE:
                continue
        matches.append(Match("album", album, album_artist, score, ids))
    return sorted(matches, key=lambda m: -m.score)[:_PER_KIND]


def _groups(rows: list[Row], text: str, kind: str, keys_of: Any) -> list[Match]:
    groups: dict[str, list[int]] = {}
    for row in rows:
        for key in keys_of(row):
            if key:
                groups.setdefault(key, []).append(row[0])
    return [Match(kind, name, "", score, groups[name]) for name, score in _scored(text, groups)][:_PER_KIND]


def _scored(text: str, names: Iterable[str]) -> list[tuple[str, float]]:
    from rapidfuzz import fuzz, process, utils

    found = process.extract(
        text, list(names), scorer=fuzz.WRatio, processor=utils.default_process,
        score_cutoff=MIN_SCORE, limit=_PER_KIND,
    )
    return [(name, float(score)) for name, score, _ in found]


def _with_artist(title_score: float, who: str, artists: tuple[str, ...]) -> float:
    """Title and artist both have to match; the title weighs more."""
    from rapidfuzz import fuzz, utils

    artist_score = max(fuzz.WRatio(who, a, processor=utils.default_process) for a in artists)
    if artist_score < MIN_SCORE:
        return 0.0
    return 0.6 * title_score + 0.4 * artist_score
