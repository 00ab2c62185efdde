"""Confinement as an attacker meets it: the intruder skill (tests/fixtures/skills/intruder) tries every way out.

It declares no permissions. Each attempt is refused or contained, the assistant logs what it
can see, and the next turn is answered. The same skill with `network` gets through where the
permission says it may, so the refusals come from the missing permission.
"""

from __future__ import annotations

import ast
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import WebSettings
from assistant.errors import SkillError
from assistant.home import Home
from assistant.services.registry import LazyServices
from assistant.skills import syscalls
from assistant.skills.package import load_package
from assistant.skills.process import KEPT_ENVIRON, WorkerProcess, process_group
from assistant.skills.protocol import ProtocolViolation
from assistant.skills.runner import SkillRunner
from assistant.skills.sandbox import Confinement, Limits
from conftest import REPO, json_lines, run_cli

INTRUDER = REPO / "tests" / "fixtures" / "skills" / "intruder"
needs_seccomp = pytest.mark.skipif(not syscalls.available(), reason="libseccomp is not installed")


class Listeners:
    """A TCP server, a UDP socket and a Unix socket on this machine, each counting what reaches it."""

    def __init__(self, folder: Path):
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.unix_path = str(folder / "listener.sock")
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(self.unix_path)
        self.unix.listen()
        self.unix.settimeout(0.2)
        self.tcp.settimeout(0.2)

    def reached(self) -> list[str]:
        """Which of them got anything so far."""
        got = []
        for name, server in (("tcp", self.tcp), ("unix", self.unix)):
            try:
                server.accept()[0].close()
                got.append(name)
            except OSError:
                pass
        try:
            self.udp.recvfrom(16)
            got.append("udp")
        except OSError:
            pass
        return got

    def close(self) -> None:
        for server in (self.tcp, self.udp, self.unix):
            server.close()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("SECRET_TOKEN", "xyz")
    home = Home(tmp_path / "home").ensure()
    home.config_file.write_text('[web]\nuser_agent = "secret-config"\n')
    (home.logs / "assistant.log").write_text("INFO what the user said\n")
    (home.data / "disabled_skills.json").write_text("[]")
    ssh = tmp_path / "user" / ".ssh"
    ssh.mkdir(parents=True)
    (ssh / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----")
    listeners = Listeners(tmp_path)
    web = WebServer()
    services = LazyServices({"web": lambda: _web_service(home)})
    runner = SkillRunner(home, services, timeout_s=10, max_failures=1000)
    settings = {
        "tcp_port": listeners.tcp.getsockname()[1],
        "udp_port": listeners.udp.getsockname()[1],
        "unix_path": listeners.unix_path,
        "url": web.url,
        "secret_paths": [str(home.config_file), str(home.logs / "assistant.log"), str(ssh / "id_rsa"),
                         str(home.data / "disabled_skills.json"), "/etc/shadow"],
    }
    yield {"home": home, "runner": runner, "listeners": listeners, "settings": settings, "tmp": tmp_path}
    runner.close()
    listeners.close()
    web.close()


def _web_service(home: Home) -> Any:
    from assistant.services.web import WebService

    return WebService(home, WebSettings(allow_private_networks=True))


class WebServer:
    """A local page the web service may fetch for a skill that declares `network`."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                body = b"<html><head><title>Allotment news</title></head><body><p>Leeks.</p></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/news"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def intruder(world: dict[str, Any], permissions: list[str] | None = None) -> Any:
    """The intruder skill, as shipped or copied with other permissions."""
    if permissions is None:
        return load_package(INTRUDER)
    folder = world["tmp"] / "skills" / "intruder"
    shutil.copytree(INTRUDER, folder)
    manifest = (folder / "skill.json").read_text().replace('"permissions": []', f'"permissions": {permissions!r}'.replace("'", '"'))
    (folder / "skill.json").write_text(manifest)
    return load_package(folder)


def attack(world: dict[str, Any], skill: Any, name: str) -> Any:
    return world["runner"].run(skill, _payload(world, name))


def _payload(world: dict[str, Any], name: str) -> dict[str, Any]:
    return {"utterance": f"intruder attack {name}", "action": "attack", "entities": {},
            "settings": world["settings"], "locale": "en", "answers": {}, "context": {}}


REFUSED = [
    # (attempt, what the skill is told, what the assistant's log says; None: the kernel tells nobody)
    ("udp", "PermissionError", None),
    ("unix", "PermissionError", None),
    ("tcp", "PermissionError", "did not declare network"),
    ("dns", "PermissionError", "a name lookup; it did not declare network"),
    ("fork", "PermissionError", "starts no process"),
    ("libc fork", "PermissionError", None),
    ("exec", "PermissionError", "runs no other program"),
    ("subprocess", "PermissionError", "runs no other program"),
    ("ptrace", "PermissionError", None),
    ("vm read", "PermissionError", None),
    ("proc mem", "PermissionError", "outside its folders"),
    ("secrets", "PermissionError", "outside its folders"),
    ("setsid", "PermissionError", None),
    ("signal", "PermissionError", "a signal to another process"),
    ("rlimit", "PermissionError", "its resource limits are set by the assistant"),
    ("memory", "MemoryError", None),
    ("fetch", "ServiceCallError", "web.fetch needs the permission network"),
]


@needs_seccomp
@pytest.mark.parametrize(("name", "told", "logged"), REFUSED, ids=[row[0] for row in REFUSED])
def test_every_way_out_is_refused_and_the_next_turn_answered(
    world: dict[str, Any], caplog: pytest.LogCaptureFixture, name: str, told: str, logged: str | None
) -> None:
    skill = intruder(world)
    with caplog.at_level(logging.WARNING):
        response = attack(world, skill, name)
    assert response.text.startswith(f"refused: {told}"), response.text
    if logged is not None:
        assert any(logged in r.getMessage() and "intruder" in r.getMessage() for r in caplog.records), caplog.text
    if name == "secrets":  # each of them, named
        for path in world["settings"]["secret_paths"]:
            assert f"{path} for reading: outside its folders" in caplog.text
    assert world["listeners"].reached() == []
    assert attack(world, skill, "ping").text == "done: 'pong'"


def test_the_worker_sees_none_of_the_assistants_environment(world: dict[str, Any]) -> None:
    names = ast.literal_eval(attack(world, intruder(world), "environ").data["value"])
    assert "SECRET_TOKEN" not in names and "ASSISTANT_HOME" not in names
    assert set(names) <= {"PATH", "HOME", "TMPDIR", *KEPT_ENVIRON}


CHANNEL_ATTACKS = [
    ("pickle", "not JSON"),
    ("wrong kind", "kind"),
    ("oversize", "over the 8388608-byte limit"),
    ("other skill", "Extra inputs are not permitted"),
    ("huge reply", "over the 8388608-byte limit"),
]


@pytest.mark.parametrize(("name", "named"), CHANNEL_ATTACKS, ids=[row[0] for row in CHANNEL_ATTACKS])
def test_a_forged_message_ends_the_turn_and_nothing_of_it_runs(
    world: dict[str, Any], caplog: pytest.LogCaptureFixture, name: str, named: str
) -> None:
    skill = intruder(world)
    with caplog.at_level(logging.ERROR), pytest.raises(ProtocolViolation) as violation:
        attack(world, skill, name)
    assert named in str(violation.value) and "skill intruder" in str(violation.value)
    assert any("skill intruder sent a malformed message" in r.getMessage() for r in caplog.records), caplog.text
    assert not (world["home"].data / "skills" / "pwned-by-intruder").exists()
    assert attack(world, skill, "ping").text == "done: 'pong'"


def test_a_flood_of_interim_messages_is_cut(world: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    shown: list[str] = []
    with caplog.at_level(logging.WARNING):
        done = world["runner"].run(intruder(world), _payload(world, "flood"), on_say=shown.append)
    assert done.text == "done: 'flooded'"
    assert shown == [f"interim {n}" for n in range(16)]
    assert "more than 16 interim messages in one turn" in caplog.text


def test_with_network_the_same_skill_gets_through(world: dict[str, Any]) -> None:
    skill = intruder(world, ["network"])
    assert attack(world, skill, "fetch").text == "done: 'Allotment news'"
    assert attack(world, skill, "tcp").text == "done: None"
    assert attack(world, skill, "udp").text == "done: 4"
    assert sorted(world["listeners"].reached()) == ["tcp", "udp"]
    assert attack(world, skill, "secrets").text.startswith("refused: PermissionError")  # network opens no files


def test_a_worker_that_hangs_is_killed_and_answers_again(world: dict[str, Any]) -> None:
    skill = intruder(world)
    world["runner"].timeout_s = 2
    if syscalls.available():
        assert attack(world, skill, "fork").text.startswith("refused: PermissionError")
    assert attack(world, skill, "ping").text == "done: 'pong'"


def test_without_seccomp_the_children_of_a_killed_worker_die_with_it(world: dict[str, Any]) -> None:
    """Where no seccomp filter can be loaded, a forking skill is contained by its process group."""
    data = world["home"].data / "skills" / "intruder"
    data.mkdir(parents=True)
    confinement = Confinement.for_skill("intruder", INTRUDER, data, [])
    confinement = Confinement(**{**confinement.to_dict(), "filter_system_calls": False})
    worker = WorkerProcess("intruder", INTRUDER, data, Limits(), confinement)
    try:
        payload = {"utterance": "intruder attack libc fork", "action": "attack", "entities": {}, "settings": {},
                   "locale": "en", "answers": {}, "context": {}, "data_dir": str(data)}
        worker.channel.send({"kind": "run", "payload": payload})
        deadline = time.monotonic() + 30
        while len(_group(worker.pid)) < 41 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_group(worker.pid)) == 41
    finally:
        worker.kill()
    assert _gone(worker.pid)


def _gone(pgid: int, within_s: float = 10) -> bool:
    """Whether every process of the group has ended within `within_s` (a kill is delivered, not instant)."""
    deadline = time.monotonic() + within_s
    while _group(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _group(pgid) == []


def _group(pgid: int) -> list[int]:
    return process_group(pgid)


def test_a_skill_that_uses_too_much_memory_is_told_so_and_logged(
    world: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    skill = intruder(world)
    assert attack(world, skill, "memory").text.startswith("refused: MemoryError")
    with caplog.at_level(logging.ERROR), pytest.raises(SkillError, match="MemoryError"):
        attack(world, skill, "memory unhandled")
    assert "skill intruder reached its memory limit of 1024 MiB" in caplog.text
    assert attack(world, skill, "ping").text == "done: 'pong'"


def test_a_skill_that_uses_up_its_processor_time_is_ended_and_started_again(world: dict[str, Any]) -> None:
    runner = SkillRunner(world["home"], {}, timeout_s=30, max_failures=1000, limits=Limits(cpu_s=1))
    try:
        with pytest.raises(SkillError, match="it used up its processor time of 1 s"):
            runner.run(intruder(world), _payload(world, "spin"))
        assert runner.run(intruder(world), _payload(world, "ping")).text == "done: 'pong'"
    finally:
        runner.close()


def test_the_worker_ends_with_the_assistant(tmp_path: Path) -> None:
    """A worker whose assistant is killed (SIGKILL: no clean-up) ends too."""
    import subprocess

    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from assistant.home import Home\n"
        "from assistant.skills.package import load_package\n"
        "from assistant.skills.runner import SkillRunner\n"
        "runner = SkillRunner(Home(Path(sys.argv[1])).ensure())\n"
        "runner.start(load_package(Path(sys.argv[2])))\n"
        "print(runner._workers['intruder'].pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    assistant = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "home"), str(INTRUDER)],
                                 stdout=subprocess.PIPE, text=True)
    assert assistant.stdout is not None
    worker = int(assistant.stdout.readline())
    assert _group(worker) == [worker]
    os.kill(assistant.pid, signal.SIGKILL)
    assistant.wait()
    assert _gone(worker)


def test_a_skill_error_is_a_skill_error() -> None:
    assert issubclass(ProtocolViolation, SkillError)


def test_installed_and_driven_by_chat_it_gets_nothing(tmp_path: Path) -> None:
    """As a user meets it: `skill install PATH --yes`, then a chat with a secret in the environment."""
    home = tmp_path / "home"
    installed = run_cli("skill", "install", str(INTRUDER), "--yes", home=home)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    config = Home(home).config_file
    config.write_text(f'[skills.intruder]\nsecret_paths = ["{config}", "/etc/shadow"]\n')
    lines = "intruder attack environ\nintruder attack pickle\nintruder attack secrets\nintruder attack escape\nintruder attack ping\n"
    chat = run_cli("chat", "--json", home=home, stdin=lines, env={"SECRET_TOKEN": "xyz"})
    assert chat.returncode == 0, chat.stderr
    environ, forged, secrets, escape, ping = [t["reply"] for t in json_lines(chat.stdout) if "reply" in t]
    assert escape == "tick\x1b[2J\x07\u009b31m\u202eevil"  # the reply as sent, and on the terminal:
    assert not any(raw in chat.stdout for raw in ("\x1b", "\x07", "\u009b", "\u202e")), chat.stdout
    assert environ.startswith("done: [") and "SECRET_TOKEN" not in environ
    assert forged.startswith("Sorry") and "malformed message" in chat.stderr
    assert secrets.startswith("refused: PermissionError") and "outside its folders" in chat.stderr
    assert ping == "done: 'pong'"
    assert not (home / "data" / "skills" / "pwned-by-intruder").exists()
