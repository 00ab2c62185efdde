"""Cuts a stream of frames into utterances: energy calibration, a VAD, end-pointing, a length cap.

Frames are pushed in one at a time (`push`), so a microphone, a file or a network
connection can drive it; `utterances(frames)` runs it over an iterable.

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
from dataclasses import dataclass, field
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
PAUSE_MS = 270
"""A pause this long may be the end of the utterance (`Listener.pause_audio`). The comma after
"hey assistant," lasts up to 240 ms in espeak-ng's voices: a shorter one would often be taken
for the end, and the recognition begun then wasted."""
COMPLETE_PAUSE_MS = 180
"""A pause this long ends the utterance at once when what has been heard of it is a complete
command (`Listener.complete` says so): the rest of `trailing_silence_ms` is not waited for. A
half sentence ("set a timer for") still needs the whole trailing silence."""


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
    silence_s: float = 0.0
    """The trailing silence heard before the end was declared, in seconds: `trailing_silence_ms`,
    or `COMPLETE_PAUSE_MS` for an utterance that was a complete command (less when the stream
    ended or the length cap cut it)."""

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
        self._head: list[tuple[np.ndarray, bool]] = []
        """Frames kept for calibration before the noise floor is known, each with whether it is
        heard (False: skipped)."""
        self._state = _Segment()
        self._pre_roll: collections.deque[np.ndarray] = collections.deque(
            maxlen=PRE_ROLL_MS // frame_ms
        )
        self._window: collections.deque[bool] = collections.deque(
            maxlen=max(1, START_WINDOW_MS // frame_ms)
        )
        self._heard_from = -1
        """The index of the first frame heard after the last skipped one (-1: none skipped)."""
        self._trailing_frames = max(1, settings.trailing_silence_ms // frame_ms)
        self._max_frames = int(settings.max_utterance_s * 1000 / frame_ms)
        self._pause_frames = max(KEPT_SILENCE_FRAMES, PAUSE_MS // frame_ms)
        self._complete_frames = max(KEPT_SILENCE_FRAMES + 1, COMPLETE_PAUSE_MS // frame_ms)
        self.complete: Callable[[int], bool] | None = None
        """Asked on each frame of a pause from `COMPLETE_PAUSE_MS` on, with how many of the
        utterance's frames (as given to the observer) came before the pause: True when they hold a
        complete command, which then ends the utterance (the voice session asks its streaming
        recogniser). It must answer at once: it runs on the thread that pushes frames."""
        self.pause_audio: np.ndarray | None = None
        """Set by the frame on which a pause reaches PAUSE_MS: the utterance's audio, exactly as it
        will be yielded should the pause be its end, so that recognition can start while the rest
        of the trailing silence is heard; None on every other frame."""

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
        """Every utterance in `frames` (the stream ends with them)."""
        for frame in frames:
            utterance = self.push(frame)
            if utterance is not None:
                yield utterance
        utterance = self.flush()
        if utterance is not None:
            yield utterance

    def push(self, frame: np.ndarray) -> Utterance | None:
        """Take the stream's next frame; the utterance it completes, if any.

        The first `calibration_s` of frames set the noise floor (unless it was
        calibrated already) and are then segmented like the rest.
        """
        if self.noise_floor_rms is None:
            return self._calibrating(frame, heard=True)
        return self._segment(frame)

    def _calibrating(self, frame: np.ndarray, heard: bool) -> Utterance | None:
        """Keep `frame` until there are enough to calibrate on; then segment those heard."""
        self._head.append((frame, heard))
        if len(self._head) < self.settings.calibration_s * 1000 / self.frame_ms:
            return None
        return self._calibrate_head()

    def _calibrate_head(self) -> Utterance | None:
        self.calibrate([frame for frame, _ in self._head])
        head, self._head = self._head, []
        ended = None
        for frame, heard in head:
            if heard:
                ended = self._segment(frame) or ended
            else:
                self._skip(frame)
        return ended

    def flush(self) -> Utterance | None:
        """The stream ended: the utterance in progress, if it was long enough to be speech."""
        if self.noise_floor_rms is None and self._head:
            self._calibrate_head()
        state, self._state = self._state, _Segment()
        if not state.kept:
            return None
        return self._finish(state.kept, state.start_index, state.silent_run, state.voiced_frames, False)

    def reset(self) -> None:
        """Drop the utterance in progress and the audio before it (the wake word was just heard,
        or the assistant's own voice filled the last frames); calibration is kept."""
        if self._state.kept and self.observer is not None:
            self.observer.utterance_dropped()
        self._state = _Segment(index=self._state.index)
        self._pre_roll.clear()
        self._window.clear()

    def skip(self, frame: np.ndarray) -> None:
        """Let a frame pass unheard (the assistant's own voice is playing): the stream's clock
        advances, an utterance in progress is dropped."""
        if self.noise_floor_rms is None:
            self._calibrating(frame, heard=False)  # calibrates, never heard
            return
        self._skip(frame)

    def _skip(self, frame: np.ndarray) -> None:
        self.reset()
        self._state.index += 1
        self._heard_from = self._state.index + 1

    @property
    def in_speech(self) -> bool:
        """An utterance has started and not yet ended."""
        return bool(self._state.kept)

    @property
    def in_pause(self) -> bool:
        """An utterance is in progress, and its last frame was silent."""
        return bool(self._state.kept) and self._state.silent_run > 0

    @property
    def started_unheard(self) -> bool:
        """The utterance in progress began on the first frame heard after skipped ones: its
        start was not heard."""
        return bool(self._state.kept) and self._state.start_index <= self._heard_from

    @property
    def speech_start_s(self) -> float:
        """Where the utterance in progress started in the stream, in seconds."""
        return self._state.start_index * self.frame_ms / 1000.0

    @property
    def speech_so_far_s(self) -> float:
        """How long the utterance in progress has lasted, in seconds (0 outside one)."""
        return len(self._state.kept) * self.frame_ms / 1000.0

    def follow(self, observer: UtteranceObserver | None) -> None:
        """Let `observer` follow utterances from now on (None: nobody); one in progress is
        handed over with what was heard of it so far."""
        if observer is self.observer:
            return
        if self.observer is not None and self._state.kept:
            self.observer.utterance_dropped()
        self.observer = observer
        if observer is not None and self._state.kept:
            state = self._state
            observer.speech_started(state.kept[: len(state.kept) - len(state.held)])

    def _segment(self, frame: np.ndarray) -> Utterance | None:
        state = self._state
        state.index += 1
        self.pause_audio = None
        speech = self.is_speech(frame, continuing=bool(state.kept))
        if not state.kept:
            self._pre_roll.append(frame)
            self._window.append(speech)
            if not speech and self.noise_floor_rms is not None:
                self.noise_floor_rms += FLOOR_ADAPTATION * (rms(frame) - self.noise_floor_rms)
            if sum(self._window) >= START_VOICED_SHARE * self._window.maxlen:  # type: ignore[operator]
                state.kept = list(self._pre_roll)
                state.start_index = state.index + 1 - len(state.kept)
                state.voiced_frames, state.silent_run = sum(self._window), 0
                self._pre_roll.clear()
                self._window.clear()
                if self.on_speech_start is not None:
                    self.on_speech_start()
                if self.observer is not None:
                    self.observer.speech_started(list(state.kept))
            return None
        state.kept.append(frame)
        state.voiced_frames += speech
        state.silent_run = 0 if speech else state.silent_run + 1
        self._report(frame, state.silent_run, state.held)
        truncated = len(state.kept) >= self._max_frames
        if state.silent_run < self._trailing_frames and not truncated and not self._complete_now(state):
            if state.silent_run == self._pause_frames and state.voiced_frames * self.frame_ms >= MIN_SPEECH_MS:
                kept = state.kept[: len(state.kept) - (state.silent_run - KEPT_SILENCE_FRAMES)]
                self.pause_audio = np.concatenate(kept).astype(np.int16)
            return None
        self._state = _Segment(index=state.index)
        return self._finish(
            state.kept, state.start_index, state.silent_run, state.voiced_frames, truncated
        )

    def _complete_now(self, state: _Segment) -> bool:
        """A pause of COMPLETE_PAUSE_MS or more (not yet PAUSE_MS) after a complete command."""
        return (
            self.complete is not None
            and self._complete_frames <= state.silent_run < max(self._pause_frames, self._complete_frames + 1)
            and state.voiced_frames * self.frame_ms >= MIN_SPEECH_MS
            and self.complete(len(state.kept) - state.silent_run)
        )

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
            silence_s=silent_run * frame_s,
        )
        if self.observer is not None:
            self.observer.utterance_ended(utterance)
        return utterance


@dataclass
class _Segment:
    """The utterance being heard (nothing yet when `kept` is empty)."""

    index: int = -1
    """The stream's frame count so far, less one."""
    kept: list[np.ndarray] = field(default_factory=list)
    held: list[np.ndarray] = field(default_factory=list)
    """Frames of a pause not yet passed to the observer."""
    start_index: int = 0
    voiced_frames: int = 0
    silent_run: int = 0
