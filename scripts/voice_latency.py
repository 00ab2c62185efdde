"""End of speech -> reply audio latency of the real voice loop (used by bench_voice.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def measure_latency(app, grammar_engine, whisper, commands: list[str], folder: Path) -> list[float]:  # type: ignore[no-untyped-def]
    """Run the real voice loop (listener, hybrid STT, brain, espeak TTS) on "hey assistant, <command>" files."""
    from assistant.audio.listener import Listener
    from assistant.audio.sinks import NullSink
    from assistant.audio.sources import FileSource
    from assistant.audio.wake import WakeWord
    from assistant.config import ListenerSettings, TtsSettings
    from assistant.stt.commands import CommandRecognizer
    from assistant.tts import make_synthesizer
    from assistant.voice import VoiceLoop

    brain = app.brain()
    brain.handle("hello")  # start the skill workers before timing
    loop = VoiceLoop(Listener(ListenerSettings()), CommandRecognizer(grammar_engine, whisper), brain,
                     make_synthesizer(TtsSettings(engine="pyttsx3")), NullSink(), WakeWord("hey assistant"))  # fmt: skip
    latencies = []
    for index, phrase in enumerate(commands):
        path = folder / f"turn{index}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), f"hey assistant, {phrase}"], check=True)
        for turn in loop.run(FileSource(path).frames()):
            if turn.spoken:
                latencies.append(turn.latency_s)
    return latencies
