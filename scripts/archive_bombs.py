"""Builds hostile skill archives and times how long `assistant skill install` takes to refuse each.

    python scripts/archive_bombs.py [--out DIR]

Each bomb is refused by a fresh `python -m assistant skill install FILE` (no --yes, no
terminal); the figures are its wall time and peak memory (ru_maxrss), and the first
line of its error. tests/test_hostile_skills.py builds small versions with the same
functions.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

BLOCK = 512
MB = 1024 * 1024


def tar_header(name: bytes, size: int, kind: bytes) -> bytes:
    """One ustar header block with a valid checksum."""
    header = bytearray(BLOCK)
    header[0 : len(name)] = name[:100]
    header[100:108] = b"0000644\0"
    header[108:116] = header[116:124] = b"0000000\0"
    header[124:136] = b"%011o\0" % size if size < 8**11 else b"\x80" + size.to_bytes(11, "big")
    header[136:148] = b"00000000000\0"
    header[156:157] = kind
    header[257:265] = b"ustar\x0000"
    header[148:156] = b" " * 8
    header[148:155] = b"%06o\0" % sum(header)
    return bytes(header)


def _gzip_tar(path: Path, pieces: Iterable[bytes]) -> Path:
    """Write `pieces` (raw tar bytes) gzip-compressed, streaming."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        for piece in pieces:
            out.write(compressor.compress(piece))
        out.write(compressor.flush())
    return path


def _padding(size: int) -> bytes:
    return bytes(-size % BLOCK)


def gnu_long_name(path: Path, claimed: int, actual: int | None = None) -> Path:
    """A tar.gz whose first header is a GNU long name of `claimed` bytes (`actual` of them present)."""
    actual = claimed if actual is None else actual

    def pieces() -> Iterable[bytes]:
        yield tar_header(b"././@LongLink", claimed, b"L")
        left = actual
        while left > 0:
            chunk = min(left, MB)
            yield b"a" * chunk
            left -= chunk
        yield _padding(actual)
        yield tar_header(b"x/skill.json", 0, b"0") + bytes(2 * BLOCK)

    return _gzip_tar(path, pieces())


def pax_header(path: Path, payload: bytes) -> Path:
    """A tar.gz whose first member carries a PAX extended header of `payload`."""
    return _gzip_tar(
        path,
        [tar_header(b"PaxHeader", len(payload), b"x"), payload, _padding(len(payload)),
         tar_header(b"x/skill.json", 0, b"0"), bytes(2 * BLOCK)],
    )


def zip_bomb(path: Path, size: int) -> Path:
    """A zip with one member of `size` zero bytes (about 1000:1 compressed)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        with bundle.open("bomb/skill.json", "w", force_zip64=True) as member:
            left = size
            while left > 0:
                chunk = min(left, 8 * MB)
                member.write(bytes(chunk))
                left -= chunk
    return path


def zip_lying_size(path: Path, real: int = MB, claimed: int = 100) -> Path:
    """A zip whose size headers say `claimed` bytes for a member of `real` bytes ("Bad CRC-32")."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("SHA256SUMS", "")
        bundle.writestr("liar/skill.json", bytes(real))
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            if struct.unpack_from("<I", data, start + offset)[0] == real:
                struct.pack_into("<I", data, start + offset, claimed)
            start += 4
    path.write_bytes(bytes(data))
    return path


def zip_many_entries(path: Path, entries: int, declared: int | None = None, zip64: bool = False) -> Path:
    """A zip of `entries` empty files whose end records say `declared` (by default the truth).

    The headers are written by hand: zipfile takes about a minute for 200,000 entries, this
    under a second. A count over 65,535 (or `zip64`) adds the zip64 end records.
    """
    declared = entries if declared is None else declared
    local, central = bytearray(), bytearray()
    for index in range(entries):
        name = b"many/%d" % index
        # Stored, empty, dated 1980-01-01 (0x21); a regular file, mode 644.
        central += struct.pack(
            "<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, 0, 0, 0, len(name), 0, 0, 0, 0,
            (0o100644 << 16), len(local),
        ) + name
        local += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21, 0, 0, 0, len(name), 0) + name
    directory_offset = len(local)
    end = bytearray()
    if zip64 or declared > 0xFFFF:
        zip64_offset = directory_offset + len(central)
        end += struct.pack("<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, declared, declared, len(central), directory_offset)
        end += struct.pack("<4sIQI", b"PK\x06\x07", 0, zip64_offset, 1)
    short_count = min(declared, 0xFFFF)
    end += struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, short_count, short_count, len(central), directory_offset, 0)
    with path.open("wb") as out:
        out.write(local)
        out.write(central)
        out.write(end)
    return path


BOMBS: dict[str, Callable[[Path], Path]] = {
    "tar.gz, 1 GB GNU long name": lambda d: gnu_long_name(d / "longname.skill", 1024 * MB),
    "tar.gz, 300 KB PAX header (CVE-2024-6232)": lambda d: pax_header(d / "pax.skill", b"0" * 300_000),
    "tar.gz, 60 KB PAX header of digits": lambda d: pax_header(d / "pax-digits.skill", b"60000 " + b"1" * 59993 + b"\n"),
    "zip, 1 GB of zeros": lambda d: zip_bomb(d / "zipbomb.skill", 1024 * MB),
    "zip, size header lies (1 MB as 100 B)": lambda d: zip_lying_size(d / "liar.skill"),
    "zip, 200,000 entries": lambda d: zip_many_entries(d / "many.skill", 200_000),
    "zip, 200,000 entries, end record says 10": lambda d: zip_many_entries(d / "many-lying.skill", 200_000, declared=10),
}


def refuse(archive: Path, home: Path) -> tuple[float, int, int, str]:
    """(seconds, peak KiB, exit code, first error line) of one `assistant skill install`."""
    environ = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_NLU__ENGINE": "lexical"}
    with tempfile.TemporaryFile("w+") as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant", "skill", "install", str(archive)],
            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, env=environ,
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        output.seek(0)
        lines = output.read().strip().splitlines()
    return seconds, int(usage.ru_maxrss), os.waitstatus_to_exitcode(status), lines[-1] if lines else ""


def refuse_in_process(archive: Path) -> tuple[float, str]:
    """(seconds, reason) of `archive.inspect`, the check staging runs first."""
    from assistant.skills.archive import UnsafeArchive, inspect

    start = time.perf_counter()
    try:
        inspect(archive)
    except UnsafeArchive as error:
        return time.perf_counter() - start, error.reason
    return time.perf_counter() - start, "accepted"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="keep the bombs in this folder")
    args = parser.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="bombs-"))
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "home"
    for label, build in BOMBS.items():
        archive = build(folder)
        check_s, _ = refuse_in_process(archive)
        seconds, peak_kib, code, line = refuse(archive, home)
        staging_left = (home / "skills" / ".staging").exists()
        print(
            f"{label}: {archive.stat().st_size / MB:.1f} MB file, refused in {check_s * 1000:.1f} ms "
            f"(archive check), {seconds:.2f} s (whole command), peak memory {peak_kib / 1024:.0f} MB, exit {code}, "
            f"staging left: {staging_left}\n    {line[:200]}"
        )


if __name__ == "__main__":
    main()
