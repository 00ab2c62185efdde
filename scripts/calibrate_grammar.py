"""Calibrate when the command grammar's phrase is taken without asking Whisper.

The grammar engine (pocketsphinx) always answers with *some* phrase. It is taken outright only when
its margin over a free phone loop and the ratio of phones heard to the phrase's phones say it fits;
otherwise Whisper is asked, and its words are taken for a phrase only when they are close to it
(or confirm the grammar's phrase by Whisper's own score). This script chooses those thresholds the
way the classifier's rejection threshold is chosen (`nlu/calibration.py`): on held-out data, the
setting that takes the most commands right among those that act on at most 1 % of non-commands and
take at most 1 % of commands wrongly.

Held-out data, spoken by the Piper voice and espeak-ng voices, clean and at 10 dB SNR (babble):
- commands: the bundled skills' closed phrases (no free text) with values drawn at random from the
  value graphs, so the values are not the examples; expected: that sentence, word for word;
- open commands (a phrase with free text: a task, a song, a place), with free text that is not a
  filler of the grammar: the grammar must never take them (their words come from dictation);
- non-commands: CLINC150 out-of-scope queries (`oos_val.csv`) and in-scope queries of services no
  bundled skill offers (banking, travel, cooking, weather, lights...).

Writes `src/assistant/stt/acceptance.json` (the thresholds, and what they gave), which
`assistant.stt.pocketsphinx` and `assistant.stt.commands` read. Run from the repository root:

    nice .venv/bin/python scripts/calibrate_grammar.py [--commands 150] [--non-commands 150] [--seed 3]

Features are cached in `--cache` (JSON lines), so a second run only chooses again.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import voice_corpus as corpus  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CLINC = REPO.parent / "shared" / "datasets" / "intents" / "clinc150"
OUTPUT = REPO / "src" / "assistant" / "stt" / "acceptance.json"
UNCOVERED = {
    "book_flight", "book_hotel", "car_rental", "balance", "bill_balance", "transfer", "pay_bill",
    "credit_score", "exchange_rate", "flight_status", "gas_type", "tire_pressure", "oil_change_how",
    "recipe", "calories", "nutrition_info", "restaurant_reservation", "restaurant_suggestion",
    "traffic", "directions", "uber", "weather", "smart_home", "shopping_list", "order",
    "international_visa", "travel_suggestion", "insurance", "pto_request", "meeting_schedule",
    "schedule_meeting", "translate", "lost_luggage", "carry_on", "jump_start", "report_fraud",
    "freeze_account", "new_card", "rewards_balance", "taxes", "income", "apr", "interest_rate", "mpg",
    "distance", "how_busy", "meal_suggestion", "plug_type", "vaccines", "ingredients_list",
}  # fmt: skip
"""CLINC150 intents no bundled skill serves: their queries are non-commands here."""
FREE_TEXTS = (
    "stir the soup", "feed the cat", "ring grandma", "book the garage", "pay the window cleaner",
    "sydney", "buenos aires", "kathmandu", "the rolling stones", "moonlight sonata",
    "the history of rome", "fold the washing", "tomato soup", "my keys",
)  # fmt: skip
"""Free text for open phrases, none of them a filler of the grammar's `{text}` graph."""
VOICES = ("piper", "en-us", "en-gb")
MARGINS = [round(-1.0 + 0.1 * i, 1) for i in range(31)]
RATIOS = (1.0, 1.1, 1.25, 1.5, 2.0, 99.0)
CONFIRMATIONS = (60.0, 70.0, 80.0, 101.0)
GAPS = (0.5, 1.0, 1.5, 2.25, 3.0)
BUDGET = 0.01


def random_fill(phrase: str, rng: random.Random) -> str:
    """`phrase` with each value slot filled by a random walk through its graph."""
    from assistant.stt.numbers import net

    words = []
    for word in phrase.split():
        if word.startswith("{") and word.endswith("}"):
            graph = net(word[1:-1])
            state, said = graph.start, []
            while state != graph.final:
                origin, target, token = rng.choice([a for a in graph.arcs if a[0] == state])
                said.append(token)
                state = target
            words.append(" ".join(said))
        else:
            words.append(word)
    return " ".join(words)


def sentences(catalog, commands: int, non_commands: int, seed: int) -> list[dict]:  # type: ignore[no-untyped-def]
    from assistant.stt.grammar import FREE_TEXT_SLOT, Grammar, skill_phrases

    rng = random.Random(seed)
    grammar = Grammar.from_phrases(skill_phrases(catalog))
    closed = list(grammar.closed.phrases)
    open_phrases = [p for p in grammar.phrases if FREE_TEXT_SLOT in p.split()]
    rows = []
    for phrase in rng.sample(closed, min(commands, len(closed))):
        rows.append({"kind": "command", "text": random_fill(phrase, rng)})
    for phrase in rng.sample(open_phrases, min(commands // 3, len(open_phrases))):
        filled = phrase.replace(FREE_TEXT_SLOT, "{free}")
        while "{free}" in filled:
            filled = filled.replace("{free}", rng.choice(FREE_TEXTS), 1)
        rows.append({"kind": "open", "text": random_fill(filled, rng)})
    with (CLINC / "oos_val.csv").open(newline="") as handle:
        oos = [row["text"] for row in csv.DictReader(handle)]
    with (CLINC / "val.csv").open(newline="") as handle:
        uncovered = [row["text"] for row in csv.DictReader(handle) if row["label"] in UNCOVERED]
    half = non_commands // 2
    picked = rng.sample(oos, min(half, len(oos))) + rng.sample(uncovered, non_commands - half)
    rows += [{"kind": "non-command", "text": text} for text in picked]
    rng.shuffle(rows)  # a run cut short (see --from-cache) still has some of every kind
    return rows


def measure(rows: list[dict], recognizer, cache: Path, seed: int) -> list[dict]:  # type: ignore[no-untyped-def]
    from assistant.stt.commands import _as_whisper_writes
    from assistant.stt.grammar import normalise

    done = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            item = json.loads(line)
            done[(item["text"], item["voice"], item["noise"])] = item
    rng = np.random.default_rng(seed)
    results = []
    grammar, whisper = recognizer.grammar, recognizer.dictation
    started = time.monotonic()
    total = len(rows) * len(VOICES) * 2
    with cache.open("a") as out:
        for index, row in enumerate(rows):
            for voice in VOICES:
                for noise in ("clean", "babble"):
                    key = (row["text"], voice, noise)
                    if key in done:
                        results.append(done[key])
                        continue
                    speech = corpus.speak(row["text"], voice)
                    audio = np.concatenate([corpus.silence(0.3), speech, corpus.silence(0.3)])
                    if noise == "babble":
                        audio = corpus.mix(
                            audio, corpus.babble(len(audio) / corpus.RATE, rng), 10.0
                        )
                    heard = grammar.transcribe(audio)
                    item = {
                        **row,
                        "voice": voice,
                        "noise": noise,
                        "heard": heard.text,
                        "margin": heard.details["margin"],
                        "ratio": heard.details["phone_ratio"],
                        "complete": heard.details["complete_phrase"],
                        "open": heard.details["open"],
                        "denoised": heard.details["denoised"],
                        "whole": heard.details["complete_phrase"] and not heard.details["open"],
                    }
                    if item["whole"]:
                        second = whisper.transcribe(audio)
                        from rapidfuzz import fuzz

                        item["whisper"] = second.text
                        item["agreement"] = fuzz.ratio(normalise(second.text), heard.text)
                        mine, own = whisper.score(
                            audio, [_as_whisper_writes(heard.text), second.text.strip()]
                        )
                        item["gap"] = own - mine
                    out.write(json.dumps(item) + "\n")
                    out.flush()
                    results.append(item)
            count = (index + 1) * len(VOICES) * 2
            elapsed = time.monotonic() - started
            print(f"{count}/{total} utterances, {elapsed:.0f} s", file=sys.stderr, flush=True)
    return results


def right(item: dict, text: str) -> bool:
    """The command heard word for word (British and American spellings alike: the grammar has
    both, "summarise" and "summarize")."""
    return item["kind"] == "command" and spelling_key(text) == spelling_key(item["text"])


def spelling_key(text: str) -> str:
    from assistant.stt.grammar import _US_SPELLINGS, normalise

    words = []
    for word in normalise(text).split():
        for british, american in _US_SPELLINGS:
            word = word.replace(british, american)
        words.append(word)
    return " ".join(words)


def taken(
    r: dict, margin: float, ratio: float, confirmation: float, gap: float
) -> tuple[bool, bool]:
    """(taken at all, taken outright) under these thresholds."""
    outright = r["whole"] and r["margin"] >= margin and r["ratio"] <= ratio
    confirmed = r["whole"] and r.get("agreement", 0.0) >= confirmation and r.get("gap", 99.0) <= gap
    return outright or confirmed, outright


def choose(results: list[dict]) -> dict:
    """The thresholds that take the most commands right within the 1 % budgets."""
    commands = [r for r in results if r["kind"] == "command"]
    negatives = [r for r in results if r["kind"] != "command"]
    best: dict | None = None
    for setting in itertools.product(MARGINS, RATIOS, CONFIRMATIONS, GAPS):
        good = wrong = outright = 0
        for r in commands:
            took, straight = taken(r, *setting)
            if took and right(r, r["heard"]):
                good += 1
                outright += straight
            elif took:
                wrong += 1
        acted = sum(1 for r in negatives if taken(r, *setting)[0])
        if wrong > BUDGET * len(commands) or acted > BUDGET * len(negatives):
            continue
        score = (good, outright, -acted, -wrong)
        if best is None or score > best["score"]:
            margin, ratio, confirmation, gap = setting
            best = {
                "score": score,
                "accept_margin": margin,
                "max_phone_ratio": ratio,
                "confirmation": confirmation,
                "confirmation_gap": gap,
                "commands_taken_right": good,
                "commands_outright": outright,
                "commands_taken_wrong": wrong,
                "non_commands_taken": acted,
                "commands": len(commands),
                "non_commands": len(negatives),
            }
    if best is None:
        raise SystemExit("no setting keeps within the budgets")
    best.pop("score")
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=150)
    parser.add_argument("--non-commands", type=int, default=150)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "grammar-calibration.jsonl"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the choice, do not write it")
    parser.add_argument("--from-cache", action="store_true", help="choose from what the cache holds")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not CLINC.exists():
        print(f"calibrate_grammar: {CLINC} is missing (the shared datasets)", file=sys.stderr)
        return 1
    from assistant.config import load_config
    from assistant.home import Home
    from assistant.runtime import Assistant
    from assistant.stt.engines import make_commands
    from assistant.stt.grammar import skill_phrases

    home = Home(Path(tempfile.mkdtemp(prefix="calibrate-"))).ensure()
    app = Assistant(home, load_config(home.config_file))
    catalog = app.catalog()
    recognizer = make_commands(app.settings.stt, home.models, skill_phrases(catalog), None)
    rows = sentences(catalog, args.commands, args.non_commands, args.seed)
    if args.from_cache:
        results = [json.loads(line) for line in args.cache.read_text().splitlines()]
    else:
        results = measure(rows, recognizer, args.cache, args.seed)
    choice = choose(results)
    choice["data"] = (
        f"{args.commands} closed commands with random values, {args.commands // 3} open ones, "
        f"{args.non_commands} non-commands (CLINC150 oos_val and uncovered val intents); voices "
        f"{', '.join(VOICES)}; clean and 10 dB babble; seed {args.seed}"
    )
    choice["command"] = "scripts/calibrate_grammar.py " + " ".join(sys.argv[1:])
    print(json.dumps(choice, indent=2))
    if not args.dry_run:
        OUTPUT.write_text(json.dumps(choice, indent=2) + "\n")
        print(f"written to {OUTPUT.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
