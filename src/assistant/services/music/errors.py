"""The music service's exception: bad requests (unknown playlist, unreadable M3U) say what and where."""

from __future__ import annotations

from assistant.errors import AssistantError


class MusicError(AssistantError):
    """A music request could not be carried out; the message says why and what to do."""
