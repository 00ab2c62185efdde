"""The HTTP API and the page: one Starlette application over one `Assistant`.

Every route is a thin adapter onto the runtime: `/api/ask` opens a session for one turn (the
`ask --json` object), `/api/session` is a WebSocket session (`web/live.py`), the reminders
routes call the scheduler in the caller's room, `/api/tts` and `/api/stt` the voice pipeline's
shared engines (blocking work in threads). The routes and their bodies are described in
`openapi.py` (served at `/api/openapi.json`) and in docs/web.md.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import tempfile
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from assistant.errors import AssistantError
from assistant.nlu.samples import example
from assistant.text import clean
from assistant.web.guard import COOKIE, Limits, TokenStore, origin_allowed
from assistant.web.live import BrowserSession
from assistant.web.openapi import SPEC

log = logging.getLogger(__name__)

STATIC = Path(str(files("assistant.web") / "static"))
WEB_ROOM = "web"
"""The room of a browser tab that names none: its timers ring in the tabs of that room."""
ROOM_NAME = re.compile(r"^[\w][\w .-]{0,39}$")
"""A room a client names: a word, up to 40 letters, digits, spaces, dots and dashes."""


@dataclass
class WebConfig:
    """How the server was started (`serve --http`)."""

    require_token: bool
    """True when bound to anything but loopback (or asked for)."""
    secure: bool = False
    """Served over TLS: the cookie is `Secure`."""
    limits: Limits = field(default_factory=Limits)


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str = "bad_input"):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def build_app(app: Any, config: WebConfig, pipeline: Any = None) -> Starlette:
    """The ASGI application; `pipeline` (a `VoicePipeline`) is made on first use when not given."""
    from assistant.voice.pipeline import VoicePipeline

    web = _Web(app, config, pipeline or VoicePipeline(app))
    routes = [
        Route("/", web.page),
        Route("/api/health", web.health),
        Route("/api/openapi.json", web.openapi),
        Route("/api/login", web.login, methods=["POST"]),
        Route("/api/logout", web.logout, methods=["POST"]),
        Route("/api/ask", web.ask, methods=["POST"]),
        Route("/api/skills", web.skills),
        Route("/api/reminders", web.reminders),
        Route("/api/reminders/{job_id}", web.cancel, methods=["DELETE"]),
        Route("/api/reminders/{job_id}/{verb:str}", web.change, methods=["POST"]),
        Route("/api/tts", web.tts, methods=["POST"]),
        Route("/api/stt", web.stt, methods=["POST"]),
        Route("/v1/audio/speech", web.openai_speech, methods=["POST"]),
        Route("/v1/audio/transcriptions", web.openai_transcription, methods=["POST"]),
        WebSocketRoute("/api/session", web.session),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={ApiError: _api_error})  # type: ignore[dict-item]


async def _api_error(request: Request, error: ApiError) -> Response:
    return JSONResponse({"error": error.message, "code": error.code}, status_code=error.status)


class _Web:
    def __init__(self, app: Any, config: WebConfig, pipeline: Any):
        self.app = app
        self.config = config
        self.limits = config.limits
        self.pipeline = pipeline
        self.tokens = TokenStore(app.home.data)
        self.connections = 0

    # -- who may ----------------------------------------------------------------------

    def authorized(self, conn: HTTPConnection) -> bool:
        if not self.config.require_token:
            return True
        header = conn.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else conn.cookies.get(COOKIE)
        return self.tokens.check(token)

    def guard(self, request: Request, changes: bool = True) -> None:
        """Origin for what changes state (a cookie would otherwise ride along), then the token."""
        if changes and not origin_allowed(request.headers.get("origin"), request.headers.get("host")):
            raise ApiError(403, "cross-origin request refused", "origin")
        if not self.authorized(request):
            raise ApiError(401, "a token is needed: Authorization: Bearer TOKEN", "unauthorized")

    async def body(self, request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ApiError(413, f"body larger than {limit} bytes", "too_large")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"body larger than {limit} bytes", "too_large")
            chunks.append(chunk)
        return b"".join(chunks)

    async def json_body(self, request: Request) -> dict[str, Any]:
        raw = await self.body(request, self.limits.max_body_bytes)
        try:
            value = json.loads(raw)
        except ValueError:
            raise ApiError(400, "the body is not JSON") from None
        if not isinstance(value, dict):
            raise ApiError(400, "the body is a JSON object")
        return value

    def text_field(self, body: dict[str, Any], key: str) -> str:
        text = body.get(key)
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, f"{key}: a non-empty string")
        if len(text) > self.limits.max_text_chars:
            raise ApiError(413, f"{key}: longer than {self.limits.max_text_chars} characters", "too_long")
        return clean(text)

    def room(self, conn: HTTPConnection) -> str:
        room = conn.query_params.get("room") or WEB_ROOM
        if not ROOM_NAME.match(room):
            raise ApiError(400, "room: up to 40 letters, digits, spaces, dots and dashes")
        return room

    # -- the page ---------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)

    async def health(self, request: Request) -> Response:
        return JSONResponse(
            {"ok": True, "login_required": self.config.require_token, "authorized": self.authorized(request)}
        )

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(SPEC)

    async def login(self, request: Request) -> Response:
        if not origin_allowed(request.headers.get("origin"), request.headers.get("host")):
            raise ApiError(403, "cross-origin request refused", "origin")
        token = (await self.json_body(request)).get("token")
        if not isinstance(token, str) or not self.tokens.check(token):
            raise ApiError(401, "wrong token", "unauthorized")
        response = JSONResponse({"ok": True})
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", secure=self.config.secure, max_age=90 * 86400
        )
        return response

    async def logout(self, request: Request) -> Response:
        response = JSONResponse({"ok": True})
        response.delete_cookie(COOKIE, httponly=True, samesite="strict", secure=self.config.secure)
        return response

    # -- turns ------------------------------------------------------------------------

    async def ask(self, request: Request) -> Response:
        self.guard(request)
        body = await self.json_body(request)
        text = self.text_field(body, "text")
        room = self.room(request)

        def one_turn() -> dict[str, Any]:
            with self.app.open_session(room=room) as session:
                return session.handle(text).event().to_json()  # type: ignore[no-any-return]

        return JSONResponse(await asyncio.to_thread(one_turn))

    async def session(self, websocket: WebSocket) -> None:
        refusal = self.refuse_socket(websocket)
        if refusal is not None:
            # Accepted, then closed with the reason: a page sees the code (4401: log in), which a
            # refused handshake would hide behind 1006. Nothing is sent before the close.
            await websocket.accept()
            await websocket.close(*refusal)
            return
        self.connections += 1
        try:
            await websocket.accept()
            room = self.room(websocket)
            await BrowserSession(self.app, self.pipeline, websocket, room, self.limits).run()
        finally:
            self.connections -= 1

    def refuse_socket(self, websocket: WebSocket) -> tuple[int, str] | None:
        if not origin_allowed(websocket.headers.get("origin"), websocket.headers.get("host")):
            return 4403, "cross-origin WebSocket refused"
        if not self.authorized(websocket):
            return 4401, "a token is needed"
        try:
            self.room(websocket)
        except ApiError as error:
            return 4400, error.message
        if self.connections >= self.limits.max_connections:
            return 4429, "too many connections"
        return None

    # -- skills and reminders ---------------------------------------------------------

    async def skills(self, request: Request) -> Response:
        self.guard(request, changes=False)
        catalog = self.app.catalog()
        rows = []
        for skill in catalog.skills.values():
            examples = catalog.entity_examples(skill)
            said = [example(a.samples, examples) for a in skill.actions.values() if not a.internal]
            rows.append(
                {
                    "id": skill.id,
                    "name": skill.name,
                    "description": skill.description,
                    "version": skill.version,
                    "permissions": skill.permissions,
                    "examples": [s for s in dict.fromkeys(said) if s],
                }
            )
        return JSONResponse({"skills": rows})

    def scheduler(self) -> Any:
        return self.app.services()["scheduler"]

    async def reminders(self, request: Request) -> Response:
        self.guard(request, changes=False)
        jobs = await asyncio.to_thread(self.scheduler().jobs, None, self.room(request))
        visible = [job for job in jobs if not job["id"].endswith("~ring")]
        return JSONResponse({"room": self.room(request), "reminders": visible})

    async def cancel(self, request: Request) -> Response:
        self.guard(request)
        job_id, room = request.path_params["job_id"], self.room(request)
        if not await asyncio.to_thread(self.scheduler().cancel, job_id, room):
            raise ApiError(404, f"no reminder {job_id!r} in room {room!r}", "not_found")
        return JSONResponse({"cancelled": job_id})

    async def change(self, request: Request) -> Response:
        self.guard(request)
        job_id, verb, room = request.path_params["job_id"], request.path_params["verb"], self.room(request)
        if verb not in ("pause", "resume"):
            raise ApiError(404, "POST /api/reminders/ID/pause or /resume", "not_found")
        if await asyncio.to_thread(self.scheduler().get, job_id, room) is None:
            raise ApiError(404, f"no reminder {job_id!r} in room {room!r}", "not_found")
        try:
            job = await asyncio.to_thread(getattr(self.scheduler(), verb), job_id, room)
        except AssistantError as error:
            raise ApiError(409, str(error), "conflict") from None
        return JSONResponse(job)

    # -- speech -----------------------------------------------------------------------

    async def tts(self, request: Request) -> Response:
        self.guard(request)
        text = self.text_field(await self.json_body(request), "text")
        return Response(await asyncio.to_thread(self._wav, text), media_type="audio/wav")

    async def openai_speech(self, request: Request) -> Response:
        self.guard(request)
        body = await self.json_body(request)
        text = self.text_field(body, "input")
        if body.get("response_format", "wav") != "wav":
            raise ApiError(400, "response_format: only wav")
        return Response(await asyncio.to_thread(self._wav, text), media_type="audio/wav")

    def _wav(self, text: str) -> bytes:
        import soundfile

        speech = self.pipeline.synthesizer().synthesize(text)
        out = io.BytesIO()
        soundfile.write(out, speech.samples, speech.sample_rate_hz, format="WAV", subtype="PCM_16")
        return out.getvalue()

    async def stt(self, request: Request) -> Response:
        self.guard(request)
        audio = await self.body(request, self.limits.max_audio_bytes)
        return JSONResponse(await asyncio.to_thread(self._transcribe, audio))

    async def openai_transcription(self, request: Request) -> Response:
        self.guard(request)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limits.max_audio_bytes:
            raise ApiError(413, f"body larger than {self.limits.max_audio_bytes} bytes", "too_large")
        async with request.form(max_files=1, max_fields=8, max_part_size=self.limits.max_audio_bytes) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise ApiError(400, "file: the audio, as multipart/form-data")
            audio = await upload.read(self.limits.max_audio_bytes + 1)
        if len(audio) > self.limits.max_audio_bytes:
            raise ApiError(413, f"file larger than {self.limits.max_audio_bytes} bytes", "too_large")
        result = await asyncio.to_thread(self._transcribe, audio)
        return JSONResponse({"text": result["text"]})

    def _transcribe(self, audio: bytes) -> dict[str, Any]:
        from assistant.audio.decode import load_audio

        if not audio:
            raise ApiError(400, "no audio in the body (WAV, FLAC or OGG)")
        with tempfile.NamedTemporaryFile(dir=self.app.home.cache, suffix=".audio") as held:
            held.write(audio)
            held.flush()
            try:
                decoded = load_audio(held.name, max_duration_s=self.limits.max_audio_s)
            except AssistantError as error:
                raise ApiError(400, f"audio: {error}", "audio") from None
        if decoded.truncated:
            raise ApiError(413, f"audio longer than {self.limits.max_audio_s:.0f} s", "too_long")
        transcript = self.pipeline.dictation().transcribe(decoded.samples)
        return transcript.to_json()  # type: ignore[no-any-return]


_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; media-src 'self' blob:; "
    "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
