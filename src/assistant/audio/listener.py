"""Cuts a stream of frames into utterances: energy calibration, a VAD, end-pointing, a length cap.

A frame counts as speech when the voice activity detector (`assistant.audio.vad`,
`[listener] vad`) says so *and* it is louder than the
noise floor measured during calibration (and then tracked in the pauses), so a
steady fan or hum does not open an utterance by itself.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from assistant.audio.vad import VoiceActivityDetector, make_vad
from assistant.config import ListenerSettings

log = logging.getLogger(__name__)

PRE_ROLL_MS = 300
"""Audio kept from before the start was detected, so the first consonant is not lost."""
START_WINDOW_MS = 210
START_VOICED_SHARE = 0.6
"""An utterance starts when this share of the last START_WINDOW_MS is speech."""
MIN_SPEECH_MS = 150
"""Shorter bursts (a click, a cough) are dropped."""
MIN_THRESHOLD_RMS = 80.0
"""Below this RMS (int16 units, about -52 dBFS) nothing is speech."""
NOISE_RATIO = 2.0
"""Speech must be this many times the noise floor's RMS."""
HYSTERESIS = 2.0
"""Inside an utterance a frame needs only threshold / HYSTERESIS to count as speech."""
FLOOR_ADAPTATION = 0.05
"""Share of each quiet frame that moves the noise floor estimate."""
KEPT_SILENCE_FRAMES = 5
"""Frames of the trailing silence kept at the end of an utterance (150 ms at 30 ms a frame)."""


@dataclass(frozen=True)
class Utterance:
    """One stretch of speech."""

    audio: np.ndarray
    """int16 mono samples, with the pre-roll and a little of the trailing silence."""
    sample_rate_hz: int
    start_s: float
    """Where it starts in the stream, in seconds."""
    end_s: float
    """Where speech ended in the stream, in seconds."""
    truncated: bool
    """True when cut at the maximum length."""
    ended_at: float
    """`time.monotonic()` when the end of speech was detected (for latency)."""

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate_hz


class UtteranceObserver(Protocol):
    """Follows an utterance while it is being heard (a streaming recogniser decodes as it goes).

    The frames it is given, joined, are exactly the `Utterance.audio` that is then
    yielded: frames of a pause are held back until speech resumes, since a pause
    that turns out to be the end is cut from the utterance.
    """

    def speech_started(self, frames: list[np.ndarray]) -> None:
        """Speech began; `frames`: the utterance so far (the pre-roll included)."""
        ...

    def speech_frame(self, frame: np.ndarray) -> None:
        """The utterance's next frame."""
        ...

    def utterance_ended(self, utterance: Utterance) -> None:
        """The utterance is complete; it is yielded next."""
        ...

    def utterance_dropped(self) -> None:
        """What started was too short to be speech (a click, a cough): nothing is yielded."""
        ...


def rms(frame: np.ndarray) -> float:
    return float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))) if len(frame) else 0.0


class Listener:
    """`utterances(frames)` yields each utterance as soon as its trailing silence is heard."""

    def __init__(
        self,
        settings: ListenerSettings,
        sample_rate_hz: int = 16000,
        frame_ms: int = 30,
        on_speech_start: Callable[[], None] | None = None,
        observer: UtteranceObserver | None = None,
        vad: VoiceActivityDetector | None = None,
    ):
        self.settings = settings
        self.sample_rate_hz = sample_rate_hz
        self.frame_ms = frame_ms
        self.on_speech_start = on_speech_start
        self.observer = observer
        self._vad = vad or make_vad(settings.vad, settings.vad_aggressiveness, settings.vad_threshold)
        self._frame_samples = sample_rate_hz * frame_ms // 1000
        self.noise_floor_rms: float | None = None

    @property
    def threshold_rms(self) -> float:
        floor = self.noise_floor_rms or 0.0
        return max(MIN_THRESHOLD_RMS, floor * NOISE_RATIO)

    def calibrate(self, frames: list[np.ndarray]) -> float:
        """Set the noise floor from frames of (mostly) silence; return the speech threshold."""
        levels = [rms(f) for f in frames]
        # The quietest frames: speech that starts at once must not raise the floor.
        self.noise_floor_rms = float(np.percentile(levels, 10)) if levels else 0.0
        log.debug("noise floor %.1f RMS, threshold %.1f", self.noise_floor_rms, self.threshold_rms)
        return self.threshold_rms

    def is_speech(self, frame: np.ndarray, continuing: bool = False) -> bool:
        """VAD and energy agree; within an utterance the energy bar is lower (hysteresis)."""
        if len(frame) < self._frame_samples:
            frame = np.concatenate([frame, np.zeros(self._frame_samples - len(frame), np.int16)])
        voiced = self._vad.is_speech(frame)  # every frame: the neural detectors follow the stream
        return voiced and rms(frame) >= self.threshold_rms / (HYSTERESIS if continuing else 1.0)

    def utterances(self, frames: Iterable[np.ndarray]) -> Iterator[Utterance]:
        stream = iter(frames)
        calibration_frames = int(self.settings.calibration_s * 1000 / self.frame_ms)
        head: list[np.ndarray] = []
        if self.noise_floor_rms is None:
            for frame in stream:
                head.append(frame)
                if len(head) >= calibration_frames:
                    break
            self.calibrate(head)
        yield from self._segment(_chain(head, stream))

    def _segment(self, frames: Iterable[np.ndarray]) -> Iterator[Utterance]:
        frame_s = self.frame_ms / 1000.0
        pre_roll: collections.deque[np.ndarray] = collections.deque(
            maxlen=PRE_ROLL_MS // self.frame_ms
        )
        window: collections.deque[bool] = collections.deque(
            maxlen=max(1, START_WINDOW_MS // self.frame_ms)
        )
        trailing_frames = max(1, self.settings.trailing_silence_ms // self.frame_ms)
        max_frames = int(self.settings.max_utterance_s / frame_s)
        kept: list[np.ndarray] = []
        held: list[np.ndarray] = []
        voiced_frames = silent_run = 0
        start_index = 0
        index = -1
        for index, frame in enumerate(frames):
            speech = self.is_speech(frame, continuing=bool(kept))
            if not kept:
                pre_roll.append(frame)
                window.append(speech)
                if not speech and self.noise_floor_rms is not None:
                    self.noise_floor_rms += FLOOR_ADAPTATION * (rms(frame) - self.noise_floor_rms)
                if sum(window) >= START_VOICED_SHARE * window.maxlen:  # type: ignore[operator]
                    kept = list(pre_roll)
                    start_index = index + 1 - len(kept)
                    voiced_frames, silent_run = sum(window), 0
                    pre_roll.clear()
                    window.clear()
                    if self.on_speech_start is not None:
                        self.on_speech_start()
                    if self.observer is not None:
                        self.observer.speech_started(list(kept))
                continue
            kept.append(frame)
            voiced_frames += speech
            silent_run = 0 if speech else silent_run + 1
            self._report(frame, silent_run, held)
            truncated = len(kept) >= max_frames
            if silent_run >= trailing_frames or truncated:
                utterance = self._finish(kept, start_index, silent_run, voiced_frames, truncated)
                if utterance is not None:
                    yield utterance
                kept, held = [], []
        if kept:
            utterance = self._finish(kept, start_index, silent_run, voiced_frames, False)
            if utterance is not None:
                yield utterance

    def _report(self, frame: np.ndarray, silent_run: int, held: list[np.ndarray]) -> None:
        """Pass the observer the frames sure to stay in the utterance; hold the rest of a pause."""
        if self.observer is None:
            return
        if silent_run > KEPT_SILENCE_FRAMES:
            held.append(frame)  # cut if the pause becomes the end
            return
        for earlier in held:
            self.observer.speech_frame(earlier)
        held.clear()
        self.observer.speech_frame(frame)

    def _finish(
        self,
        kept: list[np.ndarray],
        start_index: int,
        silent_run: int,
        voiced_frames: int,
        truncated: bool,
    ) -> Utterance | None:
        frame_s = self.frame_ms / 1000.0
        if voiced_frames * self.frame_ms < MIN_SPEECH_MS:
            log.debug("dropped a %d ms burst", voiced_frames * self.frame_ms)
            if self.observer is not None:
                self.observer.utterance_dropped()
            return None
        keep_tail = max(0, silent_run - KEPT_SILENCE_FRAMES)
        frames = kept[: len(kept) - keep_tail] if keep_tail else kept
        if truncated:
            log.info("utterance cut at the maximum length of %.1f s", self.settings.max_utterance_s)
        utterance = Utterance(
            audio=np.concatenate(frames).astype(np.int16),
            sample_rate_hz=self.sample_rate_hz,
            start_s=start_index * frame_s,
            end_s=(start_index + len(kept) - silent_run) * frame_s,
            truncated=truncated,
            ended_at=time.monotonic(),
        )
        if self.observer is not None:
            self.observer.utterance_ended(utterance)
        return utterance


def _chain(head: list[np.ndarray], rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield from head
    yield from rest
