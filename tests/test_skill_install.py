"""Installing skills: the full scaffold → share → install → remove cycle, sources, clashes, dependencies."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from assistant.cli.main import main
from assistant.errors import SkillError
from assistant.home import Home
from assistant.skills import entrypoints
from assistant.skills.archive import pack
from assistant.skills.catalog import Catalog, discover
from assistant.skills.dependencies import check_requirements
from assistant.skills.install import Installer, source_kind
from assistant.skills.package import load_package
from assistant.skills.scaffold import create_skill


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_NLU__ENGINE", "lexical")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def use_home(monkeypatch: pytest.MonkeyPatch, root: Path) -> Home:
    monkeypatch.setenv("ASSISTANT_HOME", str(root))
    return Home(root)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if "logs" not in p.parts}


def test_scaffold_check_test_pack_install_answer_remove(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_home(monkeypatch, tmp_path / "author_home")
    assert run(capsys, "skill", "new", "plant_care", "--dir", str(tmp_path / "work"))[0] == 0
    folder = tmp_path / "work" / "plant_care"
    assert run(capsys, "skill", "check", str(folder)) == (0, "plant_care: no problems\n")
    code, out = run(capsys, "skill", "test", str(folder))
    assert code == 0, out
    assert "table: 4/4 passed" in out and "2 passed" in out
    code, out = run(capsys, "skill", "pack", str(folder), "--out", str(tmp_path / "dist"))
    archive = tmp_path / "dist" / "plant_care-0.1.0.skill"
    assert code == 0 and archive.is_file()

    home = use_home(monkeypatch, tmp_path / "user_home")
    assert run(capsys, "skill", "list")[0] == 0
    empty = tree(home.root)
    code, out = run(capsys, "skill", "install", str(archive), "--yes")
    assert code == 0, out
    assert "permissions: none" in out and "lexical classifier retrained" in out
    code, out = run(capsys, "skill", "list", "--json")
    listed = {row["id"]: row for row in json.loads(out)["skills"]}
    assert listed["plant_care"]["path"] == str(home.skills / "plant_care")
    code, out = run(capsys, "ask", "--json", "ask the plant care to greet Ada")
    turn = json.loads(out)
    assert (turn["skill"], turn["action"], turn["entities"]) == ("plant_care", "hello", {"person": "Ada"})
    assert turn["reply"].startswith("Hello, Ada, from plant care!")
    code, out = run(capsys, "ask", "--json", "tell me about the plant care")
    assert json.loads(out)["action"] == "about"

    code, out = run(capsys, "skill", "remove", "plant_care")
    assert code == 0, out
    assert tree(home.root) == empty
    code, out = run(capsys, "ask", "--json", "ask the plant care to greet Ada")
    assert json.loads(out)["skill"] != "plant_care"


def test_install_from_a_folder_a_tar_and_git(tmp_path: Path) -> None:
    source = create_skill("plant_care", tmp_path / "work").path
    home = Home(tmp_path / "home").ensure()
    tar = pack(source, tmp_path / "dist", "tar.gz")
    subprocess.run(["git", "init", "-q", str(source)], check=True)
    subprocess.run(["git", "-C", str(source), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "skill"], check=True
    )
    for given in (str(source), str(tar), f"git+file://{source}"):
        installer = Installer(home, discover([home.skills]))
        staged = installer.stage(given)
        assert staged.kind == source_kind(given)
        installer.commit(staged, replace=True)
        assert (home.skills / "plant_care" / "actions" / "hello.py").is_file()
        assert not (home.skills / "plant_care" / ".git").exists()
        assert Installer(home, Catalog()).source_of("plant_care").endswith(given.rsplit("/", 1)[-1])
    assert sorted(p.name for p in home.skills.iterdir()) == ["plant_care"]


def test_same_id_needs_replace_and_a_failed_replace_keeps_the_old_skill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = use_home(monkeypatch, tmp_path / "home")
    source = create_skill("plant_care", tmp_path / "work").path
    assert run(capsys, "skill", "install", str(source), "--yes")[0] == 0
    code, out = run(capsys, "skill", "install", str(source), "--yes")
    assert code == 1 and "already installed; add --replace" in out

    manifest = source / "skill.json"
    manifest.write_text(manifest.read_text().replace('"version": "0.1.0"', '"version": "0.2.0"').replace('"logic"', '"magic"', 1))
    before = (home.skills / "plant_care" / "skill.json").read_text()
    code, out = run(capsys, "skill", "install", str(source), "--yes", "--replace")
    assert code == 1 and f"{source} (skill.json:" in out and "field actions/hello/type" in out
    assert (home.skills / "plant_care" / "skill.json").read_text() == before
    assert sorted(p.name for p in home.skills.iterdir()) == ["plant_care"]

    manifest.write_text(manifest.read_text().replace('"magic"', '"logic"'))
    code, out = run(capsys, "skill", "update", "plant_care", "--yes")
    assert code == 0, out
    assert '"0.2.0"' in (home.skills / "plant_care" / "skill.json").read_text()
    code, out = run(capsys, "skill", "update", "plant_care")
    assert code == 0 and "0.2.0 is up to date" in out


def test_bundled_skill_id_clashes_and_cannot_be_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_home(monkeypatch, tmp_path / "home")
    source = create_skill("system", tmp_path / "work").path
    code, out = run(capsys, "skill", "install", str(source), "--yes")
    assert code == 1 and "already installed" in out
    code, out = run(capsys, "skill", "remove", "system")
    assert code == 1 and "bundled" in out and "assistant skill disable system" in out


def test_permissions_and_dependencies_are_shown_and_conflicts_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = use_home(monkeypatch, tmp_path / "home")
    source = create_skill("plant_care", tmp_path / "work").path
    manifest_path = source / "skill.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["permissions"] = ["network", "notifications"]
    manifest["python_dependencies"] = ["numpy<1.0", "rapidfuzz>=1"]
    manifest_path.write_text(json.dumps(manifest))
    code, out = run(capsys, "skill", "install", str(source), "--yes")
    assert code == 1
    assert "permissions: network, notifications" in out
    assert "numpy<1.0 conflicts with the installed numpy" in out
    assert not (home.skills / "plant_care").exists()

    manifest["python_dependencies"] = ["rapidfuzz>=1"]
    manifest_path.write_text(json.dumps(manifest))
    code, out = run(capsys, "skill", "install", str(source), "--yes")
    assert code == 0, out
    assert "python dependencies: rapidfuzz>=1" in out and "to install with pip" not in out


def test_check_requirements_sorts_requirements() -> None:
    check = check_requirements(["rapidfuzz>=1", "numpy<1", "surely-not-installed-dist==1", "bad req ::"])
    assert check.satisfied == ["rapidfuzz>=1"]
    assert check.missing == ["surely-not-installed-dist==1"]
    assert len(check.conflicts) == 2 and "not a valid requirement" in check.conflicts[1]


def test_unknown_source_is_a_clear_error() -> None:
    with pytest.raises(SkillError, match="not an archive, a folder, a git URL or a pip requirement"):
        source_kind("./no/such/thing.skill")


def write_wheel(folder: Path, skill_source: Path) -> Path:
    """A minimal wheel whose `assistant.skills` entry point names the package holding the skill."""
    wheel = folder / "plant_care_skill-1.0-py3-none-any.whl"
    dist_info = "plant_care_skill-1.0.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("plant_care_skill/__init__.py", "")
        for path in sorted(skill_source.rglob("*")):
            if path.is_file():
                archive.writestr(f"plant_care_skill/{path.relative_to(skill_source).as_posix()}", path.read_bytes())
        archive.writestr(f"{dist_info}/METADATA", "Metadata-Version: 2.1\nName: plant-care-skill\nVersion: 1.0\n")
        archive.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{dist_info}/entry_points.txt", "[assistant.skills]\nplant_care = plant_care_skill\n")
        archive.writestr(f"{dist_info}/RECORD", "")
    return wheel


def test_pip_sources_are_staged_without_touching_the_environment(tmp_path: Path) -> None:
    wheel = write_wheel(tmp_path, create_skill("plant_care", tmp_path / "work").path)
    home = Home(tmp_path / "home").ensure()
    installer = Installer(home, Catalog())
    for given in (str(wheel), f"plant-care-skill @ {wheel.as_uri()}"):
        staged = installer.stage(given)
        assert (staged.kind, staged.distribution, staged.package.id) == ("pip", "plant-care-skill", "plant_care")
        assert staged.folder.is_relative_to(home.skills / ".staging")
        installer.discard(staged)
    assert list(home.skills.iterdir()) == []
    assert "plant_care" not in {found.name for found in entrypoints.entry_point_skills()}


def test_a_deeply_nested_pyproject_is_refused_naming_it(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = " + "[" * 50_000 + "]" * 50_000 + "\n")
    home = Home(tmp_path / "home").ensure()
    with pytest.raises(SkillError, match="nested hundreds of levels deep") as refused:
        Installer(home, Catalog()).stage(str(project))
    assert str(project / "pyproject.toml") in str(refused.value)
    assert list(home.skills.iterdir()) == []


def test_entry_point_skills_are_found_on_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = write_wheel(tmp_path, create_skill("plant_care", tmp_path / "work").path)
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    monkeypatch.syspath_prepend(str(site))
    folders = entrypoints.skill_folders()
    assert site / "plant_care_skill" in folders
    assert load_package(site / "plant_care_skill").id == "plant_care"
    found = next(f for f in entrypoints.entry_point_skills() if f.name == "plant_care")
    assert (found.module, found.distribution) == ("plant_care_skill", "plant-care-skill")
