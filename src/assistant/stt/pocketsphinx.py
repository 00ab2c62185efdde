"""Command recognition with pocketsphinx: a word graph of the skills' phrases, with rejection.

A grammar search always answers with *some* phrase, so every utterance is
decoded twice: against the grammar and against a free phone loop. Speech the
grammar fits scores about as well as the phone loop; speech it does not fit
scores clearly worse per frame. That margin is the rejection test
(scripts/bench_voice.py measures it). Decoding while the user speaks is in
`assistant.stt.pocketsphinx_stream`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.audio.denoise import NOISY_BELOW_DB, denoise, snr_db
from assistant.errors import RecognitionError
from assistant.stt.acceptance import acceptance
from assistant.stt.base import Transcript
from assistant.stt.grammar import Grammar, borrowed_pronunciation
from assistant.stt.wake import wake_phrase

if TYPE_CHECKING:
    from assistant.stt.pocketsphinx_stream import PocketsphinxSession

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
PLAUSIBLE_MARGIN = -0.5
"""Without a second opinion, a complete phrase from this margin on stands (see `acceptance`)."""

EDGE_S = 0.3
"""Quiet kept at each end: less and the first phone is lost, more and accuracy drops (measured)."""
QUIET_RMS = 100.0
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

        self._root = Path(model_dir) if model_dir else Path(pocketsphinx.get_model_path()) / "en-us"
        try:
            self._decoder: Any = self._new_decoder()
        except (RuntimeError, ValueError) as error:
            raise RecognitionError(
                f"pocketsphinx: cannot load the model in {self._root}: {error}"
            ) from None
        self.wake = wake_phrase(wake_word)
        self.wake_word = self.wake.phrase if self.wake else None
        self.remove_noise = remove_noise
        self.grammar: Grammar | None = None
        self._borrowed: dict[str, str] = {}
        """Words the dictionary lacks, with phones borrowed from words it has ("unpause")."""
        if phrases is None:
            self._decoder.add_lm_file("free", str(self._root / "en-us.lm.bin"))
        else:
            self.grammar = Grammar.from_phrases(
                phrases.phrases if isinstance(phrases, Grammar) else phrases,
                known_word=self._pronounceable,
            )
            try:
                self._add_grammar(self._decoder)
                self._add_grammar(self._decoder, "examples")
            except (ValueError, RuntimeError) as error:
                raise RecognitionError(
                    f"pocketsphinx: cannot build the command grammar: {error}"
                ) from None
            self._decoder.add_allphone_file("phones", str(self._root / "en-us-phone.lm.bin"))
        self._sentences = set(self.grammar.sentences()) if self.grammar else set()
        """The phrases without slots: what noisy audio may be heard as outright."""
        self._streaming: list[Any] = []
        """Decoders for sessions (grammar, phone loop, cepstral mean), built on first use."""
        self._building = threading.Lock()
        self._session: PocketsphinxSession | None = None
        self._accepting: PocketsphinxSession | None = None
        """The session of `accept` and `finish`."""
        self._previous: np.ndarray | None = None
        """The last utterance a session heard (prepared): its cepstral mean starts the next one's."""

    def transcribe(self, audio: np.ndarray) -> Transcript:
        started = time.perf_counter()
        noisy = self._noisy(audio)
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
        # In noise the value graphs fit babble too readily ("thirty hour timer"): noisy audio is
        # decoded against the phrases with example values (right action at 10 dB SNR, 240
        # commands: 82.5 % with the value graphs, 90 % without).
        text, grammar_score, frames = self._decode("examples" if noisy else "commands", samples)
        phones, phone_score, _ = self._decode("phones", samples)
        return self._judge(
            text,
            grammar_score - phone_score,
            frames,
            audio,
            started,
            denoised=noisy,
            streamed=False,
            phones=phones,
        )

    def open_session(self, partials: bool = False) -> PocketsphinxSession:
        """Start decoding an utterance frame by frame, as it is heard (see `PocketsphinxSession`).

        Sessions have their own two decoders, so `transcribe` is not disturbed by them (a
        decoder's state carries over from one utterance to the next). One session at a time:
        an unfinished earlier one is cancelled. The first session is decoded the batch way at its
        end, so it follows the audio only when `partials` are wanted.
        """
        from assistant.stt.pocketsphinx_stream import PocketsphinxSession

        if self._session is not None:
            self._session.cancel()
        self._session = PocketsphinxSession(self, partials)
        return self._session

    def accept(self, frame: np.ndarray) -> str:
        """Follow an utterance as it arrives; the grammar's best partial phrase."""
        if self._accepting is None:
            self._accepting = self.open_session(partials=True)
        self._accepting.feed(frame)
        return self._accepting.partial()

    def finish(self) -> Transcript:
        """End the utterance fed through `accept`: the transcript `transcribe` gives for it."""
        session, self._accepting = self._accepting or self.open_session(), None
        return session.finish(session.heard())

    def _judge(
        self,
        text: str,
        score_difference: float,
        frames: int,
        audio: np.ndarray,
        started: float,
        denoised: bool,
        streamed: bool,
        phones: str = "",
    ) -> Transcript:
        """Accept, doubt or reject the grammar's phrase by its margin over the phone loop, and by
        how many more `phones` the phone loop heard than the phrase has (thresholds: `acceptance`)."""
        margin = score_difference * 1000.0 / max(frames, 1)
        command = self.strip_wake_word(text)
        complete = command in (self.grammar or ()) or (command == "" and text == self.wake_word)
        # Free text is never taken from the grammar (its words are fillers), nor values from
        # the example sentences noisy audio is decoded against: dictation hears those.
        whole = self.grammar is not None and (
            command in (self._sentences if denoised else self.grammar.closed) or command == ""
        )
        heard = sum(1 for phone in phones.split() if phone != "SIL" and not phone.startswith("+"))
        ratio = heard / max(1, self._phone_count(text))
        rule = acceptance()
        fits = ratio <= rule.max_phone_ratio
        accepted = complete and whole and margin >= rule.accept_margin and fits
        return Transcript(
            text=text,
            engine=self.name,
            confidence=1.0 / (1.0 + math.exp(-4.0 * (margin - rule.accept_margin)))
            if complete
            else 0.0,
            in_grammar=accepted,
            audio_s=len(audio) / SAMPLE_RATE_HZ,
            elapsed_s=time.perf_counter() - started,
            details={
                "margin": round(margin, 3),
                "phone_ratio": round(ratio, 2),
                "complete_phrase": complete,
                "open": complete and not whole,
                "plausible": complete and whole and margin >= PLAUSIBLE_MARGIN and fits,
                "denoised": denoised,
                "streamed": streamed,
            },
        )

    def _phone_count(self, text: str) -> int:
        words = text.split()
        return sum(
            len((self._borrowed.get(w) or self._decoder.lookup_word(w) or "").split())
            for w in words
        )

    def _noisy(self, audio: np.ndarray) -> bool:
        return self.remove_noise and snr_db(audio) < NOISY_BELOW_DB

    def _new_decoder(self, **options: Any) -> Any:
        import pocketsphinx

        return pocketsphinx.Decoder(
            **options,
            hmm=str(self._root / "en-us"),
            dict=str(self._root / "cmudict-en-us.dict"),
            lm=None,
            loglevel="FATAL",
            # Wider than the defaults (1e-48, 7e-29): with a thousand phrases the right
            # one was sometimes pruned away; this costs about twice the (small) time.
            beam=1e-55,
            wbeam=1e-35,
        )

    def _pronounceable(self, word: str) -> bool:
        """The dictionary knows `word`, or it can borrow a pronunciation (kept in `_borrowed`)."""
        lookup = self._decoder.lookup_word
        if word in self._borrowed or lookup(word) is not None:
            return True
        phones = borrowed_pronunciation(word, lookup)
        if phones is not None:
            self._borrowed[word] = phones
        return phones is not None

    def _add_grammar(self, decoder: Any, search: str = "commands") -> None:
        """The grammar as the search `search`; "examples": its slots filled with example values."""
        assert self.grammar is not None
        for word, phones in self._borrowed.items():
            if decoder.lookup_word(word) is None:
                decoder.add_word(word, phones, False)
        grammar = (
            self.grammar if search == "commands" else Grammar.from_phrases(self.grammar.examples())
        )
        graph = grammar.to_word_graph(self.wake_word)
        fsg = decoder.create_fsg(search, graph.start, graph.final, graph.transitions())
        decoder.add_fsg(search, fsg)

    def _stream_decoders(self) -> list[Any]:
        """The grammar and phone-loop decoders of streaming sessions (their own: see `open_session`).

        Built on first use (about 0.2 s each), in the session's thread, so while the person speaks.
        """
        with self._building:
            if not self._streaming:
                # Without the lattice search at the end (a quarter of a second with a thousand
                # phrases): the best path as decoded stands.
                grammar = self._new_decoder(bestpath=False)
                phones, meter = self._new_decoder(), self._new_decoder()
                self._add_grammar(grammar)
                grammar.activate_search("commands")
                for decoder in (phones, meter):
                    decoder.add_allphone_file("phones", str(self._root / "en-us-phone.lm.bin"))
                    decoder.activate_search("phones")
                self._streaming = [grammar, phones, meter]
            return self._streaming[:2]

    def _cepstral_mean(self, samples: np.ndarray) -> str:
        """The cepstral mean of `samples`, measured by a decoder that only ever sees whole utterances.

        (Once a decoder has decoded live, even its whole-utterance mean follows its running one.)
        """
        meter = self._streaming[2]
        meter.start_utt()
        meter.process_raw(samples.tobytes(), True, True)  # features only, no search
        meter.end_utt()
        return str(meter.get_cmn(False))

    def strip_wake_word(self, text: str) -> str:
        return self.wake.split(text)[1] if self.wake else text

    def _prepare(self, audio: np.ndarray) -> np.ndarray:
        """At least `EDGE_S` of quiet at each end (padded where the audio has less), dithered."""
        levels = frame_levels(audio)
        loud = loud_level(levels)
        lead = tail = 0.0
        if len(loud):
            lead, tail = loud[0] / 100.0, (len(levels) - 1 - loud[-1]) / 100.0
        padded = np.concatenate(
            [
                np.zeros(padding_samples(lead), np.int16),
                audio,
                np.zeros(padding_samples(tail), np.int16),
            ]
        )
        # The same dither every time, so that the same audio always gives the same answer.
        return dither(padded, np.random.default_rng(0))

    def _decode(self, search: str, samples: np.ndarray) -> tuple[str, float, int]:
        """Best hypothesis, its natural-log score and the number of frames."""
        decoder = self._decoder
        decoder.activate_search(search)
        decoder.start_utt()
        decoder.process_raw(samples.tobytes(), False, True)
        decoder.end_utt()
        return best_of(decoder)


def best_of(decoder: Any) -> tuple[str, float, int]:
    """The finished utterance's best hypothesis, its natural-log score and the number of frames."""
    hypothesis = decoder.hyp()
    if hypothesis is None or hypothesis.score <= 0:
        return "", -1e9 / 1000.0, decoder.n_frames()
    return hypothesis.hypstr, math.log(hypothesis.score), decoder.n_frames()


def frame_levels(audio: np.ndarray) -> np.ndarray:
    """RMS of each whole 10 ms step."""
    step = SAMPLE_RATE_HZ // 100
    count = len(audio) // step
    samples = audio[: count * step].astype(np.float32).reshape(count, step)
    return np.sqrt(np.mean(samples**2, axis=1)) if count else np.zeros(0, np.float32)


def loud_level(levels: np.ndarray) -> np.ndarray:
    """Indexes of the steps that are not quiet."""
    if not len(levels):
        return np.zeros(0, np.int64)
    return np.flatnonzero(levels >= max(QUIET_RMS, 2.0 * float(np.min(levels))))


def padding_samples(quiet_s: float) -> int:
    """Samples of silence to add to an end that has `quiet_s` of quiet."""
    return int(max(0.0, EDGE_S - quiet_s) * SAMPLE_RATE_HZ)


def dither(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`samples` plus quiet noise from `rng` (pocketsphinx's noise tracking fails on exact zeros)."""
    noisy = samples.astype(np.float32) + rng.normal(0.0, _DITHER, len(samples)).astype(np.float32)
    return np.clip(noisy, -32768, 32767).astype(np.int16)
