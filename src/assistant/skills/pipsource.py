"""Reading a pip-installable skill without running any of its code; building it only after consent.

pip runs a package's build backend (setup.py, any PEP 517 hook) to learn even its name
and version from a source tree or an sdist, so nothing of pip touches a source before
the user has seen the permissions. A skill is read instead:

- from a wheel (a local file, a `name @ …whl` URL, or what `pip download --only-binary
  :all:` fetches for a plain requirement: no build is possible there): its entry points
  and the skill folder are read from the zip;
- from a local project folder: `pyproject.toml` names the entry point, or the one
  `skill.json` in the tree is taken; the wheel is built after consent with `pip wheel`
  (in pip's isolated build environment) and must carry the same manifest.

Sdists and VCS URLs are refused: there is no way to read them without building.
"""

from __future__ import annotations

import configparser
import json
import shutil
import subprocess
import tomllib
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement

from assistant.errors import SkillError
from assistant.skills import dependencies
from assistant.skills.archive import Limits, check_name
from assistant.skills.entrypoints import GROUP
from assistant.skills.package import MANIFEST

_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
_SKIPPED_DIRS = {".git", ".hg", "build", "dist", ".venv", "venv", "node_modules", "__pycache__", ".tox"}


@dataclass(frozen=True)
class PipSource:
    """A skill read from a pip source, not yet installed."""

    folder: Path
    """The skill folder, extracted into staging (for loading and showing)."""
    distribution: str
    wheel: Path | None
    """The wheel to install; None until a project folder is built (`build`)."""
    project: Path | None = None
    """The local project folder to build after consent."""


def is_project(path: Path) -> bool:
    """A local Python project (not a skill folder): built into a wheel after consent."""
    return path.is_dir() and not (path / MANIFEST).is_file() and any((path / f).is_file() for f in _PROJECT_FILES)


def fetch(source: str, workdir: Path, python: str, limits: Limits) -> PipSource:
    """Read the skill of `source` into `workdir` without running any of the package's code."""
    path = Path(source).expanduser()
    if path.suffix == ".whl" and path.is_file():
        return _from_wheel(path, workdir, limits)
    if is_project(path):
        return _from_project(path.resolve(), workdir, limits)
    try:
        requirement = Requirement(source)
    except InvalidRequirement as error:
        raise SkillError(f"{source!r} is not a pip requirement: {error}") from None
    if requirement.url:
        return _from_url(requirement, workdir, python, limits)
    return _from_wheel(_download_wheel(source, workdir / "download", python), workdir, limits)


def build(source: PipSource, workdir: Path, python: str, limits: Limits) -> Path:
    """The wheel to install: the fetched one, or the project built now (after consent) and checked."""
    if source.wheel is not None:
        return source.wheel
    assert source.project is not None
    out = workdir / "built"
    command = [*dependencies.pip_command(python), "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source.project)]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(out.glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        raise SkillError(f"pip could not build {source.project}:\n{done.stderr.strip()[-2000:]}")
    built = _from_wheel(wheels[0], workdir / "check", limits)
    shown = json.loads((source.folder / MANIFEST).read_text(encoding="utf-8"))
    made = json.loads((built.folder / MANIFEST).read_text(encoding="utf-8"))
    if made != shown:
        raise SkillError(f"the package built from {source.project} carries a different {MANIFEST} than the one shown; not installed")
    return wheels[0]


def _download_wheel(requirement: str, target: Path, python: str) -> Path:
    """`pip download` restricted to wheels: pip builds nothing, so runs nothing of the package."""
    command = [*dependencies.pip_command(python), "download", "--quiet", "--no-deps", "--only-binary", ":all:", "--dest", str(target), requirement]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(target.glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        raise SkillError(
            f"pip found no wheel for {requirement} (an sdist would have to run its build code before "
            f"its permissions could be shown; build a wheel or give a local project folder):\n{done.stderr.strip()[-1500:]}"
        )
    return wheels[0]


def _from_url(requirement: Requirement, workdir: Path, python: str, limits: Limits) -> PipSource:
    url = str(requirement.url)
    if url.startswith("file://"):
        local = Path(url.removeprefix("file://"))
        if local.suffix == ".whl" and local.is_file():
            return _from_wheel(local, workdir, limits)
        if is_project(local):
            return _from_project(local, workdir, limits)
    elif url.split("#", 1)[0].split("?", 1)[0].endswith(".whl"):
        return _from_wheel(_download_wheel(str(requirement), workdir / "download", python), workdir, limits)
    raise SkillError(
        f"{url} is not a wheel or a local project folder: pip would run its build code before its "
        "permissions could be shown; give a wheel or a local project folder"
    )


def _from_wheel(wheel: Path, workdir: Path, limits: Limits) -> PipSource:
    """The skill folder an `assistant.skills` entry point of `wheel` names, extracted from the zip."""
    try:
        with zipfile.ZipFile(wheel) as bundle:
            names = bundle.namelist()
            dist_info = sorted({n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")})
            if len(dist_info) != 1:
                raise SkillError(f"{wheel.name} is not a wheel (no single .dist-info folder)")
            metadata = HeaderParser().parsestr(bundle.read(f"{dist_info[0]}/METADATA").decode("utf-8"))
            distribution = str(metadata["Name"] or wheel.name.split("-")[0])
            modules = _entry_modules(wheel.name, bundle.read(f"{dist_info[0]}/entry_points.txt").decode("utf-8")
                                     if f"{dist_info[0]}/entry_points.txt" in names else "")
            prefix = _skill_prefix(wheel.name, modules, set(names))
            folder = workdir / "skill" / PurePosixPath(prefix).name
            _extract(wheel, bundle, [n for n in names if n.startswith(prefix + "/") and not n.endswith("/")], prefix, folder, limits)
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, OSError) as error:
        raise SkillError(f"{wheel.name} cannot be read as a wheel ({error})") from None
    return PipSource(folder, distribution, wheel)


def _entry_modules(where: str, text: str) -> list[str]:
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error as error:
        raise SkillError(f"{where}: unreadable entry points ({error})") from None
    if not parser.has_section(GROUP):
        return []
    return [value.split(":", 1)[0].strip() for _, value in parser.items(GROUP)]


def _skill_prefix(where: str, modules: list[str], names: set[str]) -> str:
    if not modules:
        raise SkillError(f"{where} declares no entry point in the '{GROUP}' group")
    if len(modules) > 1:
        raise SkillError(f"{where} carries {len(modules)} skills; install them one by one")
    base = modules[0].replace(".", "/")
    for prefix in (base, str(PurePosixPath(base).parent)):
        if f"{prefix}/{MANIFEST}" in names:
            return prefix
    raise SkillError(f"{where}: the entry point {modules[0]} names no folder with {MANIFEST}")


def _extract(wheel: Path, bundle: zipfile.ZipFile, members: list[str], prefix: str, folder: Path, limits: Limits) -> None:
    infos = [bundle.getinfo(name) for name in members]
    if len(infos) > limits.max_files or sum(i.file_size for i in infos) > limits.max_bytes:
        raise SkillError(f"{wheel.name}: the skill folder holds more than {limits.max_files} files or {limits.max_bytes} bytes")
    for info in infos:
        relative = info.filename[len(prefix) + 1 :]
        check_name(wheel, relative)
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with bundle.open(info) as stream, target.open("xb") as out:
            shutil.copyfileobj(stream, out)


def _from_project(project: Path, workdir: Path, limits: Limits) -> PipSource:
    """Read the skill of a project folder from its files alone (no setup.py is run)."""
    distribution = project.name
    modules: list[str] = []
    pyproject = project / "pyproject.toml"
    if pyproject.is_file():
        try:
            meta = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SkillError(f"{pyproject}: {error}") from None
        except RecursionError:
            raise SkillError(f"{pyproject}: not read: arrays or inline tables are nested hundreds of levels deep") from None
        distribution = str(meta.get("name") or distribution)
        modules = [str(v).split(":", 1)[0] for v in (meta.get("entry-points", {}).get(GROUP) or {}).values()]
    if modules:
        names = {p.relative_to(project).as_posix() for p in project.rglob(MANIFEST)}
        prefix = _skill_prefix(str(project), modules, {n.removeprefix("src/") for n in names})
        found = [project / prefix if (project / prefix / MANIFEST).is_file() else project / "src" / prefix]
    else:
        found = [p.parent for p in project.rglob(MANIFEST) if not _SKIPPED_DIRS & set(p.relative_to(project).parts)]
    if len(found) != 1:
        raise SkillError(f"{project} holds {len(found)} {MANIFEST} files; expected the one of its skill")
    files = [p for p in found[0].rglob("*") if p.is_file() and not _SKIPPED_DIRS & set(p.relative_to(found[0]).parts)]
    if len(files) > limits.max_files or sum(p.stat().st_size for p in files) > limits.max_bytes:
        raise SkillError(f"{found[0]} holds more than {limits.max_files} files or {limits.max_bytes} bytes")
    folder = workdir / "skill" / found[0].name
    for path in files:
        if path.is_symlink():
            raise SkillError(f"{path}: symbolic links are not copied")
        target = folder / path.relative_to(found[0])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return PipSource(folder, distribution, None, project)
