"""`assistant satellite`: a room's microphone and speaker, for Home Assistant or `assistant serve`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from assistant.cli.output import Printer


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    satellite = subparsers.add_parser(
        "satellite",
        help="run a Wyoming satellite: microphone, speaker and local wake word in one room",
        description="A Wyoming satellite. It hears its wake word itself, then streams the "
        "microphone to the server that connects to it (Home Assistant, or `assistant serve "
        "--satellite tcp://HOST:PORT`) and plays the reply. Wyoming has no authentication: it "
        "binds 127.0.0.1 unless a host is given, and serves only the addresses in [wyoming] allow.",
    )
    satellite.add_argument(
        "--wyoming",
        required=True,
        metavar="URI",
        help="where to listen for the server: tcp://HOST:PORT (tcp://:PORT binds 127.0.0.1)",
    )
    satellite.add_argument("--name", required=True, help='the room, e.g. "kitchen"')
    satellite.add_argument("--area", help="the area Home Assistant should put it in")
    satellite.add_argument(
        "--input",
        default="mic",
        metavar="SOURCE",
        help='"mic" (default) or an audio file, streamed as one request (then the satellite '
        "exits once it is answered and any timer it set has finished)",
    )
    satellite.add_argument(
        "--output",
        default="speaker",
        metavar="SINK",
        help='"speaker" (default), a WAV file to write the replies to, or "null"',
    )
    satellite.add_argument(
        "--wake-model",
        metavar="MODEL",
        help="microWakeWord model: a packaged name or a model's .json (default: "
        "[listener] wake_word_model)",
    )
    satellite.add_argument(
        "--wake-word",
        action="store_true",
        help="with --input FILE, wait for the wake word in the file too",
    )
    satellite.add_argument("--json", action="store_true", help="print one JSON object per event")
    satellite.set_defaults(handler=run_satellite)


def run_satellite(args: argparse.Namespace, app: Any) -> int:
    from assistant.audio.sinks import open_sink
    from assistant.audio.sources import FileSource, open_source
    from assistant.wyoming.server import AllowList, Endpoint
    from assistant.wyoming.wake import WakeModel
    from assistant.wyoming.wire import Limits

    settings = app.settings.wyoming
    endpoint = Endpoint.parse(args.wyoming)
    live = args.input in ("mic", "microphone")
    wake = None
    if live or args.wake_word:
        listener = app.settings.listener
        wake = WakeModel.find(
            args.wake_model or listener.wake_word_model, listener.wake_word_sensitivity
        )
    source = (
        FileSource(args.input, max_duration_s=settings.max_audio_s)
        if not live
        else open_source(args.input, app.settings.audio.input)
    )
    sink = open_sink(args.output, app.settings.audio.output)
    printer = Printer(as_json=args.json)

    def on_event(kind: str, data: dict[str, Any]) -> None:
        if kind == "connected":  # status lines, as the one that says it is ready
            print(f"assistant satellite {args.name}: server {data['server']} connected", file=sys.stderr)
        elif kind == "disconnected":
            print(f"assistant satellite {args.name}: the server left", file=sys.stderr)
        elif args.json:
            printer.json({"event": kind, "satellite": args.name, **data})
        elif kind in ("transcript", "synthesize"):
            printer.progress(f"{args.name}: {kind}: {data.get('text', '')}")
        elif kind.startswith("timer") or kind in ("wake", "error"):
            printer.progress(f"{args.name}: {kind} {data}")

    async def run() -> None:
        from assistant.wyoming.satellite import Satellite

        satellite = Satellite(
            args.name, source.frames(), sink, wake, Limits.from_settings(settings), on_event,
            args.area, one_request=not live,
        )  # fmt: skip
        bound = await satellite.start(endpoint, AllowList(settings.allow))
        print(f"assistant satellite {args.name}: waiting for a server on {bound}", file=sys.stderr)
        try:
            await satellite.done.wait()
        finally:
            await satellite.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    finally:
        sink.close()
    return 0
