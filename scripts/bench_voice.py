"""Voice benchmark: command accuracy (clean / noisy, several espeak voices and speeds), out-of-grammar
rejection, WER on real human clips, real-time factors, end-of-speech -> reply latency, peak memory.

Prints a markdown table. Run from the repository root:

    .venv/bin/python scripts/bench_voice.py [--commands 20] [--latency-turns 12]

Speech is made with espeak-ng; the human clips are read from ../shared/datasets/speech
(skipped with a note when absent). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SPEECH = REPO.parent / "shared" / "datasets" / "speech"
VOICES = ["en-us", "en-gb", "en-gb-x-rp"]
SPEEDS_WPM = [150, 200]
SNR_DB = 10.0
OUT_OF_GRAMMAR = [
    "the quick brown fox jumps over the lazy dog",
    "please order me a large pizza with mushrooms",
    "how far away is the moon from the earth",
    "my cat likes to sleep on the sofa all afternoon",
    "can you book a flight to paris next friday",
    "the meeting has been moved to thursday afternoon",
    "i think it is going to rain later",
    "who won the football match yesterday",
    "my brother lives in a small village by the sea",
    "bananas are my favourite fruit",
]


def speak(text: str, voice: str, rate_wpm: int, folder: Path) -> np.ndarray:
    from assistant.audio.decode import load_audio

    path = folder / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-w", str(path), text], check=True
    )
    # 0.3 s of silence each side, as the listener's pre-roll and trailing silence leave it.
    pad = np.zeros(4800, np.int16)
    return np.concatenate([pad, load_audio(path).samples, pad])


def add_noise(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White noise at `snr_db` below the speech's RMS (measured over its voiced part)."""
    speech = samples.astype(np.float64)
    loud = speech[np.abs(speech) > 0.05 * np.abs(speech).max()]
    power = float(np.mean(loud**2)) if len(loud) else 1.0
    noise = rng.normal(0.0, np.sqrt(power / 10 ** (snr_db / 10)), len(speech))
    return np.clip(speech + noise, -32768, 32767).astype(np.int16)


def word_error_rate(pairs: list[tuple[str, str]]) -> float:
    from rapidfuzz.distance import Levenshtein

    from assistant.stt.grammar import normalise

    errors = sum(Levenshtein.distance(normalise(r).split(), normalise(h).split()) for r, h in pairs)
    return errors / max(1, sum(len(normalise(r).split()) for r, _ in pairs))


def build_app(home: Path, nlu_engine: str):  # type: ignore[no-untyped-def]
    """An App in a fresh home; the transformer engine (the default) trains its classifier here."""
    from assistant.config import load_config
    from assistant.home import Home
    from assistant.runtime import Assistant

    os.environ["ASSISTANT_HOME"] = str(home)
    h = Home(home).ensure()
    return Assistant(h, load_config(h.config_file, environ={"ASSISTANT_NLU__ENGINE": nlu_engine}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--commands", type=int, default=20, help="command phrases to test (default 20)"
    )
    parser.add_argument(
        "--latency-turns", type=int, default=12, help="voice-loop turns timed (default 12)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--nlu",
        choices=("transformer", "lexical"),
        default="transformer",
        help="intent engine that judges 'right action' (default: transformer, what users get)",
    )
    args = parser.parse_args()

    from assistant.audio.decode import load_audio
    from assistant.stt.commands import CommandRecognizer
    from assistant.stt.grammar import normalise
    from assistant.stt.pocketsphinx import PocketsphinxRecognizer
    from assistant.stt.wake import WakePhrase
    from assistant.stt.whisper import WhisperRecognizer

    rng = random.Random(args.seed)
    noise_rng = np.random.default_rng(args.seed)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        app = build_app(folder / "home", args.nlu)
        brain = app.brain()
        wake = WakePhrase("hey assistant")
        phrases = [text for _skill, _action, text in app.catalog().utterances()]
        grammar_engine = PocketsphinxRecognizer(phrases, wake_word="hey assistant")
        whisper = WhisperRecognizer()
        whisper.load()
        grammar_only = CommandRecognizer(grammar_engine, None)
        hybrid = CommandRecognizer(grammar_engine, whisper, phrases, "hey assistant")
        labels: dict[str, set[str]] = {}
        for skill, action, text in app.catalog().utterances():
            labels.setdefault(normalise(text), set()).add(f"{skill}.{action}")
        usable = list(grammar_engine.grammar.phrases)
        commands = rng.sample(usable, min(args.commands, len(usable)))
        print(f"grammar: {len(usable)} phrases from {len(app.catalog().skills)} skills "
              f"({len(grammar_engine.grammar.dropped)} left out for unknown words); testing {len(commands)}",
              file=sys.stderr)  # fmt: skip

        keys = [
            f"{e} {m} {c}"
            for e in ("ps", "hy")
            for m in ("exact", "intent", "action")
            for c in ("clean", "noisy")
        ]
        counts: dict[str, list[int]] = {k: [0, 0] for k in keys}

        def action(text: str) -> str | None:
            """The skill.action the assistant would run for this transcript (nothing is run)."""
            match = wake.match(text)
            command = match.command if match is not None else text
            return brain.understand(command).label if command.strip() else None

        def score(engine: str, condition: str, expected: str, text: str) -> None:
            said = normalise(text)
            for measure, right in (
                ("exact", said == expected),
                # the transcript is word for word a phrase of the expected action (the old measure)
                ("intent", bool(labels.get(said, set()) & labels[expected])),
                # the assistant's NLU, given the transcript, picks the expected action
                ("action", action(text) in labels[expected]),
            ):
                counts[f"{engine} {measure} {condition}"][0] += right
                counts[f"{engine} {measure} {condition}"][1] += 1

        rtf: dict[str, list[tuple[float, float]]] = {
            "pocketsphinx (grammar + phone loop)": [],
            "whisper tiny.en": [],
            "hybrid": [],
        }
        margins: list[tuple[bool, float]] = []
        for phrase in commands:
            for voice in VOICES:
                for speed in SPEEDS_WPM:
                    clean = speak(phrase, voice, speed, folder)
                    for condition, audio in (
                        ("clean", clean),
                        ("noisy", add_noise(clean, SNR_DB, noise_rng)),
                    ):
                        heard = grammar_only.transcribe(audio)
                        rtf["pocketsphinx (grammar + phone loop)"].append(
                            (heard.elapsed_s, heard.audio_s)
                        )
                        margins.append(
                            (heard.text == phrase, float(heard.details.get("margin", -99)))
                        )
                        score("ps", condition, phrase, heard.text)
                        started = time.perf_counter()
                        final = hybrid.transcribe(audio)
                        rtf["hybrid"].append((time.perf_counter() - started, final.audio_s))
                        score("hy", condition, phrase, final.text)
            print(f"  {phrase!r} done", file=sys.stderr)

        rejected_ps = rejected_hy = total_oog = 0
        for sentence in OUT_OF_GRAMMAR:
            for voice in VOICES:
                audio = speak(sentence, voice, 175, folder)
                heard = grammar_only.transcribe(audio)
                margins.append(
                    (
                        False,
                        float(
                            heard.details.get("margin", heard.details.get("rejected") and -99 or 0)
                        ),
                    )
                )
                rejected_ps += heard.text == ""
                rejected_hy += hybrid.transcribe(audio).in_grammar is False
                total_oog += 1

        human: list[tuple[str, str]] = []
        if SPEECH.is_dir():
            with (SPEECH / "manifest.tsv").open(encoding="utf-8") as handle:
                for row in csv.DictReader(handle, delimiter="\t"):
                    audio = load_audio(SPEECH / row["file"]).samples
                    result = whisper.transcribe(audio)
                    rtf["whisper tiny.en"].append((result.elapsed_s, result.audio_s))
                    human.append((row["transcript"], result.text))

        from voice_latency import measure_latency

        latencies = measure_latency(
            app, grammar_engine, whisper, commands[: args.latency_turns], folder
        )
        app.close()

    def share(key: str) -> str:
        right, total = counts[key]
        return f"{100 * right / max(1, total):.1f} % ({right}/{total})"

    def pair(engine: str, condition: str) -> str:
        return " / ".join(share(f"{engine} {m} {condition}") for m in ("exact", "intent", "action"))

    def mean_rtf(key: str) -> str:
        pairs = rtf[key]
        return (
            f"{sum(e for e, _ in pairs) / max(1e-9, sum(a for _, a in pairs)):.3f}"
            if pairs
            else "n/a"
        )

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows += [
        (
            "Commands, pocketsphinx grammar alone, clean: exact words / phrase of the right intent / right action (NLU)",
            pair("ps", "clean"),
        ),
        (
            f"Commands, pocketsphinx grammar alone, {SNR_DB:.0f} dB SNR white noise",
            pair("ps", "noisy"),
        ),
        ("Commands, grammar + Whisper second opinion (`listen`), clean", pair("hy", "clean")),
        (
            f"Commands, grammar + Whisper second opinion (`listen`), {SNR_DB:.0f} dB SNR",
            pair("hy", "noisy"),
        ),
        (
            "Out-of-grammar rejection, pocketsphinx alone",
            f"{100 * rejected_ps / total_oog:.1f} % ({rejected_ps}/{total_oog})",
        ),
        (
            "Out-of-grammar rejection, grammar + Whisper",
            f"{100 * rejected_hy / total_oog:.1f} % ({rejected_hy}/{total_oog})",
        ),
        (
            f"WER, Whisper tiny.en, {len(human)} human clips",
            f"{100 * word_error_rate(human):.1f} %" if human else "n/a (clips absent)",
        ),
        (
            "RTF pocketsphinx (grammar + phone loop)",
            mean_rtf("pocketsphinx (grammar + phone loop)"),
        ),
        ("RTF hybrid (as used by `listen`)", mean_rtf("hybrid")),
        ("RTF Whisper tiny.en (human clips)", mean_rtf("whisper tiny.en")),
        (
            "End of speech -> reply audio ready, p50",
            f"{np.percentile(latencies, 50):.2f} s" if latencies else "n/a",
        ),
        (
            "End of speech -> reply audio ready, p95",
            f"{np.percentile(latencies, 95):.2f} s" if latencies else "n/a",
        ),
        ("Peak RSS of this process", f"{peak_mb:.0f} MB"),
    ]
    print(f"Commands: {len(commands)} phrases × {len(VOICES)} espeak voices ({', '.join(VOICES)}) × "
          f"{len(SPEEDS_WPM)} speeds ({', '.join(map(str, SPEEDS_WPM))} wpm); {len(OUT_OF_GRAMMAR)} out-of-grammar "
          f"sentences × {len(VOICES)} voices; latency over {len(latencies)} voice-loop turns.\n")  # fmt: skip
    print(f"Right action: the assistant's NLU ({args.nlu}) maps the final transcript to the "
          "spoken phrase's skill.action; a rejected or empty transcript is a miss.\n")  # fmt: skip
    print("| measure | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    if os.environ.get("BENCH_MARGINS"):
        for right, margin in sorted(margins, key=lambda m: m[1]):
            print(f"{int(right)} {margin:.3f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
