"""Reads a zip's end records and central directory headers, refusing entry bombs before `zipfile` parses them.

`zipfile.ZipFile` reads the whole central directory and builds a `ZipInfo` for every
entry before anyone can count them: 200,000 empty entries (a 19 MB file) took `assistant skill
install` to 165 MB of memory (60 MB with this check, the same as for any refused archive).
This check finds the directory as `zipfile` does (the end record, and the zip64 end
record when its locator is there), refuses a declared entry count over the limit or a
directory larger than that many entries can fill, then walks the directory's fixed-size
headers and counts them, building nothing, since the declared count may lie.
It returns where the records are damaged: `zipfile` then reports the damage itself.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import IO

_END = struct.Struct("<4s4H2IH")
"""End of central directory: signature, disk numbers, entries (this disk, total), directory size and offset, comment length."""
_END64_LOCATOR = struct.Struct("<4sIQI")
_END64 = struct.Struct("<4sQ2H2I4Q")
"""Zip64 end record: signature, record size, versions, disk numbers, entries (this disk, total), directory size and offset."""
_ENTRY = struct.Struct("<4s6H3I5H2I")
"""One central directory header; the name, extra field and comment follow it."""
_END_SIGNATURE, _LOCATOR_SIGNATURE, _END64_SIGNATURE = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"
_ENTRY_SIGNATURE = b"PK\x01\x02"
_MAX_COMMENT = 0xFFFF

Refuse = Callable[[str], Exception]


def check(path: Path, max_entries: int, max_entry_bytes: int, refuse: Refuse) -> None:
    """Raise `refuse(reason)` when the central directory holds more than `max_entries` entries.

    `max_entry_bytes`: the most one directory header (with its name, extra field and
    comment) may take; the directory may be no larger than its declared entries times that.
    """
    with path.open("rb") as stream:
        found = _directory(stream)
        if found is None:
            return
        start, size, declared = found
        if start < 0:
            return  # a bad directory offset: zipfile says so
        if declared > max_entries:
            raise refuse(f"holds {declared} entries, more than the limit of {max_entries}")
        if size > declared * max_entry_bytes:
            raise refuse(
                f"its central directory is {size} bytes, more than {declared} entries can take "
                f"({max_entry_bytes} bytes each at most)"
            )
        stream.seek(start)
        directory = stream.read(size)
    counted = _count_entries(directory, max_entries + 1)
    if counted > max_entries:
        raise refuse(f"holds more than the limit of {max_entries} entries (its end record says {declared})")


def _directory(stream: IO[bytes]) -> tuple[int, int, int] | None:
    """(offset, size in bytes, declared entries) of the central directory, where `zipfile` will look."""
    file_size = stream.seek(0, 2)
    tail_start = max(0, file_size - _END.size - _MAX_COMMENT)
    stream.seek(tail_start)
    tail = stream.read()
    # Like zipfile: an end record with no comment at the very end, else the last one in the tail.
    if tail[-_END.size :][:4] == _END_SIGNATURE and tail[-2:] == b"\0\0":
        at = len(tail) - _END.size
    else:
        at = tail.rfind(_END_SIGNATURE)
    if at < 0 or len(tail) - at < _END.size:
        return None
    end_offset = tail_start + at
    _, _, _, _, entries, size, _, _ = _END.unpack_from(tail, at)
    zip64 = _zip64_end(stream, end_offset)
    if zip64 is not None:
        entries, size = zip64
        # zipfile assumes the zip64 record (56 bytes) and its locator (20) sit right before the end record.
        return end_offset - _END64.size - _END64_LOCATOR.size - size, size, entries
    return end_offset - size, size, entries


def _zip64_end(stream: IO[bytes], end_offset: int) -> tuple[int, int] | None:
    """(declared entries, directory size) from the zip64 end record, when its locator is present."""
    if end_offset < _END64_LOCATOR.size + _END64.size:
        return None
    stream.seek(end_offset - _END64_LOCATOR.size - _END64.size)
    data = stream.read(_END64.size + _END64_LOCATOR.size)
    if data[_END64.size : _END64.size + 4] != _LOCATOR_SIGNATURE or data[:4] != _END64_SIGNATURE:
        return None
    fields = _END64.unpack_from(data)
    return fields[7], fields[8]


def _count_entries(directory: bytes, stop_at: int) -> int:
    """Directory headers in `directory`, up to `stop_at`, read the way zipfile reads them."""
    count = position = 0
    while position + _ENTRY.size <= len(directory) and count < stop_at:
        header = _ENTRY.unpack_from(directory, position)
        if header[0] != _ENTRY_SIGNATURE:
            break
        name_length, extra_length, comment_length = header[10], header[11], header[12]
        position += _ENTRY.size + name_length + extra_length + comment_length
        count += 1
    return count
