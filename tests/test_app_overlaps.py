"""Overlaps in the running assistant: a reminder fires while a turn is talking to the scheduler."""

from __future__ import annotations

import threading
import time
from typing import Any

from assistant.notifications import Notification


def test_a_reminder_firing_during_a_turn_neither_blocks_nor_is_lost(lexical_app: Any) -> None:
    delivered: list[Any] = []

    class Output:
        def emit(self, event: Any) -> None:
            if isinstance(event, Notification):
                delivered.append(event)

    brain = lexical_app.open_session(output=Output())
    lexical_app.start_background()
    brain.handle("remind me to stretch in 1 second")
    finished = threading.Event()

    def busy_turns() -> None:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            brain.handle("set a timer for 10 minutes")  # each turn calls the scheduler
            brain.handle("cancel all my timers")
        finished.set()

    worker = threading.Thread(target=busy_turns, daemon=True)
    worker.start()
    assert finished.wait(60), "a turn blocked while a reminder was being delivered"
    assert [n.text for n in delivered if "stretch" in n.text] == ["Reminder: stretch."]
    assert brain.handle("stop").skill == "reminders", "after a notification, 'stop' means that skill"
