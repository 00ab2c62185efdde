"""assistant.tts: Piper, pyttsx3 and the espeak-ng program produce real speech; Whisper reads Piper back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.audio.decode import resample
from assistant.config import TtsSettings
from assistant.errors import ConfigError, ModelError, RecognitionError
from assistant.stt.grammar import normalise
from assistant.tts import FallbackSynthesizer, make_synthesizer, split_sentences
from assistant.tts.base import NullSynthesizer
from assistant.tts.espeak import EspeakSynthesizer
from assistant.tts.piper import (
    BUNDLED_VOICE,
    PiperSynthesizer,
    _load_voice_unlocked,
    bounded_pieces,
    find_voice,
    speaking_order,
)
from assistant.tts.pyttsx3 import Pyttsx3Synthesizer


@pytest.mark.parametrize("engine", ["piper", "pyttsx3", "espeak"])
def test_engines_make_speech(
    engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synthesizer = make_synthesizer(TtsSettings(engine=engine), tmp_path)  # type: ignore[arg-type]
    speech = synthesizer.synthesize("It is ten past five.")
    assert synthesizer.name == engine
    assert speech.sample_rate_hz == 22050 and speech.samples.dtype == np.int16
    assert 1.0 < speech.duration_s < 2.5 and np.abs(speech.samples).max() > 3000
    assert capsys.readouterr().out == ""  # pyttsx3's "Audio saved to" never reaches stdout
    assert list(tmp_path.iterdir()) == []  # its temporary WAV is removed


def test_rate_and_volume_change_the_audio(tmp_path: Path) -> None:
    slow = EspeakSynthesizer(rate_wpm=100).synthesize("one two three four five")
    fast = EspeakSynthesizer(rate_wpm=300).synthesize("one two three four five")
    quiet = EspeakSynthesizer(volume=0.2).synthesize("one two three four five")
    loud = EspeakSynthesizer(volume=1.0).synthesize("one two three four five")
    assert slow.duration_s > 1.8 * fast.duration_s
    assert np.abs(quiet.samples).max() < 0.5 * np.abs(loud.samples).max()
    rate_slow = Pyttsx3Synthesizer(rate_wpm=100, scratch_dir=tmp_path).synthesize(
        "one two three four five"
    )
    assert rate_slow.duration_s > 1.5 * fast.duration_s


def test_voice_is_applied_and_unknown_voice_is_an_error() -> None:
    us = EspeakSynthesizer(voice="en-us").synthesize("tomato")
    gb = EspeakSynthesizer(voice="en-gb").synthesize("tomato")
    assert not np.array_equal(us.samples, gb.samples)
    with pytest.raises(RecognitionError, match="espeak-ng failed"):
        EspeakSynthesizer(voice="xx-nonexistent").synthesize("hello")


def test_pyttsx3_voice_by_name_and_unknown_voice_is_a_config_error() -> None:
    us = Pyttsx3Synthesizer(voice="en-us").synthesize("tomato")
    gb = Pyttsx3Synthesizer(voice="en-GB").synthesize("tomato")
    assert not np.array_equal(us.samples, gb.samples)
    with pytest.raises(ConfigError, match="no voice named 'xx-nonexistent-voice'"):
        make_synthesizer(TtsSettings(engine="pyttsx3", voice="xx-nonexistent-voice"))


def test_null_engine_is_silent() -> None:
    assert isinstance(make_synthesizer(TtsSettings(engine="null")), NullSynthesizer)
    assert NullSynthesizer().synthesize("anything").duration_s == 0.0


def test_piper_is_the_default_and_whisper_hears_its_words() -> None:
    from assistant.stt.whisper import WhisperRecognizer

    synthesizer = make_synthesizer(TtsSettings())
    assert synthesizer.name == "piper"
    from rapidfuzz.distance import Levenshtein

    text = "Your reminder to call the dentist is set for Friday afternoon."
    speech = synthesizer.synthesize(text)
    heard = WhisperRecognizer().transcribe(resample(speech.samples, speech.sample_rate_hz, 16000))
    errors = Levenshtein.distance(normalise(heard.text).split(), normalise(text).split())
    assert errors <= 1, heard.text


def test_piper_speaks_sentence_by_sentence_and_loads_its_voice_once() -> None:
    synthesizer = make_synthesizer(TtsSettings())
    before = _load_voice_unlocked.cache_info().misses
    parts = list(synthesizer.synthesize_stream("It is ten past five. The alarm is set! Anything else?"))
    again = make_synthesizer(TtsSettings(rate_wpm=120))
    assert len(list(again.synthesize_stream("One. Two."))) == 2
    assert _load_voice_unlocked.cache_info().misses - before <= 1  # loaded at most once, by the first
    assert len(parts) == 3 and all(p.sample_rate_hz == 22050 for p in parts)
    assert parts[0].duration_s < parts[1].duration_s + parts[2].duration_s
    whole = synthesizer.synthesize("It is ten past five. The alarm is set! Anything else?")
    assert whole.duration_s == pytest.approx(sum(p.duration_s for p in parts), rel=0.15)


def test_piper_rate_and_volume_change_the_audio() -> None:
    slow = make_synthesizer(TtsSettings(rate_wpm=100)).synthesize("one two three four five")
    fast = make_synthesizer(TtsSettings(rate_wpm=300)).synthesize("one two three four five")
    quiet = make_synthesizer(TtsSettings(volume=0.2)).synthesize("one two three four five")
    assert slow.duration_s > 1.8 * fast.duration_s
    assert np.abs(quiet.samples).max() < 0.3 * np.abs(slow.samples).max()


def test_a_piper_voice_by_path_or_name(tmp_path: Path) -> None:
    bundled = find_voice("")
    assert find_voice(BUNDLED_VOICE) == bundled
    voices = tmp_path / "voices"
    voices.mkdir()
    for suffix in (".onnx", ".onnx.json"):
        (voices / f"my-voice{suffix}").symlink_to(bundled.with_name(bundled.name.replace(".onnx", suffix)))
    assert find_voice("my-voice", voices) == voices / "my-voice.onnx"
    assert find_voice(str(voices / "my-voice.onnx")) == voices / "my-voice.onnx"
    assert find_voice(str(voices / "my-voice")) == voices / "my-voice.onnx"
    speech = make_synthesizer(TtsSettings(voice="my-voice"), voices_dir=voices).synthesize("hello")
    assert speech.duration_s > 0.3
    with pytest.raises(ConfigError, match="no Piper voice 'en-gb'.*engine = \"espeak\""):
        make_synthesizer(TtsSettings(voice="en-gb"), voices_dir=voices)


def test_a_piper_voice_that_cannot_load_falls_back_to_espeak_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "broken.onnx").write_bytes(b"not a network")
    (tmp_path / "broken.onnx.json").write_text("{}")
    with pytest.raises(ModelError, match="Piper voice broken: cannot load"):
        PiperSynthesizer(tmp_path / "broken.onnx").load()
    synthesizer = make_synthesizer(TtsSettings(voice=str(tmp_path / "broken.onnx")), tmp_path)
    assert isinstance(synthesizer, FallbackSynthesizer)
    first = synthesizer.synthesize("first reply")
    second = list(synthesizer.synthesize_stream("Second reply. Third one."))
    assert synthesizer.name in ("pyttsx3", "espeak") and first.duration_s > 0.3 and len(second) == 2
    warnings = [r for r in caplog.records if "speaking with espeak-ng instead" in r.getMessage()]
    assert len(warnings) == 1 and "broken" in warnings[0].getMessage()
    (tmp_path / "lonely.onnx").write_bytes(b"no config beside it")
    assert make_synthesizer(TtsSettings(voice=str(tmp_path / "lonely.onnx"))).name != "piper"


def test_sentences_are_split_where_a_voice_would_pause() -> None:
    assert split_sentences("It's 5 p.m. now. Done!  Next: tea? 3 left.") == [
        "It's 5 p.m. now.",
        "Done!",
        "Next: tea?",
        "3 left.",
    ]
    assert split_sentences("Dr. Smith comes at 3.30. Fine?") == ["Dr. Smith comes at 3.30.", "Fine?"]
    assert split_sentences("") == [] and split_sentences("one") == ["one"]
    assert [s.duration_s > 0.2 for s in EspeakSynthesizer().synthesize_stream("One. Two.")] == [True, True]


def test_a_long_sentence_is_synthesised_in_bounded_pieces_cut_where_it_pauses() -> None:
    """Piper's memory grows with the audio made at once: no piece is longer than 12 words."""
    listing = ("I can set timers and reminders, play music from your library, answer questions "
               "about a page, summarise text, and tell you the time and date anywhere in the world.")  # fmt: skip
    assert bounded_pieces(listing) == [
        "I can set timers and reminders, play music from your library,",
        "answer questions about a page, summarise text,",
        "and tell you the time and date anywhere in the world.",
    ]
    run_on = "The fox jumps over the lazy dog while several people watch from across the quiet river bank."
    assert bounded_pieces(run_on) == [
        "The fox jumps over the lazy dog",
        "while several people watch from across the quiet river bank.",
    ]
    endless = " ".join(f"w{i}" for i in range(70)) + "."
    pieces = bounded_pieces(endless)
    assert " ".join(pieces) == endless and max(len(p.split()) for p in pieces) <= 12
    assert bounded_pieces(
        "Heavy rain flooded several roads in the north of the county overnight."
    ) == ["Heavy rain flooded several roads in the north of the county overnight."]


def test_a_long_first_sentence_is_spoken_in_two_pieces_for_a_quicker_start() -> None:
    text = "Your alarm for tomorrow is set, and I will wake you at seven. Anything else?"
    assert speaking_order(text) == [
        "Your alarm for tomorrow is set,",
        "and I will wake you at seven.",
        "Anything else?",
    ]
    assert speaking_order("Okay, done. Bye.") == ["Okay, done.", "Bye."]  # short: left whole
    assert speaking_order("OK, I'll remind you to water the plants in ten minutes.") == [
        "OK,",
        "I'll remind you to water the plants in ten minutes.",
    ]
    synthesizer = make_synthesizer(TtsSettings())
    pieces = list(synthesizer.synthesize_stream(text))
    whole_first = synthesizer.synthesize("Your alarm for tomorrow is set, and I will wake you at seven.")
    assert len(pieces) == 3 and pieces[0].duration_s < 0.7 * whole_first.duration_s
