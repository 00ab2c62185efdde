"""Skill archives: pack round trip, and a table of hostile archives refused before anything is written."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import stat
import tarfile
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import SkillError
from assistant.home import Home
from assistant.skills.archive import SUMS, Limits, UnsafeArchive, inspect, pack, unpack
from assistant.skills.catalog import Catalog
from assistant.skills.install import Installer
from assistant.skills.package import load_package
from assistant.skills.scaffold import create_skill

GOOD_MANIFEST = (Path(__file__).parent / "fixtures" / "skills" / "crashy" / "skill.json").read_bytes()
GOOD_LOCALE = (Path(__file__).parent / "fixtures" / "skills" / "crashy" / "locales" / "en.json").read_bytes()
ACTION = b"def run(request):\n    return 'hi'\n"


def skill_members(**extra: bytes) -> list[tuple[str, bytes]]:
    members = [
        ("crashy/skill.json", GOOD_MANIFEST),
        ("crashy/locales/en.json", GOOD_LOCALE),
        ("crashy/actions/explode.py", ACTION),
    ]
    return members + list(extra.items())


def sums_for(members: list[tuple[str, bytes]]) -> bytes:
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in members).encode()


def write_zip(path: Path, members: list[tuple[str, bytes]], sums: bytes | None = None, modes: dict[str, int] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(SUMS, sums if sums is not None else sums_for(members))
        for name, data in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = (modes or {}).get(name, stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def write_tar(path: Path, members: list[tuple[str, bytes]], special: list[tarfile.TarInfo] = ()) -> Path:  # type: ignore[assignment]
    with tarfile.open(path, "w:gz") as archive:
        for name, data in [(SUMS, sums_for(members)), *members]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info in special:
            archive.addfile(info)
    return path


def tar_entry(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def zip_traversal(tmp: Path) -> Path:
    return write_zip(tmp / "a.skill", skill_members(**{"crashy/../../evil.txt": b"owned"}))


def zip_absolute(tmp: Path) -> Path:
    return write_zip(tmp / "a.skill", skill_members(**{"/tmp/evil.txt": b"owned"}))


def tar_absolute(tmp: Path) -> Path:
    return write_tar(tmp / "a.skill", skill_members(**{str(tmp / "evil.txt"): b"owned"}))


def tar_traversal(tmp: Path) -> Path:
    return write_tar(tmp / "a.skill", skill_members(**{"crashy/../../evil.txt": b"owned"}))


def tar_symlink(tmp: Path) -> Path:
    return write_tar(tmp / "a.skill", skill_members(), [tar_entry("crashy/evil", tarfile.SYMTYPE, "/etc/passwd")])


def tar_hardlink(tmp: Path) -> Path:
    return write_tar(tmp / "a.skill", skill_members(), [tar_entry("crashy/evil", tarfile.LNKTYPE, "/etc/passwd")])


def tar_device(tmp: Path) -> Path:
    return write_tar(tmp / "a.skill", skill_members(), [tar_entry("crashy/null", tarfile.CHRTYPE)])


def zip_symlink(tmp: Path) -> Path:
    members = skill_members(**{"crashy/evil": b"/etc/passwd"})
    return write_zip(tmp / "a.skill", members, modes={"crashy/evil": stat.S_IFLNK | 0o777})


def zip_bomb(tmp: Path) -> Path:
    return write_zip(tmp / "a.skill", skill_members(**{"crashy/zeros.bin": bytes(3_000_000)}))


def too_many_files(tmp: Path) -> Path:
    return write_zip(tmp / "a.skill", skill_members(**{f"crashy/f{i}.txt": b"x" for i in range(40)}))


def bad_checksum(tmp: Path) -> Path:
    members = skill_members()
    sums = sums_for(members)
    members[2] = ("crashy/actions/explode.py", b"import os\nos.system('rm -rf ~')\n")
    return write_zip(tmp / "a.skill", members, sums)


def unlisted_file(tmp: Path) -> Path:
    members = skill_members()
    return write_zip(tmp / "a.skill", [*members, ("crashy/extra.py", b"x = 1\n")], sums_for(members))


def malformed_sums(tmp: Path) -> Path:
    return write_zip(tmp / "a.skill", skill_members(), b"this is not a checksum line\n")


def missing_sums(tmp: Path) -> Path:
    with zipfile.ZipFile(tmp / "a.skill", "w") as archive:
        for name, data in skill_members():
            archive.writestr(name, data)
    return tmp / "a.skill"


def not_an_archive(tmp: Path) -> Path:
    (tmp / "a.skill").write_bytes(b"GIF89a not a zip at all")
    return tmp / "a.skill"


HOSTILE: list[tuple[Callable[[Path], Path], str]] = [
    (zip_traversal, "climbs out of the archive with '..'"),
    (tar_traversal, "climbs out of the archive with '..'"),
    (zip_absolute, "is an absolute path"),
    (tar_absolute, "is an absolute path"),
    (zip_symlink, "is a symbolic link"),
    (tar_symlink, "is a symbolic link to '/etc/passwd'"),
    (tar_hardlink, "is a hard link to '/etc/passwd'"),
    (tar_device, "device, pipe or other special file"),
    (zip_bomb, "zip bomb"),
    (too_many_files, "more than the limit of 30"),
    (bad_checksum, "checksum mismatch for 'crashy/actions/explode.py'"),
    (unlisted_file, "'crashy/extra.py' is not listed in SHA256SUMS"),
    (malformed_sums, "SHA256SUMS line 1 is malformed"),
    (missing_sums, "no SHA256SUMS file"),
    (not_an_archive, "not a zip or tar archive"),
]
LIMITS = Limits(max_files=30, max_bytes=1_000_000)


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*")}


@pytest.mark.parametrize(("make", "reason"), HOSTILE, ids=[make.__name__ for make, _ in HOSTILE])
def test_hostile_archive_is_refused_before_writing(tmp_path: Path, make: Callable[[Path], Path], reason: str) -> None:
    archive = make(tmp_path)
    before = files_under(tmp_path)
    with pytest.raises(UnsafeArchive) as caught:
        unpack(archive, tmp_path / "staging" / "out", LIMITS)
    assert reason in str(caught.value)
    assert str(archive) in str(caught.value)
    assert files_under(tmp_path) == before
    assert not list(tmp_path.parent.glob("evil.txt"))


@pytest.mark.parametrize(("make", "reason"), HOSTILE, ids=[make.__name__ for make, _ in HOSTILE])
def test_hostile_archive_install_leaves_home_untouched(tmp_path: Path, make: Callable[[Path], Path], reason: str) -> None:
    archive = make(tmp_path)
    home = Home(tmp_path / "home").ensure()
    installer = Installer(home, Catalog(), limits=LIMITS)
    with pytest.raises(UnsafeArchive, match="refused"):
        installer.stage(str(archive))
    assert list(home.skills.iterdir()) == []
    assert not (home.data / "installed_skills.json").exists()


def test_malformed_skill_manifest_is_refused_and_cleaned_up(tmp_path: Path) -> None:
    members = skill_members()
    members[0] = ("crashy/skill.json", b'{"id": "crashy", "version": ')
    archive = write_zip(tmp_path / "a.skill", members)
    home = Home(tmp_path / "home").ensure()
    with pytest.raises(SkillError, match=r"a\.skill \(skill\.json:1\): invalid JSON"):
        Installer(home, Catalog()).stage(str(archive))
    assert list(home.skills.iterdir()) == []


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_pack_round_trip(tmp_path: Path, fmt: str) -> None:
    folder = create_skill("plant_care", tmp_path / "src").path
    (folder / "actions" / "__pycache__").mkdir()
    (folder / "actions" / "__pycache__" / "hello.cpython-311.pyc").write_bytes(b"junk")
    archive = pack(folder, tmp_path / "dist", fmt)
    assert archive.name == "plant_care-0.1.0.skill"
    names = {m.name for m in inspect(archive)}
    assert SUMS in names and "plant_care/skill.json" in names
    assert not any("__pycache__" in name for name in names)
    unpacked = unpack(archive, tmp_path / "out")
    assert unpacked == tmp_path / "out" / "plant_care"
    for path in folder.rglob("*.json"):
        assert (unpacked / path.relative_to(folder)).read_bytes() == path.read_bytes()
    assert load_package(unpacked).id == "plant_care"


def test_pack_is_reproducible(tmp_path: Path) -> None:
    folder = create_skill("plant_care", tmp_path).path
    first = pack(folder, tmp_path / "one").read_bytes()
    second = pack(folder, tmp_path / "two").read_bytes()
    assert first == second


def test_pack_refuses_an_invalid_skill(tmp_path: Path) -> None:
    folder = create_skill("plant_care", tmp_path).path
    (folder / "actions" / "hello.py").unlink()
    with pytest.raises(SkillError, match="logic action 'hello' has no module"):
        pack(folder, tmp_path / "dist")
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())


def bombs() -> Any:
    """scripts/archive_bombs.py, whose generators build the archives below."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "archive_bombs.py"
    spec = importlib.util.spec_from_file_location("archive_bombs", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_zip_of_200000_entries_is_refused_from_its_end_record(tmp_path: Path) -> None:
    archive = bombs().zip_many_entries(tmp_path / "many.skill", 200_000)
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeArchive, match="holds 200000 entries, more than the limit of 2000"):
            inspect(archive)
        peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Parsing the directory with zipfile first took about 100 MB here (tracemalloc), this check under 0.1 MB.
    assert peak_bytes < 5 * 2**20, peak_bytes


def test_a_directory_larger_than_its_declared_entries_is_refused(tmp_path: Path) -> None:
    archive = bombs().zip_many_entries(tmp_path / "lying.skill", 200_000, declared=10)
    with pytest.raises(UnsafeArchive, match="its central directory is 11288890 bytes, more than 10 entries can take"):
        inspect(archive)


def test_entries_beyond_the_declared_count_are_counted_before_parsing(tmp_path: Path) -> None:
    archive = bombs().zip_many_entries(tmp_path / "lying.skill", 500, declared=30)
    with pytest.raises(UnsafeArchive, match=r"more than the limit of 30 entries \(its end record says 30\)"):
        inspect(archive, Limits(max_files=30))


@pytest.mark.parametrize("zip64", [False, True], ids=["zip", "zip64"])
def test_a_zip_within_the_entry_limit_reaches_the_member_checks(tmp_path: Path, zip64: bool) -> None:
    archive = bombs().zip_many_entries(tmp_path / "few.skill", 30, zip64=zip64)
    with pytest.raises(UnsafeArchive, match="no SHA256SUMS file"):
        inspect(archive, Limits(max_files=30))
    with pytest.raises(UnsafeArchive, match="holds 30 entries, more than the limit of 29"):
        inspect(archive, Limits(max_files=29))


def test_a_packed_zip_with_a_comment_passes_the_directory_check(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "a.skill", skill_members())
    with zipfile.ZipFile(archive, "a") as bundle:
        bundle.comment = b"an archive comment moves the end record back from the end"
    assert {m.name for m in inspect(archive, LIMITS)} == {SUMS, *(name for name, _ in skill_members())}
