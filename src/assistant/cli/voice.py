"""`assistant listen`, `transcribe`, `say` and `devices`: the voice commands."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from assistant.cli.output import Printer, show_notices
from assistant.errors import AudioError
from assistant.text import visible


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    listen = subparsers.add_parser(
        "listen",
        help="talk to the assistant (microphone, an audio file, or raw PCM on stdin)",
        description="The voice loop: hear, understand, answer aloud.",
    )
    listen.add_argument(
        "--input",
        default="mic",
        metavar="SOURCE",
        help='"mic" (default: [audio] input), a microphone\'s name or number from `assistant devices`,'
        ' an audio file, or "-" for 16 kHz 16-bit mono PCM on stdin',
    )
    listen.add_argument(
        "--output",
        default="speaker",
        metavar="SINK",
        help='"speaker" (default: [audio] output), a speaker\'s name or number from `assistant'
        ' devices`, a FILE.wav to write the replies to, or "null"',
    )
    listen.add_argument("--once", action="store_true", help="stop after the first answered request")
    listen.add_argument("--json", action="store_true", help="print one JSON object per utterance")
    listen.add_argument(
        "--wake-word",
        action="store_true",
        help="answer only what follows the wake word (the default, for files too, in the"
        ' "wake_word" listening mode)',
    )
    listen.add_argument(
        "--no-wake-word",
        action="store_true",
        help="answer every utterance: only for a recording of commands, never of other speech",
    )
    listen.add_argument(
        "--max-duration",
        type=float,
        default=3600.0,
        metavar="S",
        help="read at most this many seconds of an input file (default 3600)",
    )
    listen.set_defaults(handler=run_listen)

    transcribe = subparsers.add_parser("transcribe", help="print the words spoken in an audio file")
    transcribe.add_argument(
        "file", help="any audio file (WAV, FLAC, OGG, MP3, or what ffmpeg reads)"
    )
    transcribe.add_argument(
        "--engine",
        choices=["auto", "whisper", "vosk", "pocketsphinx"],
        default=None,
        help="dictation engine (default: [stt] dictation)",
    )
    transcribe.add_argument(
        "--max-duration",
        type=float,
        default=600.0,
        metavar="S",
        help="transcribe at most this many seconds (default 600)",
    )
    transcribe.add_argument("--json", action="store_true", help="print one JSON object")
    transcribe.set_defaults(handler=run_transcribe)

    say = subparsers.add_parser("say", help="speak a text aloud or into a WAV file")
    say.add_argument("text", nargs="+")
    say.add_argument(
        "--output",
        default="speaker",
        metavar="SINK",
        help='"speaker" (default: [audio] output), a speaker\'s name or number from `assistant'
        ' devices`, a FILE.wav, or "null"',
    )
    say.add_argument("--voice", help="voice name (default: [tts] voice)")
    say.add_argument(
        "--rate", type=int, metavar="WPM", help="words per minute (default: [tts] rate_wpm)"
    )
    say.set_defaults(handler=run_say)

    devices = subparsers.add_parser(
        "devices",
        help="list microphones and speakers (the sound server's sources and sinks)",
        description="The microphones and speakers, by the names --input, --output and"
        " [audio] input/output take (a number works too).",
    )
    devices.add_argument("--json", action="store_true", help="print one JSON object")
    devices.set_defaults(handler=run_devices)


def run_listen(args: argparse.Namespace, app: Any) -> int:
    import asyncio

    from assistant.audio.sinks import open_sink
    from assistant.audio.sources import MicrophoneSource, open_source
    from assistant.voice import SinkOutput, VoicePipeline

    if args.wake_word and args.no_wake_word:
        print("assistant: choose --wake-word or --no-wake-word, not both", file=sys.stderr)
        return 2
    printer = Printer(as_json=args.json)
    source = open_source(args.input, app.settings.audio.input, max_duration_s=args.max_duration)
    live = isinstance(source, MicrophoneSource)
    if isinstance(source, MicrophoneSource):
        source.check()  # no such microphone, or no sound at all: say so before loading anything
    sink = open_sink(args.output, app.settings.audio.output, app.mixer())
    push = None
    if app.settings.listener.mode == "push_to_talk" and live:
        from assistant.audio.push_to_talk import PushToTalk

        push = PushToTalk(on_ready=lambda: print("Press Enter, then speak.", file=sys.stderr))
    try:
        app.brain(background=True)  # a fresh home answers at once, with the lexical matcher
        show_notices(app, printer)
        pipeline = VoicePipeline(app)
        pipeline.warm()
        events = _ListenEvents(printer, args.json)
        session = pipeline.open_session(
            SinkOutput(sink, events),
            wake_word=not args.no_wake_word,
            once=args.once,
            gate=(lambda: push.is_open) if push is not None else None,
        )
        if live or args.input == "-":
            app.start_background()  # reminders and alarms are spoken while listening
        if push is not None:
            push.listen_for_keys(sys.stdin)
            events.on_answer = push.release
        frames = source.frames()
        if live:
            frames = _announced(frames, events, _wake_word(session), push is not None)
        asyncio.run(session.listen_to(frames))
    finally:
        sink.close()
    if not any(turn.turn is not None for turn in session.turns) and not live:
        print(visible(f"assistant: no request heard in {args.input}"), file=sys.stderr)
        return 1
    return 0


def _wake_word(session: Any) -> str | None:
    """What a user says before a request in `session`, or None."""
    if session.detector is not None:
        return str(session.detector.wake_word)
    if session.wake_mode == "transcript" and session.wake_phrase is not None:
        return str(session.wake_phrase.phrase)
    return None


def _announced(frames: Any, events: _ListenEvents, wake_word: str | None, push_to_talk: bool) -> Any:
    """`frames`, with `Ready` said when the first one comes: the microphone is open, the models
    are loaded (those still loading catch up on what was heard), and a user may speak. Before,
    `listen` said nothing, and a request said while it loaded (a few seconds) was never heard."""
    from assistant.events import Ready

    stream = iter(frames)
    try:
        for index, frame in enumerate(stream):
            if index == 0:
                events.emit(Ready(wake_word=None if push_to_talk else wake_word))
            yield frame
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # the microphone's stream


class _ListenEvents:
    """Prints a voice session's events: every one as JSON, or what was heard and answered."""

    def __init__(self, printer: Printer, as_json: bool):
        self.printer = printer
        self.as_json = as_json
        self.on_answer: Any = None

    def emit(self, event: Any) -> None:
        from assistant.events import ErrorEvent, Notification, Progress, Ready, TurnEvent, Wake

        if isinstance(event, TurnEvent) and event.extra.get("addressed") and self.on_answer:
            self.on_answer()
        if self.as_json:
            self.printer.json(event.to_json())
        elif isinstance(event, TurnEvent) and event.extra.get("addressed"):
            self.printer.progress(f"heard: {event.extra['transcript']['text']}")
            self.printer.progress(event.speech or "")
        elif isinstance(event, Wake):
            self.printer.progress("(listening)")
        elif isinstance(event, Progress):
            self.printer.progress(event.text)
        elif isinstance(event, Ready):
            if event.wake_word:
                print(f'Listening: say "{event.wake_word}", then your request. Ctrl+C ends.', file=sys.stderr)
            else:
                print("Listening. Ctrl+C ends.", file=sys.stderr)
        elif isinstance(event, Notification):
            self.printer.notification(event)
        elif isinstance(event, ErrorEvent):
            print(visible(f"assistant: {event.message}"), file=sys.stderr)


def run_transcribe(args: argparse.Namespace, app: Any) -> int:
    from assistant.audio.decode import load_audio
    from assistant.stt.engines import make_dictation

    audio = load_audio(args.file, max_duration_s=args.max_duration)
    stt = app.settings.stt
    if args.engine is not None:
        stt = stt.model_copy(update={"dictation": args.engine})
    transcript = make_dictation(stt, app.home.models).transcribe(audio.samples)
    if args.json:
        result = transcript.to_json()
        result.update(
            file=args.file, duration_s=round(audio.duration_s, 3), truncated=audio.truncated
        )
        Printer(as_json=True).json(result)
    else:
        print(visible(transcript.text, multiline=True))
    return 0


def run_say(args: argparse.Namespace, app: Any) -> int:
    from assistant.audio.sinks import open_sink
    from assistant.tts import make_synthesizer
    from assistant.voice.output import SinkOutput, speak

    tts = app.settings.tts
    updates = {
        k: v for k, v in {"voice": args.voice, "rate_wpm": args.rate}.items() if v is not None
    }
    if updates:
        tts = tts.model_validate({**tts.model_dump(), **updates})
    synthesizer = make_synthesizer(tts, app.home.cache, app.home.models / "piper")
    sink = open_sink(args.output, app.settings.audio.output, app.mixer())
    try:
        speak(synthesizer.synthesize_stream(" ".join(args.text)), SinkOutput(sink))
    finally:
        sink.close()
    return 0


def run_devices(args: argparse.Namespace, app: Any) -> int:
    from assistant.audio.devices import no_sound_message, sound_system

    system = sound_system()
    if system.server is None and not system.devices:
        raise AudioError(no_sound_message("use --input FILE and --output FILE.wav"))
    if args.json:
        server = system.server
        Printer(as_json=True).json(
            {
                "sound_server": None
                if server is None
                else {"name": server.name, "address": server.address},
                "server_problem": system.server_problem or None,
                "devices": [d.to_json() for d in system.devices],
            }
        )
        return 0
    if system.server is not None:
        print(visible(f"sound server: {system.server.name} ({system.server.address})"))
    else:
        print(visible(f"no sound server ({system.server_problem}): the sound cards, through ALSA"))
    width = min(60, max((len(d.name) for d in system.devices), default=0))
    for title, devices in (("microphones", system.inputs), ("speakers", system.outputs)):
        print(f"{title}:")
        for d in devices:
            notes = ", ".join(n for n, on in (("default", d.default), ("monitor", d.monitor)) if on)
            line = f"{d.number:4d}  {d.name:{width}}  {d.description}"
            print(visible(line + (f"  [{notes}]" if notes else "")))
        if not devices:
            print("   (none)")
    if system.server is not None and not system.reaches_server:
        print(
            "PortAudio cannot reach these: install ALSA's pulse plugin"
            " (sudo apt-get install libasound2-plugins)"
        )
    print(
        "choose with --input/--output NAME or NUMBER, or [audio] input and output in the settings"
    )
    return 0
