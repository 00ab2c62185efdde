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

    def __init__(self, sample_rate_hz: int = 16000, tail_s: float = 1.0, frame_s: float = 0.01):
        self._lib = _library()
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
