"""The player's state as data: what plays, from where, since when; kept in SQLite.

Position is a clock, not a counter: while playing, the position is
`position_s + (now - anchor_time)`. That lets a second process (`assistant music
status`) tell where the music is without asking the one that plays it.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

PlayState = Literal["stopped", "playing", "paused"]
RepeatMode = Literal["off", "all", "one"]
REPEAT_MODES = ("off", "all", "one")
RESTART_THRESHOLD_S = 3.0
""""Previous" later than this into a song starts it again instead of going back."""


@dataclass(frozen=True)
class PlayerState:
    """Everything needed to resume playback exactly; serialised as JSON."""

    state: PlayState = "stopped"
    queue: list[int] = field(default_factory=list)
    """Track ids in play order (shuffled when `shuffle` is on)."""
    order: list[int] = field(default_factory=list)
    """The same track ids in the order they were asked for, restored when shuffle goes off."""
    index: int = 0
    """Position of the current track in `queue`."""
    position_s: float = 0.0
    """Seconds into the current track at `anchor_time`."""
    anchor_time: float = 0.0
    """Wall-clock time (epoch seconds) at which the track was at `position_s`."""
    volume: int = 70
    """Percent, 0-100."""
    muted: bool = False
    shuffle: bool = False
    repeat: RepeatMode = "off"
    owner_pid: int = 0
    """The process that plays; a reader treats music whose player died as paused."""

    @property
    def current(self) -> int | None:
        return self.queue[self.index] if 0 <= self.index < len(self.queue) else None

    def position_at(self, now: float) -> float:
        if self.state == "playing":
            return max(0.0, self.position_s + (now - self.anchor_time))
        return self.position_s

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> PlayerState:
        raw = json.loads(text)
        known = {name: raw[name] for name in cls.__dataclass_fields__ if name in raw}
        state = cls(**known)
        if state.repeat not in REPEAT_MODES or state.state not in ("stopped", "playing", "paused"):
            return cls()
        return state


def settle(state: PlayerState, now: float, durations: Mapping[int, float]) -> PlayerState:
    """`state` moved on to `now`: songs that have ended since are replaced by the ones after."""
    for _ in range(len(state.queue) * 2 + 2):
        track = state.current
        if state.state != "playing" or track is None:
            return state
        duration = durations.get(track, 0.0)
        ends_at = state.anchor_time + (duration - state.position_s)
        if now < ends_at:
            return state
        state = following(state, ends_at, automatic=True)
        cycle = sum(durations.get(t, 0.0) for t in state.queue)
        if state.repeat != "off" and cycle > 0 and now - state.anchor_time > cycle:
            # Skip whole laps of a repeating queue instead of walking them song by song.
            laps = int((now - state.anchor_time) // cycle)
            state = replace(state, anchor_time=state.anchor_time + laps * cycle)
    return state


def following(state: PlayerState, now: float, automatic: bool = False) -> PlayerState:
    """The state after the current song: the next one, or stopped at the end of the queue."""
    if automatic and state.repeat == "one":
        return replace(state, position_s=0.0, anchor_time=now)
    if state.index + 1 < len(state.queue):
        return replace(state, index=state.index + 1, position_s=0.0, anchor_time=now)
    if state.repeat != "off" and state.queue:
        return replace(state, index=0, position_s=0.0, anchor_time=now)
    return replace(state, state="stopped", index=0, position_s=0.0, anchor_time=now)


def preceding(state: PlayerState, now: float) -> PlayerState:
    """The state after "previous": the start of this song if well into it, else the one before."""
    if state.position_at(now) > RESTART_THRESHOLD_S or not state.queue:
        return replace(state, position_s=0.0, anchor_time=now)
    if state.index > 0:
        index = state.index - 1
    else:
        index = len(state.queue) - 1 if state.repeat == "all" else 0
    return replace(state, index=index, position_s=0.0, anchor_time=now)


def shuffled(state: PlayerState, on: bool, rng: random.Random) -> PlayerState:
    """Shuffle on keeps the current song first and shuffles the rest; off restores the order."""
    current = state.current
    if on:
        rest = list(state.order)
        if current is not None and current in rest:
            rest.remove(current)
        rng.shuffle(rest)
        queue = ([current] if current is not None else []) + rest
        return replace(state, shuffle=True, queue=queue, index=0)
    queue = list(state.order)
    index = queue.index(current) if current in queue else 0
    return replace(state, shuffle=False, queue=queue, index=index)


def with_tracks(state: PlayerState, track_ids: list[int], after_current: bool) -> PlayerState:
    """Tracks added to the end of the queue, or right after the current song."""
    if after_current and state.queue:
        queue = state.queue[: state.index + 1] + track_ids + state.queue[state.index + 1 :]
        current = state.current
        cut = state.order.index(current) + 1 if current in state.order else len(state.order)
        order = state.order[:cut] + track_ids + state.order[cut:]
        return replace(state, queue=queue, order=order)
    return replace(state, queue=state.queue + track_ids, order=state.order + track_ids)


class StateStore:
    """The single saved `PlayerState` row of the music database."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._lock = threading.Lock()

    def load(self) -> PlayerState:
        with self._lock:
            row = self._db.execute("SELECT value FROM player_state WHERE id = 1").fetchone()
        if row is None:
            return PlayerState()
        try:
            return PlayerState.from_json(row[0])
        except (ValueError, TypeError):
            return PlayerState()

    def save(self, state: PlayerState) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO player_state (id, value) VALUES (1, ?)", (state.to_json(),)
            )

