"""assistant.stt.models: `models pull` against a real HTTP server on 127.0.0.1 serving zips built here."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.errors import ModelError
from assistant.stt.models import CATALOGUE, ModelSpec, installed, pull, resolve_vosk_model

FILES: dict[str, bytes] = {}
"""URL path -> body the server answers with."""


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = FILES.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        lie = self.path.endswith("short.zip")
        self.send_header("Content-Length", str(len(body) + (1000 if lie else 0)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def model_zip(members: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in (members or {
            "vosk-model-test/am/final.mdl": b"acoustic model " * 1000,
            "vosk-model-test/conf/model.conf": b"--sample-frequency=16000\n",
            "vosk-model-test/graph/HCLr.fst": b"graph",
        }).items():  # fmt: skip
            bundle.writestr(name, data)
    return buffer.getvalue()


def spec(server: str, name: str, body: bytes, md5: str | None = None) -> ModelSpec:
    FILES[f"/{name}.zip"] = body
    return ModelSpec("test-model", f"{server}/{name}.zip", "a test", md5=md5)


def test_pull_downloads_verifies_and_unpacks(server: str, tmp_path: Path) -> None:
    body = model_zip()
    seen: list[tuple[int, int | None]] = []
    target = pull(
        spec(server, "good", body, hashlib.md5(body).hexdigest()),
        tmp_path,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert target == tmp_path / "vosk" / "test-model"
    assert (target / "am" / "final.mdl").read_bytes().startswith(b"acoustic model")
    assert seen[-1] == (len(body), len(body))
    assert installed(tmp_path) == ["test-model"]
    assert resolve_vosk_model("test-model", tmp_path) == target
    assert pull(spec(server, "good", body), tmp_path) == target  # already there: no download


@pytest.mark.parametrize(
    ("name", "body", "md5", "message"),
    [
        ("missing", None, None, "HTTP 404"),
        ("notzip", b"<html>not found</html>", None, "not a zip archive"),
        ("badsum", model_zip(), "0" * 32, "checksum mismatch"),
        ("short", model_zip(), None, "download"),
        ("layout", model_zip({"x/readme.txt": b"hi"}), None, "not a Vosk model"),
        (
            "escape",
            model_zip({"../../evil.txt": b"x", "m/am/a": b"a", "m/conf/c": b"c"}),
            None,
            "unsafe path",
        ),
    ],
)
def test_bad_downloads_leave_nothing_behind(
    server: str, tmp_path: Path, name: str, body: bytes | None, md5: str | None, message: str
) -> None:
    if body is None:
        model = ModelSpec("test-model", f"{server}/absent.zip", "missing")
    else:
        model = spec(server, name, body, md5)
    with pytest.raises(ModelError, match=message):
        pull(model, tmp_path)
    assert installed(tmp_path) == []
    assert not any(p.name.startswith(".pull-") for p in (tmp_path / "vosk").iterdir())
    assert not (tmp_path.parent / "evil.txt").exists()


def test_corrupt_member_fails_the_crc_check(server: str, tmp_path: Path) -> None:
    body = bytearray(
        model_zip({"m/am/final.mdl": bytes(range(256)) * 200, "m/conf/model.conf": b"x"})
    )
    body[200] ^= 0xFF  # inside the first member's compressed data
    with pytest.raises(ModelError, match="corrupt|not a zip"):
        pull(spec(server, "crc", bytes(body)), tmp_path)
    assert installed(tmp_path) == []


def test_force_replaces_an_installed_model(server: str, tmp_path: Path) -> None:
    pull(spec(server, "v1", model_zip()), tmp_path)
    newer = model_zip({"m/am/final.mdl": b"v2", "m/conf/model.conf": b"c"})
    target = pull(spec(server, "v2", newer), tmp_path, force=True)
    assert (target / "am" / "final.mdl").read_bytes() == b"v2" and not (target / "graph").exists()


def test_catalogue_points_at_the_official_site() -> None:
    assert (
        CATALOGUE["vosk-small-en"].url
        == "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"
    )
    assert all(s.url.startswith("https://alphacephei.com/vosk/models/") for s in CATALOGUE.values())
