"""Command recognition with pocketsphinx: a word graph of the skills' phrases, with rejection.

A grammar search always answers with *some* phrase, so every utterance is
decoded twice: against the grammar and against a free phone loop. Speech the
grammar fits scores about as well as the phone loop; speech it does not fit
scores clearly worse per frame. That margin is the rejection test
(scripts/bench_voice.py measures it).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio.denoise import NOISY_BELOW_DB, denoise, snr_db
from assistant.errors import RecognitionError
from assistant.stt.base import Transcript
from assistant.stt.grammar import Grammar, normalise

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
ACCEPT_MARGIN = 0.0
"""Grammar-minus-phone-loop log score per frame (x1000) at or above which a phrase is accepted outright."""
PLAUSIBLE_MARGIN = -0.5
"""Between this and ACCEPT_MARGIN a phrase is uncertain: a second opinion decides, or, without one, it stands."""

_EDGE_S = 0.3
"""Quiet kept at each end: less and the first phone is lost, more and accuracy drops (measured)."""
_QUIET_RMS = 100.0
_DITHER = 20.0
"""pocketsphinx's noise tracking fails on digital silence (exact zeros): dither it."""


class PocketsphinxRecognizer:
    """Grammar-constrained recognition of command phrases (CMU Sphinx, US English)."""

    name = "pocketsphinx"

    def __init__(
        self,
        phrases: list[str] | Grammar | None,
        wake_word: str | None = None,
        model_dir: str | None = None,
        remove_noise: bool = True,
    ):
        """With `phrases`, a command grammar; with None, free speech against the bundled language model.

        `remove_noise`: take steady noise out of noisy utterances first (it roughly doubles
        grammar accuracy at 10 dB SNR; clean ones are left alone).
        """
        import pocketsphinx

        root = Path(model_dir) if model_dir else Path(pocketsphinx.get_model_path()) / "en-us"
        try:
            self._decoder: Any = pocketsphinx.Decoder(
                hmm=str(root / "en-us"),
                dict=str(root / "cmudict-en-us.dict"),
                lm=None,
                loglevel="FATAL",
                # Wider than the defaults (1e-48, 7e-29): with a thousand phrases the right
                # one was sometimes pruned away; this costs about twice the (small) time.
                beam=1e-55,
                wbeam=1e-35,
            )
        except (RuntimeError, ValueError) as error:
            raise RecognitionError(
                f"pocketsphinx: cannot load the model in {root}: {error}"
            ) from None
        self.wake_word = normalise(wake_word) if wake_word else None
        self.remove_noise = remove_noise
        self.grammar: Grammar | None = None
        if phrases is None:
            self._decoder.add_lm_file("free", str(root / "en-us.lm.bin"))
        else:
            known = self._decoder.lookup_word
            self.grammar = Grammar.from_phrases(
                phrases.phrases if isinstance(phrases, Grammar) else phrases,
                known_word=lambda word: known(word) is not None,
            )
            graph = self.grammar.to_word_graph(self.wake_word)
            try:
                fsg = self._decoder.create_fsg(
                    "commands", graph.start, graph.final, graph.transitions()
                )
                self._decoder.add_fsg("commands", fsg)
            except (ValueError, RuntimeError) as error:
                raise RecognitionError(
                    f"pocketsphinx: cannot build the command grammar: {error}"
                ) from None
            self._decoder.add_allphone_file("phones", str(root / "en-us-phone.lm.bin"))
        self._search = "free" if self.grammar is None else "commands"
        self._phrases = set(self.grammar.phrases) if self.grammar else set()
        self._stream: list[np.ndarray] = []

    def transcribe(self, audio: np.ndarray) -> Transcript:
        started = time.perf_counter()
        noisy = self.remove_noise and snr_db(audio) < NOISY_BELOW_DB
        samples = self._prepare(denoise(audio, SAMPLE_RATE_HZ) if noisy else audio)
        if self.grammar is None:
            text, _, _ = self._decode("free", samples)
            return Transcript(
                text,
                self.name,
                0.0,
                None,
                len(audio) / SAMPLE_RATE_HZ,
                time.perf_counter() - started,
            )
        text, grammar_score, frames = self._decode("commands", samples)
        _, phone_score, _ = self._decode("phones", samples)
        margin = (grammar_score - phone_score) * 1000.0 / max(frames, 1)
        command = self.strip_wake_word(text)
        complete = command in self._phrases or (command == "" and text == self.wake_word)
        accepted = complete and margin >= ACCEPT_MARGIN
        return Transcript(
            text=text,
            engine=self.name,
            confidence=1.0 / (1.0 + math.exp(-4.0 * (margin - ACCEPT_MARGIN))) if complete else 0.0,
            in_grammar=accepted,
            audio_s=len(audio) / SAMPLE_RATE_HZ,
            elapsed_s=time.perf_counter() - started,
            details={
                "margin": round(margin, 3),
                "complete_phrase": complete,
                "plausible": complete and margin >= PLAUSIBLE_MARGIN,
                "denoised": noisy,
            },
        )

    def accept(self, frame: np.ndarray) -> str:
        """Follow an utterance as it arrives; the grammar's best partial phrase."""
        if not self._stream:
            self._decoder.activate_search(self._search)
            self._decoder.start_utt()
        self._stream.append(frame)
        self._decoder.process_raw(frame.astype(np.int16).tobytes(), False, False)
        hypothesis = self._decoder.hyp()
        return hypothesis.hypstr if hypothesis else ""

    def finish(self) -> Transcript:
        if self._stream:
            self._decoder.end_utt()
        audio = np.concatenate(self._stream) if self._stream else np.zeros(0, np.int16)
        self._stream = []
        return self.transcribe(audio)

    def strip_wake_word(self, text: str) -> str:
        if self.wake_word and (text == self.wake_word or text.startswith(self.wake_word + " ")):
            return text[len(self.wake_word) :].strip()
        return text

    def _prepare(self, audio: np.ndarray) -> np.ndarray:
        """At least `_EDGE_S` of quiet at each end (padded where the audio has less), dithered."""
        samples = audio.astype(np.float32)
        step = SAMPLE_RATE_HZ // 100
        count = len(samples) // step
        lead = tail = 0.0
        if count:
            levels = np.sqrt(np.mean(samples[: count * step].reshape(count, step) ** 2, axis=1))
            loud = np.flatnonzero(levels >= max(_QUIET_RMS, 2.0 * float(np.min(levels))))
            if len(loud):
                lead, tail = loud[0] / 100.0, (count - 1 - loud[-1]) / 100.0
        before = np.zeros(int(max(0.0, _EDGE_S - lead) * SAMPLE_RATE_HZ), np.float32)
        after = np.zeros(int(max(0.0, _EDGE_S - tail) * SAMPLE_RATE_HZ), np.float32)
        samples = np.concatenate([before, samples, after])
        # The same dither every time, so that the same audio always gives the same answer.
        samples += np.random.default_rng(0).normal(0.0, _DITHER, len(samples)).astype(np.float32)
        return np.clip(samples, -32768, 32767).astype(np.int16)

    def _decode(self, search: str, samples: np.ndarray) -> tuple[str, float, int]:
        """Best hypothesis, its natural-log score and the number of frames."""
        decoder = self._decoder
        decoder.activate_search(search)
        decoder.start_utt()
        decoder.process_raw(samples.tobytes(), False, True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        if hypothesis is None or hypothesis.score <= 0:
            return "", -1e9 / 1000.0, decoder.n_frames()
        return hypothesis.hypstr, math.log(hypothesis.score), decoder.n_frames()
