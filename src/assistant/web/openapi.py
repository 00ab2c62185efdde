"""The HTTP API described for machines (OpenAPI 3.1), served at `/api/openapi.json`.

Kept by hand next to the routes of `api.py`; a test checks that every route is described.
"""

from __future__ import annotations

from typing import Any

_ERROR = {"description": "refused: `{error, code}`", "content": {"application/json": {}}}
_ROOM = {
    "name": "room",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "maxLength": 40, "default": "web"},
    "description": "the room asking; a room reaches only its own timers and reminders",
}
_JOB = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
_TEXT = {
    "required": True,
    "content": {"application/json": {"schema": {"type": "object", "required": ["text"],
                                                "properties": {"text": {"type": "string", "maxLength": 2000}}}}},
}  # fmt: skip
_WAV = {"description": "16-bit PCM WAV", "content": {"audio/wav": {}}}


def _op(summary: str, ok: str = "a JSON object", **extra: Any) -> dict[str, Any]:
    responses = {"200": {"description": ok, "content": {"application/json": {}}}}
    for status in ("400", "401", "403", "413"):
        responses[status] = _ERROR
    return {"summary": summary, "responses": responses, **extra}


SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "assistant", "version": "1", "description": "The assistant's HTTP API (docs/web.md)."},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/api/health": {"get": _op("whether a token is needed, and whether this client has it")},
        "/api/openapi.json": {"get": _op("this description")},
        "/api/login": {"post": _op("exchange the token for a SameSite=Strict cookie (the page's login)")},
        "/api/logout": {"post": _op("forget the cookie")},
        "/api/ask": {"post": _op("one turn: the `assistant ask --json` object", requestBody=_TEXT,
                                 parameters=[_ROOM])},  # fmt: skip
        "/api/skills": {"get": _op("installed skills: permissions and example sentences")},
        "/api/reminders": {"get": _op("the room's timers, reminders and alarms", parameters=[_ROOM])},
        "/api/reminders/{job_id}": {"delete": _op("cancel one", parameters=[_JOB, _ROOM])},
        "/api/reminders/{job_id}/pause": {"post": _op("pause a timer", parameters=[_JOB, _ROOM])},
        "/api/reminders/{job_id}/resume": {"post": _op("resume a timer", parameters=[_JOB, _ROOM])},
        "/api/tts": {"post": {**_op("text to speech in the assistant's voice", requestBody=_TEXT),
                              "responses": {"200": _WAV, "400": _ERROR, "413": _ERROR}}},  # fmt: skip
        "/api/stt": {"post": _op("speech to text: a WAV, FLAC or OGG file as the body (at most 60 s)",
                                 "a transcript: text, engine, confidence...")},  # fmt: skip
        "/v1/audio/speech": {"post": {**_op("OpenAI-style: {input} in, WAV out"),
                                      "responses": {"200": _WAV, "400": _ERROR}}},  # fmt: skip
        "/v1/audio/transcriptions": {"post": _op("OpenAI-style: multipart `file` in, {text} out")},
        "/api/session": {"get": _op(
            "WebSocket: one session. In: JSON {type: text|voice|talk|stop} and binary 16 kHz int16 "
            "mono audio. Out: the events of assistant.events as JSON, and {event: audio, "
            "sample_rate_hz} followed by binary int16 speech")},  # fmt: skip
    },
}
