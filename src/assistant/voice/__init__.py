"""The voice pipeline: audio frames in; wake word, listener, speech-to-text, the conversation, speech out.

`pipeline.VoicePipeline` builds it from the settings; `session.VoiceSession` runs one
conversation by voice; `output.SinkOutput` plays its speech and passes on its events.
"""

from __future__ import annotations

from assistant.voice.output import SinkOutput
from assistant.voice.pipeline import VoicePipeline
from assistant.voice.session import VoiceOutput, VoiceSession, VoiceTurn

__all__ = ["SinkOutput", "VoiceOutput", "VoicePipeline", "VoiceSession", "VoiceTurn"]
