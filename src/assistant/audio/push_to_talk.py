"""Push-to-talk: microphone frames are heard only after Enter, until the turn is answered."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TextIO


class PushToTalk:
    """A gate on the microphone, opened by `press()` (Enter) and closed by `release()`.

    A voice session given `is_open` as its gate drops frames that arrive while it is shut,
    so nothing said between turns is heard.
    """

    def __init__(self, on_ready: Callable[[], None] | None = None):
        self._open = threading.Event()
        self._on_ready = on_ready

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def press(self) -> None:
        self._open.set()

    def release(self) -> None:
        """The turn is answered: shut the gate until the next press."""
        self._open.clear()
        if self._on_ready is not None:
            self._on_ready()

    def listen_for_keys(self, keys: TextIO) -> threading.Thread:
        """Press on every line read from `keys` (Enter on a terminal), in a background thread."""

        def read() -> None:
            for _line in keys:
                self.press()

        thread = threading.Thread(target=read, name="push-to-talk", daemon=True)
        thread.start()
        if self._on_ready is not None:
            self._on_ready()
        return thread
