"""What a Wyoming server offers, built once from the assistant's settings before it listens."""

from __future__ import annotations

import logging
import shutil
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wyoming.info import Info

from assistant.wyoming.asr import Transcriber
from assistant.wyoming.handle import Conversations, OpenSession
from assistant.wyoming.info import describe
from assistant.wyoming.tts import Voices
from assistant.wyoming.wake import WakeModel
from assistant.wyoming.wire import Limits

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the server offers; a part left None (or empty) is not offered."""

    info: Info
    transcriber: Transcriber | None = None
    voices: Voices | None = None
    wake_models: list[WakeModel] = field(default_factory=list)
    conversations: Conversations | None = None
    limits: Limits = field(default_factory=Limits)
    loading: Future[None] | None = None
    """Speech-to-text loading on the transcription thread (`build_services(wait=False)`)."""

    def close(self) -> None:
        if self.conversations is not None:
            self.conversations.close()
        if self.transcriber is not None:
            self.transcriber.close()


def build_services(
    app: Any,
    open_session: OpenSession | None = None,
    asr: bool = True,
    tts: bool = True,
    wake: bool = True,
    handle: bool = True,
    wait: bool = True,
) -> Services:
    """Load the engines now, so that `describe` is answered at once (Home Assistant waits 1 s).

    `wait=False`: speech-to-text goes on loading on its own thread (`Services.loading`), where
    the first transcription waits for it; turns and speech are served meanwhile."""
    settings = app.settings
    language = settings.general.language
    transcriber = None
    if asr:
        transcriber = Transcriber(
            command_recognizer(app),
            language,
            sample_sentences(app),
            settings.wyoming.transcription_niceness,
        )
    voices = Voices.checked(candidate_voices(app), language) if tts else None
    wake_models = [WakeModel.find(spec) for spec in settings.wyoming.wake_models] if wake else []
    conversations = None
    if handle:
        app.brain()  # the classifier is trained or loaded now, not on the first request
        conversations = Conversations(
            open_session or _session_opener(app), settings.wyoming.max_conversations
        )
    # Last: loading Whisper on its thread must not slow down the rest of the start.
    loading = transcriber.warm(wait) if transcriber is not None else None
    info = describe(
        transcriber.asr_name() if transcriber else None,
        voices,
        wake_models,
        conversations is not None,
        language,
    )
    return Services(
        info,
        transcriber,
        voices,
        wake_models,
        conversations,
        Limits.from_settings(settings.wyoming),
        loading,
    )


def sample_sentences(app: Any) -> list[str]:
    """The skills' sample sentences, examples filled in: the spellings the `asr` may borrow."""
    return [text for _skill, _action, text in app.catalog().utterances()]


def command_recognizer(app: Any) -> Any:
    """The skills' command grammar backed by dictation, as the voice loop builds it (the satellite
    pipeline uses it; the `asr` service uses only its dictation engine)."""
    from assistant.stt.engines import make_commands, make_dictation
    from assistant.stt.grammar import skill_phrases

    settings = app.settings
    phrases = skill_phrases(app.catalog())
    dictation = make_dictation(settings.stt, app.home.models)
    return make_commands(
        settings.stt, app.home.models, phrases, settings.listener.wake_word, dictation
    )


def candidate_voices(app: Any) -> dict[str, Any]:
    """The configured voice first (Home Assistant's default), then the other Piper voices in
    $ASSISTANT_HOME/models/piper, then espeak-ng; by the names Home Assistant will show."""
    from assistant.tts import make_synthesizer

    tts = app.settings.tts
    voices_dir = app.home.models / "piper"
    configured = make_synthesizer(tts, app.home.cache, voices_dir)
    candidates = {_voice_name(tts.engine, tts.voice): configured}
    if tts.engine == "piper":
        for model in sorted(voices_dir.glob("**/*.onnx")):
            settings = tts.model_copy(update={"voice": str(model)})
            candidates.setdefault(model.stem, make_synthesizer(settings, app.home.cache))
    if tts.engine != "espeak" and shutil.which("espeak-ng"):
        espeak = tts.model_copy(update={"engine": "espeak", "voice": ""})
        candidates.setdefault("espeak-ng", make_synthesizer(espeak, app.home.cache))
    return candidates


def _voice_name(engine: str, voice: str) -> str:
    if engine == "piper":
        from assistant.tts.piper import BUNDLED_VOICE

        return Path(voice).stem if voice else BUNDLED_VOICE
    return f"{engine}-{voice}" if voice else ("espeak-ng" if engine == "espeak" else engine)


def _session_opener(app: Any) -> OpenSession:
    return lambda conversation_id, room: app.open_session(session_id=conversation_id, room=room)
