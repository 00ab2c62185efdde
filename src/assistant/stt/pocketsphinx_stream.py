"""Pocketsphinx decoding while the user speaks: at the end of an utterance only its last frames remain.

The batch recogniser (`assistant.stt.pocketsphinx`) opens these sessions; the voice session's
follower feeds them frame by frame.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.errors import RecognitionError
from assistant.stt.base import Transcript
from assistant.stt.pocketsphinx import (
    EDGE_S,
    QUIET_RMS,
    best_of,
    dither,
    frame_levels,
    loud_level,
    padding_samples,
)

if TYPE_CHECKING:
    from assistant.stt.pocketsphinx import PocketsphinxRecognizer

log = logging.getLogger(__name__)

STREAMED_TRUST_MARGIN = 0.5
"""A phrase decoded while heard stands when taken outright (`stt/acceptance.json`, whose margin is
above this) with at least this margin; otherwise dictation decides. (On 2 x 130 espeak commands,
one voice or a different voice each time, a threshold of 0.5 left as many right and no more wrong
acceptances than batch decoding alone; with 0 there were more wrong ones when the voice kept
changing.)"""


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
            (text, grammar_score, frames), (phones, phone_score, _) = decoding.results()
        except RecognitionError as error:
            log.warning("%s; decoding the utterance again", error)
            return recognizer.transcribe(audio)
        heard = recognizer._judge(
            text,
            grammar_score - phone_score,
            frames,
            audio,
            started,
            denoised=False,
            streamed=True,
            phones=phones,
        )
        if _trusted(heard) and not self._primed:
            return recognizer.transcribe(audio)  # the running mean had no voice yet: check it
        # Not taken outright: dictation decides at once, with this phrase as the grammar's guess.
        # (Decoding it again the batch way cost about a second of CPU for a few seconds of
        # speech, against Whisper's tenth of one, and rarely changed the verdict.)
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
        prepared = dither(samples, self._rng)
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
        self._results = [best_of(decoder) for decoder in self._decoders]

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


def _lead_padding(head: np.ndarray) -> int | None:
    """The padding `_prepare` will put in front of an utterance that starts with `head`.

    None while that cannot be told: the quiet threshold depends on the quietest step of
    the whole utterance, so the first loud step must be the same under the lowest and the
    highest threshold still possible. (Should the whole utterance turn out to have no loud
    step, `PocketsphinxSession.finish` sees the difference.)
    """
    levels = frame_levels(head)
    lowest = np.flatnonzero(levels >= QUIET_RMS)
    highest = loud_level(levels)
    if len(lowest) and len(highest) and lowest[0] == highest[0]:
        return padding_samples(lowest[0] / 100.0)
    if len(lowest) == 0 and len(levels) >= round(EDGE_S * 100):
        return 0
    return None
