"""Echo cancellation: the reply the assistant plays, taken out of what the microphone hears.

Speex's multidelay adaptive filter (libspeexdsp, the system library) learns the
path from the reference (what was played, 16 kHz, aligned by stream position)
to its echo in the microphone and subtracts it, so the wake word said over a
reply still reaches the model. Only its linear filter is used: WebRTC's AEC3
(pywebrtc-audio) was tried first and its residual-echo suppressor took the
wake word out with the echo (scripts/bench_echo.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from typing import Any

import numpy as np

from assistant.errors import AudioError

__all__ = ["EchoCanceller", "PlayedAudio"]

log = logging.getLogger(__name__)

_SET_SAMPLING_RATE = 24
"""`SPEEX_ECHO_SET_SAMPLING_RATE` in speex_echo.h (a stable C API since 2008)."""
_INT16_P = ctypes.POINTER(ctypes.c_int16)


class EchoCanceller:
    """One microphone stream with its reference; keep one per stream (the filter is its room).

    The echo must reach the microphone within `tail_s` of the reference sample it
    comes from. Output lags input by one `frame_s` (the filter works on whole frames).
    """

    def __init__(
        self,
        sample_rate_hz: int = 16000,
        tail_s: float | None = None,
        frame_s: float = 0.01,
        max_delay_s: float = 0.0,
    ):
        """`max_delay_s` > 0: the echo may come up to that long after its reference; its delay
        is estimated (`DelayEstimate`) and the reference moved there, and the filter only has to
        learn the room's own `tail_s` (0.25 s; 1 s without an estimate)."""
        self._lib = _library()
        if tail_s is None:
            tail_s = ALIGNED_TAIL_S if max_delay_s > 0 else 1.0
        self.delay = DelayEstimate(sample_rate_hz, max_delay_s) if max_delay_s > 0 else None
        self.sample_rate_hz = sample_rate_hz
        self.frame_samples = max(1, round(sample_rate_hz * frame_s))
        self._tail_samples = max(self.frame_samples, round(sample_rate_hz * tail_s))
        self.tail_s = self._tail_samples / sample_rate_hz
        self._state: Any = None
        self._open()
        self._heard = np.zeros(0, np.int16)
        self._played = np.zeros(0, np.int16)
        self._out = np.zeros(self.frame_samples, np.int16)

    def process(self, microphone: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """int16 microphone samples less the echo of `reference` (the int16 samples played over
        the same span, zeros where nothing played): as many samples, one frame later."""
        if len(reference) != len(microphone):
            raise ValueError(f"reference has {len(reference)} samples for {len(microphone)} heard")
        if self.delay is not None:
            moved = self.delay.moved
            reference = self.delay.align(microphone, reference)
            if self.delay.moved != moved:
                self.reset()  # the filter learnt the old alignment
        heard = np.concatenate([self._heard, microphone.astype(np.int16)])
        played = np.concatenate([self._played, reference.astype(np.int16)])
        whole = len(heard) - len(heard) % self.frame_samples
        cleaned = np.empty(whole, np.int16)
        for start in range(0, whole, self.frame_samples):
            near = np.ascontiguousarray(heard[start : start + self.frame_samples])
            far = np.ascontiguousarray(played[start : start + self.frame_samples])
            self._lib.speex_echo_cancellation(
                self._state,
                near.ctypes.data_as(_INT16_P),
                far.ctypes.data_as(_INT16_P),
                cleaned[start:].ctypes.data_as(_INT16_P),
            )
        self._heard, self._played = heard[whole:], played[whole:]
        out = np.concatenate([self._out, cleaned])
        self._out = out[len(microphone) :]
        return out[: len(microphone)]

    def reset(self) -> None:
        """Forget the room (the filter adapts again from nothing) and the samples in flight."""
        self._lib.speex_echo_state_reset(self._state)
        self._heard = np.zeros(0, np.int16)
        self._played = np.zeros(0, np.int16)
        self._out = np.zeros(self.frame_samples, np.int16)

    def _open(self) -> None:
        self._state = self._lib.speex_echo_state_init(self.frame_samples, self._tail_samples)
        if not self._state:
            raise AudioError(
                f"echo cancellation: libspeexdsp could not start a filter of {self._tail_samples} samples"
            )
        rate = ctypes.c_int(self.sample_rate_hz)
        self._lib.speex_echo_ctl(self._state, _SET_SAMPLING_RATE, ctypes.byref(rate))
        log.debug("echo cancellation: libspeexdsp, %.2f s tail", self.tail_s)

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self._lib.speex_echo_state_destroy(self._state)
            self._state = None


ALIGNED_TAIL_S = 0.25
"""The filter's length once the reference is moved to its echo: the room's reverberation."""


class DelayEstimate:
    """How long after the reference its echo reaches the microphone, from their correlation (a
    satellite's player buffers as it pleases, and the delay may change from one sentence to the
    next); `align` gives the reference moved by it, a little early so that the filter's tail
    covers what is left.

    Every `EVERY_S` of reference, the last `WINDOW_S` of microphone and reference are correlated
    over delays up to `max_delay_s` (GCC-PHAT: sharp peaks for speech), and a peak whose
    normalised correlation is above `MIN_CORRELATION` is taken.
    """

    WINDOW_S = 2.0
    EVERY_S = 0.5
    MIN_CORRELATION = 0.3
    EARLY_S = 0.03
    """The reference is moved to this much before the echo (a delay measured late cancels nothing)."""

    def __init__(self, sample_rate_hz: int, max_delay_s: float):
        self.sample_rate_hz = sample_rate_hz
        self.max_lag = int(max_delay_s * sample_rate_hz)
        self.window = int(self.WINDOW_S * sample_rate_hz)
        self._history = self.max_lag + self.window
        self._mic = np.zeros(self._history, np.int16)
        self._ref = np.zeros(self._history, np.int16)
        self._since = 0
        self.lag = 0
        """The echo's delay, in samples, last found."""
        self.moved = 0
        """How many times the alignment changed."""

    def align(self, microphone: np.ndarray, reference: np.ndarray) -> np.ndarray:
        count = len(microphone)
        _push(self._mic, microphone)
        _push(self._ref, reference)
        if np.any(reference):
            self._since += count
            if self._since >= self.EVERY_S * self.sample_rate_hz:
                self._since = 0
                self._estimate()
        shift = max(0, self.lag - int(self.EARLY_S * self.sample_rate_hz))
        end = len(self._ref) - shift
        return self._ref[end - count : end].copy()

    def _estimate(self) -> None:
        mic = self._mic[-self.window :].astype(np.float32)
        ref = self._ref.astype(np.float32)  # the window, and the max_lag before it
        size = 1 << int(np.ceil(np.log2(len(ref) + len(mic))))
        spectrum = np.fft.rfft(ref, size) * np.conj(np.fft.rfft(mic, size))
        spectrum /= np.abs(spectrum) + 1e-9
        correlation = np.fft.irfft(spectrum, size)
        # correlation[k]: ref[t + k] against mic[t]; the microphone's window starts `max_lag`
        # into the reference's, so an echo `lag` late peaks at k = max_lag - lag.
        lag = int(np.argmax(correlation[self.max_lag :: -1]))
        start = self.max_lag - lag
        heard, played = mic, ref[start : start + self.window]
        norm = float(np.linalg.norm(heard) * np.linalg.norm(played))
        if norm <= 0 or float(np.dot(heard, played)) / norm < self.MIN_CORRELATION:
            return
        if abs(lag - self.lag) > 0.01 * self.sample_rate_hz:
            log.debug("echo delay %.3f s (was %.3f s)", lag / self.sample_rate_hz, self.lag / self.sample_rate_hz)
            self.lag = lag
            self.moved += 1


def _push(history: np.ndarray, samples: np.ndarray) -> None:
    """`samples` onto the end of `history`, in place (the audio loop's every frame: no copies)."""
    count = min(len(samples), len(history))
    if not count:
        return
    history[:-count] = history[count:]
    history[-count:] = samples[-count:]


class PlayedAudio:
    """The reference: what was played, by position in the microphone's stream (16 kHz samples).

    A sentence starts where the stream is when it is played (the echo comes later,
    within the canceller's tail) or where the one before ends, whichever is later.
    Safe to call from several threads (the speaker's thread says when a sentence starts).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._origin = 0
        """The stream position of `_samples[0]`."""
        self._samples = np.zeros(0, np.int16)

    def play(self, samples: np.ndarray, at: int) -> None:
        """`samples` (int16, 16 kHz) start playing at stream position `at`."""
        with self._lock:
            end = self._origin + len(self._samples)
            if at > end:
                self._samples = np.concatenate([self._samples, np.zeros(at - end, np.int16)])
            self._samples = np.concatenate([self._samples, samples.astype(np.int16)])

    def cut(self, at: int) -> None:
        """Playback stops at stream position `at` (barge-in): nothing after it is played."""
        with self._lock:
            self._samples = self._samples[: max(0, at - self._origin)]

    def take(self, at: int, count: int) -> np.ndarray:
        """The reference for the `count` samples heard from stream position `at` on; what came
        before is forgotten."""
        with self._lock:
            start = max(0, at - self._origin)
            part = self._samples[start : start + count]
            self._samples = self._samples[start + count :]
            self._origin = at + count
        if len(part) < count:
            part = np.concatenate([part, np.zeros(count - len(part), np.int16)])
        return part


def _library() -> Any:
    name = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError as error:
        raise AudioError(
            f"echo cancellation: cannot load libspeexdsp ({error}); install it "
            "(apt-get install libspeexdsp1) or set [listener] echo_cancellation = false"
        ) from None
    lib.speex_echo_state_init.restype = ctypes.c_void_p
    lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_echo_cancellation.restype = None
    lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p, _INT16_P, _INT16_P, _INT16_P]
    lib.speex_echo_state_reset.restype = None
    lib.speex_echo_state_reset.argtypes = [ctypes.c_void_p]
    lib.speex_echo_state_destroy.restype = None
    lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
    lib.speex_echo_ctl.restype = ctypes.c_int
    lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    return lib
