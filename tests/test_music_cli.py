"""`assistant music ...`: scan, status, playlists, import and export, run as a user would."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant.cli import music as music_cli
from test_music_audio import PLAYABLE, make_library

REPO = Path(__file__).resolve().parents[1]


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`assistant music ARGS` in a fresh process, with `register` plugged into a parser."""
    script = (
        "import argparse, sys\n"
        "from assistant.runtime import Assistant\nfrom assistant.cli import music\n"
        "from assistant.config import load_config\nfrom assistant.home import Home\n"
        "parser = argparse.ArgumentParser(prog='assistant'); sub = parser.add_subparsers()\n"
        "music.register(sub); args = parser.parse_args(sys.argv[1:])\n"
        "home = Home.from_env().ensure(); app = Assistant(home, load_config(home.config_file))\n"
        "sys.exit(args.handler(args, app))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update({"ASSISTANT_HOME": str(home), "ASSISTANT_AUDIO__OUTPUT": "null"})
    return subprocess.run([sys.executable, "-c", script, "music", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=60)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = make_library(tmp_path / "Music")
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(f"[music]\nfolders = [{json.dumps(str(folder))}]\n")
    return home


def test_scan_reports_counts_and_a_rescan_reads_nothing(home: Path) -> None:
    first = run(home, "scan", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["added"], report["unreadable"]) == (PLAYABLE, 1)
    second = run(home, "scan")
    assert second.returncode == 0
    assert f"{PLAYABLE + 1} unchanged" in second.stdout and "1 unreadable" in second.stdout


def test_status_json_has_the_documented_fields(home: Path) -> None:
    run(home, "scan")
    status = json.loads(run(home, "status", "--json").stdout)
    assert {"state", "track", "position_s", "volume", "shuffle", "repeat", "queue_length"} <= set(status)
    assert (status["state"], status["track"], status["queue_length"]) == ("stopped", None, 0)
    assert run(home, "status").stdout.startswith("Stopped, volume 70%")


def test_status_sees_what_another_process_plays(home: Path) -> None:
    from assistant.config import load_config
    from assistant.home import Home
    from assistant.services.music import MusicService

    run(home, "scan")
    settings = load_config(home / "config.toml").settings
    player = MusicService(Home(home), settings.music, "null")
    try:
        player.set_repeat("one")  # keeps playing however slow the other process starts
        player.play(player.library.all_ids()[:1])
        status = json.loads(run(home, "status", "--json").stdout)
        assert status["state"] == "playing" and status["track"]["title"] == "untagged"
        assert status["position_s"] > 0
    finally:
        player.close()
    assert json.loads(run(home, "status", "--json").stdout)["state"] == "paused"


def test_import_list_and_export_playlists(home: Path, tmp_path: Path) -> None:
    run(home, "scan")
    m3u = tmp_path / "Music" / "mine.m3u"
    m3u.write_text("Miles Davis - So What.mp3\nmissing.flac\n", encoding="utf-8")
    imported = run(home, "import", str(m3u), "--name", "Jazz night")
    assert imported.returncode == 0, imported.stderr
    assert "Imported 1 songs into the playlist 'Jazz night'" in imported.stdout
    assert "missing.flac" in imported.stderr
    assert json.loads(run(home, "playlists", "--json").stdout) == [{"name": "Jazz night", "tracks": 1}]
    out = tmp_path / "out.m3u"
    assert run(home, "export", "jazz night", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8").splitlines()[-1].endswith("Miles Davis - So What.mp3")


def test_exporting_an_unknown_playlist_fails_with_a_message(home: Path, tmp_path: Path) -> None:
    result = run(home, "export", "nope", str(tmp_path / "x.m3u"))
    assert result.returncode != 0
    assert "no playlist named 'nope'" in result.stderr


def test_register_adds_the_music_commands() -> None:
    parser = argparse.ArgumentParser()
    music_cli.register(parser.add_subparsers())
    args: Any = parser.parse_args(["music", "status", "--json"])
    assert args.json is True and callable(args.handler)


CONVERSATION = [
    "play here comes the sun by the beatles",
    "pause",
    "resume",
    "set the volume to 30 percent",
    "what's playing",
    "play yesterday",
    "the one by the beatles",
    "turn shuffle on",
    "make a playlist called road trip",
    "add this song to road trip",
    "list my playlists",
    "play some music",
    "next song",
    "repeat this song",
]


def _wired() -> bool:
    """Whether the lead has plugged the music commands and service into the assistant."""
    import inspect

    from assistant.cli import main
    from assistant.services import factories

    commands = [module.__name__ for module in main._command_modules()]
    return "assistant.cli.music" in commands and "MusicService" in inspect.getsource(factories)


def test_every_command_through_chat_json_and_the_status_after(home: Path) -> None:
    if not _wired():
        pytest.skip("assistant.cli.main / services.factories do not register the music player yet")
    from conftest import json_lines, run_cli

    env = {"ASSISTANT_AUDIO__OUTPUT": "null"}
    assert run_cli("music", "scan", home=home, env=env).returncode == 0
    chat = run_cli("chat", "--json", home=home, env=env, stdin="\n".join(CONVERSATION) + "\n")
    assert chat.returncode == 0, chat.stderr
    turns = [turn for turn in json_lines(chat.stdout) if "reply" in turn]
    assert [turn["action"] for turn in turns] == [
        "play", "pause", "resume", "set_volume", "now_playing", "play", "choose", "shuffle",
        "create_playlist", "add_to_playlist", "list_playlists", "play_all", "next", "repeat",
    ], [(t["text"], t["action"], t["reply"]) for t in turns]
    states = [turn["data"].get("music", {}) for turn in turns]
    assert states[0]["track"]["title"] == "Here Comes the Sun"
    assert states[1]["state"] == "paused" and states[2]["state"] == "playing"
    assert states[2]["position_s"] == pytest.approx(states[1]["position_s"], abs=0.1)
    assert states[3]["volume"] == 30
    assert turns[5]["expects_reply"] and states[6]["track"]["artist"] == "The Beatles"
    assert turns[10]["data"]["playlists"] == [{"name": "road trip", "tracks": 1}]
    assert states[11]["queue_length"] == PLAYABLE and states[13]["repeat"] == "one"

    status = json.loads(run_cli("music", "status", "--json", home=home, env=env).stdout)
    assert (status["state"], status["volume"], status["shuffle"], status["repeat"]) == ("paused", 30, True, "one")
    assert status["track"]["title"] == states[13]["track"]["title"]
