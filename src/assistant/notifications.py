"""A notification: something the assistant says without being asked (reminder, timer, alarm)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Notification"]


@dataclass(frozen=True)
class Notification:
    """One unprompted message, delivered through the chat output and text-to-speech."""

    skill: str
    """Id of the skill on whose behalf the message is given."""
    text: str
    """Shown in the chat; spoken too unless `speech` is set."""
    speech: str | None = None
    """A shorter or differently worded version for text-to-speech."""
    data: dict[str, Any] = field(default_factory=dict)
    """Structured details for machines (job id, scheduled time, status); JSON-serialisable."""
    event: str = "notification"
    """The `event` field of the `--json` line."""

    @property
    def spoken(self) -> str:
        return self.speech if self.speech is not None else self.text

    def to_dict(self) -> dict[str, Any]:
        """The `--json` line: `{"event": "notification", "skill": ..., "text": ..., ...}`."""
        return {
            "event": self.event,
            "skill": self.skill,
            "text": self.text,
            "speech": self.speech,
            "data": dict(self.data),
        }

    def to_json(self) -> dict[str, Any]:
        """As every event (`assistant.events`): the `--json` line."""
        return self.to_dict()

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Notification:
        return cls(
            skill=str(value["skill"]),
            text=str(value["text"]),
            speech=value.get("speech"),
            data=dict(value.get("data") or {}),
            event=str(value.get("event") or "notification"),
        )
