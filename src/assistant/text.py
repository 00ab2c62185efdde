"""Untrusted text made safe: to understand on the way in, and to show on a terminal on the way out.

Every way in decodes with replacement and bounds the length here, so that one bad line
(invalid UTF-8, a megabyte pasted by mistake) gets a clear answer instead of ending the session.
Every way out to a terminal goes through `visible`, so that a skill, a web page or a song tag
cannot move the cursor, hide text or reorder a line the user is asked to trust.
"""

from __future__ import annotations

import re
from typing import BinaryIO

__all__ = ["clean", "decode", "read_line", "visible"]

_SURROGATE_RUNS = re.compile("[\ud800-\udfff]+")
# C0 but tab and newline, DEL, C1 (U+009B alone starts a terminal escape), and the bidi
# embeddings, overrides, isolates and marks (they reorder what is shown after them).
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BIDI_CONTROLS = re.compile(f"[{_BIDI}]")
# A lone surrogate too: the terminal's encoder would refuse it and end the command.
_HIDDEN_IN_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
_HIDDEN_IN_A_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
MAX_BYTES_PER_CHAR = 4
"""UTF-8 spends at most four bytes on a character."""


def decode(raw: bytes) -> str:
    """Bytes as text: UTF-8, with U+FFFD for every byte that is not."""
    return clean(raw.decode("utf-8", errors="replace"))


def clean(text: str) -> str:
    """Valid Unicode with no control characters.

    Python hands over undecodable bytes of arguments and (in a C locale) of standard
    input as lone surrogates ("surrogateescape"); tokenizers and JSON writers refuse
    those, so they become U+FFFD; control characters other than tab and newline
    (terminal escapes, NUL, C1 controls) become spaces. Bidi controls are dropped: they
    sit inside words, which a space would split.
    """
    text = _SURROGATE_RUNS.sub(_unescape, text)
    return _BIDI_CONTROLS.sub("", _CONTROLS.sub(" ", text))


def visible(text: str, *, multiline: bool = False) -> str:
    """`text` as it may be written to a terminal: every control character shown as `\\uXXXX`.

    Escapes, C0 and C1 controls, DEL, bidi controls and lone surrogates are written out, so
    that the user sees something was there. Tab and newline are kept only with `multiline`
    (a reply's lines); in a one-line field (a skill's name) a newline could forge the next line.
    The escapes are JSON's own, so JSON text passed through stays valid and means the same.
    """
    hidden = _HIDDEN_IN_LINES if multiline else _HIDDEN_IN_A_LINE
    return hidden.sub(lambda char: f"\\u{ord(char.group()):04x}", text)


def _unescape(run: re.Match[str]) -> str:
    # U+DC80..U+DCFF stand for the bytes 0x80..0xFF; any other surrogate is just wrong.
    if all("\udc80" <= char <= "\udcff" for char in run.group()):
        return run.group().encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
    return "\ufffd" * len(run.group())


def read_line(stream: BinaryIO, max_chars: int) -> str | None:
    """The next line of a byte stream, decoded; None at the end.

    A line longer than `max_chars` is not kept whole: its first `max_chars + 1`
    characters come back (so that it is seen to be too long) and the rest is skipped,
    so one endless line costs at most four bytes per allowed character of memory.
    """
    limit = MAX_BYTES_PER_CHAR * (max_chars + 1)
    raw = stream.readline(limit)
    if not raw:
        return None
    if len(raw) == limit and not raw.endswith(b"\n"):
        while True:  # skip the rest of this line
            rest = stream.readline(limit)
            if not rest or rest.endswith(b"\n"):
                break
    # At most four bytes per character: a cut line decodes to more than max_chars characters.
    return decode(raw.rstrip(b"\r\n"))[: max_chars + 1]
