"""Decoding audio files: the one decoder of the assistant.

`load_audio`: a whole clip as mono int16 at the rate the recognisers want, bounded in
length (libsndfile via soundfile reads WAV, FLAC, OGG and MP3 block by block, so an
hour-long file costs no more than the part kept; other formats go through an `ffmpeg`
subprocess told to stop at the same length).

`stream`: float32 chunks at any rate and channel count, from any point, as they are
decoded (miniaudio in-process, ffmpeg for what it lacks): music playback and files
played as the microphone.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np

from assistant.errors import AudioError

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
"""The rate every recogniser in the assistant takes."""

DEFAULT_MAX_DURATION_S = 600.0
"""Longer input is cut here unless the caller asks for more."""

_FFMPEG_TIMEOUT_S = 120.0
CHUNK_FRAMES = 1024
"""Frames per `stream` chunk (23 ms at 44.1 kHz): volume changes and stops take effect at once."""


@dataclass(frozen=True)
class Audio:
    """Decoded audio: mono int16 samples."""

    samples: np.ndarray
    """int16, one channel."""
    sample_rate_hz: int
    truncated: bool = False
    """True when the source was longer than the maximum and was cut."""

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate_hz


def load_audio(
    path: str | Path,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
) -> Audio:
    """Decode `path` to mono int16 at `sample_rate_hz`; raise `AudioError` saying what is wrong."""
    samples, rate, truncated = _read(Path(path), sample_rate_hz, max_duration_s)
    if truncated:
        log.info("%s: longer than %.1f s; only the start is used", path, max_duration_s)
    return Audio(resample(samples, rate, sample_rate_hz), sample_rate_hz, truncated)


def check_audio(path: str | Path) -> None:
    """Raise `AudioError` saying what is wrong unless the start of `path` decodes as audio."""
    _read(Path(path), SAMPLE_RATE_HZ, 0.5)


def _read(path: Path, sample_rate_hz: int, max_duration_s: float | None) -> tuple[np.ndarray, int, bool]:
    """Mono int16 samples at the file's own rate (ffmpeg's: `sample_rate_hz`), and whether cut."""
    if not path.exists():
        raise AudioError(f"{path}: no such audio file")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty")
    try:
        samples, rate, truncated = _read_soundfile(path, max_duration_s)
    except _Unsupported as reason:
        log.debug("%s: libsndfile cannot read it (%s); trying ffmpeg", path, reason)
        samples, rate, truncated = _read_ffmpeg(path, sample_rate_hz, max_duration_s)
    if samples.size == 0:
        raise AudioError(f"{path}: the file holds no audio samples")
    return samples, rate, truncated


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] -> int16, clipped."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


def resample(samples: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """int16 mono at `from_hz` -> int16 mono at `to_hz` (polyphase filter)."""
    if from_hz == to_hz:
        return samples.astype(np.int16, copy=False)
    from scipy.signal import resample_poly

    divisor = gcd(from_hz, to_hz)
    converted = resample_poly(samples.astype(np.float32), to_hz // divisor, from_hz // divisor)
    return np.clip(np.round(converted), -32768, 32767).astype(np.int16)


class _Unsupported(Exception):
    """libsndfile does not know the format."""


def _read_soundfile(path: Path, max_duration_s: float | None) -> tuple[np.ndarray, int, bool]:
    import soundfile

    try:
        with soundfile.SoundFile(str(path)) as handle:
            rate = handle.samplerate
            limit = handle.frames if max_duration_s is None else int(max_duration_s * rate)
            data = handle.read(frames=min(limit, handle.frames), dtype="float32", always_2d=True)
            truncated = handle.frames > limit
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise _Unsupported(str(error)) from None
    return to_int16(data.mean(axis=1)), rate, truncated


def _read_ffmpeg(
    path: Path, sample_rate_hz: int, max_duration_s: float | None
) -> tuple[np.ndarray, int, bool]:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise AudioError(
            f"{path}: not a WAV/FLAC/OGG/MP3 file, and ffmpeg is not installed to read other formats"
        )
    command = [ffmpeg, "-nostdin", "-v", "error", "-i", str(path)]
    if max_duration_s is not None:
        # One sample more than allowed tells us whether the file went on.
        command += ["-t", f"{max_duration_s + 1.0 / sample_rate_hz:.6f}"]
    command += ["-vn", "-ac", "1", "-ar", str(sample_rate_hz), "-f", "s16le", "-"]
    try:
        result = subprocess.run(
            command, capture_output=True, timeout=_FFMPEG_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise AudioError(
            f"{path}: decoding took longer than {_FFMPEG_TIMEOUT_S:.0f} s; giving up"
        ) from None
    if result.returncode != 0 or not result.stdout:
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        reason = detail[-1] if detail else "no audio stream"
        raise AudioError(f"{path}: not a readable audio file ({reason})")
    samples = np.frombuffer(result.stdout[: len(result.stdout) // 2 * 2], dtype="<i2").astype(
        np.int16
    )
    truncated = False
    if max_duration_s is not None and len(samples) > int(max_duration_s * sample_rate_hz):
        samples = samples[: int(max_duration_s * sample_rate_hz)]
        truncated = True
    return samples, sample_rate_hz, truncated


def stream(
    path: str | Path, sample_rate_hz: int, channels: int, start_s: float = 0.0
) -> Iterator[np.ndarray]:
    """Chunks of shape (frames, `channels`), float32 at `sample_rate_hz`, from `start_s` in.

    Raises `AudioError` when the file is missing or neither decoder can open it.
    """
    path = str(path)
    if not Path(path).is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        return _miniaudio(path, sample_rate_hz, channels, start_s)
    except AudioError as first:
        log.debug("miniaudio cannot decode %s (%s); trying ffmpeg", path, first)
        return _ffmpeg(path, sample_rate_hz, channels, start_s)


def _miniaudio(path: str, rate: int, channels: int, start_s: float) -> Iterator[np.ndarray]:
    import miniaudio

    try:
        stream = miniaudio.stream_file(
            path,
            output_format=miniaudio.SampleFormat.FLOAT32,
            nchannels=channels,
            sample_rate=rate,
            frames_to_read=CHUNK_FRAMES,
            seek_frame=int(start_s * rate),
        )
        first = next(stream)
    except StopIteration:
        return iter(())
    except miniaudio.MiniaudioError as error:
        raise AudioError(f"{path}: cannot decode: {error}") from None
    return _frames(first, stream, channels)


def _frames(first: object, chunks: Iterator[object], channels: int) -> Iterator[np.ndarray]:
    yield np.frombuffer(first, dtype=np.float32).reshape(-1, channels)  # type: ignore[call-overload]
    for chunk in chunks:
        yield np.frombuffer(chunk, dtype=np.float32).reshape(-1, channels)  # type: ignore[call-overload]


def _ffmpeg(path: str, rate: int, channels: int, start_s: float) -> Iterator[np.ndarray]:
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise AudioError(f"{path}: cannot decode this format without ffmpeg; install ffmpeg")
    process = subprocess.Popen(
        [binary, "-nostdin", "-v", "error", "-ss", f"{start_s:.3f}", "-i", path,
         "-vn", "-f", "f32le", "-ac", str(channels), "-ar", str(rate), "-"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    first = process.stdout.read(CHUNK_FRAMES * channels * 4)
    if not first:
        error = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
        process.wait()
        raise AudioError(f"{path}: cannot decode: {error or 'no audio'}")
    return _pipe_frames(process, first, channels)


def _pipe_frames(
    process: subprocess.Popen[bytes], first: bytes, channels: int
) -> Iterator[np.ndarray]:
    assert process.stdout is not None
    frame_bytes = channels * 4
    try:
        data = first
        while data:
            usable = len(data) - len(data) % frame_bytes
            yield np.frombuffer(data[:usable], dtype=np.float32).reshape(-1, channels)
            data = process.stdout.read(CHUNK_FRAMES * frame_bytes)
    finally:
        process.kill()
        process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
