"""Skill archives: `pack` a folder into `ID-VERSION.skill`, and unpack one without trusting it.

Layout: `SHA256SUMS` (sha256sum format, one line per file) and the skill under `ID/`.
Unpacking reads the whole archive first — names, member types, counts, sizes and every
checksum — and writes only when all of it is sound, and only inside the target folder.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from assistant.errors import SkillError
from assistant.skills import tarheaders, zipdirectory
from assistant.skills.package import MANIFEST, load_package

SUMS = "SHA256SUMS"
SUFFIX = ".skill"
IGNORED_PARTS = {"__pycache__", ".git", ".hg", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".DS_Store"}
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)
_CHUNK = 64 * 1024
_SUM_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
MAX_NAME = 1024
"""Longest member name accepted, in characters."""
MAX_ZIP_DIRECTORY_ENTRY_BYTES = 46 + MAX_NAME + 1024
"""Largest zip central directory header: 46 fixed bytes, the name, room for extra fields and a comment."""
_DAMAGE = (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, OSError)
"""What reading a damaged or lying archive raises (a bad CRC-32, a truncated stream...)."""


class UnsafeArchive(SkillError):
    """An archive was refused; nothing was written."""

    def __init__(self, archive: Path, reason: str):
        super().__init__(f"{archive}: refused: {reason}")
        self.archive = archive
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    """Bounds an archive must stay within (against zip bombs)."""

    max_files: int = 2000
    max_bytes: int = 50 * 1024 * 1024
    """Total uncompressed size of all files (and, in a tar, of all headers)."""
    max_header_bytes: int = 64 * 1024
    """Largest tar long-name, long-link or PAX header."""


@dataclass(frozen=True)
class Member:
    """A regular file in an archive, checked and hashed."""

    name: str
    size: int
    sha256: str


def skill_files(folder: Path) -> list[Path]:
    """Files of a skill folder worth shipping, relative to it, sorted (caches and VCS left out)."""
    files = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if IGNORED_PARTS & set(relative.parts) or path.suffix in {".pyc", ".pyo"}:
            continue
        if path.is_symlink():
            raise SkillError(f"{path}: symbolic links cannot be packed; copy the file in instead")
        if path.is_file():
            files.append(relative)
    return files


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pack(folder: Path, out_dir: Path, fmt: str = "zip") -> Path:
    """Validate the skill at `folder` and write `out_dir/ID-VERSION.skill`; returns its path."""
    package = load_package(folder)
    files = skill_files(folder)
    sums = "".join(f"{sha256_of(folder / f)}  {package.id}/{f.as_posix()}\n" for f in files)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{package.id}-{package.version}{SUFFIX}"
    partial = target.with_name(target.name + ".part")
    if fmt == "zip":
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_zip_info(SUMS), sums)
            for relative in files:
                archive.writestr(_zip_info(f"{package.id}/{relative.as_posix()}"), (folder / relative).read_bytes())
    elif fmt == "tar.gz":
        with tarfile.open(partial, "w:gz") as archive:
            _tar_add(archive, SUMS, sums.encode())
            for relative in files:
                _tar_add(archive, f"{package.id}/{relative.as_posix()}", (folder / relative).read_bytes())
    else:
        raise SkillError(f"unknown archive format {fmt!r}; use zip or tar.gz")
    partial.replace(target)
    return target


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _tar_add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    archive.addfile(info, io.BytesIO(data))


# --- unpacking --------------------------------------------------------------------------


def unpack(archive: Path, target: Path, limits: Limits = Limits()) -> Path:
    """Check `archive` completely, then extract it into the empty folder `target`.

    Returns the skill folder inside `target`. Raises `UnsafeArchive` before writing anything
    when a name, member type, count, size or checksum is wrong.
    """
    members = inspect(archive, limits)
    expected = {m.name: m for m in members if m.name != SUMS}
    target.mkdir(parents=True, exist_ok=True)
    for name, stream in _open_members(archive, limits):
        member = expected.get(name)
        if member is None:
            continue
        path = target.joinpath(*PurePosixPath(name).parts)
        if not path.resolve().is_relative_to(target.resolve()):
            raise UnsafeArchive(archive, f"{_shown(name)} would land outside the target folder")
        digest = hashlib.sha256()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("xb") as out:
                for chunk in _bounded(stream, member.size, archive, name):
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as error:
            raise UnsafeArchive(archive, f"{_shown(name)} cannot be written: {error.strerror}") from None
        if digest.hexdigest() != member.sha256:  # the archive changed between the two reads
            raise UnsafeArchive(archive, f"{_shown(name)} changed while it was being unpacked")
    return target / next(iter(expected)).split("/", 1)[0]


def inspect(archive: Path, limits: Limits = Limits()) -> list[Member]:
    """Every regular file of the archive, checked against `limits` and `SHA256SUMS`; nothing written."""
    members: list[Member] = []
    sums_text: bytes | None = None
    total = 0
    for name, stream, size in _scan(archive, limits):
        if any(m.name == name for m in members):
            raise UnsafeArchive(archive, f"{_shown(name)} appears twice")
        total += size
        if total > limits.max_bytes:
            raise UnsafeArchive(archive, f"unpacks to more than {limits.max_bytes} bytes (zip bomb?)")
        digest = hashlib.sha256()
        data = bytearray() if name == SUMS else None
        for chunk in _bounded(stream, size, archive, name):
            digest.update(chunk)
            if data is not None:
                data.extend(chunk)
        if data is not None:
            sums_text = bytes(data)
        members.append(Member(name, size, digest.hexdigest()))
    if sums_text is None:
        raise UnsafeArchive(archive, f"no {SUMS} file; pack skills with `assistant skill pack`")
    _verify_sums(archive, members, sums_text)
    return members


def _verify_sums(archive: Path, members: list[Member], sums_text: bytes) -> None:
    listed: dict[str, str] = {}
    try:
        lines = sums_text.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise UnsafeArchive(archive, f"{SUMS} is not UTF-8 text") from None
    for number, line in enumerate(lines, start=1):
        match = _SUM_LINE.match(line)
        if not match:
            raise UnsafeArchive(archive, f"{SUMS} line {number} is malformed: {line[:80]!r}")
        listed[match.group(2)] = match.group(1)
    files = {m.name: m for m in members if m.name != SUMS}
    roots = {name.split("/", 1)[0] for name in files}
    if len(roots) != 1 or any("/" not in name for name in files):
        raise UnsafeArchive(archive, f"expected one skill folder at the top, found {sorted(roots)}")
    root = roots.pop()
    if f"{root}/{MANIFEST}" not in files:
        raise UnsafeArchive(archive, f"no {root}/{MANIFEST} in the archive")
    for name, member in files.items():
        if name not in listed:
            raise UnsafeArchive(archive, f"{_shown(name)} is not listed in {SUMS}")
        if listed[name] != member.sha256:
            raise UnsafeArchive(archive, f"checksum mismatch for {_shown(name)}: the file was altered or damaged")
    missing = sorted(set(listed) - set(files))
    if missing:
        raise UnsafeArchive(archive, f"{SUMS} lists files missing from the archive: {', '.join(missing[:5])}")


def _scan(archive: Path, limits: Limits) -> Iterator[tuple[str, IO[bytes], int]]:
    """(name, data, declared size) of every regular file; refuses unsafe members on sight."""
    if zipfile.is_zipfile(archive):
        try:
            yield from _scan_zip(archive, limits)
        except (zipfile.BadZipFile, EOFError, OSError) as error:
            raise UnsafeArchive(archive, f"damaged archive ({error})") from None
        return
    yield from _scan_tar(archive, limits)


def _scan_zip(archive: Path, limits: Limits) -> Iterator[tuple[str, IO[bytes], int]]:
    # Count the entries before zipfile parses them all into memory.
    zipdirectory.check(
        archive, limits.max_files, MAX_ZIP_DIRECTORY_ENTRY_BYTES, refuse=lambda reason: UnsafeArchive(archive, reason)
    )
    with zipfile.ZipFile(archive) as bundle:
        infos = bundle.infolist()
        if len(infos) > limits.max_files:
            raise UnsafeArchive(archive, f"holds {len(infos)} entries, more than the limit of {limits.max_files}")
        declared = sum(info.file_size for info in infos)
        if declared > limits.max_bytes:
            raise UnsafeArchive(archive, f"unpacks to {declared} bytes, more than {limits.max_bytes} (zip bomb?)")
        for info in infos:
            kind = stat.S_IFMT(info.external_attr >> 16)
            if info.is_dir():
                check_name(archive, info.filename.rstrip("/"))
                continue
            check_name(archive, info.filename)
            if kind == stat.S_IFLNK:
                raise UnsafeArchive(archive, f"{_shown(info.filename)} is a symbolic link")
            if kind not in (0, stat.S_IFREG):
                raise UnsafeArchive(archive, f"{_shown(info.filename)} is not a regular file")
            if info.file_size > limits.max_bytes:
                raise UnsafeArchive(archive, f"{_shown(info.filename)} unpacks to {info.file_size} bytes (zip bomb?)")
            with bundle.open(info) as stream:
                yield info.filename, stream, info.file_size


def _scan_tar(archive: Path, limits: Limits) -> Iterator[tuple[str, IO[bytes], int]]:
    count = 0
    try:
        tarheaders.check(
            archive, limits.max_header_bytes, limits.max_bytes, limits.max_files,
            refuse=lambda reason: UnsafeArchive(archive, reason),
        )
    except (*_DAMAGE, lzma.LZMAError) as error:
        raise UnsafeArchive(archive, f"not a zip or tar archive, or a damaged one ({error})") from None
    try:
        bundle_tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as error:
        raise UnsafeArchive(archive, f"not a zip or tar archive ({error})") from None
    with bundle_tar:
        try:
            for info in bundle_tar:
                count += 1
                if count > limits.max_files:
                    raise UnsafeArchive(archive, f"holds more than the limit of {limits.max_files} entries")
                check_name(archive, info.name)
                if info.issym() or info.islnk():
                    kind = "symbolic" if info.issym() else "hard"
                    raise UnsafeArchive(archive, f"{_shown(info.name)} is a {kind} link to {_shown(info.linkname)}")
                if info.isdir():
                    continue
                if not info.isfile():
                    raise UnsafeArchive(archive, f"{_shown(info.name)} is a device, pipe or other special file")
                if info.size > limits.max_bytes:
                    raise UnsafeArchive(archive, f"{_shown(info.name)} unpacks to {info.size} bytes (zip bomb?)")
                stream = bundle_tar.extractfile(info)
                if stream is None:
                    raise UnsafeArchive(archive, f"{_shown(info.name)} cannot be read")
                yield info.name, stream, info.size
        except (tarfile.TarError, EOFError, OSError) as error:
            raise UnsafeArchive(archive, f"damaged archive ({error})") from None


def _open_members(archive: Path, limits: Limits) -> Iterator[tuple[str, IO[bytes]]]:
    for name, stream, _ in _scan(archive, limits):
        yield name, stream


def _shown(name: str) -> str:
    """A member name for a message: quoted, and cut when it is long."""
    return repr(name) if len(name) <= 120 else f"{name[:100]!r}… ({len(name)} characters)"


def check_name(archive: Path, name: str) -> None:
    if len(name) > MAX_NAME:
        raise UnsafeArchive(archive, f"{_shown(name)} is a name longer than {MAX_NAME} characters")
    path = PurePosixPath(name.replace("\\", "/"))
    if not name or name.startswith(("/", "\\")) or path.is_absolute() or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchive(archive, f"{_shown(name)} is an absolute path")
    if ".." in path.parts:
        raise UnsafeArchive(archive, f"{_shown(name)} climbs out of the archive with '..'")
    if "\\" in name or "\x00" in name or path.as_posix() != name:
        raise UnsafeArchive(archive, f"{_shown(name)} is not a plain relative path (backslash, NUL, '.' or '//')")


def _bounded(stream: IO[bytes], size: int, archive: Path, name: str) -> Iterator[bytes]:
    """The member's bytes, refusing more than its declared size (lying headers)."""
    read = 0
    while True:
        try:
            chunk = stream.read(_CHUNK)
        except _DAMAGE as error:
            raise UnsafeArchive(archive, f"{_shown(name)} is damaged or its size header lies ({error})") from None
        if not chunk:
            break
        read += len(chunk)
        if read > size:
            raise UnsafeArchive(archive, f"{_shown(name)} holds more data than its header says (zip bomb?)")
        yield chunk
    if read != size:
        raise UnsafeArchive(archive, f"{_shown(name)} is truncated ({read} of {size} bytes)")
