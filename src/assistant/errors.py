"""The assistant's exceptions: one root, one subclass per layer.

A message says what failed, where (file, key, skill, line) and what to do.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Root of every error the assistant raises on purpose."""


class ConfigError(AssistantError):
    """A setting is unknown, of the wrong type or out of range."""


class SkillError(AssistantError):
    """A skill package is malformed, or one of its actions failed."""


class SkillLoadError(SkillError):
    """A skill package could not be loaded; `path` names the file at fault."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.detail = message


class NluError(AssistantError):
    """Training or loading the understanding models failed."""


class AudioError(AssistantError):
    """An audio source or sink could not be opened, read or written."""


class RecognitionError(AssistantError):
    """A speech-to-text or text-to-speech engine failed or is missing."""


class ModelError(AssistantError):
    """A model is missing, corrupt or could not be downloaded."""
