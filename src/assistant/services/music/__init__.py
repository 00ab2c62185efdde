"""The music service: library, player and playlists behind one facade of plain-data methods.

Skill actions run in another process and call these methods through a forwarding
proxy, so every argument and result is a str, number, bool, list or dict.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import MusicSettings
from assistant.home import Home
from assistant.services.music import search as fuzzy
from assistant.services.music.db import connect
from assistant.services.music.errors import MusicError
from assistant.services.music.library import Library, Progress
from assistant.services.music.player import Player
from assistant.services.music.playlists import Playlists
from assistant.services.music.state import StateStore

if TYPE_CHECKING:
    from assistant.audio.mixer import Mixer

__all__ = ["MusicError", "MusicService"]

log = logging.getLogger(__name__)

VOLUME_STEP = 10
"""Percentage points for "louder" / "quieter" without a number."""


class MusicService:
    """What the rest of the assistant (and skills, through the proxy) use of the music player."""

    def __init__(self, home: Home, settings: MusicSettings, output: str | Mixer) -> None:
        """`output`: the assistant's one audio output, or a device name for a mixer of its own."""
        from assistant.audio.mixer import Mixer

        self._own_mixer = isinstance(output, str)
        self.mixer = Mixer(output, settings.duck_volume) if isinstance(output, str) else output
        self._folders = [Path(folder).expanduser().resolve() for folder in settings.folders]
        self.library = Library(connect(home.database("music")))
        self._playlists = Playlists(connect(home.database("music")))
        self.player = Player(
            self.library, StateStore(connect(home.database("music"))), self.mixer.music
        )

    # -- library --------------------------------------------------------------------

    def scan(self, progress: Progress | None = None) -> dict[str, Any]:
        """Bring the index up to date with the configured folders; returns the scan report."""
        return self.library.scan(self._folders, progress).to_dict()

    def library_counts(self) -> dict[str, int]:
        """{"tracks": n, "unreadable": n, "playlists": n}."""
        return {**self.library.counts(), "playlists": len(self._playlists.names())}

    def search(self, query: str, artist: str | None = None, limit: int = 5) -> list[dict[str, Any]]:
        """Songs, artists, albums, genres and playlists matching `query`, best first."""
        matches = fuzzy.find(self.library.search_rows(), query, artist, self._playlist_map(), limit)
        return [match.to_dict() for match in matches]

    def find(self, query: str, artist: str | None = None) -> dict[str, Any]:
        """{"matches": [...], "ambiguous": bool}: what `query` means, and whether to ask back."""
        matches = fuzzy.find(self.library.search_rows(), query, artist, self._playlist_map(), limit=3)
        return {"matches": [m.to_dict() for m in matches], "ambiguous": fuzzy.is_ambiguous(matches)}

    def choose(self, answer: str, choices: list[str]) -> int | None:
        """Which of the offered `choices` (descriptions) the answer names, or None."""
        from rapidfuzz import fuzz, process, utils

        words = answer.casefold().split()
        for index, ordinal in enumerate(("first", "second", "third")):
            if ordinal in words and index < len(choices):
                return index
        if "last" in words and choices:
            return len(choices) - 1
        best = process.extractOne(answer, choices, scorer=fuzz.WRatio,
                                  processor=utils.default_process, score_cutoff=60)
        return None if best is None else int(best[2])

    def tracks(self, track_ids: list[int]) -> list[dict[str, Any]]:
        return [track.to_dict() for track in self.library.tracks(list(track_ids))]

    # -- playback -------------------------------------------------------------------

    def play(self, track_ids: list[int], start_index: int = 0) -> dict[str, Any]:
        """Play these tracks (in this order, or shuffled when shuffle is on); returns the status."""
        return self.player.play([int(i) for i in track_ids], start_index)

    def play_all(self, shuffle: bool = True) -> dict[str, Any]:
        """The whole library, shuffled by default ("play some music")."""
        if shuffle:
            self.player.set_shuffle(True)
        return self.player.play(self.library.all_ids())

    def pause(self) -> dict[str, Any]:
        return self.player.pause()

    def resume(self) -> dict[str, Any]:
        return self.player.resume()

    def stop(self) -> dict[str, Any]:
        return self.player.stop()

    def next(self) -> dict[str, Any]:
        return self.player.next()

    def previous(self) -> dict[str, Any]:
        return self.player.previous()

    def restart(self) -> dict[str, Any]:
        return self.player.restart()

    def enqueue(self, track_ids: list[int], play_next: bool = False) -> dict[str, Any]:
        """Add to the queue's end, or right after the current song; starts playing if idle."""
        track_ids = [int(i) for i in track_ids]
        if self.player.status()["state"] == "stopped":
            return self.player.play(track_ids)
        return self.player.enqueue(track_ids, play_next)

    def set_volume(self, percent: float) -> dict[str, Any]:
        return self.player.set_volume(percent)

    def change_volume(self, delta: float = VOLUME_STEP) -> dict[str, Any]:
        """Louder (positive) or quieter (negative) by `delta` percentage points."""
        return self.player.set_volume(self.player.status()["volume"] + delta)

    def mute(self) -> dict[str, Any]:
        return self.player.set_muted(True)

    def unmute(self) -> dict[str, Any]:
        return self.player.set_muted(False)

    def set_shuffle(self, on: bool) -> dict[str, Any]:
        return self.player.set_shuffle(bool(on))

    def set_repeat(self, mode: str | bool) -> dict[str, Any]:
        """"off", "all" or "one"; True / False mean "all" / "off"."""
        if isinstance(mode, bool):
            mode = "all" if mode else "off"
        return self.player.set_repeat(mode)

    def duck(self) -> None:
        """The music goes down while the assistant listens or speaks (`[music] duck_volume`)."""
        self.player.duck()
        self.mixer.duck(True)

    def unduck(self) -> None:
        self.player.unduck()
        self.mixer.duck(False)

    def status(self) -> dict[str, Any]:
        """state, track {id,title,artist,album,duration_s}, position_s, volume, muted, ducked,
        shuffle, repeat, queue_length, queue_index."""
        return self.player.status()

    # -- playlists ------------------------------------------------------------------

    def playlists(self) -> list[dict[str, Any]]:
        return [{"name": name, "tracks": count} for name, count in self._playlists.names()]

    def create_playlist(self, name: str) -> dict[str, Any]:
        stored = self._playlists.create(name)
        return {"name": stored, "tracks": len(self._playlists.paths(stored))}

    def delete_playlist(self, name: str) -> str:
        """Delete the playlist closest to `name`; returns its stored name."""
        stored = self._existing_playlist(name)
        self._playlists.delete(stored)
        return stored

    def add_to_playlist(self, name: str, track_ids: list[int]) -> dict[str, Any]:
        """Append tracks to a playlist (created if no playlist has a similar name)."""
        stored = self.playlist_name(name) or self._playlists.create(name)
        paths = [track.path for track in self.library.tracks([int(i) for i in track_ids])]
        return {"name": stored, "tracks": self._playlists.add(stored, paths)}

    def add_current_to_playlist(self, name: str) -> dict[str, Any]:
        """Append the song playing now; raises `MusicError` when nothing is playing."""
        track = self.status()["track"]
        if track is None:
            raise MusicError("nothing is playing, so there is no song to add")
        return {**self.add_to_playlist(name, [track["id"]]), "track": track}

    def playlist_tracks(self, name: str) -> list[dict[str, Any]]:
        """The library tracks of the playlist closest to `name`, in order."""
        return self.tracks(self._playlist_ids(self._existing_playlist(name)))

    def play_playlist(self, name: str) -> dict[str, Any]:
        """Play the playlist closest to `name`; raises `MusicError` if none or it is empty."""
        stored = self._existing_playlist(name)
        ids = self._playlist_ids(stored)
        if not ids:
            raise MusicError(f"the playlist {stored!r} has no songs that are in the library")
        return {**self.player.play(ids), "playlist": stored}

    def playlist_name(self, name: str) -> str | None:
        """The stored playlist name closest to `name`, or None if none is close enough."""
        from rapidfuzz import fuzz, process, utils

        names = [stored for stored, _ in self._playlists.names()]
        best = process.extractOne(name, names, scorer=fuzz.WRatio,
                                  processor=utils.default_process, score_cutoff=85)
        return None if best is None else str(best[0])

    def import_m3u(self, path: str, name: str | None = None) -> dict[str, Any]:
        known = {track.path for track in self.library.iter_tracks()}
        report = self._playlists.import_m3u(Path(path).expanduser(), known, name)
        return {"name": report.name, "added": report.added, "missing": report.missing}

    def export_m3u(self, name: str, path: str) -> dict[str, Any]:
        stored = self._existing_playlist(name)
        titles = {t.path: (t.artist, t.title, t.duration_s) for t in self.library.iter_tracks()}
        count = self._playlists.export_m3u(stored, Path(path).expanduser(), titles)
        return {"name": stored, "tracks": count, "path": str(path)}

    def close(self) -> None:
        """Stop playback (saved as paused) and release the database."""
        self.player.close()
        if self._own_mixer:
            self.mixer.close()

    def _existing_playlist(self, name: str) -> str:
        stored = self.playlist_name(name)
        if stored is None:
            known = ", ".join(n for n, _ in self._playlists.names()) or "none yet"
            raise MusicError(f"there is no playlist named {name!r}; the playlists are: {known}")
        return stored

    def _playlist_map(self) -> dict[str, list[int]]:
        return {name: self._playlist_ids(name) for name, _ in self._playlists.names()}

    def _playlist_ids(self, name: str) -> list[int]:
        ids = []
        for path in self._playlists.paths(name):
            track = self.library.by_path(path)
            if track is not None:
                ids.append(track.id)
        return ids
