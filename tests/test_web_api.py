"""The HTTP API's contract: every route, bad input, limits, the token and the Origin check.

In process, through Starlette's test client (a real ASGI app on a real assistant, lexical NLU).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from assistant.config import load_config
from assistant.home import Home
from assistant.runtime import Assistant
from assistant.web.api import WebConfig, build_app
from assistant.web.guard import Limits, TokenStore
from assistant.web.openapi import SPEC

SAME_ORIGIN = {"origin": "http://testserver"}
OTHER_ORIGIN = {"origin": "http://evil.example"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    home = Home(tmp_path_factory.mktemp("web-home")).ensure()
    assistant = Assistant(home, load_config(home.config_file, environ={"ASSISTANT_NLU__ENGINE": "lexical"}))
    assistant.services()["scheduler"].start()
    yield assistant
    assistant.close()


@pytest.fixture(scope="module")
def client(app: Assistant) -> Iterator[TestClient]:
    with TestClient(build_app(app, WebConfig(require_token=False))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def token(app: Assistant) -> str:
    return TokenStore(app.home.data).reset()


@pytest.fixture(scope="module")
def guarded(app: Assistant, token: str) -> Iterator[TestClient]:
    limits = Limits(max_connections=1, max_messages_per_s=1.0)
    with TestClient(build_app(app, WebConfig(require_token=True, limits=limits))) as test_client:
        yield test_client


def test_ask_returns_the_turn_object(client: TestClient) -> None:
    response = client.post("/api/ask", json={"text": "what time is it"}, headers=SAME_ORIGIN)
    assert response.status_code == 200
    turn = response.json()
    assert {"text", "skill", "action", "confidence", "entities", "reply"} <= set(turn)
    assert turn["skill"] == "system" and turn["reply"]


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b"[1]", 400), (b'{"text": ""}', 400), (b'{"text": 5}', 400),
     (json.dumps({"text": "x" * 2001}).encode(), 413), (b"x" * (64 * 1024 + 1), 413)],
)  # fmt: skip
def test_bad_requests_are_refused_with_a_reason(client: TestClient, body: bytes, status: int) -> None:
    response = client.post("/api/ask", content=body, headers=SAME_ORIGIN)
    assert response.status_code == status
    assert response.json()["error"]


def test_a_state_change_from_another_origin_is_refused(client: TestClient) -> None:
    response = client.post("/api/ask", json={"text": "what time is it"}, headers=OTHER_ORIGIN)
    assert response.status_code == 403 and response.json()["code"] == "origin"


def test_a_websocket_from_another_origin_is_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/api/session", headers=OTHER_ORIGIN) as socket:
            socket.receive_json()
    assert refused.value.code == 4403


def test_the_websocket_session_answers_typed_text_and_bad_messages(client: TestClient) -> None:
    with client.websocket_connect("/api/session", headers=SAME_ORIGIN) as socket:
        hello = socket.receive_json()
        assert hello["event"] == "hello" and hello["room"] == "web"
        socket.send_text(json.dumps({"type": "text", "text": "hello"}))
        turn = socket.receive_json()
        assert "event" not in turn and turn["skill"] == "system"
        for bad, code in [("{", "bad_input"), ('{"type": "fly"}', "bad_input"), ('{"type": "text"}', "bad_input"),
                          (json.dumps({"type": "text", "text": "x" * 3000}), "too_long"),
                          ('{"type": "voice", "mode": "loud"}', "bad_input")]:  # fmt: skip
            socket.send_text(bad)
            event = socket.receive_json()
            assert event["event"] == "error" and event["code"] == code, bad
        socket.send_bytes(b"\x00\x01" * 100)  # audio while nobody listens: dropped, no reply
        socket.send_text(json.dumps({"type": "stop"}))
        assert socket.receive_json()["event"] in ("audio_stop", "stopped")


def test_two_sockets_are_two_sessions(client: TestClient) -> None:
    with client.websocket_connect("/api/session", headers=SAME_ORIGIN) as first:
        with client.websocket_connect("/api/session", headers=SAME_ORIGIN) as second:
            assert first.receive_json()["session"] != second.receive_json()["session"]
            first.send_text(json.dumps({"type": "text", "text": "remind me to water the plants"}))
            assert first.receive_json()["expects_reply"]
            # The other tab has no pending question: "in 10 minutes" is an alarm there...
            second.send_text(json.dumps({"type": "text", "text": "in 10 minutes"}))
            assert second.receive_json()["action"] == "set_alarm"
            # ...and the answer to the question in the first.
            first.send_text(json.dumps({"type": "text", "text": "in 10 minutes"}))
            answer = first.receive_json()
            assert answer["action"] == "set_reminder" and "plants" in json.dumps(answer), answer
    for job in client.get("/api/reminders").json()["reminders"]:
        client.delete(f"/api/reminders/{job['id']}", headers=SAME_ORIGIN)


def test_timers_belong_to_the_room_and_can_be_paused_resumed_and_cancelled(client: TestClient, app: Assistant) -> None:
    turn = client.post("/api/ask?room=kitchen", json={"text": "set a timer for 10 minutes"}, headers=SAME_ORIGIN).json()
    assert turn["skill"] == "reminders", turn
    listed = client.get("/api/reminders?room=kitchen").json()
    assert listed["room"] == "kitchen" and len(listed["reminders"]) == 1
    job = listed["reminders"][0]
    assert job["room"] == "kitchen"
    assert client.get("/api/reminders?room=garage").json()["reminders"] == []
    assert client.delete(f"/api/reminders/{job['id']}?room=garage", headers=SAME_ORIGIN).status_code == 404
    paused = client.post(f"/api/reminders/{job['id']}/pause?room=kitchen", headers=SAME_ORIGIN).json()
    assert paused["paused"] and paused["paused_left_s"] > 500
    resumed = client.post(f"/api/reminders/{job['id']}/resume?room=kitchen", headers=SAME_ORIGIN).json()
    assert not resumed["paused"]
    assert client.post(f"/api/reminders/{job['id']}/explode?room=kitchen", headers=SAME_ORIGIN).status_code == 404
    assert client.delete(f"/api/reminders/{job['id']}?room=kitchen", headers=OTHER_ORIGIN).status_code == 403
    assert client.delete(f"/api/reminders/{job['id']}?room=kitchen", headers=SAME_ORIGIN).status_code == 200
    assert client.get("/api/reminders?room=kitchen").json()["reminders"] == []
    assert client.get("/api/reminders?room=" + "x" * 41).status_code == 400


def test_skills_are_listed_with_permissions_and_real_sentences(client: TestClient) -> None:
    skills = {s["id"]: s for s in client.get("/api/skills").json()["skills"]}
    assert {"system", "reminders", "music_player"} <= set(skills)
    assert "scheduler" in skills["reminders"]["permissions"] or skills["reminders"]["permissions"]
    sentences = [e for s in skills.values() for e in s["examples"]]
    assert sentences and not any("{" in e or "[" in e for e in sentences)


def wav(samples: np.ndarray, rate: int) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, samples, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def test_speech_in_and_out(client: TestClient) -> None:
    spoken = client.post("/api/tts", json={"text": "Set a timer for five minutes."}, headers=SAME_ORIGIN)
    assert spoken.status_code == 200 and spoken.headers["content-type"] == "audio/wav"
    assert spoken.content[:4] == b"RIFF"
    heard = client.post("/api/stt", content=spoken.content, headers={**SAME_ORIGIN, "content-type": "audio/wav"})
    assert heard.status_code == 200
    assert "timer" in heard.json()["text"].lower()
    openai = client.post("/v1/audio/transcriptions", files={"file": ("a.wav", spoken.content, "audio/wav")})
    assert "timer" in openai.json()["text"].lower()
    assert client.post("/v1/audio/speech", json={"input": "Hello."}).content[:4] == b"RIFF"
    assert client.post("/v1/audio/speech", json={"input": "Hello.", "response_format": "mp3"}).status_code == 400


def test_bad_and_long_audio_are_refused(client: TestClient) -> None:
    assert client.post("/api/stt", content=b"").status_code == 400
    assert client.post("/api/stt", content=b"RIFF-not-really-audio" * 10).status_code == 400
    long = wav(np.zeros(16000 * 61, np.int16), 16000)
    assert client.post("/api/stt", content=long).json()["code"] == "too_long"
    assert client.post("/api/stt", content=b"x" * (10 * 1024 * 1024 + 1)).status_code == 413
    assert client.post("/api/tts", json={"text": "x" * 2001}).status_code == 413


def test_openapi_describes_every_route(client: TestClient) -> None:
    from starlette.routing import Route, WebSocketRoute

    described = set(SPEC["paths"])
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route | WebSocketRoute) and route.path.startswith(("/api", "/v1")):
            path = route.path.replace("{verb:str}", "pause")
            assert path in described, path
    assert client.get("/api/openapi.json").json()["openapi"].startswith("3.")


def test_the_token_is_needed_off_loopback(guarded: TestClient, token: str, app: Assistant) -> None:
    assert guarded.get("/api/health").json() == {"ok": True, "login_required": True, "authorized": False}
    assert guarded.get("/api/skills").status_code == 401
    assert guarded.get("/api/skills", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get("/api/skills", headers={"authorization": f"Bearer {token}"}).status_code == 200
    assert token not in (app.home.data / "web_token.sha256").read_text()
    with pytest.raises(WebSocketDisconnect) as refused:
        with guarded.websocket_connect("/api/session", headers=SAME_ORIGIN) as socket:
            socket.receive_json()
    assert refused.value.code == 4401
    assert guarded.post("/api/login", json={"token": "wrong"}, headers=SAME_ORIGIN).status_code == 401
    assert guarded.post("/api/login", json={"token": token}, headers=OTHER_ORIGIN).status_code == 403
    login = guarded.post("/api/login", json={"token": token}, headers=SAME_ORIGIN)
    cookie = login.headers["set-cookie"].lower()
    assert "samesite=strict" in cookie and "httponly" in cookie
    assert guarded.get("/api/health").json()["authorized"]


def test_connections_and_message_rate_are_limited(guarded: TestClient, token: str) -> None:
    headers = {**SAME_ORIGIN, "authorization": f"Bearer {token}"}
    with guarded.websocket_connect("/api/session", headers=headers) as socket:
        socket.receive_json()
        with pytest.raises(WebSocketDisconnect) as refused:
            with guarded.websocket_connect("/api/session", headers=headers) as other:
                other.receive_json()
        assert refused.value.code == 4429
        codes: list[Any] = []
        for _ in range(8):
            socket.send_text('{"type": "fly"}')
            codes.append(socket.receive_json()["code"])
        assert "rate_limited" in codes


def test_the_page_and_its_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "app.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "mic-worklet.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert Path(__file__).name  # (the files ship in the wheel: setup.py package_data)


def test_https_and_a_token_off_loopback(tmp_path: Path) -> None:
    import asyncio
    import subprocess
    import threading

    import httpx

    from assistant.web.server import HttpEndpoint, open_http

    assert HttpEndpoint.parse("tcp://:0") == HttpEndpoint("127.0.0.1", 0)
    home = Home(tmp_path / "home").ensure()
    app = Assistant(home, load_config(home.config_file, environ={"ASSISTANT_NLU__ENGINE": "lexical"}))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    server = open_http(app, HttpEndpoint("0.0.0.0", 0), str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))
    assert server.new_token and server.url.startswith("https://")  # shown once...
    port = server.sock.getsockname()[1]
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    try:
        base = f"https://127.0.0.1:{port}"
        for _ in range(50):
            try:
                health = httpx.get(f"{base}/api/health", verify=False).json()
                break
            except httpx.ConnectError:
                threading.Event().wait(0.1)
        assert health["login_required"]
        assert httpx.get(f"{base}/api/skills", verify=False).status_code == 401
        bearer = {"authorization": f"Bearer {server.new_token}"}
        assert httpx.get(f"{base}/api/skills", verify=False, headers=bearer).status_code == 200
        login = httpx.post(f"{base}/api/login", json={"token": server.new_token}, verify=False)
        assert "secure" in login.headers["set-cookie"].lower()
    finally:
        server.stop()
        thread.join(10)
    # ...and never again: the next start keeps the stored one.
    again = open_http(app, HttpEndpoint("0.0.0.0", 0))
    again.sock.close()
    assert again.new_token is None
