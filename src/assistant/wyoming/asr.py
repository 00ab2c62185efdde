"""Speech to text over Wyoming: `transcribe`, then `audio-start`/`-chunk`/`-stop`, answered by `transcript`.

Audio comes in whatever rate, width and channels the client announces and is
converted to the 16 kHz mono the recognisers take, chunk by chunk as it arrives.
The `asr` service transcribes what was said: the dictation engine's (Whisper's)
own words, casing and punctuation, as wyoming-faster-whisper returns them. The
skills' phrases only correct the spelling of a word when the whole transcript is
already nearly one of them (`snap_spelling`); the command grammar engine is not
consulted, so ordinary speech is never turned into the nearest command.

The satellite pipeline (`satellite_link`) shares the `Transcriber`'s dictation
engine; its commands are recognised by a voice session, as `listen` recognises them.

Transcriptions run one at a time on the transcriber's own thread, never on the
event loop's default pool: six clients sending a minute of audio each queue
there (one whose client has gone by its turn is dropped), while a conversation
turn or a synthesis on another connection (the default pool) takes about the
time it takes alone. That thread may run at a lower
CPU priority (`[wyoming] transcription_niceness`); the Whisper model is loaded on
it, so CTranslate2's worker threads, started with it, inherit the priority.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import numpy as np
from rapidfuzz import fuzz, process
from wyoming.event import Event

from assistant.stt.base import Recognizer, Transcript
from assistant.stt.grammar import normalise
from assistant.wyoming.wire import SAMPLE_RATE_HZ, AudioStream, Limits

log = logging.getLogger(__name__)

SNAP_SENTENCE = 90.0
"""rapidfuzz ratio (0-100) of the whole normalised transcript to a skill phrase above which that
phrase's spelling may correct Whisper's words."""
SNAP_WORD = 80.0
"""rapidfuzz ratio above which one word is taken as a spelling of the phrase's word."""
_MIN_SNAP_LETTERS = 4
"""Shorter words are left as Whisper wrote them ("on"/"off" are different commands)."""
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
    "ninety hundred thousand million billion first second third fourth fifth sixth seventh eighth "
    "ninth tenth eleventh twelfth half quarter".split()
)
"""Never respelt: "fifteen" and "fifty" are spelt alike and mean different things."""
TRANSCRIPTION_NICENESS = 0
"""The default of `[wyoming] transcription_niceness`: added to the nice value of the transcription
thread (and of the threads it starts), so that on a small machine long dictations yield the CPU
to conversation turns and syntheses. 0: the thread alone already keeps them from waiting, and a
nicer Whisper is slower whenever the machine has other work (README, Wyoming under load)."""


def lower_priority(niceness: int = TRANSCRIPTION_NICENESS) -> None:
    """Make the calling thread, and the threads it starts from now on, `niceness` nicer.

    Linux keeps a nice value per thread (`setpriority` on its native id); elsewhere it is the
    whole process's, so nothing is changed there."""
    if sys.platform != "linux" or niceness <= 0:
        return
    thread = threading.get_native_id()
    try:
        nice = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, nice + niceness))
    except OSError as error:
        log.info("transcriptions keep the normal priority: %s", error)


class Abandoned(Exception):
    """A queued transcription nobody waits for any more."""


class Transcriber:
    """The shared recogniser: the command grammar backed by Whisper (the satellite pipeline, as the
    voice loop uses it), and Whisper alone for the `asr` service (`dictate`)."""

    def __init__(
        self,
        recognizer: Recognizer,
        language: str = "en",
        phrases: Iterable[str] = (),
        niceness: int = TRANSCRIPTION_NICENESS,
    ):
        """`phrases`: the skills' sample sentences, whose spelling `dictate` may borrow;
        `niceness`: added to the transcription thread's nice value (`lower_priority`)."""
        self.recognizer = recognizer
        self.language = language
        dictation = getattr(recognizer, "dictation", None)
        self.dictation: Recognizer = dictation if dictation is not None else recognizer
        """The engine of the `asr` service (Whisper), alone: no grammar in front of it."""
        self.phrases = sorted({normalise(p) for p in phrases} - {""})
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(
            1, thread_name_prefix="transcription", initializer=lower_priority, initargs=(niceness,)
        )
        """Where the `asr` service's transcriptions run, one after another, at a lower priority."""
        self.abandoned = 0
        """Transcriptions dropped at their turn because their client had gone."""

    async def run(
        self,
        work: Callable[[np.ndarray], Transcript],
        audio: np.ndarray,
        wanted: Callable[[], bool] | None = None,
    ) -> Transcript:
        """`work(audio)` on the transcription thread, queued behind the transcriptions before it;
        `Abandoned` instead when `wanted()` says no once its turn comes (the client has gone)."""

        def turn(samples: np.ndarray) -> Transcript:
            if wanted is not None and not wanted():
                self.abandoned += 1
                raise Abandoned("the client left while its transcription waited")
            return work(samples)

        return await asyncio.get_running_loop().run_in_executor(self._worker, turn, audio)

    def close(self) -> None:
        """Transcriptions not yet started are dropped; the one running finishes."""
        self._worker.shutdown(wait=False, cancel_futures=True)

    def engine_name(self) -> str:
        """ "pocketsphinx+whisper": the grammar engine, then the dictation engine behind it."""
        parts = [
            getattr(self.recognizer, "grammar", None),
            getattr(self.recognizer, "dictation", None),
        ]
        names = [part.name for part in parts if part is not None]
        return "+".join(names) or self.recognizer.name

    def asr_name(self) -> str:
        """The engine the `asr` service answers with ("whisper")."""
        return self.dictation.name

    def warm(self, wait: bool = True) -> Future[None]:
        """Load the models now (a moment of silence), not on the first request; on the
        transcription thread, so that the engines' own threads share its lower priority.

        `wait=False` returns at once: a server answers what needs no speech-to-text meanwhile,
        and the first transcription queues behind the loading on that thread."""
        loading = self._worker.submit(self._warm)
        if wait:
            loading.result()
        return loading

    def _warm(self) -> None:
        self.transcribe(np.zeros(SAMPLE_RATE_HZ // 2, np.int16))
        if self.dictation is not self.recognizer:
            # The grammar engine may have been sure of the silence without asking Whisper.
            self.dictate(np.zeros(SAMPLE_RATE_HZ // 2, np.int16))

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """The command, as the voice loop hears it (the satellite pipeline)."""
        with self._lock:
            return self.recognizer.transcribe(audio)

    def dictate(self, audio: np.ndarray) -> Transcript:
        """What was said, as the dictation engine writes it, a word respelt as a skill phrase
        spells it only where the whole transcript is nearly that phrase (`snap_spelling`)."""
        from assistant.stt.whisper import WhisperRecognizer

        with self._lock:
            if isinstance(self.dictation, WhisperRecognizer):
                heard = self.dictation.transcribe(audio, free=True)
            else:
                heard = self.dictation.transcribe(audio)
        text = snap_spelling(heard.text, self.phrases)
        if text == heard.text:
            return heard
        log.debug("%r respelt as %r", heard.text, text)
        return replace(heard, text=text, details={**heard.details, "dictated": heard.text})


class Transcription:
    """One `transcribe` request on one connection: the audio is converted as it arrives (within
    `[wyoming] max_audio_s`) and dictated at `audio-stop`."""

    def __init__(
        self,
        transcriber: Transcriber,
        limits: Limits,
        language: str | None = None,
        wanted: Callable[[], bool] | None = None,
    ):
        """`wanted()`: whether the client still waits (asked when the transcription's turn comes)."""
        self.transcriber = transcriber
        self.language = language or transcriber.language
        self.audio = AudioStream(limits.max_audio_s)
        self.wanted = wanted

    def chunk(self, data: dict[str, object], payload: bytes) -> None:
        self.audio.convert(data, payload)

    async def finish(self) -> Event | None:
        """The `transcript` for everything heard; None when the client left before its turn."""
        from wyoming.asr import Transcript as TranscriptEvent

        try:
            heard = await self.transcriber.run(self.transcriber.dictate, self.audio.samples(), self.wanted)
        except Abandoned as gone:
            log.info("%s (%.1f s of audio not decoded)", gone, self.audio.duration_s)
            return None
        log.info(
            "transcribed %.1f s in %.2f s: %r", self.audio.duration_s, heard.elapsed_s, heard.text
        )
        return TranscriptEvent(text=heard.text, language=self.language).event()

    def cancel(self) -> None:
        """The request is abandoned (an error, the client gone): nothing is being decoded yet."""


def snap_spelling(text: str, phrases: list[str]) -> str:
    """`text` with a word respelt as the nearest skill phrase spells it, or `text` unchanged.

    Only when the whole normalised transcript is within SNAP_SENTENCE of one phrase, word for word
    (the same number of words), and every word that differs is a spelling of the phrase's word:
    at least SNAP_WORD alike, four letters or more, not a number, not the same word with an ending
    added ("timer"/"timers"). Whisper's casing and punctuation are kept; numbers stay as it wrote
    them. Anything else, and so anything that is not one of the commands, is left as it was said.
    """
    tokens = text.split()
    spoken = [normalise(token).split() for token in tokens]
    words = " ".join(word for parts in spoken for word in parts)
    if not words or not phrases:
        return text
    best = process.extractOne(words, phrases, scorer=fuzz.ratio, score_cutoff=SNAP_SENTENCE)
    if best is None or best[0] == words:
        return text
    target = best[0].split()
    if len(target) != len(words.split()):
        return text
    respelt: list[str] = []
    position = 0
    for token, parts in zip(tokens, spoken, strict=True):
        wanted = target[position : position + len(parts)]
        position += len(parts)
        if parts == wanted:
            respelt.append(token)
        elif len(parts) == 1 and _spelling_of(parts[0], wanted[0]):
            respelt.append(_respell(token, parts[0], wanted[0]))
        else:
            return text
    return " ".join(respelt)


def _spelling_of(heard: str, phrase_word: str) -> bool:
    """`heard` is another spelling of `phrase_word` (not another word, number or form of it)."""
    if min(len(heard), len(phrase_word)) < _MIN_SNAP_LETTERS:
        return False
    if heard in _NUMBER_WORDS or phrase_word in _NUMBER_WORDS:
        return False
    if heard.startswith(phrase_word) or phrase_word.startswith(heard):
        return False
    return fuzz.ratio(heard, phrase_word) >= SNAP_WORD


def _respell(token: str, heard: str, phrase_word: str) -> str:
    """The token ("Spotifi,") with its word replaced ("Spotify,"), punctuation and capital kept."""
    lower = token.lower()
    start = lower.find(heard[:1])
    end = lower.rfind(heard[-1:]) + 1
    if start < 0 or end <= start:
        return token
    word = phrase_word
    if token[start].isupper():
        word = word.upper() if token[start:end].isupper() and len(word) > 1 else word.capitalize()
    return token[:start] + word + token[end:]
