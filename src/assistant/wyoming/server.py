"""The Wyoming server: one connection per request, as Home Assistant makes them.

Each connection reads events through the bounded reader, hands each to the part
that serves its domain (a table by event type), and answers a bad event with an
`error` event, then goes on. Every write waits for the client to have room for it,
up to `write_timeout_s`: a client that stops reading is dropped, and the work
for it (a synthesis) stops with it. A connection that breaks the framing (oversized,
not JSON, cut short, silent too long) is closed; the server keeps serving the
others. Wyoming has no authentication: the server binds the loopback address
unless told otherwise, and serves only the client addresses in the allow-list.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from wyoming.event import Event, async_write_event

from assistant.errors import ConfigError
from assistant.wyoming.asr import Transcription
from assistant.wyoming.services import Services
from assistant.wyoming.tts import Speaker
from assistant.wyoming.wake import Detection
from assistant.wyoming.wire import ProtocolError, SlowReader, read_event

log = logging.getLogger(__name__)


class Connection:
    """One client: its events in, the answers out."""

    def __init__(
        self, services: Services, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ):
        self.services = services
        self.reader = reader
        self.writer = writer
        self.speaker = (
            Speaker(services.voices, services.limits, self.send) if services.voices else None
        )
        self.audio_request: Transcription | Detection | None = None
        self._handlers: dict[str, Callable[[Event], Awaitable[None]]] = {
            "describe": self._describe,
            "ping": self._ping,
            "transcribe": self._transcribe,
            "detect": self._detect,
            "audio-start": self._audio_start,
            "audio-chunk": self._audio_chunk,
            "audio-stop": self._audio_stop,
            "synthesize": self._synthesize,
            "synthesize-start": self._synthesize_start,
            "synthesize-chunk": self._synthesize_chunk,
            "synthesize-stop": self._synthesize_stop,
            "transcript": self._transcript,
        }

    async def send(self, event: Event) -> None:
        """Write `event` once the client has room for it; a client that leaves what it was sent
        unread for `write_timeout_s` is cut off (SlowReader), and what it asked for stops."""
        timeout_s = self.services.limits.write_timeout_s
        try:
            await asyncio.wait_for(async_write_event(event, self.writer), timeout_s)
        except TimeoutError:
            self.writer.transport.abort()  # close() would wait for the unread bytes to go out
            raise SlowReader(f"the client read nothing for {timeout_s:g} s") from None

    async def run(self) -> None:
        """Serve events until the client closes, breaks the framing or falls silent."""
        limits = self.services.limits
        try:
            while True:
                try:
                    event = await read_event(self.reader, limits)
                except TimeoutError:
                    log.info("closing a connection silent for %g s", limits.read_timeout_s)
                    return
                except ProtocolError as error:
                    log.warning("closing a connection: %s", error)
                    await self._error(str(error), "bad-event")
                    await self._linger()
                    return
                if event is None:
                    return
                await self._dispatch(event)
        except SlowReader as error:
            log.warning("dropping a client: %s", error)
        except (ConnectionError, OSError) as error:
            log.info("client gone: %s", error)
        finally:
            await self._close()

    async def _dispatch(self, event: Event) -> None:
        handler = self._handlers.get(event.type)
        if handler is None:
            log.debug("ignoring a %s event", event.type)  # as Wyoming servers do
            return
        try:
            await handler(event)
        except ProtocolError as error:
            log.info("%s: %s", event.type, error)
            await self._error(str(error), "bad-request")
            await self._abandon()
        except (ConnectionError, OSError):
            raise
        except Exception as error:  # an engine boundary: the request fails, the server goes on
            log.exception("%s failed", event.type)
            await self._error(f"{event.type} failed: {error}", "failed")
            await self._abandon()

    async def _error(self, text: str, code: str) -> None:
        from wyoming.error import Error

        try:
            await self.send(Error(text=text, code=code).event())
        except (ConnectionError, OSError):
            pass

    async def _linger(self, seconds: float = 2.0, most: int = 4 << 20) -> None:
        """Half-close, then read and drop what the peer still sends, for a moment.

        Closing a socket with unread bytes in it sends a reset, and a reset can wipe
        the error we just wrote from the peer's receive buffer before it reads it
        (the "lingering close" of HTTP servers). Bounded in time and in bytes.
        """
        try:
            if self.writer.can_write_eof():
                self.writer.write_eof()
            loop = asyncio.get_running_loop()
            deadline, dropped = loop.time() + seconds, 0
            while dropped < most and (left := deadline - loop.time()) > 0:
                chunk = await asyncio.wait_for(self.reader.read(65536), left)
                if not chunk:
                    return
                dropped += len(chunk)
        except (TimeoutError, ConnectionError, OSError, asyncio.LimitOverrunError):
            pass

    async def _abandon(self) -> None:
        """A failed request leaves nothing half-done: audio dropped, a streamed synthesis closed."""
        await self._drop_audio_request()
        if self.speaker is not None and self.speaker.streaming:
            await self.speaker.abandon()

    async def _drop_audio_request(self) -> None:
        request, self.audio_request = self.audio_request, None
        if request is not None:
            await asyncio.to_thread(request.cancel)  # a decoder finishing its work: not on the loop

    async def _close(self) -> None:
        await self._drop_audio_request()
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    # -- the domains ---------------------------------------------------------------------

    async def _describe(self, _event: Event) -> None:
        await self.send(self.services.info.event())

    async def _ping(self, event: Event) -> None:
        from wyoming.ping import Pong

        await self.send(Pong(text=event.data.get("text")).event())

    async def _transcribe(self, event: Event) -> None:
        if self.services.transcriber is None:
            raise ProtocolError("speech-to-text is not served here")
        language = event.data.get("language")
        await self._drop_audio_request()
        self.audio_request = Transcription(
            self.services.transcriber,
            self.services.limits,
            language if isinstance(language, str) else None,
            wanted=lambda: not self.reader.at_eof(),
        )

    async def _detect(self, event: Event) -> None:
        if not self.services.wake_models:
            raise ProtocolError("wake-word detection is not served here")
        names = event.data.get("names")
        wanted = [n for n in names if isinstance(n, str)] if isinstance(names, list) else None
        await self._drop_audio_request()
        self.audio_request = Detection(self.services.wake_models, self.services.limits, wanted)

    async def _audio_start(self, event: Event) -> None:
        from assistant.wyoming.wire import AudioFormat

        AudioFormat.from_data(event.data)  # refuse a bad format up front

    async def _audio_chunk(self, event: Event) -> None:
        request = self.audio_request
        if request is None:
            raise ProtocolError("audio-chunk without transcribe or detect before it")
        if isinstance(request, Detection):
            detection = await asyncio.to_thread(request.chunk, event.data, event.payload or b"")
            if detection is not None:
                await self.send(detection)
        else:
            request.chunk(event.data, event.payload or b"")

    async def _audio_stop(self, _event: Event) -> None:
        request, self.audio_request = self.audio_request, None
        if request is None:
            raise ProtocolError("audio-stop without transcribe or detect before it")
        answer = await request.finish()
        if answer is not None:
            await self.send(answer)

    def _speaker(self) -> Speaker:
        if self.speaker is None:
            raise ProtocolError("text-to-speech is not served here")
        return self.speaker

    async def _synthesize(self, event: Event) -> None:
        await self._speaker().synthesize(event.data)

    async def _synthesize_start(self, event: Event) -> None:
        await self._speaker().start(event.data)

    async def _synthesize_chunk(self, event: Event) -> None:
        await self._speaker().chunk(event.data)

    async def _synthesize_stop(self, _event: Event) -> None:
        await self._speaker().stop()

    async def _transcript(self, event: Event) -> None:
        conversations = self.services.conversations
        if conversations is None:
            raise ProtocolError("conversations are not served here")
        await self.send(await conversations.answer(event.data, self.services.limits))


class AllowList:
    """Client addresses (or CIDR networks) that may connect; Unix sockets are always allowed."""

    def __init__(self, entries: list[str]):
        try:
            self.networks = [ipaddress.ip_network(entry, strict=False) for entry in entries]
        except ValueError as error:
            raise ConfigError(f"[wyoming] allow: {error}") from None

    def allows(self, peer: object) -> bool:
        if not isinstance(peer, tuple) or not peer:
            return True  # a Unix socket: the file's permissions decide
        try:
            address = ipaddress.ip_address(str(peer[0]).split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


@dataclass(frozen=True)
class Endpoint:
    """Where to listen or connect: tcp://HOST:PORT or unix://PATH."""

    host: str | None = None
    port: int | None = None
    path: Path | None = None

    @classmethod
    def parse(cls, uri: str, default_host: str = "127.0.0.1") -> Endpoint:
        parsed = urlparse(uri)
        if parsed.scheme == "unix" and parsed.path:
            return cls(path=Path(parsed.path))
        if parsed.scheme == "tcp":
            try:
                port = parsed.port
            except ValueError:
                port = None
            if port is not None:
                return cls(host=parsed.hostname or default_host, port=port)
        raise ConfigError(f"{uri!r}: give tcp://HOST:PORT, tcp://:PORT or unix://PATH")

    def __str__(self) -> str:
        return f"unix://{self.path}" if self.path else f"tcp://{self.host}:{self.port}"


class WyomingServer:
    """Listens on an endpoint and serves each allowed connection."""

    def __init__(self, services: Services, allow: AllowList):
        self.services = services
        self.allow = allow
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, endpoint: Endpoint) -> Endpoint:
        """Start listening; returns the endpoint bound (the port filled in for port 0)."""
        limit = self.services.limits.max_event_bytes + 1  # readuntil's bound on one header line
        if endpoint.path is not None:
            endpoint.path.unlink(missing_ok=True)
            self._server = await asyncio.start_unix_server(
                self._accept, path=str(endpoint.path), limit=limit
            )
            return endpoint
        self._server = await asyncio.start_server(
            self._accept, host=endpoint.host, port=endpoint.port, limit=limit
        )
        port = self._server.sockets[0].getsockname()[1]
        return Endpoint(host=endpoint.host, port=port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if not self.allow.allows(peer):
            log.warning("refused a connection from %s: not in [wyoming] allow", peer)
            writer.close()
            return
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await Connection(self.services, reader, writer).run()
        except asyncio.CancelledError:
            pass  # the server stopped: the connection task ends here
        finally:
            if task is not None:
                self._connections.discard(task)

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        connections = list(self._connections)
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
