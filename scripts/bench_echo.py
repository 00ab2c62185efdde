"""Does "hey Jarvis" said over the assistant's own reply wake it, with and without echo cancellation?

A Piper reply is fed back into the microphone (delayed, at a gain: 0 dB is as
loud as the user's voice, the same Piper voice), and a Piper "hey Jarvis" is
said at `--places` places over it, a few seconds apart. The microWakeWord model
listens to the raw microphone and to the microphone with the reply cancelled
(`assistant.audio.echo`, Speex's adaptive filter, the reply as reference); the
script prints the detections at each place and the false wakes on the reply
alone. `--reverb-s` gives the echo a room (an exponentially decaying noise
response of that RT60) instead of a plain delay.

    PYTHONPATH=src HF_HUB_OFFLINE=1 python scripts/bench_echo.py --delays-ms 50 150 250
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from assistant.audio.decode import resample
from assistant.audio.echo import EchoCanceller
from assistant.audio.wakeword import MicroWakeWordDetector
from assistant.config import TtsSettings
from assistant.tts import make_synthesizer

RATE = 16000
FRAME = 480  # 30 ms, as the listener feeds the detector
REPLY = (
    "Here is what I can do. I can tell you the time and the date, set timers and reminders, "
    "play your music and make it louder or quieter, tell you the weather, answer questions "
    "about your documents, and keep a shopping list. Ask me to add milk, or to read the list "
    "back to you. When a timer rings, say stop. You can also ask me what is on your calendar "
    "today, or to remind you about something tomorrow morning. "
)
SPACING_S = 3.0
"""Between two sayings of the wake word: more than the detector's refractory period."""


def piper_saying() -> tuple[np.ndarray, np.ndarray]:
    """The reply (long enough for the places) and "hey Jarvis", int16 at 16 kHz."""
    synthesizer = make_synthesizer(TtsSettings(engine="piper"))

    def say(text: str) -> np.ndarray:
        speech = synthesizer.synthesize(text)
        return resample(speech.samples, speech.sample_rate_hz, RATE)

    return say(REPLY), say("Hey Jarvis")


def build_room(
    reply: np.ndarray, wake: np.ndarray, places: int, delay_ms: float, gain_db: float,
    reverb_s: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """(microphone, reference, wake starts in s): the reply played from 1 s on, looped to cover
    the places; the microphone hears it `delay_ms` later at `gain_db`, plus the wake words."""
    lead = RATE
    length = lead + int((places + 1) * SPACING_S * RATE) + len(wake)
    played = np.zeros(length, np.float32)
    reply_f = reply.astype(np.float32)
    for start in range(lead, length, len(reply)):
        part = reply_f[: length - start]
        played[start : start + len(part)] += part
    delay = int(delay_ms * RATE / 1000)
    echo = played if not reverb_s else room_echo(played, reverb_s)
    mic = np.zeros(length, np.float32)
    mic[delay:] = echo[: length - delay] * 10 ** (gain_db / 20)
    starts = [1.0 + SPACING_S * (index + 0.5) for index in range(places)]
    for start_s in starts:
        at = int(start_s * RATE)
        mic[at : at + len(wake)] += wake[: length - at]
    as_int16 = lambda audio: np.clip(np.round(audio), -32768, 32767).astype(np.int16)  # noqa: E731
    return as_int16(mic), as_int16(played), starts


def room_echo(played: np.ndarray, reverb_s: float) -> np.ndarray:
    """`played` through a room: a fixed decaying noise response with the same energy as the direct
    sound (so the gain still says how loud the echo is)."""
    from scipy.signal import fftconvolve

    taps = np.arange(int(reverb_s * RATE)) / RATE
    response = np.random.default_rng(21).standard_normal(len(taps)) * 10 ** (-3 * taps / reverb_s)
    response[0] = 1.0
    response /= np.sqrt(np.sum(response**2))
    return fftconvolve(played, response)[: len(played)].astype(np.float32)


def detections(audio: np.ndarray) -> list[float]:
    detector = MicroWakeWordDetector("hey_jarvis")
    found = []
    for start in range(0, len(audio), FRAME):
        detection = detector.process(audio[start : start + FRAME])
        if detection is not None:
            found.append(detection.end_s)
    return found


def cancelled(mic: np.ndarray, reference: np.ndarray, tail_s: float) -> np.ndarray:
    canceller = EchoCanceller(RATE, tail_s)
    return np.concatenate(
        [
            canceller.process(mic[start : start + FRAME], reference[start : start + FRAME])
            for start in range(0, len(mic), FRAME)
        ]
    )


def score(found: list[float], starts: list[float], wake_s: float) -> tuple[int, int]:
    """(places heard, detections elsewhere)."""
    heard = sum(any(start < end < start + wake_s + 1.0 for end in found) for start in starts)
    elsewhere = sum(not any(start < end < start + wake_s + 1.0 for start in starts) for end in found)
    return heard, elsewhere


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--places", type=int, default=20)
    parser.add_argument("--delays-ms", type=float, nargs="+", default=[50.0, 150.0, 250.0])
    parser.add_argument("--gains-db", type=float, nargs="+", default=[0.0])
    parser.add_argument("--reverb-s", type=float, default=0.0)
    parser.add_argument("--tail-s", type=float, default=EchoCanceller().tail_s, help="the canceller's filter")
    args = parser.parse_args()
    started = time.monotonic()
    reply, wake = piper_saying()
    wake_s = len(wake) / RATE
    print(f"Piper: reply {len(reply) / RATE:.1f} s, wake word {wake_s:.2f} s ({time.monotonic() - started:.1f} s)")
    for gain_db in args.gains_db:
        for delay_ms in args.delays_ms:
            room = (args.places, delay_ms, gain_db, args.reverb_s)
            mic, reference, starts = build_room(reply, wake, *room)
            echo_only, _, _ = build_room(reply, wake * 0, *room)
            for name in ("raw", "aec"):
                heard_mic = cancelled(mic, reference, args.tail_s) if name == "aec" else mic
                echo_heard = cancelled(echo_only, reference, args.tail_s) if name == "aec" else echo_only
                heard, elsewhere = score(detections(heard_mic), starts, wake_s)
                false_wakes = len(detections(echo_heard))
                print(
                    f"tail {args.tail_s:.1f} s, echo {gain_db:+.0f} dB, reverb {args.reverb_s:.1f} s, delay {delay_ms:.0f} ms, {name}: "
                    f"heard {heard}/{len(starts)}, other detections {elsewhere}, "
                    f"false wakes on the reply alone {false_wakes}"
                )
    print(f"({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
