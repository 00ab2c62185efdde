"""Text-to-speech with the `espeak-ng` program (WAV on its stdout): no Python binding needed."""

from __future__ import annotations

import io
import shutil
import subprocess

from assistant.errors import RecognitionError
from assistant.tts.base import SentenceBySentence, Speech

_TIMEOUT_S = 60.0


class EspeakSynthesizer(SentenceBySentence):
    """Runs `espeak-ng --stdout` once per reply."""

    name = "espeak"

    def __init__(self, voice: str = "", rate_wpm: int = 175, volume: float = 1.0):
        program = shutil.which("espeak-ng") or shutil.which("espeak")
        if program is None:
            raise RecognitionError(
                "text-to-speech: espeak-ng is not installed (apt install espeak-ng)"
            )
        self._command = [program, "--stdout", "-s", str(rate_wpm), "-a", str(round(volume * 100))]
        if voice:
            self._command += ["-v", voice]

    def synthesize(self, text: str) -> Speech:
        import soundfile

        try:
            result = subprocess.run(
                [*self._command, "--", text], capture_output=True, timeout=_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise RecognitionError(f"espeak-ng took longer than {_TIMEOUT_S:.0f} s") from None
        if result.returncode != 0 or not result.stdout:
            reason = (
                result.stderr.decode(errors="replace").strip() or f"exit status {result.returncode}"
            )
            raise RecognitionError(f"espeak-ng failed: {reason}")
        samples, rate = soundfile.read(io.BytesIO(result.stdout), dtype="int16")
        return Speech(samples, int(rate))
