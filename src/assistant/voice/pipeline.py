"""The one builder of the voice pipeline: the engines every voice session shares, from the settings.

The CLI (`listen`), the benchmarks and any server ask a `VoicePipeline` for a
`VoiceSession`; nothing else wires listener, wake word, recognisers and voice.
Models load once, lazily, and `warm()` loads them in the background while the
first audio arrives: the skills' phrases as the grammar, Whisper, the voice, the
wake-word model and the intent classifier.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from assistant.audio.listener import Listener
from assistant.errors import AssistantError
from assistant.events import Notification, Progress, TurnEvent
from assistant.stt.base import Recognizer
from assistant.stt.wake import WakePhrase, wake_phrase
from assistant.tts.base import Speech
from assistant.voice.output import SinkOutput
from assistant.voice.session import VoiceOutput, VoiceSession, WakeMode

log = logging.getLogger(__name__)


class VoicePipeline:
    """Builds voice sessions for an assistant (`assistant.runtime.Assistant`)."""

    def __init__(self, assistant: Any, dictation: Recognizer | None = None, synthesizer: Any = None):
        """`dictation`, `synthesizer`: engines already loaded (a Wyoming server's), to share."""
        self.assistant = assistant
        self.settings = assistant.settings
        self._lock = threading.Lock()
        self._dictation: Recognizer | None = dictation
        self._synthesizer: Any = synthesizer
        self._phrases: list[str] | None = None
        self._detector_failed = False

    # -- shared engines, built once ---------------------------------------------------

    def phrases(self) -> list[str]:
        """The skills' sentences: the command grammar."""
        with self._lock:
            if self._phrases is None:
                from assistant.stt.grammar import skill_phrases

                self._phrases = skill_phrases(self.assistant.catalog())
            return self._phrases

    def dictation(self) -> Recognizer:
        """The free-speech engine (Whisper), shared by every session."""
        from assistant.stt.engines import make_dictation

        with self._lock:
            if self._dictation is None:
                self._dictation = make_dictation(self.settings.stt, self.assistant.home.models)
            return self._dictation

    def synthesizer(self) -> Any:
        """The voice, shared by every session (it speaks sentence by sentence)."""
        from assistant.tts import make_synthesizer

        with self._lock:
            if self._synthesizer is None:
                self._synthesizer = make_synthesizer(
                    self.settings.tts, self.assistant.home.cache, self.assistant.home.models / "piper"
                )
            return self._synthesizer

    def warm(self, dictation: bool = True) -> list[threading.Thread]:
        """Load what a first request needs in background threads (returned), while the first
        words are heard: the intent classifier, the voice and, unless `dictation` is False,
        Whisper (every sentence with free text in it needs it). The skills' workers are started
        by `Assistant.start_background` for a conversation that lasts."""
        jobs = [lambda: self.assistant.brain().understand("hello"), lambda: self.synthesizer().load()]
        if dictation:
            jobs.append(lambda: getattr(self.dictation(), "load", lambda: None)())
        threads = [threading.Thread(target=_logged(job), name="voice-warm", daemon=True) for job in jobs]
        for thread in threads:
            thread.start()
        return threads

    # -- sessions ---------------------------------------------------------------------

    def open_session(
        self,
        output: VoiceOutput,
        wake_word: bool = True,
        once: bool = False,
        conversation: Any = None,
        gate: Callable[[], bool] | None = None,
        echo_cancellation: bool = False,
        echo_delay_s: float = 0.0,
    ) -> VoiceSession:
        """A voice session speaking and emitting to `output`, with its own conversation.

        `wake_word`: False answers every utterance (as the "push_to_talk" and "always" modes
        do); True follows `[listener] mode`. `gate`: frames count only while it says True.
        `echo_cancellation`: whether the session cancels its echo when `[listener]
        echo_cancellation` is unset; `echo_delay_s`: how late its echo may come, beyond the
        canceller's tail (its delay is then estimated).
        """
        from assistant.stt.engines import make_commands

        listener_settings = self.settings.listener
        required = wake_word and listener_settings.mode == "wake_word"
        detector = self._detector() if required else None
        mode: WakeMode = "audio" if detector is not None else ("transcript" if required else "none")
        phrase = wake_phrase(detector.wake_word if detector is not None else listener_settings.wake_word)
        recognizer = make_commands(
            self.settings.stt,
            self.assistant.home.models,
            self.phrases(),
            phrase.phrase if phrase is not None else None,
            self.dictation(),
        )
        voice: VoiceSession
        if conversation is None:
            conversation = self._conversation(lambda: voice, output)
        voice = VoiceSession(
            conversation,
            recognizer,
            self.synthesizer(),
            output,
            Listener(listener_settings),
            wake_mode=mode,
            detector=detector,
            wake_phrase=phrase,
            duck=self._duck,
            once=once,
            gate=gate,
            echo=self._echo_canceller(echo_cancellation, echo_delay_s),
            chime=wake_chime() if getattr(listener_settings, "wake_chime", False) else None,
            echo_delay_s=echo_delay_s,
        )
        return voice

    def _echo_canceller(self, default: bool, delay_s: float) -> Any:
        """`[listener] echo_cancellation` (`default` when unset): a canceller for one session
        (its filter learns that room); None (and a warning) when off or when libspeexdsp cannot
        load."""
        wanted = getattr(self.settings.listener, "echo_cancellation", None)
        if not (default if wanted is None else wanted):
            return None
        try:
            from assistant.audio.echo import EchoCanceller

            return EchoCanceller(max_delay_s=delay_s)  # sessions hear 16 kHz
        except AssistantError as error:
            log.warning("%s; listening without echo cancellation", error)
            return None

    def _detector(self) -> Any:
        """The wake-word model on the audio; None (and a warning, once) when it cannot load."""
        model = getattr(self.settings.listener, "wake_word_model", "")
        if not model or self._detector_failed:
            return None
        try:
            from assistant.audio.wakeword import load_detector

            return load_detector(
                model,
                getattr(self.settings.listener, "wake_word_sensitivity", 0.5),
                getattr(self.settings.listener, "wake_word_refractory_s", 2.0),
            )
        except (AssistantError, ImportError) as error:
            self._detector_failed = True
            log.warning(
                "%s; listening for the wake phrase %r in transcripts instead",
                error,
                self.settings.listener.wake_word,
            )
            return None

    def _conversation(self, voice: Any, output: VoiceOutput) -> Any:
        """A conversation of the assistant's whose interim messages and notifications are spoken."""
        spoken = _SpokenEvents(voice, output)
        return _LazyConversation(lambda: self.assistant.open_session(output=spoken))

    def _duck(self, on: bool) -> None:
        """The music (when the player has been started) goes down or comes back."""
        music = self.assistant.services().built().get("music")
        if music is not None:
            music.duck() if on else music.unduck()


def _logged(job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except AssistantError as error:
            log.warning("loading the voice models: %s", error)

    return run


class _LazyConversation:
    """Opens the assistant's conversation on first use, so that a voice session starts hearing
    while the intent classifier loads."""

    def __init__(self, open_conversation: Callable[[], Any]):
        self._open = open_conversation
        self._conversation: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._conversation is None:
                self._conversation = self._open()
            return self._conversation

    @property
    def expecting_reply(self) -> bool:
        return self._conversation is not None and bool(self._conversation.expecting_reply)

    def handle(self, text: str) -> Any:
        return self._get().handle(text)

    def answers_ring(self, text: str) -> bool:
        return bool(self._get().answers_ring(text))

    def close(self) -> None:
        if self._conversation is not None and hasattr(self._conversation, "close"):
            self._conversation.close()


class _SpokenEvents:
    """The conversation's output: interim messages and notifications are shown and spoken.

    Turns are left to the voice session, which emits them with what was heard and speaks them.
    """

    def __init__(self, voice: Any, output: VoiceOutput):
        self._voice = voice
        self._output = output

    def emit(self, event: Any) -> None:
        if isinstance(event, TurnEvent):
            return
        self._output.emit(event)
        if isinstance(event, Progress):
            self._voice().announce(event.text)
        elif isinstance(event, Notification):
            self._voice().announce(event.spoken, wait_for_user=True, rings=bool(event.data.get("rings")))


__all__ = ["SinkOutput", "VoicePipeline", "WakePhrase"]


def wake_chime(rate_hz: int = 22050) -> Speech:
    """Two short rising notes (E6, then B6; 70 ms each, faded in and out), quieter than speech."""
    notes = []
    for pitch_hz in (1318.5, 1975.5):
        t = np.arange(int(0.07 * rate_hz)) / rate_hz
        fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.01)
        notes.append(0.25 * np.sin(2 * np.pi * pitch_hz * t) * fade)
    samples = (np.concatenate(notes) * 32767).astype(np.int16)
    return Speech(samples=samples, sample_rate_hz=rate_hz)
