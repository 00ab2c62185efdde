"""The process a skill's actions run in: confines itself, then runs actions and forwards service calls.

Started by `skills/process.py` as `python -I -c BOOT SEARCH_PATH FD` with an environment
built from scratch (SEARCH_PATH: the assistant's module search path, colon-separated); FD
is its end of a socket pair, on which everything is plain JSON
(`skills/protocol.py`). The first frame is `start`: the limits and the confinement to apply
(`skills/sandbox.py`), all before any code of the skill is loaded.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from assistant.skills import protocol, sandbox
from assistant.skills.memory import SqliteMemory
from assistant.skills.sdk import Answers, Context, Request, Response

BOOT = "import sys; sys.path[:] = sys.argv[1].split(':'); from assistant.skills.worker import main; main()"
"""What the runner starts: the assistant's own search path (its package first), whatever the environment says."""


class ServiceCallError(RuntimeError):
    """A service the action called failed (or refused) in the assistant process."""


class _Link:
    """The worker's end of the channel; one exchange at a time, whichever thread asks."""

    def __init__(self, channel: protocol.Channel):
        self.channel = channel
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        self.send_encoded(protocol.Channel.encode(message))

    def send_encoded(self, frame: bytes) -> None:
        with self._lock:
            self.channel.send_encoded(frame)

    def call(self, service: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        request = {"kind": "call", "service": service, "method": method, "args": list(args), "kwargs": kwargs}
        try:
            encoded = protocol.Channel.encode(request)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{service}.{method}: arguments must be plain JSON data ({error})") from None
        with self._lock:
            self.channel.send_encoded(encoded)
            reply = protocol.decode(self.channel.receive())
        if reply["kind"] == "raise":
            raise ServiceCallError(reply["message"])
        return reply["value"]


class _Method:
    def __init__(self, link: _Link, service: str, method: str):
        self._link = link
        self._service = service
        self._method = method

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._link.call(self._service, self._method, args, kwargs)


class _Service:
    def __init__(self, link: _Link, name: str):
        self._link = link
        self._name = name

    def __getattr__(self, method: str) -> _Method:
        if method.startswith("_"):
            raise AttributeError(method)
        return _Method(self._link, self._name, method)


class ServicesProxy:
    """`request.services.<name>.<method>(...)`, forwarded to the assistant process as JSON."""

    def __init__(self, link: _Link):
        self._link = link

    def __getattr__(self, name: str) -> _Service:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Service(self._link, name)


class _Actions:
    """Loads `actions/<name>.py` modules of one skill, once each."""

    def __init__(self, skill_dir: Path):
        self.skill_dir = skill_dir
        self._modules: dict[str, ModuleType] = {}
        for path in (skill_dir / "actions", skill_dir):
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))

    def get(self, skill_id: str, action: str) -> ModuleType:
        if action not in self._modules:
            path = self.skill_dir / "actions" / f"{action}.py"
            spec = importlib.util.spec_from_file_location(f"skill_{skill_id}.{action}", path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            if not callable(getattr(module, "run", None)):
                raise ImportError(f"{path} has no run(request) function")
            self._modules[action] = module
        return self._modules[action]


def main() -> None:
    """The worker's entry point (see `BOOT`): serve until the assistant closes the channel."""
    sock = socket.socket(fileno=int(sys.argv[2]))
    channel = protocol.Channel(sock, protocol.ASSISTANT_FRAME_BYTES)
    try:
        start = protocol.decode(channel.receive())
        serve(channel, start)
    except protocol.ChannelClosed:
        pass


def serve(channel: protocol.Channel, start: dict[str, Any]) -> None:
    """Confine this process as `start` says, then run actions until the channel closes."""
    link = _Link(channel)
    skill_id, skill_dir = start["skill"], start["skill_dir"]
    guards = sandbox.apply(
        None if start["confinement"] is None else sandbox.Confinement.from_dict(start["confinement"]),
        sandbox.Limits(**start["limits"]),
        refused=lambda what: link.send({"kind": "refused", "what": _line(what)}),
        warn=lambda text: link.send({"kind": "warning", "text": _line(text)}),
    )
    link.send({"kind": "ready", "guards": guards})
    actions = _Actions(Path(skill_dir))
    memory = SqliteMemory(Path(start["memory_path"]))
    services = ServicesProxy(link)
    while True:
        message = protocol.decode(channel.receive())
        if message["kind"] != "run":
            continue
        try:
            response = _run(actions, skill_id, skill_dir, message["payload"], memory, services, link)
            # A reply that is not plain JSON is the action's error.
            reply = protocol.Channel.encode({"kind": "done", "response": response.to_dict()})
        except (Exception, SystemExit) as error:  # skill boundary: report, keep serving
            reply = protocol.Channel.encode({
                "kind": "error", "message": _line(f"{type(error).__name__}: {error}"),
                "traceback": traceback.format_exc()[-protocol.TRACEBACK_CHARS:],
            })
        link.send_encoded(reply)


def _run(
    actions: _Actions,
    skill_id: str,
    skill_dir: str,
    payload: dict[str, Any],
    memory: SqliteMemory,
    services: ServicesProxy,
    link: _Link,
) -> Response:
    request = Request(
        utterance=payload["utterance"],
        skill=skill_id,
        action=payload["action"],
        entities=payload["entities"],
        settings=payload["settings"],
        locale=payload["locale"],
        memory=memory,
        context=Context(**payload["context"]),
        services=services,
        answers=Answers(payload["answers"]),
        skill_dir=skill_dir,
        data_dir=payload["data_dir"],
        say=lambda text: link.send({"kind": "say", "text": _line(str(text))}),
    )
    response = actions.get(skill_id, payload["action"]).run(request)
    if isinstance(response, str):
        response = Response(text=response)
    if not isinstance(response, Response):
        raise TypeError(f"run() returned {type(response).__name__}, expected Response")
    return response


def _line(text: str) -> str:
    limit = protocol.LINE_CHARS
    return text if len(text) <= limit else text[: limit - 1] + "…"


if __name__ == "__main__":
    main()
