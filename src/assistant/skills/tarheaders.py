"""Reads a tar archive's raw 512-byte headers and refuses header bombs before `tarfile` sees them.

`tarfile` trusts the sizes in headers: a GNU long-name header may claim a gigabyte (read
into memory whole), and CPython before 3.12.6 parses PAX headers with regular expressions
that take quadratic time on runs of digits (CVE-2024-6232: 64 KB took 23 s here). This
scan reads each header, bounds the size of every long-name, long-link and PAX header and
the total of all headers and member data, checks PAX records by their length prefixes,
and stops at the first excess; it reads at most `max_bytes` of decompressed data.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, cast

BLOCK = 512
_HEADER_KINDS = {b"L": "GNU long-name", b"K": "GNU long-link", b"x": "PAX", b"g": "PAX global"}
_NO_DATA = frozenset(b"123456")
"""Link, symbolic link, device, directory and FIFO headers: `tarfile` skips no data for them."""
_LONG_DIGITS = re.compile(rb"\d{33,}")
_MAX_DIGITS = 32
_CHUNK = 64 * 1024

Refuse = Callable[[str], Exception]


def check(path: Path, max_header_bytes: int, max_bytes: int, max_entries: int, refuse: Refuse) -> None:
    """Raise `refuse(reason)` at the first header that breaks a bound; return when all are sound."""
    with _decompressed(path) as stream:
        total = entries = 0
        pax_size: int | None = None
        while True:
            header = stream.read(BLOCK)
            if len(header) < BLOCK or header == bytes(BLOCK):
                return  # the end (tarfile reports a truncated archive itself)
            kind = header[156:157]
            if kind == b"S":
                raise refuse("a sparse file (GNU sparse header)")
            size = _number(header[124:136], refuse)
            total += BLOCK
            if kind in _HEADER_KINDS:
                if size > max_header_bytes:
                    raise refuse(
                        f"a {_HEADER_KINDS[kind]} header of {size} bytes, more than {max_header_bytes} (a header bomb?)"
                    )
                data = stream.read(_padded(size))[:size]
                total += _padded(size)
                if kind in b"xg":
                    records = _pax_records(data, refuse)
                    if kind == b"x" and b"size" in records:
                        pax_size = _decimal(records[b"size"], refuse)
            else:
                entries += 1
                if entries > max_entries:
                    raise refuse(f"holds more than the limit of {max_entries} entries")
                data_size = 0 if kind and kind[0] in _NO_DATA else (pax_size if pax_size is not None else size)
                pax_size = None
                total += _padded(data_size)
                if total > max_bytes:
                    raise refuse(f"its headers and files add up to more than {max_bytes} bytes (a tar bomb?)")
                _skip(stream, _padded(data_size))
            if total > max_bytes:
                raise refuse(f"its headers and files add up to more than {max_bytes} bytes (a tar bomb?)")


def _decompressed(path: Path) -> IO[bytes]:
    with path.open("rb") as raw:
        magic = raw.read(6)
    if magic.startswith(b"\x1f\x8b"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    if magic.startswith(b"BZh"):
        return bz2.open(path, "rb")
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.open(path, "rb")
    return path.open("rb")


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _skip(stream: IO[bytes], count: int) -> None:
    while count > 0:
        chunk = stream.read(min(count, _CHUNK))
        if not chunk:
            return
        count -= len(chunk)


def _number(field: bytes, refuse: Refuse) -> int:
    """A header number: octal digits, or base-256 when the first byte has its high bit set."""
    if field[:1] == b"\x80":
        return int.from_bytes(field[1:], "big")
    if field[:1] == b"\xff":
        raise refuse("a header with a negative size")
    text = field.split(b"\0", 1)[0].strip()
    if not text:
        return 0
    if not re.fullmatch(rb"[0-7]{1,12}", text):
        raise refuse(f"a damaged header (size field {field[:16]!r})")
    return int(text, 8)


def _decimal(value: bytes, refuse: Refuse) -> int:
    if not value.isdigit():
        raise refuse(f"a PAX size that is not a number ({value[:20]!r})")
    return int(value)


def _pax_records(data: bytes, refuse: Refuse) -> dict[bytes, bytes]:
    """`"<length> <key>=<value>\\n"` records, each checked against its length, in linear time."""
    if _LONG_DIGITS.search(data):
        raise refuse(f"a PAX header with a run of more than {_MAX_DIGITS} digits (CVE-2024-6232 pattern)")
    records: dict[bytes, bytes] = {}
    position = 0
    while position < len(data):
        space = data.find(b" ", position, position + _MAX_DIGITS + 1)
        length_text = data[position:space] if space > position else b""
        if not length_text.isdigit():
            raise refuse("a malformed PAX header (a record without its length)")
        length = int(length_text)
        end = position + length
        if length <= space - position or end > len(data) or data[end - 1 : end] != b"\n":
            raise refuse("a malformed PAX header (a record length that does not fit)")
        key, equals, value = data[space + 1 : end - 1].partition(b"=")
        if not equals or not key:
            raise refuse("a malformed PAX header (a record without key=value)")
        if key.startswith(b"GNU.sparse"):
            raise refuse("a sparse file (GNU.sparse PAX records)")
        records[key] = value
        position = end
    return records
