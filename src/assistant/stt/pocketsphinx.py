"""Command recognition with pocketsphinx: a word graph of the skills' phrases, with rejection.

A grammar search always answers with *some* phrase, so every utterance is
decoded twice: against the grammar and against a free phone loop. Speech the
grammar fits scores about as well as the phone loop; speech it does not fit
scores clearly worse per frame. That margin is the rejection test
(scripts/bench_voice.py measures it).
"""

from __future__ import annotations

import functools
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio.denoise import NOISY_BELOW_DB, denoise, snr_db
from assistant.errors import RecognitionError
from assistant.stt.base import Transcript
from assistant.stt.grammar import Grammar, borrowed_pronunciation
from assistant.stt.wake import wake_phrase

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
ACCEPT_MARGIN = 0.0
"""Grammar-minus-phone-loop log score per frame (x1000) at or above which a phrase is accepted outright."""
PLAUSIBLE_MARGIN = -0.5
"""Between this and ACCEPT_MARGIN a phrase is uncertain: a second opinion decides, or, without one, it stands."""

STREAMED_TRUST_MARGIN = 0.5
"""A phrase decoded while heard stands only when accepted with at least this margin; otherwise the
utterance is decoded again the batch way. (On 2 x 130 espeak commands, one voice or a different
voice each time, a threshold of 0.5 left as many right and no more wrong acceptances than batch
decoding alone; with 0 there were more wrong ones when the voice kept changing.)"""

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
            except (ValueError, RuntimeError) as error:
                raise RecognitionError(
                    f"pocketsphinx: cannot build the command grammar: {error}"
                ) from None
            self._decoder.add_allphone_file("phones", str(self._root / "en-us-phone.lm.bin"))
        self._phrases = set(self.grammar.phrases) if self.grammar else set()
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
        text, grammar_score, frames = self._decode("commands", samples)
        _, phone_score, _ = self._decode("phones", samples)
        return self._judge(
            text,
            grammar_score - phone_score,
            frames,
            audio,
            started,
            denoised=noisy,
            streamed=False,
        )

    def open_session(self, partials: bool = False) -> PocketsphinxSession:
        """Start decoding an utterance frame by frame, as it is heard (see `PocketsphinxSession`).

        Sessions have their own two decoders, so `transcribe` is not disturbed by them (a
        decoder's state carries over from one utterance to the next). One session at a time:
        an unfinished earlier one is cancelled. The first session is decoded the batch way at its
        end, so it follows the audio only when `partials` are wanted.
        """
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
    ) -> Transcript:
        """Accept, doubt or reject the grammar's phrase by its margin over the phone loop."""
        margin = score_difference * 1000.0 / max(frames, 1)
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
                "denoised": denoised,
                "streamed": streamed,
            },
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

    def _add_grammar(self, decoder: Any) -> None:
        assert self.grammar is not None
        for word, phones in self._borrowed.items():
            decoder.add_word(word, phones, False)
        graph = self.grammar.to_word_graph(self.wake_word)
        fsg = decoder.create_fsg("commands", graph.start, graph.final, graph.transitions())
        decoder.add_fsg("commands", fsg)

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
        """At least `_EDGE_S` of quiet at each end (padded where the audio has less), dithered."""
        levels = _levels(audio)
        loud = _loud(levels)
        lead = tail = 0.0
        if len(loud):
            lead, tail = loud[0] / 100.0, (len(levels) - 1 - loud[-1]) / 100.0
        padded = np.concatenate(
            [np.zeros(_padding(lead), np.int16), audio, np.zeros(_padding(tail), np.int16)]
        )
        # The same dither every time, so that the same audio always gives the same answer.
        return _dither(padded, np.random.default_rng(0))

    def _decode(self, search: str, samples: np.ndarray) -> tuple[str, float, int]:
        """Best hypothesis, its natural-log score and the number of frames."""
        decoder = self._decoder
        decoder.activate_search(search)
        decoder.start_utt()
        decoder.process_raw(samples.tobytes(), False, True)
        decoder.end_utt()
        return _best(decoder)


class PocketsphinxSession:
    """One utterance decoded while it is being heard: at its end only the last frames remain.

    Frames go, padded and dithered as `transcribe` would prepare them, to a thread that feeds
    them to the grammar search and to the phone loop. (The two cannot usefully run in two
    threads: pocketsphinx's Python binding keeps the GIL while it decodes.) Unlike
    `transcribe`, the features are normalised with a running cepstral mean, not the
    utterance's own; `finish` falls back to `transcribe` when the streamed samples are not
    what it would decode.

    The running mean starts from the mean of the previous utterance (the same voice and
    microphone, most likely); from pocketsphinx's default it misheard whole words. So the first
    utterance, with no previous one, is decoded the batch way too, and so is any whose phrase
    was not accepted with a clear margin: the two ways disagree most there.
    """

    def __init__(self, recognizer: PocketsphinxRecognizer, partials: bool = False):
        self._recognizer = recognizer
        self._heard: list[np.ndarray] = []
        self._sent: list[np.ndarray] = []
        self._started = False
        self._rng = np.random.default_rng(0)
        self._primed = recognizer._previous is not None
        # Unprimed, the streamed verdict would be thrown away for a batch decoding: unless
        # partial results are wanted, save the CPU.
        self._decoding = (
            _Decoding(recognizer._stream_decoders, self._cepstral_mean)
            if recognizer.grammar is not None and (self._primed or partials)
            else None
        )

    def _cepstral_mean(self) -> str | None:
        previous = self._recognizer._previous
        return self._recognizer._cepstral_mean(previous) if previous is not None else None

    def feed(self, frame: np.ndarray) -> None:
        """The utterance's next samples (int16, 16 kHz); decoded in the background."""
        self._heard.append(frame)
        if self._decoding is None:
            return
        if not self._started:
            # The padding in front depends on where speech starts: wait until that is known.
            padding = _lead_padding(self.heard())
            if padding is None:
                return
            self._started = True
            self._send(np.concatenate([np.zeros(padding, np.int16), self.heard()]))
        else:
            self._send(frame)

    def heard(self) -> np.ndarray:
        """Everything fed so far."""
        return np.concatenate(self._heard) if self._heard else np.zeros(0, np.int16)

    def partial(self) -> str:
        """The grammar's best phrase so far (waits for the decoding to catch up)."""
        return self._decoding.partial() if self._decoding and self._started else ""

    def finish(self, audio: np.ndarray) -> Transcript:
        """The transcript of `audio`, the whole utterance, as `transcribe` would give it."""
        started = time.perf_counter()
        recognizer = self._recognizer
        noisy = recognizer._noisy(audio)
        prepared = recognizer._prepare(audio) if not noisy else np.zeros(0, np.int16)
        sent = np.concatenate(self._sent) if self._sent else np.zeros(0, np.int16)
        decoding, self._decoding = self._decoding, None
        if decoding is None or noisy or not np.array_equal(sent, prepared[: len(sent)]):
            # Not followed (the first utterance), denoised audio, or a start misjudged: decode it
            # all again, the batch way; its cepstral mean starts the next session.
            self._end(decoding)
            if not noisy and recognizer.grammar is not None:
                recognizer._previous = prepared
            return recognizer.transcribe(audio)
        decoding.feed(prepared[len(sent) :])
        recognizer._previous = prepared
        try:
            (text, grammar_score, frames), (_, phone_score, _) = decoding.results()
        except RecognitionError as error:
            log.warning("%s; decoding the utterance again", error)
            return recognizer.transcribe(audio)
        heard = recognizer._judge(
            text, grammar_score - phone_score, frames, audio, started, denoised=False, streamed=True
        )
        if not self._primed or not _trusted(heard):
            return recognizer.transcribe(audio)
        return heard

    def cancel(self) -> None:
        """Drop the utterance (it was too short to be speech, or the loop stopped)."""
        decoding, self._decoding = self._decoding, None
        self._end(decoding)

    @staticmethod
    def _end(decoding: _Decoding | None) -> None:
        """Wait for the decoders to finish what they were given, ready for the next session."""
        if decoding is not None:
            try:
                decoding.results()
            except RecognitionError as error:
                log.warning("%s", error)

    def _send(self, samples: np.ndarray) -> None:
        assert self._decoding is not None
        prepared = _dither(samples, self._rng)
        self._sent.append(prepared)
        self._decoding.feed(prepared)


class _Decoding:
    """Decoders fed the same samples, in order, in a background thread."""

    def __init__(self, decoders: Callable[[], list[Any]], cmn: Callable[[], str | None]):
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue()
        self._results: list[tuple[str, float, int]] = []
        self._error: BaseException | None = None
        self._decoders: list[Any] = []
        self._thread = threading.Thread(
            target=self._run, args=(decoders, cmn), name="pocketsphinx-stream", daemon=True
        )
        self._thread.start()

    def feed(self, samples: np.ndarray) -> None:
        self._queue.put(samples)

    def partial(self) -> str:
        self._queue.join()
        hypothesis = self._decoders[0].hyp() if self._decoders else None
        return hypothesis.hypstr if hypothesis else ""

    def results(self) -> list[tuple[str, float, int]]:
        """Each decoder's best hypothesis, score and frame count, once all is decoded."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise RecognitionError(f"pocketsphinx: streaming failed: {self._error}")
        return self._results

    def _run(self, decoders: Callable[[], list[Any]], cmn: Callable[[], str | None]) -> None:
        self._guarded(lambda: self._start(decoders, cmn))
        while (samples := self._queue.get()) is not None:
            self._guarded(functools.partial(self._decode, samples.tobytes()))
            self._queue.task_done()
        self._queue.task_done()
        self._guarded(self._end)

    def _start(self, decoders: Callable[[], list[Any]], cmn: Callable[[], str | None]) -> None:
        self._decoders = decoders()
        mean = cmn()
        for decoder in self._decoders:
            if mean is not None:
                decoder.set_cmn(mean)
            decoder.start_utt()

    def _decode(self, data: bytes) -> None:
        if not data:  # pocketsphinx fails on an empty buffer
            return
        for decoder in self._decoders:
            decoder.process_raw(data, False, False)

    def _end(self) -> None:
        for decoder in self._decoders:
            decoder.end_utt()
        self._results = [_best(decoder) for decoder in self._decoders]

    def _guarded(self, step: Callable[[], object]) -> None:
        """Run `step` unless an earlier one failed; keep its error for `results`."""
        if self._error is None:
            try:
                step()
            except Exception as error:  # engine boundary: the utterance is decoded again, batch
                self._error = error


def _trusted(heard: Transcript) -> bool:
    """Whether a phrase decoded while heard may stand (see STREAMED_TRUST_MARGIN)."""
    return bool(heard.in_grammar) and heard.details["margin"] >= STREAMED_TRUST_MARGIN


def _best(decoder: Any) -> tuple[str, float, int]:
    """The finished utterance's best hypothesis, its natural-log score and the number of frames."""
    hypothesis = decoder.hyp()
    if hypothesis is None or hypothesis.score <= 0:
        return "", -1e9 / 1000.0, decoder.n_frames()
    return hypothesis.hypstr, math.log(hypothesis.score), decoder.n_frames()


def _levels(audio: np.ndarray) -> np.ndarray:
    """RMS of each whole 10 ms step."""
    step = SAMPLE_RATE_HZ // 100
    count = len(audio) // step
    samples = audio[: count * step].astype(np.float32).reshape(count, step)
    return np.sqrt(np.mean(samples**2, axis=1)) if count else np.zeros(0, np.float32)


def _loud(levels: np.ndarray) -> np.ndarray:
    """Indexes of the steps that are not quiet."""
    if not len(levels):
        return np.zeros(0, np.int64)
    return np.flatnonzero(levels >= max(_QUIET_RMS, 2.0 * float(np.min(levels))))


def _padding(quiet_s: float) -> int:
    """Samples of silence to add to an end that has `quiet_s` of quiet."""
    return int(max(0.0, _EDGE_S - quiet_s) * SAMPLE_RATE_HZ)


def _lead_padding(head: np.ndarray) -> int | None:
    """The padding `_prepare` will put in front of an utterance that starts with `head`.

    None while that cannot be told: the quiet threshold depends on the quietest step of
    the whole utterance, so the first loud step must be the same under the lowest and the
    highest threshold still possible. (Should the whole utterance turn out to have no loud
    step, `PocketsphinxSession.finish` sees the difference.)
    """
    levels = _levels(head)
    lowest = np.flatnonzero(levels >= _QUIET_RMS)
    highest = _loud(levels)
    if len(lowest) and len(highest) and lowest[0] == highest[0]:
        return _padding(lowest[0] / 100.0)
    if len(lowest) == 0 and len(levels) >= round(_EDGE_S * 100):
        return 0
    return None


def _dither(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`samples` plus quiet noise from `rng` (pocketsphinx's noise tracking fails on exact zeros)."""
    noisy = samples.astype(np.float32) + rng.normal(0.0, _DITHER, len(samples)).astype(np.float32)
    return np.clip(noisy, -32768, 32767).astype(np.int16)
