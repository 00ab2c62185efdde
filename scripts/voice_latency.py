"""End of speech -> reply audio latency of the real voice loop (used by bench_voice.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any


def measure_latency(  # type: ignore[no-untyped-def]
    app,
    grammar_engine,
    whisper,
    commands: list[str],
    folder: Path,
    on_turn: Callable[[Any], None] | None = None,
) -> list[float]:
    """Run the real voice loop (listener, hybrid STT, brain, espeak TTS) on "hey assistant, <command>" files.

    Each file is played at the pace of a microphone (`realtime=True`): speech recognition may
    work while the words arrive, as it does live, and the latency counts only what is left
    after the listener detects the end of speech (`Utterance.ended_at`) until the reply audio
    is ready. The skills' workers are started first, as chat and listening do at start-up.
    `on_turn` sees each answered `VoiceTurn` (for its timings).
    """
    from assistant.audio.listener import Listener
    from assistant.audio.sinks import NullSink
    from assistant.audio.sources import FileSource
    from assistant.audio.wake import WakeWord
    from assistant.config import ListenerSettings, TtsSettings
    from assistant.stt.commands import CommandRecognizer
    from assistant.tts import make_synthesizer
    from assistant.voice import VoiceLoop

    session = app.open_session("voice-latency")
    app.warm_skills().join()
    session.handle("hello")  # the first request also loads the intent classifier
    phrases = list(grammar_engine.grammar.phrases)  # as `make_commands` builds it for the loop
    recognizer = CommandRecognizer(grammar_engine, whisper, phrases, "hey assistant")
    loop = VoiceLoop(Listener(ListenerSettings()), recognizer, session,
                     make_synthesizer(TtsSettings(engine="pyttsx3")), NullSink(), WakeWord("hey assistant"))  # fmt: skip
    latencies = []
    for index, phrase in enumerate(commands):
        path = folder / f"turn{index}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), f"hey assistant, {phrase}"], check=True)
        for turn in loop.run(FileSource(path, realtime=True).frames()):
            if turn.spoken:
                latencies.append(turn.latency_s)
                if on_turn is not None:
                    on_turn(turn)
    return latencies
