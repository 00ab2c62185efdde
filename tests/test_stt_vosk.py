"""assistant.stt.vosk: needs a real model; set ASSISTANT_VOSK_MODEL to its folder to run these."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from assistant.audio.decode import load_audio
from assistant.errors import ModelError
from assistant.stt.vosk import VoskRecognizer

MODEL = os.environ.get("ASSISTANT_VOSK_MODEL", "")


def test_a_folder_without_a_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a Vosk model folder"):
        VoskRecognizer(tmp_path)


@pytest.fixture
def speech(tmp_path: Path):  # type: ignore[no-untyped-def]
    if not MODEL:
        pytest.skip(
            "no English Vosk model can be downloaded here; set ASSISTANT_VOSK_MODEL=/path/to/model to run"
        )
    path = tmp_path / "s.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "play some jazz"], check=True)
    return load_audio(path).samples


def test_grammar_recognition_and_streaming(speech) -> None:  # type: ignore[no-untyped-def]
    recognizer = VoskRecognizer(MODEL, ["play some jazz", "pause the music"])
    assert recognizer.transcribe(speech).text == "play some jazz"
    partials = [recognizer.accept(speech[i : i + 4000]) for i in range(0, len(speech), 4000)]
    final = recognizer.finish()
    assert final.in_grammar and isinstance(partials[0], str)


def test_free_recognition(speech) -> None:  # type: ignore[no-untyped-def]
    assert "jazz" in VoskRecognizer(MODEL).transcribe(speech).text
