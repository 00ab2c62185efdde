"""Printing turns, progress messages and notifications, as text or one JSON object per line.

Whatever a skill, a web page or a transcript says is shown through `assistant.text.visible`:
nothing untrusted reaches the terminal with its control characters live.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, TextIO

from assistant.events import ErrorEvent, Notification, Progress, TurnEvent
from assistant.text import visible


def json_text(obj: Any, indent: int | None = None) -> str:
    """`obj` as JSON that is safe on a terminal and still readable (é and 日本 stay as they are).

    `ensure_ascii=False` writes DEL, C1 controls (U+009B starts an escape) and bidi controls
    raw; `visible` turns them into JSON's own `\\uXXXX`, so the document still means the same.
    """
    return visible(json.dumps(obj, ensure_ascii=False, default=str, indent=indent), multiline=True)


class Printer:
    """Thread-safe printer for the chat, `ask` and the voice loop; a session's output (`emit`)."""

    def __init__(self, as_json: bool, stream: TextIO | None = None, show_progress: bool = True):
        self.as_json = as_json
        self.stream = stream or sys.stdout
        self.show_progress = show_progress
        self._lock = threading.Lock()

    def emit(self, event: Any) -> None:
        """Print one of a session's events (`assistant.events`): a JSON line, or its text."""
        if self.as_json:
            if self.show_progress or not isinstance(event, Progress):
                self.json(event.to_json())
            return
        if isinstance(event, TurnEvent):
            self._show(str(event.reply))
        elif isinstance(event, Notification):
            self._show(f"🔔 {event.text}")
        elif isinstance(event, Progress):
            if self.show_progress:
                self._show(event.text)
        elif isinstance(event, ErrorEvent):
            self._show(f"assistant: {event.message}")

    def _show(self, text: str) -> None:
        """Text from a skill, a page or a transcript, with its controls written out."""
        self._write(visible(text, multiline=True))

    def _write(self, line: str) -> None:
        """A line already safe to show (`_show`, `json_text`)."""
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def json(self, obj: dict[str, Any]) -> None:
        self._write(json_text(obj))

    def turn(self, turn_json: dict[str, Any]) -> None:
        if self.as_json:
            self.json(turn_json)
        else:
            self._show(str(turn_json["reply"]))

    def progress(self, text: str, skill: str | None = None) -> None:
        if self.as_json:
            self.json({"event": "progress", "skill": skill, "text": text})
        else:
            self._show(text)

    def error(self, text: str) -> None:
        if self.as_json:
            self.json({"event": "error", "text": text})
        else:
            self._show(text)

    def notification(self, notification: Any) -> None:
        if self.as_json:
            self.json(
                {
                    "event": getattr(notification, "event", "notification"),
                    "skill": notification.skill,
                    "text": notification.text,
                    "data": getattr(notification, "data", {}) or {},
                }
            )
        else:
            self._show(f"🔔 {notification.text}")


def show_notices(app: Any, printer: Printer | None = None) -> None:
    """What the start has to tell (the classifier trains in the background, about how long): one
    line on standard error each, and with `--json` a `progress` event on standard output too."""
    for notice in app.notices:
        print(visible(f"assistant: {notice}", multiline=True), file=sys.stderr, flush=True)
        if printer is not None and printer.as_json and printer.show_progress:
            printer.emit(Progress(notice))


def progress_bar(description: str):  # type: ignore[no-untyped-def]
    """A `Progress` callback that draws a bar on standard error when it is a terminal."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(total=100, desc=description, file=sys.stderr, leave=False, unit="%")

    def update(fraction: float, message: str) -> None:
        bar.set_postfix_str(visible(message[:40]))
        bar.n = int(fraction * 100)
        bar.refresh()
        if fraction >= 1.0:
            bar.close()

    return update
