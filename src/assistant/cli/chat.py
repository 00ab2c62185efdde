"""`assistant chat`: the typed conversation (a prompt_toolkit REPL on a terminal, lines otherwise)."""

from __future__ import annotations

import argparse
import logging
import queue
import sys
import threading
from typing import Any

from assistant.cli.output import Printer, show_notices
from assistant.events import Progress, TurnEvent
from assistant.text import read_line

log = logging.getLogger(__name__)

_EOF = object()
LINES_READ_AHEAD = 4
"""Input lines read before the conversation reaches them: a piped backlog waits in the pipe, not in memory."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "chat",
        help="type to the assistant",
        description="Talk to the assistant by typing. On a terminal: history, Ctrl-C clears the line, "
        "Ctrl-D exits. With standard input not a terminal: one utterance per line.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per turn")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, app: Any) -> int:
    printer = Printer(as_json=args.json)
    interactive = sys.stdin.isatty() and not args.json
    # A first start answers at once: the classifier trains in a job of its own behind the lexical matcher.
    app.brain(background=True)
    show_notices(app, printer)
    if interactive:
        return _repl(app, printer)
    return _lines(app, printer)


def _lines(app: Any, printer: Printer) -> int:
    """One utterance per input line; notifications are printed as they come, in between."""
    events: queue.Queue[Any] = queue.Queue()  # lines, then notifications as they come
    # Only lines are bounded: a notification is queued from the turn itself, which must not wait.
    room = threading.Semaphore(LINES_READ_AHEAD)
    session = app.open_session("chat", output=_Queued(events, printer))
    app.start_background()

    def read() -> None:
        # Bytes, decoded here: an invalid line becomes U+FFFD, not the end of the conversation.
        limit = app.settings.general.max_utterance_chars
        while room.acquire() and (line := read_line(sys.stdin.buffer, limit)) is not None:
            events.put(line)
        events.put(_EOF)

    threading.Thread(target=read, name="stdin", daemon=True).start()
    while True:
        item = events.get()
        if item is _EOF:
            break
        if isinstance(item, str):
            room.release()
            if item.strip():
                _turn(session, printer, item)
        else:
            printer.emit(item)
    return 0


class _Queued:
    """A session output that prints turns at once and queues the rest between turns."""

    def __init__(self, events: queue.Queue[Any], printer: Printer):
        self.events = events
        self.printer = printer

    def emit(self, event: Any) -> None:
        if isinstance(event, TurnEvent | Progress):
            self.printer.emit(event)
        else:
            self.events.put(event)


def _repl(app: Any, printer: Printer) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.patch_stdout import patch_stdout

    prompt: PromptSession[str] = PromptSession(history=FileHistory(str(app.home.history_file)))
    session = app.open_session("chat", output=printer)
    print("Type to talk to the assistant. Ctrl-D quits.")
    with patch_stdout():
        app.start_background()
        while True:
            try:
                text = prompt.prompt("you> ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            if text.strip():
                _turn(session, printer, text)
    return 0


def _turn(session: Any, printer: Printer, text: str) -> None:
    """One turn (the session prints it); a failure of this one is reported and the conversation goes on."""
    try:
        session.handle(text)
    except (BrokenPipeError, KeyboardInterrupt):
        raise
    except Exception as error:  # the session's boundary: one bad line must not end it
        log.exception("the turn %r failed", text[:80])
        printer.error(f"Sorry, something went wrong with that request ({type(error).__name__}: {error}).")
