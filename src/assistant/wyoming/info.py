"""`describe` → `info`: what this server offers, in the form Home Assistant accepts.

Every program and model carries `name`, `attribution`, `installed` and
`languages`. Home Assistant gives `describe` one second, so the answer is built
once, when the server starts, from engines already loaded.

Home Assistant lists a server's voices sorted by description and a default pipeline takes the
first, so each voice's description starts with its place in our order (`voice_descriptions`):
the configured voice (Piper, by default) is the one a new pipeline gets.
"""

from __future__ import annotations

from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
    WakeModel,
    WakeProgram,
)

from assistant import __version__
from assistant.wyoming.tts import Voices
from assistant.wyoming.wake import WakeModel as MicroWakeModel

PROJECT = Attribution(name="assistant", url="")  # no public home yet
WHISPER = Attribution(
    name="OpenAI Whisper, faster-whisper", url="https://github.com/SYSTRAN/faster-whisper"
)
MICRO_WAKE_WORD = Attribution(name="Kevin Ahrendt", url="https://github.com/kahrendt/microWakeWord")


def describe(
    asr_engine: str | None,
    voices: Voices | None,
    wake_models: list[MicroWakeModel],
    handles: bool,
    language: str = "en",
) -> Info:
    """The `info` for the parts being served (None / empty / False: that part is not)."""
    info = Info()
    if asr_engine is not None:
        info.asr = [
            AsrProgram(
                name="assistant-stt",
                attribution=PROJECT,
                installed=True,
                description="Whisper dictation: what was said, as said",
                version=__version__,
                models=[
                    AsrModel(
                        name=asr_engine,
                        attribution=WHISPER,
                        installed=True,
                        description=f"speech-to-text: {asr_engine}",
                        version=None,
                        languages=[language],
                    )
                ],
            )
        ]
    if voices is not None and voices.synthesizers:
        info.tts = [
            TtsProgram(
                name="assistant-tts",
                attribution=PROJECT,
                installed=True,
                description="the assistant's voices",
                version=__version__,
                voices=[
                    TtsVoice(
                        name=name,
                        attribution=PROJECT,
                        installed=True,
                        description=description,
                        version=None,
                        languages=[voices.language],
                    )
                    for name, description in voice_descriptions(voices).items()
                ],
                supports_synthesize_streaming=True,
            )
        ]
    if wake_models:
        info.wake = [
            WakeProgram(
                name="assistant-wake",
                attribution=MICRO_WAKE_WORD,
                installed=True,
                description="microWakeWord",
                version=__version__,
                models=[
                    WakeModel(
                        name=model.name,
                        attribution=MICRO_WAKE_WORD,
                        installed=True,
                        description=model.phrase,
                        version=None,
                        languages=list(model.languages),
                        phrase=model.phrase,
                    )
                    for model in wake_models
                ],
            )
        ]
    if handles:
        info.handle = [
            HandleProgram(
                name="assistant",
                attribution=PROJECT,
                installed=True,
                description="the offline assistant: its skills answer",
                version=__version__,
                models=[
                    HandleModel(
                        name="assistant-skills",
                        attribution=PROJECT,
                        installed=True,
                        description="skills",
                        version=__version__,
                        languages=[language],
                    )
                ],
            )
        ]
    return info


def voice_descriptions(voices: Voices) -> dict[str, str]:
    """Each voice's description, by name, numbered so that sorting them keeps our order
    ("1. piper voice en_US-joe-medium", "2. espeak voice espeak-ng"); zero-padded past nine."""
    width = len(str(len(voices.synthesizers)))
    return {
        name: f"{place:0{width}d}. {synthesizer.name} voice {name}"
        for place, (name, synthesizer) in enumerate(voices.synthesizers.items(), 1)
    }
