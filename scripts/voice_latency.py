"""End of speech -> reply audio latency of the real voice session (used by bench_voice.py)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np


def measure_latency(  # type: ignore[no-untyped-def]
    app,
    grammar_engine,
    whisper,
    commands: list[str],
    folder: Path,
    on_turn: Callable[[Any], None] | None = None,
    cpu_latencies: list[float] | None = None,
) -> list[float]:
    """Run a real voice session (listener, hybrid STT, the assistant, its voice) on
    "hey assistant, <command>" files, the wake phrase found in the transcript.

    Each file is played at the pace of a microphone (`realtime=True`): speech recognition may
    work while the words arrive, as it does live, and the latency counts only what is left
    after the listener detects the end of speech (`Utterance.ended_at`) until the first reply
    audio is ready. The skills' workers are started first, as chat and listening do at start-up.
    `on_turn` sees each answered `VoiceTurn` (for its timings).

    `cpu_latencies` gets, per answered turn, the CPU seconds this process spent over the same
    stretch: on a busy machine (two cores shared by many) wall time mostly measures the wait
    for a core, while CPU time is what an idle core would take, give or take threads.
    """
    from assistant.audio.listener import Listener
    from assistant.audio.sinks import NullSink
    from assistant.audio.sources import FileSource
    from assistant.stt.commands import CommandRecognizer
    from assistant.stt.wake import WakePhrase
    from assistant.voice import SinkOutput, VoicePipeline, VoiceSession

    pipeline = VoicePipeline(app)
    app.warm_skills().join()
    for thread in pipeline.warm(dictation=True):  # the classifier, the voice and Whisper, as `listen` loads them
        thread.join()
    conversation = app.open_session("voice-latency")
    conversation.handle("hello")  # the first request also loads the intent classifier
    phrases = list(grammar_engine.grammar.phrases)  # as `make_commands` builds it for the session
    recognizer = CommandRecognizer(grammar_engine, whisper, phrases, "hey assistant")
    ends: dict[float, float] = {}
    firsts: list[tuple[float, float]] = []

    class ClockedListener(Listener):
        def _finish(self, *args: Any, **kwargs: Any) -> Any:
            utterance = super()._finish(*args, **kwargs)
            if utterance is not None:
                ends[utterance.ended_at] = time.process_time()
            return utterance

    class ClockedVoice:
        def __init__(self, voice: Any):
            self.voice = voice

        def synthesize_stream(self, text: str) -> Iterator[Any]:
            for index, speech in enumerate(self.voice.synthesize_stream(text)):
                if index == 0:
                    firsts.append((time.monotonic(), time.process_time()))
                yield speech

        def __getattr__(self, name: str) -> Any:
            return getattr(self.voice, name)

    session = VoiceSession(conversation, recognizer, ClockedVoice(pipeline.synthesizer()), SinkOutput(NullSink()),
                           ClockedListener(app.settings.listener), wake_mode="transcript",
                           wake_phrase=WakePhrase("hey assistant"))  # fmt: skip
    paths = []
    for index, phrase in enumerate(commands):
        paths.append(folder / f"turn{index}.wav")
        subprocess.run(["espeak-ng", "-w", str(paths[-1]), f"hey assistant, {phrase}"], check=True)

    def microphone() -> Iterator[np.ndarray]:
        for path in paths:  # each file ends in a second of silence
            yield from FileSource(path, realtime=True).frames()

    asyncio.run(session.listen_to(microphone()))
    latencies = []
    for turn in session.turns:
        if turn.spoken:
            latencies.append(turn.latency_s)
            if on_turn is not None:
                on_turn(turn)
            first = next((cpu for wall, cpu in firsts if wall >= turn.utterance.ended_at), None)
            if cpu_latencies is not None and first is not None and turn.utterance.ended_at in ends:
                cpu_latencies.append(first - ends[turn.utterance.ended_at])
    return latencies


def main() -> int:
    """`voice_latency.py --home HOME [--json] COMMAND...`: the session's latency in a process of its
    own (so its peak memory is the voice loop's), in a home the benchmark has trained."""
    import argparse
    import json
    import os
    import resource
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("commands", nargs="+")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from assistant.config import load_config
    from assistant.home import Home
    from assistant.runtime import Assistant
    from assistant.stt.grammar import skill_phrases
    from assistant.stt.pocketsphinx import PocketsphinxRecognizer
    from assistant.stt.whisper import WhisperRecognizer

    os.environ["ASSISTANT_HOME"] = str(args.home)
    home = Home(args.home).ensure()
    app = Assistant(home, load_config(home.config_file))
    grammar = PocketsphinxRecognizer(skill_phrases(app.catalog()), wake_word="hey assistant")
    answered: list[Any] = []
    cpu: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        latencies = measure_latency(app, grammar, WhisperRecognizer(), args.commands, Path(folder), answered.append, cpu)
    app.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stages = {stage: [turn.timings[stage] for turn in answered if stage in turn.timings] for stage in ("stt", "brain", "tts")}
    figures = {"first_audio_s": latencies, "first_audio_cpu_s": cpu, "answered": len(answered), "stages_s": stages,
               "said": len(args.commands), "peak_rss_mb": peak_mb, "load": os.getloadavg()[0],
               "recognised_early": sum(bool(getattr(turn, "early", False)) for turn in answered)}  # fmt: skip
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"first audio p50 {np.median(latencies):.3f} s, p95 {np.percentile(latencies, 95):.3f} s; "
              f"{len(latencies)}/{len(args.commands)} answered; peak {peak_mb:.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
