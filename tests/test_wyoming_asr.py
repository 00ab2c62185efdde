"""assistant.wyoming.asr's transcription thread: one at a time, at a lower CPU priority that the
threads it starts (Whisper's) inherit. The recogniser here is a stand-in that reports where it
runs; the real Whisper behind a real server is tested in test_wyoming_server.py."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from dataclasses import dataclass, field

import numpy as np
import pytest

from assistant.stt.base import Transcript

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="a nice value per thread: Linux")


def nice_here() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@dataclass
class WhereItRuns:
    """A recogniser that notes its thread's nice value, and that of a thread it starts."""

    name: str = "where"
    seen: list[tuple[int, int]] = field(default_factory=list)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        started: list[int] = []
        helper = threading.Thread(target=lambda: started.append(nice_here()))
        helper.start()
        helper.join()
        self.seen.append((nice_here(), started[0]))
        return Transcript(text="heard", engine=self.name, confidence=1.0)


@pytest.mark.parametrize("niceness", [0, 7])
def test_transcriptions_run_nicer_and_so_do_the_threads_they_start(niceness: int) -> None:
    from assistant.wyoming.asr import Transcriber

    recognizer = WhereItRuns()
    transcriber = Transcriber(recognizer, niceness=niceness)  # type: ignore[arg-type]
    try:
        here = nice_here()
        transcriber.warm()  # on the transcription thread, as loading Whisper is
        audio = np.zeros(1600, np.int16)
        heard = asyncio.run(transcriber.run(transcriber.dictate, audio))
    finally:
        transcriber.close()
    assert heard.text == "heard"
    expected = min(19, here + niceness)
    assert recognizer.seen and all(seen == (expected, expected) for seen in recognizer.seen)
    assert nice_here() == here  # the caller's own thread is left as it was
