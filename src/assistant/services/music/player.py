"""The player: a queue and a state machine driving one background playback thread.

Every change is saved (`StateStore`), so another process can report the same
state; the thread decodes the current song into the mixer's music input
(`assistant.audio.mixer`), and when the song ends it moves the state on to the next one.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from assistant.audio.decode import stream
from assistant.audio.mixer import CHANNELS, SAMPLE_RATE_HZ, MusicInput
from assistant.errors import AudioError
from assistant.home import process_alive
from assistant.services.music import state as st
from assistant.services.music.library import Library, Track
from assistant.services.music.state import PlayerState, StateStore

log = logging.getLogger(__name__)


ENDED, UNPLAYABLE, NO_OUTPUT = "ended", "unplayable", "no_output"
"""How a playback finished: the song ran out, the file could not be decoded, the device failed."""


class _Playback:
    """One song being decoded into the mixer on a daemon thread, until it ends or is cancelled."""

    def __init__(self, path: str, start_s: float, sink: MusicInput, gain: Callable[[], float],
                 done: Callable[[str], None]) -> None:
        self.cancelled = threading.Event()
        self.requested_at = time.monotonic()
        self.first_audio_at: float | None = None
        self._path, self._start_s, self._sink, self._gain, self._done = path, start_s, sink, gain, done
        self._thread = threading.Thread(target=self._run, name="music-playback", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self.cancelled.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        try:
            frames = stream(self._path, SAMPLE_RATE_HZ, CHANNELS, self._start_s)
        except AudioError as error:
            log.warning("cannot play %s: %s (moved? run `assistant music scan`)", self._path, error)
            outcome = UNPLAYABLE
        else:
            outcome = self._play(frames)
        if not self.cancelled.is_set():
            self._done(outcome)

    def _play(self, frames: Iterator[Any]) -> str:
        try:
            try:
                self._sink.open()
            except AudioError as error:
                log.error("%s", error)
                return NO_OUTPUT
            try:
                for chunk in frames:
                    if self.cancelled.is_set():
                        break
                    if self.first_audio_at is None:
                        self.first_audio_at = time.monotonic()
                    self._sink.write(chunk * self._gain(), self.cancelled)
            finally:
                self._sink.close()
        except Exception:  # noqa: BLE001 - a decoder or device failing mid-song must not kill the player
            log.warning("playback of %s failed", self._path, exc_info=True)
            return UNPLAYABLE
        finally:
            getattr(frames, "close", lambda: None)()
        return ENDED


class Player:
    """Queue, transport and volume; plain data in and out."""

    def __init__(
        self,
        library: Library,
        store: StateStore,
        output: MusicInput,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._library, self._store, self._output = library, store, output
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.RLock()
        self._state = store.load()
        self._active = False
        """True once this process has taken over playback with a command."""
        self._ducked = False
        self._playback: _Playback | None = None
        self._generation = 0
        self._failures = 0

    # -- transport ---------------------------------------------------------------

    def play(self, track_ids: list[int], start_index: int = 0) -> dict[str, Any]:
        """Replace the queue with `track_ids` and play from `start_index`."""
        with self._lock:
            state = replace(self._take_over(), queue=list(track_ids), order=list(track_ids),
                            index=max(0, min(start_index, len(track_ids) - 1)))
            if state.shuffle:
                state = st.shuffled(state, True, self._rng)
            return self._go(replace(state, state="playing" if track_ids else "stopped",
                                    position_s=0.0, anchor_time=self._clock()))

    def pause(self) -> dict[str, Any]:
        with self._lock:
            state = self._take_over()
            if state.state != "playing":
                return self.status()
            now = self._clock()
            return self._go(replace(state, state="paused", position_s=self._position(state, now),
                                    anchor_time=now))

    def resume(self) -> dict[str, Any]:
        with self._lock:
            state = self._take_over()
            if state.state == "playing" or state.current is None:
                return self.status()
            return self._go(replace(state, state="playing", anchor_time=self._clock()))

    def stop(self) -> dict[str, Any]:
        with self._lock:
            state = self._take_over()
            return self._go(replace(state, state="stopped", position_s=0.0, anchor_time=self._clock()))

    def next(self) -> dict[str, Any]:
        """The next song, playing; past the end of the queue (repeat off) the player stops."""
        with self._lock:
            state = self._take_over()
            if state.current is None:
                return self.status()
            moved = st.following(state, self._clock())
            return self._go(moved if moved.state == "stopped" else replace(moved, state="playing"))

    def previous(self) -> dict[str, Any]:
        """The song before, playing (or this one again when well into it)."""
        with self._lock:
            state = self._take_over()
            if state.current is None:
                return self.status()
            now = self._clock()
            state = replace(state, position_s=self._position(state, now), anchor_time=now)
            return self._go(replace(st.preceding(state, now), state="playing"))

    def restart(self) -> dict[str, Any]:
        """The current song again from the start."""
        with self._lock:
            state = self._take_over()
            if state.current is None:
                return self.status()
            running = "playing" if state.state == "stopped" else state.state
            return self._go(replace(state, state=running, position_s=0.0, anchor_time=self._clock()))

    def enqueue(self, track_ids: list[int], play_next: bool = False) -> dict[str, Any]:
        """Add to the end of the queue, or right after the current song."""
        with self._lock:
            state = self._take_over()
            added = st.with_tracks(state, list(track_ids), after_current=play_next)
            if state.shuffle and not play_next:
                # New songs join the not-yet-played part of a shuffled queue at random.
                rest = added.queue[state.index + 1 :]
                self._rng.shuffle(rest)
                added = replace(added, queue=added.queue[: state.index + 1] + rest)
            return self._save(added)

    # -- modes and volume ----------------------------------------------------------

    def set_shuffle(self, on: bool) -> dict[str, Any]:
        with self._lock:
            return self._save(st.shuffled(self._take_over(), on, self._rng))

    def set_repeat(self, mode: str) -> dict[str, Any]:
        if mode not in st.REPEAT_MODES:
            raise AudioError(f"repeat mode {mode!r} is not one of {', '.join(st.REPEAT_MODES)}")
        with self._lock:
            return self._save(replace(self._take_over(), repeat=mode))  # type: ignore[arg-type]

    def set_volume(self, percent: float) -> dict[str, Any]:
        """Volume in percent, clamped to 0-100; unmutes."""
        with self._lock:
            level = int(round(max(0.0, min(100.0, float(percent)))))
            return self._save(replace(self._take_over(), volume=level, muted=False))

    def set_muted(self, muted: bool) -> dict[str, Any]:
        with self._lock:
            return self._save(replace(self._take_over(), muted=muted))

    def duck(self) -> None:
        """Noted for `status`; the mixer lowers the music while the assistant listens or speaks."""
        self._ducked = True

    def unduck(self) -> None:
        self._ducked = False

    # -- reporting -------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """state, track, position_s, volume, muted, ducked, shuffle, repeat, queue_length, queue_index."""
        with self._lock:
            state = self._state if self._active else self._observe()
            now = self._clock()
            track = self._track(state.current)
            return {
                "state": state.state,
                "track": None if track is None else {
                    "id": track.id, "title": track.title, "artist": track.artist,
                    "album": track.album, "duration_s": round(track.duration_s, 3),
                },
                "position_s": round(self._position(state, now, track), 3),
                "volume": state.volume,
                "muted": state.muted,
                "ducked": self._ducked,
                "shuffle": state.shuffle,
                "repeat": state.repeat,
                "queue_length": len(state.queue),
                "queue_index": state.index,
            }

    def queue(self) -> list[int]:
        with self._lock:
            return list((self._state if self._active else self._observe()).queue)

    def start_latency_s(self) -> float | None:
        """Seconds from the last start of playback to its first audio chunk, once known."""
        playback = self._playback
        if playback is None or playback.first_audio_at is None:
            return None
        return playback.first_audio_at - playback.requested_at

    def close(self) -> None:
        """Stop the thread; music that was playing is saved as paused there."""
        with self._lock:
            if self._active and self._state.state == "playing":
                now = self._clock()
                self._save(replace(self._state, state="paused",
                                   position_s=self._position(self._state, now), anchor_time=now))
            self._halt()

    # -- internals -------------------------------------------------------------------

    def _observe(self) -> PlayerState:
        """The saved state moved on to now, as the playing process would see it."""
        saved = self._store.load()
        state = st.settle(saved, self._clock(), self._library.durations(saved.queue))
        if state.state == "playing" and not process_alive(state.owner_pid):
            state = replace(state, state="paused", position_s=self._position(state, self._clock()),
                            anchor_time=self._clock())
        return state

    def _take_over(self) -> PlayerState:
        """This process becomes the one that plays, starting from the saved state."""
        import os

        if not self._active:
            self._state = replace(self._observe(), owner_pid=os.getpid())
            self._active = True
        return self._state

    def _go(self, state: PlayerState) -> dict[str, Any]:
        """Save `state` and make the output follow it."""
        self._halt()
        self._failures = 0
        self._save(state)
        if state.state == "playing":
            self._start()
        return self.status()

    def _save(self, state: PlayerState) -> dict[str, Any]:
        self._state = state
        self._store.save(state)
        return self.status()

    def _halt(self) -> None:
        self._generation += 1
        playback, self._playback = self._playback, None
        if playback is not None:
            playback.cancel()

    def _start(self) -> None:
        """Play the current song of a playing state, skipping songs that left the library."""
        for _ in range(len(self._state.queue) + 1):
            state = self._state
            track = self._track(state.current)
            if state.state != "playing" or track is not None:
                break
            log.warning("track %s is no longer in the library; skipping", state.current)
            self._save(st.following(state, self._clock()))
        if self._state.state != "playing" or track is None:
            return
        generation = self._generation
        self._playback = _Playback(
            track.path, self._state.position_s, self._output, self._gain,
            lambda outcome: self._ended(generation, outcome),
        )

    def _ended(self, generation: int, outcome: str) -> None:
        """Called by the playback thread when its song ended (or could not be played)."""
        # A command may hold the lock while it waits for this very thread to finish.
        while not self._lock.acquire(timeout=0.05):
            if generation != self._generation:
                return
        try:
            if generation != self._generation:
                return
            self._playback = None
            if outcome == NO_OUTPUT:
                # Every song would fail the same way: wait, paused, for the device to be fixed.
                now = self._clock()
                self._save(replace(self._state, state="paused",
                                   position_s=self._position(self._state, now), anchor_time=now))
                return
            self._failures = 0 if outcome == ENDED else self._failures + 1
            if self._failures > len(self._state.queue):
                log.warning("no song in the queue can be played; stopping")
                self._save(replace(self._state, state="stopped", position_s=0.0))
                return
            self._generation += 1
            self._save(st.following(self._state, self._clock(), automatic=outcome == ENDED))
            if self._state.state == "playing":
                self._start()
        finally:
            self._lock.release()

    def _gain(self) -> float:
        state = self._state
        if state.muted:
            return 0.0
        return state.volume / 100.0

    def _track(self, track_id: int | None) -> Track | None:
        return None if track_id is None else self._library.track(track_id)

    def _position(self, state: PlayerState, now: float, track: Track | None = None) -> float:
        position = state.position_at(now)
        track = track or self._track(state.current)
        return min(position, track.duration_s) if track is not None else position
