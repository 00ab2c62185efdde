"""The one audio output: music and speech mixed into one stream, the music ducked under speech.

    music player ──────────► Mixer.music  ──┐
                                            ├─► music × gain + speech ─► sound card | nowhere
    replies, notifications ─► Mixer.speech ─┘   (one thread, one sounddevice stream)

Inside, audio is 44.1 kHz stereo float32; speech (int16 mono at the voice's rate) is
resampled on the way in. The music's gain goes down to `duck_gain` while the assistant
listens (`duck(True)`, from the wake word until the reply is spoken) or while speech plays,
and comes back after, ramped over one block so that it does not click.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from assistant.audio.decode import resample
from assistant.audio.devices import Route, open_device, portaudio
from assistant.errors import AudioError

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 44100
CHANNELS = 2
BLOCK_FRAMES = 1024
"""Mixed and written at a time (23 ms): a stop or a duck takes effect within a block or two."""
MUSIC_BUFFER_FRAMES = 4 * BLOCK_FRAMES
"""How far the music may be queued ahead of what is heard."""
HOLD_S = 0.4
"""The music stays down this long after speech, so that it does not bob up between sentences."""


class Mixer:
    """One output stream on `device` ("default", a name, an index, or "null": nowhere, at the
    pace of a sound card). Opened on the first sound; `tap` sees every mixed block."""

    def __init__(
        self,
        device: str = "default",
        duck_gain: float = 0.3,
        tap: Callable[[np.ndarray], None] | None = None,
    ):
        self.null = device == "null"
        self.device = "default" if device in ("", None) else device
        """The setting: "default", or a name or number from `assistant devices`."""
        self._route: Route | None = None
        self.duck_gain = duck_gain
        self.tap = tap
        self.music = MusicInput(self)
        self.speech = SpeechInput(self)
        self.error: AudioError | None = None
        self._cond = threading.Condition()
        self._music: deque[np.ndarray] = deque()
        self._music_frames = 0
        self._speech: deque[np.ndarray] = deque()
        self._speech_in = 0
        """Speech frames queued since the start (`_speech_out` of them taken)."""
        self._speech_out = 0
        self._starts: deque[tuple[int, Callable[[float], None]]] = deque()
        """(frame, callback): told when speech frame `frame` is written to the device."""
        self._ducked = False
        self._gain = 1.0
        self._frames = 0
        self._speech_until = 0
        self._closing = False
        self._stream: object | None = None
        self._thread: threading.Thread | None = None

    def check(self) -> None:
        """Raise `AudioError` now if the device cannot play our format."""
        if self.null:
            return
        sounddevice = portaudio()
        try:
            with self._resolve().opening() as device:
                sounddevice.check_output_settings(
                    device=device, channels=CHANNELS, dtype="float32", samplerate=SAMPLE_RATE_HZ
                )
        except (sounddevice.PortAudioError, ValueError) as error:
            raise self._cannot_open(error) from None

    def _resolve(self) -> Route:
        """Which device the setting names, found once (`AudioError` that says what to do)."""
        if self._route is None:
            self._route = open_device(
                self.device, "output", "play to a file with --output FILE.wav"
            )
        return self._route

    def duck(self, on: bool) -> None:
        """Keep the music down (the assistant is listening) or let it come back."""
        with self._cond:
            self._ducked = on

    def start(self) -> None:
        """Open the output and start mixing, once; `AudioError` when the device cannot open."""
        with self._cond:
            if self.error is not None:
                raise self.error
            if self._thread is not None:
                return
            if not self.null:
                self._stream = self._open_stream()
            self._closing = False
            self._thread = threading.Thread(target=self._run, name="mixer", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Play what is queued, then close the output (it opens again on the next sound)."""
        with self._cond:
            thread, self._closing = self._thread, True
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=5.0)
        with self._cond:
            self._thread = None
            stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()  # type: ignore[attr-defined]  # waits for the buffered audio
            stream.close()  # type: ignore[attr-defined]

    # -- the mixing thread ------------------------------------------------------------

    def _open_stream(self) -> object:
        sounddevice = portaudio()
        route = self._resolve()
        try:
            # "low": the device's low latency, not PortAudio's default "high" one (a reply's first
            # sound waited behind a deeper buffer); blocks are written ahead of the clock anyway.
            with route.opening() as device:
                stream = sounddevice.OutputStream(
                    samplerate=SAMPLE_RATE_HZ,
                    channels=CHANNELS,
                    dtype="float32",
                    device=device,
                    latency="low",
                )
                stream.start()
        except (sounddevice.PortAudioError, ValueError) as error:
            raise self._cannot_open(error) from None
        return stream

    def _cannot_open(self, error: Exception) -> AudioError:
        return AudioError(
            f"cannot open speaker {self.device!r}: {error}; see `assistant devices`, use --output FILE.wav, "
            'or set [audio] output = "null" on a machine without a sound card'
        )

    def _run(self) -> None:
        started, written = time.monotonic(), 0
        hold = int(HOLD_S * SAMPLE_RATE_HZ)
        try:
            while True:
                with self._cond:
                    while not (self._music or self._speech or self._closing):
                        self._cond.wait()
                    if not (self._music or self._speech):
                        return
                    music, taken = _take(self._music, BLOCK_FRAMES, CHANNELS)
                    self._music_frames -= taken
                    speech, spoken = _take(self._speech, BLOCK_FRAMES, 1)
                    if spoken:
                        self._speech_until = self._frames + spoken + hold
                    first, self._speech_out = self._speech_out, self._speech_out + spoken
                    begun: list[tuple[float, Callable[[float], None]]] = []
                    while self._starts and self._starts[0][0] < self._speech_out:
                        frame, told = self._starts.popleft()
                        begun.append(((frame - first) / SAMPLE_RATE_HZ, told))
                    down = self._ducked or self._frames < self._speech_until
                    self._cond.notify_all()  # room for more music, or the speech has been taken
                target = self.duck_gain if down else 1.0
                ramp = np.linspace(self._gain, target, BLOCK_FRAMES, dtype=np.float32)
                self._gain = target
                block = np.clip(music * ramp[:, None] + speech, -1.0, 1.0)
                self._frames += BLOCK_FRAMES
                for offset_s, told in begun:
                    try:
                        told(offset_s)
                    except Exception:  # noqa: BLE001 - a listener's failure is not the speaker's
                        log.exception("a speech start could not be told")
                if self.tap is not None:
                    self.tap(block)
                if self._stream is not None:
                    self._stream.write(block)  # type: ignore[attr-defined]  # blocks at real time
                    continue
                # Nowhere: keep the pace of a sound card, at most one block ahead of the clock.
                now = time.monotonic()
                if now > started + written / SAMPLE_RATE_HZ + 0.1:  # it was idle: start afresh
                    started, written = now, 0
                written += BLOCK_FRAMES
                wait = started + (written - BLOCK_FRAMES) / SAMPLE_RATE_HZ - now
                if wait > 0:
                    time.sleep(wait)
        except Exception as error:  # noqa: BLE001 - a failing device must not hang the writers
            with self._cond:
                self.error = AudioError(f"playback failed: {error}")
                self._music.clear()
                self._speech.clear()
                self._starts.clear()
                self._cond.notify_all()
            log.error("%s", self.error)

    def _wait(self, done: Callable[[], bool], timeout_s: float) -> None:
        """Wait (holding `_cond`) until `done()`, the mixer fails or stops, or the time is up."""
        deadline = time.monotonic() + timeout_s
        while not done() and self.error is None and self._thread is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._cond.wait(min(left, 0.05))


class MusicInput:
    """The music player's way in: stereo float32 chunks at 44.1 kHz; `write` returns once the
    chunk is (nearly) heard, `close` lets the tail play unless the song was cancelled."""

    def __init__(self, mixer: Mixer):
        self.mixer = mixer
        self._cancelled: threading.Event | None = None

    def open(self) -> None:
        self.mixer.start()

    def write(self, frames: np.ndarray, cancelled: threading.Event) -> None:
        mixer, self._cancelled = self.mixer, cancelled
        with mixer._cond:
            if mixer.error is not None:
                raise mixer.error
            if cancelled.is_set():
                return
            mixer._music.append(np.asarray(frames, np.float32).reshape(-1, CHANNELS))
            mixer._music_frames += len(frames)
            mixer._cond.notify_all()
            mixer._wait(
                lambda: mixer._music_frames <= MUSIC_BUFFER_FRAMES or cancelled.is_set(),
                timeout_s=5.0,
            )

    def close(self) -> None:
        mixer = self.mixer
        with mixer._cond:
            if self._cancelled is not None and self._cancelled.is_set():
                mixer._music.clear()
                mixer._music_frames = 0
            else:
                mixer._wait(lambda: not mixer._music, timeout_s=2.0)


class SpeechInput:
    """Speech's way in (an `AudioSink`): `play` queues and returns at once, sentences play
    back to back; `stop` drops what is queued (barge-in; the music plays on); `close` waits
    for the last of it to be heard."""

    realtime = True

    def __init__(self, mixer: Mixer, owns_mixer: bool = False):
        self.mixer = mixer
        self.owns_mixer = owns_mixer
        """Close the mixer with this input (a `say` or a satellite that made its own)."""

    reports_start = True
    """`play` can say when the speech reaches the device (an echo canceller's reference)."""

    def play(
        self, samples: np.ndarray, sample_rate_hz: int, on_start: Callable[[float], None] | None = None
    ) -> None:
        """Queue `samples`; `on_start(offset_s)`, from the mixing thread, when the block holding
        their start is written to the device (they start `offset_s` into it): not when queued,
        the output may first have to open, or play what is ahead of them."""
        mixer = self.mixer
        mixer.start()
        data = resample(samples, sample_rate_hz, SAMPLE_RATE_HZ).astype(np.float32) / 32768.0
        with mixer._cond:
            if on_start is not None:
                mixer._starts.append((mixer._speech_in, on_start))
            mixer._speech.append(data[:, None])
            mixer._speech_in += len(data)
            mixer._cond.notify_all()

    def stop(self) -> None:
        mixer = self.mixer
        with mixer._cond:
            mixer._speech.clear()
            mixer._starts.clear()
            mixer._speech_in = mixer._speech_out

    def close(self) -> None:
        mixer = self.mixer
        with mixer._cond:
            queued = sum(len(part) for part in mixer._speech) / SAMPLE_RATE_HZ
            mixer._wait(lambda: not mixer._speech, timeout_s=queued + 2.0)
        if self.owns_mixer:
            mixer.close()


def _take(queue: deque[np.ndarray], frames: int, channels: int) -> tuple[np.ndarray, int]:
    """The next `frames` frames of `queue` (zeros past its end) and how many were there."""
    out = np.zeros((frames, channels), np.float32)
    filled = 0
    while queue and filled < frames:
        head = queue[0]
        count = min(len(head), frames - filled)
        out[filled : filled + count] = head[:count]
        if count == len(head):
            queue.popleft()
        else:
            queue[0] = head[count:]
        filled += count
    return out, filled
