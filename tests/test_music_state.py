"""The player's state as data: the clock, moving through the queue, shuffle, saving."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from assistant.services.music.db import connect
from assistant.services.music.state import (
    PlayerState,
    StateStore,
    following,
    preceding,
    settle,
    shuffled,
    with_tracks,
)

DURATIONS = {1: 10.0, 2: 20.0, 3: 30.0}
PLAYING = PlayerState(state="playing", queue=[1, 2, 3], order=[1, 2, 3], index=0,
                      position_s=0.0, anchor_time=1000.0)


def test_position_runs_with_the_clock_only_while_playing() -> None:
    assert PLAYING.position_at(1004.5) == 4.5
    paused = replace(PLAYING, state="paused", position_s=4.5)
    assert paused.position_at(2000.0) == 4.5


def test_settle_moves_on_to_the_song_playing_now_and_stops_at_the_end() -> None:
    later = settle(PLAYING, 1000.0 + 10.0 + 5.0, DURATIONS)
    assert (later.index, later.position_at(1015.0)) == (1, 5.0)
    done = settle(PLAYING, 1000.0 + 60.0 + 1.0, DURATIONS)
    assert (done.state, done.index) == ("stopped", 0)


def test_settle_with_repeat_all_wraps_around_many_laps() -> None:
    state = settle(replace(PLAYING, repeat="all"), 1000.0 + 60.0 * 1000 + 12.0, DURATIONS)
    assert (state.state, state.index) == ("playing", 1)
    assert abs(state.position_at(1000.0 + 60.0 * 1000 + 12.0) - 2.0) < 1e-6


def test_repeat_one_replays_the_song_but_next_still_moves_on() -> None:
    one = replace(PLAYING, repeat="one")
    assert following(one, 1010.0, automatic=True).index == 0
    assert following(one, 1010.0).index == 1


def test_previous_restarts_a_song_well_under_way_else_goes_back() -> None:
    second = replace(PLAYING, index=1, position_s=0.0, anchor_time=1000.0)
    assert preceding(second, 1010.0).index == 1
    assert preceding(second, 1001.0).index == 0


def test_shuffle_keeps_the_current_song_and_off_restores_the_order() -> None:
    state = replace(PLAYING, queue=list(range(1, 21)), order=list(range(1, 21)), index=4)
    on = shuffled(state, True, random.Random(1))
    assert on.current == 5 and on.index == 0
    assert sorted(on.queue) == list(range(1, 21)) and on.queue != state.queue
    off = shuffled(replace(on, index=3), False, random.Random(1))
    assert off.queue == list(range(1, 21)) and off.index == off.queue.index(on.queue[3])


def test_play_next_inserts_after_the_current_song() -> None:
    state = with_tracks(replace(PLAYING, index=1), [9], after_current=True)
    assert state.queue == [1, 2, 9, 3]
    assert with_tracks(PLAYING, [9], after_current=False).queue == [1, 2, 3, 9]


def test_the_state_survives_a_save_and_load(tmp_path: Path) -> None:
    state = replace(PLAYING, volume=35, muted=True, shuffle=True, repeat="one", owner_pid=42)
    StateStore(connect(tmp_path / "m.sqlite3")).save(state)
    assert StateStore(connect(tmp_path / "m.sqlite3")).load() == state


def test_a_damaged_saved_state_loads_as_the_default() -> None:
    assert PlayerState.from_json('{"state": "dancing"}') == PlayerState()
