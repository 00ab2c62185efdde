"""A hard deadline for one fetch, kept by every connect, read and write it makes.

httpx's timeouts bound each socket operation, not the whole fetch: a server that
stalls, or sends a byte just before each read timeout, would hold the caller far
beyond `[web] total_timeout_s`. `within(seconds)` sets the deadline for the code
it wraps (this thread only); `DeadlineStream` cuts every socket wait to the time left.
"""

from __future__ import annotations

import contextvars
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpcore

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("web_deadline", default=None)


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Every socket wait inside gives up `seconds` from now, whatever its own timeout."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds until the deadline (0 when passed), or None when there is none."""
    deadline = _deadline.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def cut(timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout` shortened to the time left; raises `error` when none is left."""
    left = time_left()
    if left is None:
        return timeout
    if left <= 0:
        raise error("the fetch's total time is up")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every wait ends at the deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, cut(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, cut(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, cut(timeout, httpcore.ConnectTimeout))
        return DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)
