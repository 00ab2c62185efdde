"""Decoding a music file to float32 frames: miniaudio in-process, ffmpeg for what it lacks."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import AudioError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 44100
CHANNELS = 2
CHUNK_FRAMES = 1024
"""Frames per chunk: about 23 ms, so volume changes and stops take effect at once."""


def decode(path: str, start_s: float = 0.0) -> Iterator[np.ndarray]:
    """Chunks of shape (frames, CHANNELS), float32, from `start_s` seconds in.

    Raises `AudioError` when neither decoder can open the file.
    """
    if not Path(path).is_file():
        raise AudioError(f"{path}: music file not found; run `assistant music scan`")
    try:
        return _miniaudio(path, start_s)
    except AudioError as first:
        log.debug("miniaudio cannot decode %s (%s); trying ffmpeg", path, first)
        return _ffmpeg(path, start_s)


def _miniaudio(path: str, start_s: float) -> Iterator[np.ndarray]:
    import miniaudio

    try:
        stream = miniaudio.stream_file(
            path,
            output_format=miniaudio.SampleFormat.FLOAT32,
            nchannels=CHANNELS,
            sample_rate=SAMPLE_RATE_HZ,
            frames_to_read=CHUNK_FRAMES,
            seek_frame=int(start_s * SAMPLE_RATE_HZ),
        )
        first = next(stream)
    except StopIteration:
        return iter(())
    except miniaudio.MiniaudioError as error:
        raise AudioError(f"{path}: cannot decode: {error}") from None
    return _frames(first, stream)


def _frames(first: object, stream: Iterator[object]) -> Iterator[np.ndarray]:
    import numpy as np

    yield np.frombuffer(first, dtype=np.float32).reshape(-1, CHANNELS)  # type: ignore[call-overload]
    for chunk in stream:
        yield np.frombuffer(chunk, dtype=np.float32).reshape(-1, CHANNELS)  # type: ignore[call-overload]


def _ffmpeg(path: str, start_s: float) -> Iterator[np.ndarray]:
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise AudioError(f"{path}: cannot decode this format without ffmpeg; install ffmpeg")
    process = subprocess.Popen(
        [binary, "-nostdin", "-v", "error", "-ss", f"{start_s:.3f}", "-i", path,
         "-f", "f32le", "-ac", str(CHANNELS), "-ar", str(SAMPLE_RATE_HZ), "-"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    first = process.stdout.read(CHUNK_FRAMES * CHANNELS * 4)
    if not first:
        error = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
        process.wait()
        raise AudioError(f"{path}: cannot decode: {error or 'no audio'}")
    return _pipe_frames(process, first)


def _pipe_frames(process: subprocess.Popen[bytes], first: bytes) -> Iterator[np.ndarray]:
    import numpy as np

    assert process.stdout is not None
    frame_bytes = CHANNELS * 4
    try:
        data = first
        while data:
            usable = len(data) - len(data) % frame_bytes
            yield np.frombuffer(data[:usable], dtype=np.float32).reshape(-1, CHANNELS)
            data = process.stdout.read(CHUNK_FRAMES * frame_bytes)
    finally:
        process.kill()
        process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
