"""Serving the web application with uvicorn, on the caller's event loop (so it shares one
process, one `Assistant` and one scheduler with the Wyoming server and satellites)."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from assistant.errors import ConfigError
from assistant.web.api import WebConfig, build_app
from assistant.web.guard import Limits, TokenStore, is_loopback

DEFAULT_PORT = 10380


@dataclass(frozen=True)
class HttpEndpoint:
    host: str
    port: int

    @classmethod
    def parse(cls, uri: str) -> HttpEndpoint:
        """`tcp://HOST:PORT`; `tcp://:PORT` binds 127.0.0.1."""
        parts = urlsplit(uri if "://" in uri else f"tcp://{uri}")
        if parts.scheme not in ("tcp", "http", "https"):
            raise ConfigError(f"--http {uri}: give tcp://HOST:PORT")
        try:
            port = parts.port if parts.port is not None else DEFAULT_PORT
        except ValueError:
            raise ConfigError(f"--http {uri}: the port is not a number") from None
        return cls(parts.hostname or "127.0.0.1", port)


@dataclass
class HttpServer:
    """A bound, not yet serving, web server: `url`, `new_token` (to show once), then `serve()`."""

    server: Any
    pipeline: Any
    """The `VoicePipeline` its sessions share (`warm()` loads the models in the background)."""
    sock: socket.socket
    url: str
    new_token: str | None

    async def serve(self) -> None:
        await self.server.serve(sockets=[self.sock])

    def stop(self) -> None:
        self.server.should_exit = True


def open_http(
    app: Any,
    endpoint: HttpEndpoint,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    require_token: bool = False,
    limits: Limits | None = None,
) -> HttpServer:
    """Bind the port (so that the caller knows it and the token before serving)."""
    import uvicorn

    if bool(tls_cert) != bool(tls_key):
        raise ConfigError("give both --tls-cert and --tls-key")
    required = require_token or not is_loopback(endpoint.host)
    new_token = TokenStore(app.home.data).ensure() if required else None
    limits = limits or Limits()
    from assistant.voice.pipeline import VoicePipeline

    pipeline = VoicePipeline(app)
    asgi = build_app(app, WebConfig(required, secure=bool(tls_cert), limits=limits), pipeline)
    family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((endpoint.host, endpoint.port))
    except OSError as error:
        sock.close()
        raise ConfigError(f"--http: cannot listen on {endpoint.host}:{endpoint.port}: {error}") from None
    sock.listen(64)
    sock.setblocking(False)
    config = uvicorn.Config(
        asgi,
        lifespan="off",
        log_level="warning",
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        ws_max_size=limits.max_message_bytes,
        ws_ping_interval=20,
        limit_concurrency=limits.max_connections * 4,
        timeout_graceful_shutdown=2,
    )
    port = sock.getsockname()[1]
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    url = f"{'https' if tls_cert else 'http'}://{host}:{port}/"
    return HttpServer(uvicorn.Server(config), pipeline, sock, url, new_token)


async def serve_forever(server: HttpServer) -> None:
    try:
        await server.serve()
    finally:
        server.stop()
        await asyncio.sleep(0)
