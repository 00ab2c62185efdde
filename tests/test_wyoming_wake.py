"""assistant.wyoming.wake: a wake stream is listened to for as long as it comes, in bounded memory.

A satellite streams to its wake service without pause; the stream here is ten minutes of other
speech and noise (sent faster than real time), then the wake word, said by the Piper voice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from wyoming.audio import AudioChunk, AudioStart
from wyoming.wake import Detect

from wyoming_support import RunningServer, make_app, piper_spoken

RATE_HZ = 16000
CHUNK_SAMPLES = 1024


def speech_16k(text: str) -> np.ndarray:
    from assistant.audio.decode import resample

    samples, rate = piper_spoken(text)
    return resample(samples, rate, RATE_HZ).astype(np.int16)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    from assistant.wyoming.services import build_services

    app = make_app(tmp_path_factory.mktemp("home"))
    services = build_services(app, asr=False, tts=False, handle=False)
    running = RunningServer(services)
    yield running
    running.close()
    app.close()


def non_wake_audio(seconds: float) -> Iterator[bytes]:
    """Other speech and room noise, looped: chunks of 16 kHz int16 PCM."""
    rng = np.random.default_rng(21)
    talk = np.concatenate(
        [speech_16k(t) for t in ("what time is it", "turn the music down a bit", "jazz")]
    )
    loop = np.concatenate([talk, np.zeros(RATE_HZ * 2, np.int16)])
    total = int(seconds * RATE_HZ)
    for start in range(0, total, CHUNK_SAMPLES):
        index = np.arange(start, min(total, start + CHUNK_SAMPLES)) % len(loop)
        noise = rng.normal(0, 120, len(index))
        yield np.clip(loop[index] + noise, -32768, 32767).astype("<i2").tobytes()


def test_a_wake_word_after_ten_minutes_of_other_audio_is_still_detected(
    server: RunningServer,
) -> None:
    wake = speech_16k("hey jarvis")

    async def go() -> list[Any]:
        client = server.client(read_timeout=120)
        await client.connect()
        received: list[Any] = []

        async def read() -> None:
            while (event := await client.read_event()) is not None:
                received.append(event)
                if event.type == "detection":
                    return

        reader = asyncio.create_task(read())
        await client.write_event(Detect(names=["hey_jarvis"]).event())
        await client.write_event(AudioStart(RATE_HZ, 2, 1).event())
        for pcm in non_wake_audio(600):
            await client.write_event(AudioChunk(RATE_HZ, 2, 1, pcm).event())
        assert not reader.done(), [e.type for e in received]  # nothing said so far, no error
        for start in range(0, len(wake), CHUNK_SAMPLES):
            pcm = wake[start : start + CHUNK_SAMPLES].astype("<i2").tobytes()
            await client.write_event(AudioChunk(RATE_HZ, 2, 1, pcm).event())
        await asyncio.wait_for(reader, 60)
        await client.disconnect()
        return received

    received = asyncio.run(go())
    assert [e.type for e in received] == ["detection"], [(e.type, e.data) for e in received]
    assert received[0].data["name"] == "hey_jarvis"
    assert received[0].data["timestamp"] > 600_000  # milliseconds into the stream


def test_a_wake_stream_has_no_length_cap_and_keeps_no_audio() -> None:
    from assistant.wyoming.wake import Detection, WakeModel
    from assistant.wyoming.wire import Limits

    detection = Detection([WakeModel.find("hey_jarvis")], Limits(max_audio_s=1.0))
    silence = np.zeros(RATE_HZ, np.int16).tobytes()
    for _ in range(5):  # five times the transcription limit
        detection.chunk({"rate": RATE_HZ, "width": 2, "channels": 1}, silence)
    assert detection.audio.duration_s == 5.0
    assert len(detection.audio.samples()) == 0


def test_the_wake_word_alone_is_heard_on_a_short_stream() -> None:
    from assistant.wyoming.wake import Detection, WakeModel
    from assistant.wyoming.wire import Limits

    detection = Detection([WakeModel.find("hey_jarvis")], Limits())
    pcm = speech_16k("hey jarvis").tobytes()
    heard = detection.chunk({"rate": RATE_HZ, "width": 2, "channels": 1}, pcm)
    assert heard is not None and heard.type == "detection"
