"""docs/parity.md as a test: each of Home Assistant's intents, said three ways, reaches our action.

All phrasings go through one `chat --json` session with the transformer classifier and a
real music library (tones made by ffmpeg) playing to the null output, in the table's order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from chat_session import CONFIG, TRANSFORMER, Session, chat, trained_home
from conftest import REPO, run_cli
from test_music_audio import make_library

DOC = REPO / "docs" / "parity.md"


@dataclass(frozen=True)
class Row:
    intent: str
    actions: tuple[str, ...]
    phrasings: tuple[str, ...]


def rows() -> list[Row]:
    found = []
    for line in DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("Hass"):
            continue
        skill, _, actions = cells[1].partition(".")
        names = tuple(f"{skill}.{a.strip()}" for a in actions.split("/"))
        phrasings = tuple(re.findall(r'"([^"]+)"', cells[3]))
        found.append(Row(cells[0], names, phrasings))
    return found


ROWS = rows()


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    home = trained_home(tmp_path_factory, "parity")
    music = make_library(home / "Music")
    (home / "config.toml").write_text(CONFIG + f'[music]\nfolders = ["{music}"]\n')
    scanned = run_cli("music", "scan", "--json", home=home, env=TRANSFORMER)
    assert scanned.returncode == 0, scanned.stderr
    said: Session = chat(home, [p for row in ROWS for p in row.phrasings])
    turns = iter(said.turns)
    return {row.intent: [next(turns) for _ in row.phrasings] for row in ROWS}


def test_the_table_covers_every_intent_with_three_phrasings() -> None:
    intents = {row.intent for row in ROWS}
    assert intents == {
        "HassStartTimer", "HassIncreaseTimer", "HassDecreaseTimer", "HassPauseTimer",
        "HassUnpauseTimer", "HassTimerStatus", "HassCancelTimer", "HassCancelAllTimers",
        "HassMediaSearchAndPlay", "HassMediaPause", "HassMediaUnpause", "HassMediaNext",
        "HassMediaPrevious", "HassSetVolume", "HassSetVolumeRelative", "HassMediaPlayerMute",
        "HassMediaPlayerUnmute", "HassGetCurrentTime", "HassGetCurrentDate",
    }  # fmt: skip
    assert all(len(row.phrasings) == 3 for row in ROWS)


def _music(turn: dict[str, Any]) -> dict[str, Any]:
    assert "music" in turn["data"], turn["reply"]
    return turn["data"]["music"]


def _changed(turn: dict[str, Any], row: Row) -> None:
    """What each intent must have changed, beyond reaching the right action."""
    data, text = turn["data"], turn["text"]
    if row.intent in ("HassStartTimer", "HassIncreaseTimer", "HassDecreaseTimer"):
        assert data["job"]["kind"] == "timer", turn["reply"]
    elif row.intent == "HassPauseTimer":
        assert data["job"]["paused"], turn["reply"]
    elif row.intent == "HassUnpauseTimer":
        assert not data["job"]["paused"], turn["reply"]
    elif row.intent == "HassTimerStatus":
        assert data["timers"] and all(t["left_s"] > 0 for t in data["timers"]), turn["reply"]
    elif row.intent == "HassCancelTimer":
        assert len(data["cancelled"]) == 1, turn["reply"]
    elif row.intent == "HassMediaSearchAndPlay":
        track = _music(turn)["track"]
        wanted = {"abbey road": "album", "here comes the sun": "title", "miles davis": "artist"}
        said, field = next((k, v) for k, v in wanted.items() if k in text)
        assert said in track[field].lower(), (text, track)
    elif row.intent == "HassSetVolume":
        assert _music(turn)["volume"] == int(re.search(r"\d+", text).group()), turn["reply"]
    elif row.intent in ("HassMediaPlayerMute", "HassMediaPlayerUnmute"):
        assert _music(turn)["muted"] is (row.intent == "HassMediaPlayerMute")
    elif row.intent.startswith("HassMedia"):
        _music(turn)
    elif row.intent == "HassGetCurrentTime" and "tokyo" in text:
        assert data["zone"] == "Asia/Tokyo"
    elif row.intent == "HassGetCurrentDate" and "sydney" in text:
        assert data["zone"] == "Australia/Sydney"


@pytest.mark.parametrize("row", ROWS, ids=[row.intent for row in ROWS])
def test_each_intent_said_three_ways(session: dict[str, list[dict[str, Any]]], row: Row) -> None:
    for phrasing, turn in zip(row.phrasings, session[row.intent], strict=True):
        assert f"{turn['skill']}.{turn['action']}" in row.actions, (phrasing, turn["reply"])
        assert "{" not in turn["reply"]
        _changed(turn, row)


def test_relative_volume_goes_the_way_said(session: dict[str, list[dict[str, Any]]]) -> None:
    for turn in session["HassSetVolumeRelative"]:
        expected = "volume_down" if "down" in turn["text"] else "volume_up"
        assert turn["action"] == expected, turn["text"]


OUT_OF_SCOPE = [
    "turn off the bedroom light",
    "lock the front door",
    "what's the weather like tomorrow",
    "open the garage door",
    "turn on the kitchen lights",
    "set the thermostat to 20 degrees",
    "is the back door locked",
    "how hot will it be tomorrow",
    "close the blinds",
]


def test_help_and_out_of_scope_requests_get_real_sentences(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Lights, doors and weather are not understood (no skill does them); every suggestion
    and every line of help is a real sentence, never a template with braces."""
    home = trained_home(tmp_path_factory, "scope")
    said = chat(home, ["what can you do", *OUT_OF_SCOPE])
    help_turn, *others = said.turns
    assert help_turn["action"] == "help" and "{" not in help_turn["reply"], help_turn["reply"]
    assert len(help_turn["reply"].splitlines()) >= 6
    for turn in others:
        assert (turn["skill"], turn["action"]) == ("system", "not_understood"), (
            turn["text"],
            turn["reply"],
        )
        suggestions = turn["data"]["suggestions"]
        assert suggestions and all("{" not in s for s in suggestions), suggestions
