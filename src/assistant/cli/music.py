"""`assistant music`: scan the library, show the player's state, manage playlists."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from assistant.cli.output import json_text
from assistant.text import visible

EXIT_OK = 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("music", help="the music library and player",
                                   description="Scan the music folders, show what plays, manage playlists.")
    commands = parser.add_subparsers(dest="music_command", metavar="SUBCOMMAND")

    scan = commands.add_parser("scan", help="index new and changed files in the [music] folders")
    scan.add_argument("--json", action="store_true", help="print the scan report as JSON")
    scan.set_defaults(handler=_scan)

    status = commands.add_parser("status", help="what is playing, the volume and the queue")
    status.add_argument("--json", action="store_true", help="print the player state as JSON")
    status.set_defaults(handler=_status)

    playlists = commands.add_parser("playlists", help="list the playlists")
    playlists.add_argument("--json", action="store_true", help="print the playlists as JSON")
    playlists.set_defaults(handler=_playlists)

    load = commands.add_parser("import", help="import an M3U playlist")
    load.add_argument("file", metavar="FILE.m3u")
    load.add_argument("--name", help="playlist name (default: the file's name)")
    load.set_defaults(handler=_import)

    save = commands.add_parser("export", help="export a playlist as M3U")
    save.add_argument("name", metavar="NAME")
    save.add_argument("file", metavar="FILE")
    save.set_defaults(handler=_export)


def _service(app: Any) -> Any:
    from assistant.services.music import MusicService

    return MusicService(app.home, app.settings.music, app.settings.audio.output)


def _scan(args: argparse.Namespace, app: Any) -> int:
    service = _service(app)
    try:
        report = service.scan(progress=_progress_bar())
    finally:
        service.close()
    if args.json:
        print(json_text(report))
        return EXIT_OK
    for folder in report["missing_folders"]:
        print(visible(f"assistant: music folder {folder} does not exist; check [music] folders"), file=sys.stderr)
    print(
        f"{report['files']} files: {report['added']} added, {report['updated']} updated, "
        f"{report['removed']} removed, {report['unchanged']} unchanged, "
        f"{report['unreadable']} unreadable ({report['duration_s']:.1f} s)"
    )
    return EXIT_OK


def _status(args: argparse.Namespace, app: Any) -> int:
    service = _service(app)
    try:
        status = service.status()
    finally:
        service.close()
    if args.json:
        print(json_text(status))
        return EXIT_OK
    print(visible(describe_status(status), multiline=True))  # titles and artists come from the files' tags
    return EXIT_OK


def describe_status(status: dict[str, Any]) -> str:
    """One line for people: "Playing: Title by Artist (0:12 / 3:45), volume 70%, ..."."""
    track = status["track"]
    if track is None or status["state"] == "stopped":
        head = "Stopped"
    else:
        by = f" by {track['artist']}" if track["artist"] else ""
        head = (f"{status['state'].capitalize()}: {track['title']}{by} "
                f"({_clock(status['position_s'])} / {_clock(track['duration_s'])})")
    volume = "muted" if status["muted"] else f"volume {status['volume']}%"
    shuffle = "on" if status["shuffle"] else "off"
    return (f"{head}, {volume}, shuffle {shuffle}, repeat {status['repeat']}, "
            f"{status['queue_length']} in the queue")


def _playlists(args: argparse.Namespace, app: Any) -> int:
    service = _service(app)
    try:
        playlists = service.playlists()
    finally:
        service.close()
    if args.json:
        print(json_text(playlists))
    elif not playlists:
        print("No playlists yet.")
    for playlist in [] if args.json else playlists:
        print(visible(f"{playlist['name']} ({playlist['tracks']} songs)"))
    return EXIT_OK


def _import(args: argparse.Namespace, app: Any) -> int:
    service = _service(app)
    try:
        report = service.import_m3u(args.file, args.name)
    finally:
        service.close()
    print(visible(f"Imported {report['added']} songs into the playlist {report['name']!r}."))
    for path in report["missing"]:  # as the playlist file wrote them
        print(visible(f"assistant: not in the library (run `assistant music scan`?): {path}"), file=sys.stderr)
    return EXIT_OK


def _export(args: argparse.Namespace, app: Any) -> int:
    service = _service(app)
    try:
        report = service.export_m3u(args.name, args.file)
    finally:
        service.close()
    print(visible(f"Wrote {report['tracks']} songs of {report['name']!r} to {report['path']}."))
    return EXIT_OK


def _progress_bar() -> Callable[[int, int, str], None] | None:
    """A tqdm bar on standard error when it is a terminal; files done out of files to read."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(desc="scanning", file=sys.stderr, unit="file", leave=False)

    def update(done: int, total: int, path: str) -> None:
        # Drawing every file would cost more than reading its tags.
        if done < total and done - bar.n < max(1, total // 200):
            return
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"
