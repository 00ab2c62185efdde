"""The event vocabulary: every event survives `to_json` -> JSON text -> `event_from_json`."""

from __future__ import annotations

import json

import pytest

from assistant.events import (
    ErrorEvent,
    Notification,
    PartialTranscript,
    Progress,
    SpeechFinished,
    SpeechStarted,
    TurnEvent,
    Wake,
    event_from_json,
)

EVENTS = [
    TurnEvent("what time is it", "system", "time", 0.93, {}, "It's 9:05.", "It's 9:05.", False, {"time": "09:05"}),
    TurnEvent("remind me", "reminders", "set_reminder", 0.7, {}, "When?", "When?", True,
              extra={"transcript": {"text": "hey jarvis remind me"}, "addressed": True}),  # fmt: skip
    PartialTranscript(text="what time"),
    Wake(name="hey jarvis", time_s=12.48),
    SpeechStarted(time_s=1.5),
    SpeechFinished(time_s=3.25, duration_s=1.75),
    Progress(text="Reading example.com...", skill="web_scraper"),
    ErrorEvent(message="the request is longer than 2000 characters", code="too_long"),
    Notification("reminders", "Reminder: stretch.", None, {"job_id": "reminders:1", "session": "kitchen"}),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_round_trip(event: object) -> None:
    line = json.dumps(event.to_json())  # type: ignore[attr-defined]
    assert event_from_json(json.loads(line)) == event


def test_turn_keeps_the_ask_json_contract() -> None:
    keys = set(EVENTS[0].to_json())
    assert {"text", "skill", "action", "confidence", "entities", "reply"} <= keys
    assert "event" not in keys
    assert EVENTS[1].to_json()["transcript"] == {"text": "hey jarvis remind me"}


def test_every_other_event_names_itself() -> None:
    names = [e.to_json()["event"] for e in EVENTS[2:]]  # type: ignore[attr-defined]
    assert names == ["partial", "wake", "speech_started", "speech_finished", "progress", "error", "notification"]
