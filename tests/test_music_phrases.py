"""The music_player skill's phrases: a table of requests, worded unlike the samples, and where they go."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

# (utterance, expected action, expected entities or None to skip the entity check)
TABLE: list[tuple[str, str, dict[str, Any] | None]] = [
    ("play here comes the sun by the beatles", "play", {"title": "here comes the sun", "artist": "the beatles"}),
    ("play bohemian rhapsody", "play", {"query": "bohemian rhapsody"}),
    ("i want to hear kind of blue", "play", {"query": "kind of blue"}),
    ("put on miles davis", "play", {"query": "miles davis"}),
    ("can you play some jazz", "play", None),
    ("play some music", "play_all", {}),
    ("shuffle all my music", "play_all", {}),
    ("play the playlist road trip", "play_playlist", {"playlist": "road trip"}),
    ("play my workout playlist", "play_playlist", {"playlist": "workout"}),
    ("pause", "pause", {}),
    ("pause the music please", "pause", None),
    ("resume the music", "resume", {}),
    ("unpause", "resume", {}),
    ("stop the music", "stop", {}),
    ("skip this song", "next", {}),
    ("next track", "next", {}),
    ("go back a song", "previous", {}),
    ("previous track", "previous", {}),
    ("start the song again", "restart", {}),
    ("restart this track", "restart", {}),
    ("turn it up", "volume_up", {}),
    ("make the music louder", "volume_up", None),
    ("turn the volume down", "volume_down", {}),
    ("a bit quieter please", "volume_down", None),
    ("set the volume to 30 percent", "set_volume", {"level": 30.0}),
    ("volume 40", "set_volume", {"number": 40}),
    ("mute the music", "mute", {}),
    ("unmute", "unmute", {}),
    ("what's playing", "now_playing", {}),
    ("who sings this", "now_playing", {}),
    ("what song is this", "now_playing", {}),
    ("turn shuffle on", "shuffle", {"switch": "on"}),
    ("shuffle off", "shuffle", {"switch": "off"}),
    ("repeat this song", "repeat", {"repeat_mode": "one"}),
    ("turn repeat off", "repeat", {"repeat_mode": "off"}),
    ("add yesterday to the queue", "enqueue", {"query": "yesterday"}),
    ("queue up abbey road", "enqueue", {"query": "abbey road"}),
    ("play so what next", "play_next", {"query": "so what"}),
    ("make a playlist called road trip", "create_playlist", {"playlist": "road trip"}),
    ("create a new playlist named chill", "create_playlist", {"playlist": "chill"}),
    ("add this song to road trip", "add_to_playlist", {"playlist": "road trip"}),
    ("add this to my favourites playlist", "add_to_playlist", {"playlist": "favourites"}),
    ("list my playlists", "list_playlists", {}),
    ("what playlists do i have", "list_playlists", {}),
]


@pytest.fixture(scope="module")
def nlu(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from assistant.config import NluSettings
    from assistant.home import Home
    from assistant.nlu.understand import Nlu
    from assistant.skills.catalog import BUNDLED_SKILLS, discover

    home = Home(tmp_path_factory.mktemp("home")).ensure()
    return Nlu(discover([BUNDLED_SKILLS]), NluSettings(engine="lexical"), home)


@pytest.mark.parametrize(("utterance", "action", "entities"), TABLE, ids=[row[0] for row in TABLE])
def test_music_routing(nlu: Any, utterance: str, action: str, entities: dict[str, Any] | None) -> None:
    result = nlu.parse(utterance, datetime.now().astimezone(), context_skill="music_player")
    assert result.label == f"music_player.{action}", (result.label, result.ranking[:3])
    if entities is not None:
        assert result.entities == entities
