"""The worker channel: length-prefixed JSON frames, validated on the assistant's side.

A skill's worker runs code from a stranger, so nothing it sends is ever unpickled or
executed: every frame is at most `WORKER_FRAME_BYTES` of UTF-8 JSON, parsed by pydantic
(nesting depth bounded by its parser) into one of the message types below, field by field,
with bounded lengths and no unknown fields. A frame that does not fit ends the skill's turn
(`ProtocolViolation`); the assistant kills that worker, since its stream can no longer be
trusted to be in step.

Frames: a 4-byte big-endian length, then that many bytes of JSON. The assistant's frames
to the worker are trusted and bounded only by `ASSISTANT_FRAME_BYTES`.

  assistant -> worker  start {confinement, limits} | run {payload} | return {value} | raise {message}
  worker -> assistant  ready {guards} | say {text} | call {service, method, args, kwargs}
                       | done {response} | error {message, traceback} | refused {what}
                       | warning {text}
"""

from __future__ import annotations

import json
import socket
import struct
import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, ValidationError

from assistant.errors import SkillError

__all__ = [
    "ASSISTANT_FRAME_BYTES",
    "WORKER_FRAME_BYTES",
    "decode",
    "Channel",
    "ChannelClosed",
    "ProtocolViolation",
    "WorkerMessage",
    "parse_worker_message",
]

WORKER_FRAME_BYTES = 8 * 2**20
"""Largest frame a worker may send: room for a service call carrying a long pasted text."""
ASSISTANT_FRAME_BYTES = 256 * 2**20
"""Largest frame the assistant sends (a document handed back by a service)."""
REPLY_CHARS = 100_000
"""Longest reply text (or speech) an action may answer."""
LINE_CHARS = 4_000
"""Longest interim message, error message, refusal or warning."""
TRACEBACK_CHARS = 50_000
NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
"""Service, method and action names: identifiers, as the skill's code spells them."""

_HEADER = struct.Struct(">I")

Json = dict[str, JsonValue]
Line = Annotated[str, Field(max_length=LINE_CHARS)]
Name = Annotated[str, Field(pattern=NAME)]
Reply = Annotated[str, Field(max_length=REPLY_CHARS)]


class ProtocolViolation(SkillError):
    """A worker sent a frame that is not a valid message: too long, not JSON, or off the schema."""

    def __init__(self, skill: str, what: str):
        super().__init__(f"skill {skill}: sent a malformed message ({what}); its worker was stopped")
        self.skill = skill
        self.what = what


class ChannelClosed(EOFError):
    """The other end closed the channel (or it broke)."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class QuestionMessage(_Message):
    action: Name
    data: Json = Field(default_factory=dict)


class ResponseMessage(_Message):
    text: Reply
    speech: Reply | None = None
    question: QuestionMessage | None = None
    data: Json = Field(default_factory=dict)
    declined: bool = False


class Ready(_Message):
    kind: Literal["ready"]
    guards: list[Line]
    """What confines the worker ("landlock abi 7", "seccomp", ...), for the log."""


class Say(_Message):
    kind: Literal["say"]
    text: Line


class Call(_Message):
    kind: Literal["call"]
    service: Name
    method: Name
    args: list[JsonValue] = Field(default_factory=list, max_length=32)
    kwargs: Json = Field(default_factory=dict, max_length=32)


class Done(_Message):
    kind: Literal["done"]
    response: ResponseMessage


class Error(_Message):
    kind: Literal["error"]
    message: Line
    traceback: Annotated[str, Field(max_length=TRACEBACK_CHARS)] = ""


class Refused(_Message):
    kind: Literal["refused"]
    what: Line


class Warning_(_Message):
    kind: Literal["warning"]
    text: Line


WorkerMessage = Ready | Say | Call | Done | Error | Refused | Warning_
_WORKER_MESSAGE: TypeAdapter[WorkerMessage] = TypeAdapter(
    Annotated[WorkerMessage, Field(discriminator="kind")]
)


def decode(frame: bytes) -> Any:
    """A frame from the assistant (trusted) as plain data."""
    return json.loads(frame)


def parse_worker_message(skill: str, frame: bytes) -> WorkerMessage:
    """One worker frame as a validated message; `ProtocolViolation` naming what was wrong."""
    try:
        return _WORKER_MESSAGE.validate_json(frame)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        if first["type"] == "json_invalid":
            raise ProtocolViolation(skill, f"not JSON: {first['msg'].removeprefix('Invalid JSON: ')}") from None
        where = ".".join(str(part) for part in first["loc"])
        raise ProtocolViolation(skill, f"{where}: {first['msg']}" if where else first["msg"]) from None


class Channel:
    """One end of the worker's socket pair: whole frames in and out."""

    def __init__(self, sock: socket.socket, max_frame_bytes: int):
        self.sock = sock
        self.max_frame_bytes = max_frame_bytes
        """Longest frame accepted from the other end."""

    @staticmethod
    def encode(message: dict[str, Any]) -> bytes:
        """`message` as a frame's JSON; `TypeError`/`ValueError` when it is not plain JSON data."""
        return json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()

    def send(self, message: dict[str, Any]) -> None:
        self.send_encoded(self.encode(message))

    def send_encoded(self, body: bytes) -> None:
        try:
            self.sock.sendall(_HEADER.pack(len(body)) + body)
        except OSError as error:
            raise ChannelClosed(str(error)) from None

    def receive(self, timeout_s: float | None = None) -> bytes:
        """The next frame's bytes; `TimeoutError` when none is complete in time.

        `OverflowError` when the other end announces a frame over the bound (its body is
        not read: the channel is then out of step and must be closed).
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        (length,) = _HEADER.unpack(self._read(_HEADER.size, deadline))
        if length > self.max_frame_bytes:
            raise OverflowError(f"a frame of {length} bytes, over the {self.max_frame_bytes}-byte limit")
        return self._read(length, deadline)

    def poll(self, timeout_s: float) -> bool:
        """Whether something can be read within `timeout_s`."""
        import select

        readable, _, _ = select.select([self.sock], [], [], max(timeout_s, 0))
        return bool(readable)

    def _read(self, size: int, deadline: float | None) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.poll(remaining):
                    raise TimeoutError
            try:
                chunk = self.sock.recv(min(size - len(chunks), 2**20))
            except OSError as error:
                raise ChannelClosed(str(error)) from None
            if not chunk:
                raise ChannelClosed("the other end closed the channel")
            chunks += chunk
        return bytes(chunks)

    def close(self) -> None:
        self.sock.close()
