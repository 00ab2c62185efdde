"""The `assistant` command: global options, sub-commands, exit codes.

Exit codes: 0 success, 1 the command failed, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant import __version__
from assistant.errors import AssistantError, ConfigError
from assistant.text import visible

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _command_modules() -> list:  # type: ignore[type-arg]
    from assistant.cli import (
        ask,
        chat,
        config_cmd,
        doctor,
        models,
        music,
        nlu,
        reminders,
        satellite,
        serve,
        skill,
        voice,
    )

    return [chat, ask, voice, serve, satellite, skill, config_cmd, doctor, models, nlu, music, reminders]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="An offline, voice-driven personal assistant. With no command: the voice loop "
        "when there is a microphone, the typed chat otherwise.",
    )
    parser.add_argument("--version", action="version", version=f"assistant {__version__}")
    parser.add_argument("--config", type=Path, metavar="FILE", help="a TOML file of settings that overrides the others")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        module.register(subparsers)
    return parser


def _fewer_malloc_arenas() -> None:
    """One malloc heap for every thread. glibc gives each thread that allocates its own heap, up
    to 8 per core, and keeps what they free: over a 90-turn `listen` the voice loop's threads
    (Whisper, Piper, the classifier, the audio callbacks) peaked at 1,127 MB with them; with
    Piper's pieces bounded, at 945 to 1,000 MB with two heaps and 921 MB with one, at the same
    latency. Only for the `assistant` process itself: a program that calls `main(argv)` keeps its
    own heaps."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, 1)  # M_ARENA_MAX
    except (OSError, AttributeError):  # not glibc (musl has no such heaps)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the console script: this process is the assistant's
        _fewer_malloc_arenas()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        if args.command is not None:
            # A command group given without its sub-command: show its help.
            parser.parse_args([args.command, "--help"])
        mode, reason = _default_mode()
        print(f"assistant: {reason}", file=sys.stderr)
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), mode])

    from assistant.config import load_config
    from assistant.home import Home
    from assistant.runtime import Assistant

    home = Home.from_env()
    try:
        home.ensure()
        config = load_config(home.config_file, args.config)
    except ConfigError as error:
        print(f"assistant: configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"assistant: cannot use the home folder {home.root}: {error}", file=sys.stderr)
        return EXIT_FAILED
    _setup_logging(home, config.settings.general.log_level, args.verbose)
    app = Assistant(home, config)
    try:
        code = int(args.handler(args, app) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader went away (`assistant reminders list | head`): stop quietly, as `cat` does.
        _silence_stdout()
        return EXIT_FAILED
    except ConfigError as error:
        print(f"assistant: configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except AssistantError as error:  # may quote a skill's manifest or a page
        print(visible(f"assistant: {error}", multiline=True), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    finally:
        app.close()


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _default_mode() -> tuple[str, str]:
    """With no command: the voice loop when there is a microphone, the typed chat otherwise."""
    if not sys.stdin.isatty():
        return "chat", "standard input is not a terminal: reading typed requests (assistant chat)"
    from assistant.audio.devices import sound_system

    try:
        system = sound_system()
    except Exception as error:  # PortAudio missing or broken: say so, fall back to typing
        return "chat", f"no audio system ({error}): starting the typed chat"
    microphones = [d for d in system.inputs if d.default or not d.monitor]  # a set default counts
    if not microphones:
        return "chat", (
            "no microphone found: starting the typed chat "
            "(`assistant listen --input FILE` takes an audio file instead)"
        )
    chosen = next((d for d in microphones if d.default), microphones[0])
    return "listen", f"listening on {chosen.description or chosen.name} (say the wake word; Ctrl-C quits)"


class _VisibleFormatter(logging.Formatter):
    """Log lines for the terminal: what a skill logs or says on stderr is shown, never obeyed."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record), multiline=True)


def _setup_logging(home, level: str, verbose: int) -> None:  # type: ignore[no-untyped-def]
    console_level = logging.WARNING - 10 * min(verbose, 2)
    configured = getattr(logging, level.upper())
    root = logging.getLogger()
    root.setLevel(min(console_level, configured, logging.INFO))
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(min(console_level, configured))
    console.setFormatter(_VisibleFormatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    try:
        file_handler = logging.FileHandler(home.logs / "assistant.log", encoding="utf-8")
    except OSError:
        return
    file_handler.setLevel(logging.INFO)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)
