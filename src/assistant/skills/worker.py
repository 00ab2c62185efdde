"""The process a skill's actions run in: receives requests, runs actions, forwards service calls.

Messages on the pipe (tuples):
  assistant -> worker  ("run", payload) | ("return", value) | ("raise", message)
  worker -> assistant  ("say", text) | ("call", service, method, args, kwargs)
                       | ("done", response_dict) | ("error", message, traceback_text)
                       | ("refused", what) | ("warning", text)

The worker confines itself (`skills/sandbox.py`) before it loads any code of the skill.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from assistant.skills.memory import SqliteMemory
from assistant.skills.sandbox import Confinement, confine
from assistant.skills.sdk import Answers, Context, Request, Response


class ServiceCallError(RuntimeError):
    """A service the action called failed in the assistant process."""


class _Method:
    def __init__(self, connection: Any, service: str, method: str):
        self._connection = connection
        self._service = service
        self._method = method

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._connection.send(("call", self._service, self._method, args, kwargs))
        kind, value = self._connection.recv()
        if kind == "raise":
            raise ServiceCallError(value)
        return value


class _Service:
    def __init__(self, connection: Any, name: str):
        self._connection = connection
        self._name = name

    def __getattr__(self, method: str) -> _Method:
        if method.startswith("_"):
            raise AttributeError(method)
        return _Method(self._connection, self._name, method)


class ServicesProxy:
    """`request.services.<name>.<method>(...)`, forwarded to the assistant process."""

    def __init__(self, connection: Any):
        self._connection = connection

    def __getattr__(self, name: str) -> _Service:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Service(self._connection, name)


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


def serve(
    connection: Any,
    skill_id: str,
    skill_dir: str,
    memory_path: str,
    confinement: Confinement | None = None,
) -> None:
    """Worker main loop; ends when the pipe closes. `confinement` None: unconfined (tests only)."""
    if confinement is not None:
        confine(
            confinement,
            refused=lambda what: connection.send(("refused", what)),
            warn=lambda text: connection.send(("warning", text)),
        )
    actions = _Actions(Path(skill_dir))
    memory = SqliteMemory(Path(memory_path))
    services = ServicesProxy(connection)
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message[0] != "run":
            continue
        payload: dict[str, Any] = message[1]
        try:
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
                say=lambda text: connection.send(("say", str(text))),
            )
            module = actions.get(skill_id, payload["action"])
            response = module.run(request)
            if isinstance(response, str):
                response = Response(text=response)
            if not isinstance(response, Response):
                raise TypeError(f"run() returned {type(response).__name__}, expected Response")
            connection.send(("done", response.to_dict()))
        except (Exception, SystemExit) as error:  # skill boundary: report, keep serving
            connection.send(("error", f"{type(error).__name__}: {error}", traceback.format_exc()))
