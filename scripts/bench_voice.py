"""Voice benchmark: wake word, false wakes, end of speech (three VADs), right action, out-of-grammar
rejection, the reply voice heard back by dictation, first reply audio, latency and memory of the loop.

Prints markdown tables. Run from the repository root (under `nice`: it takes a while on two cores):

    .venv/bin/python scripts/bench_voice.py [--commands 60] [--false-wake-minutes 30] [--quick]

Commands are the skills' own phrases, said by several voices (the Piper voice at two paces and
three espeak-ng variants, see voice_corpus.py), clean and mixed at 10 dB SNR with real noise
(babble of the human clips in ../shared/datasets/speech, or synthesised music). Nothing is downloaded.
`--quick` subsamples everything for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import voice_corpus as corpus  # noqa: E402

SNR_DB = 10.0
WAKE_PHRASES = {
    "hey_jarvis": "Hey Jarvis,",
    "okay_nabu": "Okay Nabu,",
    "hey_mycroft": "Hey Mycroft,",
    "alexa": "Alexa,",
}
VADS = ("webrtc", "micro", "silero")
FRAME = 480


def percent(right: int, total: int) -> str:
    return f"{100 * right / max(1, total):.1f} % ({right}/{total})"


def word_error_rate(pairs: list[tuple[str, str]]) -> float:
    from rapidfuzz.distance import Levenshtein

    from assistant.stt.grammar import normalise

    errors = sum(Levenshtein.distance(normalise(r).split(), normalise(h).split()) for r, h in pairs)
    return errors / max(1, sum(len(normalise(r).split()) for r, _ in pairs))


def frames(audio: np.ndarray) -> list[np.ndarray]:
    return [audio[i : i + FRAME] for i in range(0, len(audio), FRAME)]


def build_app(home: Path, nlu_engine: str):  # type: ignore[no-untyped-def]
    from assistant.config import load_config
    from assistant.home import Home
    from assistant.runtime import Assistant

    os.environ["ASSISTANT_HOME"] = str(home)
    h = Home(home).ensure()
    return Assistant(h, load_config(h.config_file, environ={"ASSISTANT_NLU__ENGINE": nlu_engine}))


def wake_detected(model: str, audio: np.ndarray, wake_end_s: float) -> tuple[bool, float]:
    """Did the model fire by 1 s after the wake phrase ended? And its highest probability."""
    from assistant.audio.wakeword import MicroWakeWordDetector

    detector = _detectors.setdefault(model, MicroWakeWordDetector(model))
    detector.reset()
    fired, peak = False, 0.0
    for frame in frames(audio):
        detection = detector.process(frame)
        peak = max(peak, detector.last_probability)
        if detection is not None and detection.end_s <= wake_end_s + 1.0:
            fired = True
    return fired, peak


_detectors: dict[str, object] = {}


def vad_cut(engine: str, audio: np.ndarray, speech_start_s: float, speech_end_s: float) -> dict[str, float]:
    """One command in a stream, cut by the listener with `engine`: whole? when was the end heard?"""
    from assistant.audio.listener import Listener
    from assistant.config import ListenerSettings

    listener = Listener(ListenerSettings(vad=engine))  # type: ignore[arg-type]
    utterances = list(listener.utterances(frames(audio)))
    if len(utterances) != 1:
        return {"whole": 0.0, "count": float(len(utterances))}
    cut = utterances[0]
    if cut.end_s >= len(audio) / corpus.RATE - 0.6:  # cut only because the stream ended
        return {"whole": 0.0, "count": 1.0, "never_ended": 1.0}
    heard_start_s = cut.end_s - len(cut.audio) / corpus.RATE + 0.15  # less the pre-roll kept
    whole = heard_start_s <= speech_start_s + 0.35 and cut.end_s >= speech_end_s - 0.15
    ended_s = cut.end_s + listener.settings.trailing_silence_ms / 1000
    return {"whole": float(whole), "count": 1.0, "end_delay_s": ended_s - speech_end_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=60, help="command phrases (default 60)")
    parser.add_argument("--voices", default=",".join(corpus.VOICES), help="comma-separated, from voice_corpus.VOICES")
    parser.add_argument("--false-wake-minutes", type=float, default=30.0)
    parser.add_argument("--other-wake-models", type=int, default=20, help="commands tried with the three non-default models")
    parser.add_argument("--out-of-grammar", type=int, default=20, help="CLINC out-of-scope sentences")
    parser.add_argument("--latency-turns", type=int, default=20)
    parser.add_argument("--nlu", choices=("transformer", "lexical"), default="transformer")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few of everything")
    parser.add_argument(
        "--parts",
        default="loop,tail",
        help="loop (wake word, commands, VADs), tail (the rest); or only commands (right action: the "
        "loop's noise drawn alike, so its figures match a whole loop's), oog (out-of-grammar rejection)",
    )
    parser.add_argument("--oog-file", default="oos_test.csv", help="CLINC file of out-of-scope sentences (tune on oos_val.csv)")
    parser.add_argument("--range", default="", metavar="A:B", help="only commands[A:B] in the loop (to split a run)")
    parser.add_argument("--home", type=Path, help="an assistant home already trained (default: a fresh one)")
    parser.add_argument("--skip-tail-parts", default="", help="comma-separated: oog (to resume a split run)")
    args = parser.parse_args()
    if args.quick:
        args.commands, args.false_wake_minutes, args.other_wake_models = 6, 1.0, 3
        args.out_of_grammar, args.latency_turns = 3, 3
    voices = args.voices.split(",")

    from assistant.stt.commands import CommandRecognizer
    from assistant.stt.grammar import Grammar, normalise, skill_phrases
    from assistant.stt.pocketsphinx import PocketsphinxRecognizer
    from assistant.stt.whisper import WhisperRecognizer

    started = time.monotonic()
    rng = random.Random(args.seed)
    noise_rng = np.random.default_rng(args.seed)
    scratch = tempfile.TemporaryDirectory()
    folder = Path(scratch.name)
    home = args.home or folder / "home"
    app = build_app(home, args.nlu)
    brain = app.brain()
    grammar = PocketsphinxRecognizer(skill_phrases(app.catalog()))
    whisper = WhisperRecognizer()
    whisper.load()
    hybrid = CommandRecognizer(grammar, whisper, skill_phrases(app.catalog()))
    labels: dict[str, set[str]] = defaultdict(set)
    for skill, action, text in app.catalog().utterances():
        labels[normalise(text)].add(f"{skill}.{action}")
    # Commands: the skills' sentences with example values (those the grammar can say).
    said = Grammar.from_phrases(labels, known_word=grammar._pronounceable).phrases
    commands = rng.sample(list(said), min(args.commands, len(said)))
    log(f"{len(commands)} commands x {len(voices)} voices; grammar of {len(grammar.grammar.phrases)} phrases")

    wake = defaultdict(lambda: [0, 0])
    action_counts = defaultdict(lambda: [0, 0])
    vad_stats: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    first, last = (int(x) if x else None for x in (args.range or ":").split(":"))
    parts = args.parts.split(",")
    whole_loop = "loop" in parts
    for index, command in list(enumerate(commands))[first:last] if whole_loop or "commands" in parts else []:
        for voice in voices:
            said = corpus.speak(command, voice)
            models = ["hey_jarvis"] + (list(WAKE_PHRASES)[1:] if index < args.other_wake_models else [])
            for model in models:
                phrase = corpus.speak(WAKE_PHRASES[model], voice)
                whole = np.concatenate([corpus.silence(0.5), phrase, corpus.silence(0.15), said, corpus.silence(0.5)])
                wake_end_s = 0.5 + len(phrase) / corpus.RATE
                _, noise = corpus.noise_for(index, len(whole) / corpus.RATE, noise_rng)
                for condition, audio in (("clean", whole), ("noisy", corpus.mix(whole, noise, SNR_DB))) if whole_loop else ():
                    fired, peak = wake_detected(model, audio, wake_end_s)
                    key = (model, condition, "piper" if voice.startswith("piper") else "espeak")
                    wake[key][0] += fired
                    wake[key][1] += 1
            # The command as the recogniser gets it: the listener's cut, 0.3 s either side.
            padded = np.concatenate([corpus.silence(0.3), said, corpus.silence(0.3)])
            _, noise = corpus.noise_for(index + 1, len(padded) / corpus.RATE + 3.0, noise_rng)
            for condition, audio in (("clean", padded), ("noisy", corpus.mix(padded, noise[: len(padded)], SNR_DB))):
                text = hybrid.transcribe(audio).text
                understood = brain.understand(text).label if text.strip() else None
                action_counts[condition][0] += understood in labels[command]
                action_counts[condition][1] += 1
            # End of speech: the command inside a longer stream (quiet or noisy all through).
            stream = np.concatenate([corpus.silence(1.0), said, corpus.silence(3.0)])
            speech_start_s, speech_end_s = 1.0, 1.0 + len(said) / corpus.RATE
            # (`mix` lays the noise over the silences too, at 10 dB below the speech.)
            for condition, audio in (("clean", stream), ("noisy", corpus.mix(stream, noise, SNR_DB))) if whole_loop else ():
                for engine in VADS:
                    vad_stats[(engine, condition)].append(vad_cut(engine, audio, speech_start_s, speech_end_s))
        log(f"  {index + 1}/{len(commands)} {command!r} ({time.monotonic() - started:.0f} s)")

    if whole_loop:
        loop_tables(wake, vad_stats, action_counts, noise_rng)
    elif "commands" in parts:
        emit("Commands", command_rows(action_counts))
    if "oog" in parts:
        out_of_grammar(args, hybrid, voices)
    if "tail" not in parts:
        return 0
    tail(args, app, brain, hybrid, whisper, commands, voices, home, started)
    scratch.cleanup()
    return 0


def loop_tables(wake, vad_stats, action_counts, noise_rng) -> None:  # type: ignore[no-untyped-def]
    rows = []
    for model in WAKE_PHRASES:
        for condition in ("clean", "noisy"):
            piper_r, espeak_r = wake[(model, condition, "piper")], wake[(model, condition, "espeak")]
            if not piper_r[1] and not espeak_r[1]:
                continue
            both = [piper_r[0] + espeak_r[0], piper_r[1] + espeak_r[1]]
            label = "clean" if condition == "clean" else f"{SNR_DB:.0f} dB SNR (babble/music)"
            rows.append((f"`{model}`, {label}", f"{percent(*both)}; Piper voices {percent(*piper_r)}; espeak voices {percent(*espeak_r)}"))
    emit("Wake word detected (the phrase then a command, in one breath)", rows)

    rows = []
    for engine in VADS:
        for condition in ("clean", "noisy"):
            stats = vad_stats[(engine, condition)]
            whole = sum(s["whole"] for s in stats)
            delays = [s["end_delay_s"] for s in stats if "end_delay_s" in s]
            never = int(sum(s.get("never_ended", 0.0) for s in stats))
            timing = (
                f"; end heard {np.median(delays):.2f} s (p95 {np.percentile(delays, 95):.2f} s) after speech ended"
                if delays
                else ""
            )
            rows.append(
                (
                    f"`{engine}`, {'clean' if condition == 'clean' else f'{SNR_DB:.0f} dB SNR'}",
                    f"whole command in one utterance {percent(int(whole), len(stats))}{timing}; "
                    f"end not heard within 3 s: {never}",
                )
            )
    music = corpus.music(120.0, noise_rng)
    for engine in VADS:
        from assistant.audio.listener import Listener
        from assistant.config import ListenerSettings

        count = len(list(Listener(ListenerSettings(vad=engine)).utterances(frames(music))))  # type: ignore[arg-type]
        rows.append((f"`{engine}`, 2 minutes of music alone", f"{count} utterances opened"))
    emit("End of speech: the listener with each VAD (`[listener] vad`), 500 ms of trailing silence", rows)
    emit("Commands", command_rows(action_counts))


def command_rows(action_counts) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [
        ("Right action, clean", percent(*action_counts["clean"])),
        (f"Right action, {SNR_DB:.0f} dB SNR (babble/music)", percent(*action_counts["noisy"])),
    ]


def out_of_grammar(args, hybrid, voices) -> None:  # type: ignore[no-untyped-def]
    """CLINC out-of-scope sentences: how many the command recogniser rejects (and what the others became)."""
    oog = corpus.clinc_sentences(args.oog_file, args.out_of_grammar, args.seed)
    rejected = total = 0
    for sentence in oog:
        for voice in voices:
            audio = np.concatenate([corpus.silence(0.3), corpus.speak(sentence, voice), corpus.silence(0.3)])
            heard = hybrid.transcribe(audio)
            rejected += heard.in_grammar is False
            total += 1
            if heard.in_grammar is not False:
                log(f"  taken as a command ({voice}): {sentence!r} -> {heard.text!r} {heard.details}")
    if oog:
        emit("Out of grammar", [(f"Rejected ({len(oog)} CLINC out-of-scope sentences x {len(voices)} voices)", percent(rejected, total))])


def tail(args, app, brain, hybrid, whisper, commands, voices, home, started) -> None:  # type: ignore[no-untyped-def]
    if "oog" not in args.skip_tail_parts.split(","):
        out_of_grammar(args, hybrid, voices)

    replies = collect_replies(app, commands)
    log(f"{len(replies)} distinct replies; false wakes next ({time.monotonic() - started:.0f} s)")
    emit("Replies heard back by the assistant's dictation (Whisper tiny.en)", reply_rows(replies, whisper))
    emit("First audio of a three-sentence reply, after its text is ready", first_audio_rows(replies))
    emit("False wakes", false_wakes(args.false_wake_minutes, replies, args.seed))
    app.close()
    latency = run_latency(commands[: args.latency_turns], home, args.nlu)
    emit("The voice session (real time, trained home; its own process)", latency)
    log(f"{len(commands)} commands x {len(voices)} voices ({', '.join(voices)}); seed {args.seed}; "
        f"NLU {args.nlu}; {time.monotonic() - started:.0f} s in all")  # fmt: skip


def emit(title: str, rows: list[tuple[str, str]]) -> None:
    """Print one table now (a long run shows its figures as they come)."""
    print(f"**{title}**\n\n| measure | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(flush=True)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def collect_replies(app, commands: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """What the assistant says to each command (a question it asks is then cancelled)."""
    replies: dict[str, None] = {}
    session = app.open_session("bench-replies")
    for command in commands:
        turn = session.handle(command)
        if turn.reply.spoken:
            replies.setdefault(turn.reply.spoken.strip(), None)
        if session.expecting_reply:
            session.handle("cancel")
    session.close()
    return list(replies)


def reply_rows(replies: list[str], whisper) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from assistant.audio.decode import resample
    from assistant.config import TtsSettings
    from assistant.tts import make_synthesizer

    rows = []
    for engine in ("piper", "espeak"):
        synthesizer = make_synthesizer(TtsSettings(engine=engine))  # type: ignore[arg-type]
        pairs = []
        for reply in replies:
            speech = synthesizer.synthesize(reply)
            heard = whisper.transcribe(resample(speech.samples, speech.sample_rate_hz, corpus.RATE)).text
            pairs.append((reply, heard))
        name = "Piper en_US-joe-medium (the default)" if engine == "piper" else "espeak-ng (the fallback)"
        rows.append((f"WER, {name}, {len(pairs)} replies", f"{100 * word_error_rate(pairs):.1f} %"))
    return rows


def first_audio_rows(replies: list[str]) -> list[tuple[str, str]]:
    from assistant.config import TtsSettings
    from assistant.tts import make_synthesizer, split_sentences

    synthesizer = make_synthesizer(TtsSettings())
    synthesizer.load()
    sentences = [s for reply in replies for s in split_sentences(reply)] or ["It is ten past five."]
    texts = [" ".join(sentences[i % len(sentences)] for i in range(k, k + 3)) for k in range(max(10, len(sentences)))]
    firsts, wholes = [], []
    for text in texts:
        begun = time.perf_counter()
        stream = synthesizer.synthesize_stream(text)
        next(stream)
        firsts.append(time.perf_counter() - begun)
        for _ in stream:
            pass
        wholes.append(time.perf_counter() - begun)
    return [
        (f"Piper, first sentence ready, p50 / p95 ({len(texts)} replies)", f"{1000 * np.median(firsts):.0f} / {1000 * np.percentile(firsts, 95):.0f} ms"),
        ("Piper, whole reply synthesised, p50", f"{1000 * np.median(wholes):.0f} ms"),
    ]


def false_wakes(minutes: float, replies: list[str], seed: int) -> list[tuple[str, str]]:
    from assistant.audio.wakeword import MicroWakeWordDetector

    detectors = {model: MicroWakeWordDetector(model) for model in WAKE_PHRASES}
    heard_s: dict[str, float] = defaultdict(float)
    fired: dict[tuple[str, str], int] = defaultdict(int)
    for kind, audio in corpus.non_wake_audio(minutes, replies, seed):
        heard_s[kind] += len(audio) / corpus.RATE
        for model, detector in detectors.items():
            for frame in frames(audio):
                fired[(model, kind)] += detector.process(frame) is not None
    total_min = sum(heard_s.values()) / 60
    kinds = ", ".join(f"{kind} {seconds / 60:.1f} min" for kind, seconds in heard_s.items())
    rows = [("Audio with no wake word in it", f"{total_min:.1f} min: {kinds}")]
    for model in WAKE_PHRASES:
        count = sum(fired[(model, kind)] for kind in heard_s)
        detail = ", ".join(f"{kind} {fired[(model, kind)]}" for kind in heard_s if fired[(model, kind)])
        rows.append((f"`{model}` false wakes", f"{count} ({count / max(1e-9, total_min / 60):.1f} per hour){'; ' + detail if detail else ''}"))
    return rows


def run_latency(commands: list[str], home: Path, nlu: str) -> list[tuple[str, str]]:
    """The real voice loop in a child process, so that its peak memory is its own."""
    script = Path(__file__).resolve().parent / "voice_latency.py"
    result = subprocess.run(
        [sys.executable, str(script), "--home", str(home), "--json", *commands],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ASSISTANT_NLU__ENGINE": nlu},
    )
    if result.returncode != 0:
        return [("voice loop", f"failed: {result.stderr.strip()[-300:]}")]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    first = figures["first_audio_s"]
    return [
        (f"End of speech -> first reply audio, p50 / p95 ({len(first)} turns)", f"{1000 * np.median(first):.0f} / {1000 * np.percentile(first, 95):.0f} ms"),
        ("The same, in CPU seconds of the process (what an idle core would take)", f"{1000 * np.median(figures['first_audio_cpu_s']):.0f} / {1000 * np.percentile(figures['first_audio_cpu_s'], 95):.0f} ms" if figures["first_audio_cpu_s"] else "n/a"),
        ("Wall time by stage, p50: speech-to-text / understanding and the skill / first sentence's synthesis",
         " / ".join(f"{1000 * np.median(v):.0f} ms" if v else "n/a" for v in figures["stages_s"].values())),
        ("Machine load (1-minute average) at the end", f"{figures['load']:.1f} on 2 cores"),
        ("Commands answered", f"{figures['answered']}/{figures['said']}"),
        ("Peak memory (RSS) of the `listen` process", f"{figures['peak_rss_mb']:.0f} MB"),
    ]


if __name__ == "__main__":
    raise SystemExit(main())
