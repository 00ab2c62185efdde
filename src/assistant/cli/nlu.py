"""`assistant nlu benchmark|parse` and `assistant train`: measure, inspect and train the understanding."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from assistant.cli.output import json_text, progress_bar
from assistant.text import visible


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = subparsers.add_parser(
        "nlu", help="measure or inspect the intent classifier", description="Understanding tools."
    )
    commands = group.add_subparsers(dest="nlu_command", metavar="COMMAND")

    bench = commands.add_parser(
        "benchmark",
        help="train on one CSV file and measure on another",
        description="Train an engine on TRAIN.csv (columns text,label), choose the rejection "
        "threshold on the validation files, measure on TEST.csv and the out-of-scope test file.",
    )
    bench.add_argument("--train", type=Path, required=True, metavar="TRAIN.csv")
    bench.add_argument("--test", type=Path, required=True, metavar="TEST.csv")
    bench.add_argument("--val", type=Path, metavar="VAL.csv", help="in-scope validation queries")
    bench.add_argument(
        "--oos-val", type=Path, metavar="OOS_VAL.csv", help="out-of-scope validation queries"
    )
    bench.add_argument(
        "--oos-test", type=Path, metavar="OOS_TEST.csv", help="out-of-scope test queries"
    )
    bench.add_argument(
        "--engine", choices=["transformer", "lexical", "tfidf"], default="transformer"
    )
    bench.add_argument(
        "--min-oos-recall",
        type=float,
        metavar="FRACTION",
        help="choose the threshold with the best in-scope accuracy that rejects at least this "
        "share of out-of-scope validation queries (default: best accuracy + recall)",
    )
    bench.add_argument(
        "--fine-tune",
        type=int,
        nargs="?",
        const=240,
        metavar="STEPS",
        help="fine-tune the encoder on TRAIN.csv first (default 240 steps of 64 samples; kept under the "
        "home, so a second run reuses it; train_s includes it)",
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(handler=run_benchmark)

    parse = commands.add_parser(
        "parse", help="rank the intents of one utterance and show its entities"
    )
    parse.add_argument("text", nargs="+")
    parse.add_argument("--top", type=int, default=5, help="how many intents to show (default 5)")
    parse.add_argument("--json", action="store_true", help="print one JSON object")
    parse.set_defaults(handler=run_parse)

    train = subparsers.add_parser(
        "train",
        help="train the intent classifier on the installed skills",
        description="Train the NLU.",
    )
    train.add_argument(
        "--force", action="store_true", help="retrain even when the cached model is current"
    )
    train.set_defaults(handler=run_train)


def run_benchmark(args: argparse.Namespace, app: Any) -> int:
    from assistant.nlu import benchmark

    def optional(path: Path | None) -> list[tuple[str, str]]:
        return benchmark.read_examples(path) if path else []

    encoder = app.encoder()
    if args.engine == "transformer" and not encoder.has_onnx():
        from assistant.nlu.encoder import export_onnx_subprocess

        print("exporting the encoder to ONNX once (faster than torch)...", file=sys.stderr)
        export_onnx_subprocess(encoder.model_name, encoder.onnx_dir)
    train = benchmark.read_examples(args.train)
    engine = benchmark.make_engine(args.engine, app.settings.nlu.model, onnx_dir=encoder.onnx_dir)
    started = time.perf_counter()
    if args.fine_tune is not None and args.engine == "transformer":
        from assistant.nlu.finetune import FineTuning, untrained_classifier

        engine = untrained_classifier(
            app.settings.nlu.model,
            train,
            app.home.models / "nlu",
            FineTuning(steps=args.fine_tune),
            progress_bar("fine-tuning"),
        )
    tune_s = time.perf_counter() - started
    result = benchmark.run(
        args.engine,
        train,
        benchmark.read_examples(args.test),
        val=optional(args.val),
        oos_val=optional(args.oos_val),
        oos_test=optional(args.oos_test),
        model=app.settings.nlu.model,
        min_oos_recall=args.min_oos_recall,
        engine=engine,
    )
    figures = result.to_json() | {"train_s": result.train_s + tune_s}
    if args.json:
        print(json.dumps(figures))
        return 0
    for key, value in figures.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"{key:18} {shown}")
    return 0


def run_parse(args: argparse.Namespace, app: Any) -> int:
    from assistant.nlu.values import to_json

    understanding = app.brain().understand(" ".join(args.text))
    ranking = [
        {"label": label, "score": round(score, 4)}
        for label, score in understanding.ranking[: args.top]
    ]
    entities = to_json(understanding.entities)
    if args.json:
        print(json.dumps({"text": " ".join(args.text), "ranking": ranking, "entities": entities}))
        return 0
    for item in ranking:
        print(visible(f"{item['score']:.3f}  {item['label']}"))
    for name, value in entities.items():
        print(f"  {name} = {json_text(value)}")
    return 0


def run_train(args: argparse.Namespace, app: Any) -> int:
    from assistant.nlu import trainjob

    cache_dir = app.home.models / "nlu"
    if trainjob.running(cache_dir):
        print("waiting for the training job already running in the background...", file=sys.stderr)
    with trainjob.held(cache_dir):  # never two trainings at once, nor twice the same
        return _train(args, app)


def _train(args: argparse.Namespace, app: Any) -> int:
    progress = progress_bar("training") or (lambda fraction, what: None)
    if args.force:
        from assistant.nlu.training import forget

        forget(app.home.models / "nlu")
    encoder = app.encoder()
    if app.settings.nlu.engine == "transformer" and encoder.onnx_dir and not encoder.has_onnx():
        from assistant.nlu.encoder import export_onnx_subprocess

        # Every later start (and `skill check`) loads the encoder through onnxruntime, seconds faster.
        print("exporting the encoder to ONNX (once)...", file=sys.stderr)
        export_onnx_subprocess(encoder.model_name, encoder.onnx_dir)
    from assistant.nlu.training import load_or_train
    from assistant.nlu.understand import classifier_examples

    examples = app.catalog().training_examples()
    load_or_train(classifier_examples(examples), app.settings.nlu.model, app.home.models / "nlu", progress, encoder)
    print("intent classifier ready")
    if app.settings.nlu.fine_tune and app.settings.nlu.engine == "transformer" and examples:
        from assistant.nlu import finetune

        settings = finetune.FineTuning(steps=app.settings.nlu.fine_tune_steps)
        root = app.home.models / "nlu"
        folder = finetune.fine_tuned_folder(root, app.settings.nlu.model, examples, settings)
        print(f"fine-tuning the encoder on {len(examples)} samples (minutes)...", file=sys.stderr)
        finetune.prepare(app.settings.nlu.model, examples, folder, settings, progress_bar("fine-tuning"))
        finetune.load_classifier(folder, examples, root, progress_bar("training"))
        print("fine-tuned intent classifier ready")
    return 0
