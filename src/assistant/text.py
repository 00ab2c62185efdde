"""Untrusted text from any way in (typed lines, arguments, transcripts, the network) made safe to understand.

Every way in decodes with replacement and bounds the length here, so that one bad line
(invalid UTF-8, a megabyte pasted by mistake) gets a clear answer instead of ending the session.
"""

from __future__ import annotations

import re
from typing import BinaryIO

__all__ = ["clean", "decode", "read_line"]

_SURROGATE_RUNS = re.compile("[\ud800-\udfff]+")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
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
    (terminal escapes, NUL) become spaces.
    """
    return _CONTROLS.sub(" ", _SURROGATE_RUNS.sub(_unescape, text))


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
