"""`assistant nlu benchmark`: CSV files in, one JSON object of figures out."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import pytest

from assistant.cli import nlu as nlu_cli
from assistant.errors import NluError
from assistant.nlu import benchmark

PHRASES = {
    "weather": ["what's the weather {}", "will it rain {}", "forecast for {}", "is it sunny {}"],
    "music": ["play some jazz {}", "put on music {}", "play a song {}", "start my playlist {}"],
    "timer": [
        "set a timer {}",
        "start a countdown {}",
        "timer for ten minutes {}",
        "alarm timer {}",
    ],
}
FILLERS = ["", "please", "now", "today", "for me", "right away"]
KEYS = {
    "in_scope_accuracy",
    "macro_f1",
    "oos_recall",
    "oos_auroc",
    "threshold",
    "train_s",
    "p50_ms",
    "p95_ms",
}


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


@pytest.fixture
def splits(tmp_path: Path) -> dict[str, Path]:
    rows = [
        (p.format(f).strip(), label) for label, ps in PHRASES.items() for p in ps for f in FILLERS
    ]
    train, test = rows[0::2], rows[1::2]
    oos = ["purple monkey dishwasher", "who painted the mona lisa", "how tall is everest", "zebra quantum",
           "recipe for pancakes", "what is love", "translate hello", "capital of peru"]  # fmt: skip
    return {
        "train": _write(tmp_path / "train.csv", train),
        "test": _write(tmp_path / "test.csv", test),
        "val": _write(tmp_path / "val.csv", test[::3]),
        "oos_val": _write(tmp_path / "oos_val.csv", [(t, "oos") for t in oos[:4]]),
        "oos_test": _write(tmp_path / "oos_test.csv", [(t, "oos") for t in oos[4:]]),
    }


def _cli(argv: list[str], app: Any, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    nlu_cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    assert args.handler(args, app) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("engine", "least_accuracy"), [("tfidf", 0.6), ("lexical", 0.2)])
def test_benchmark_prints_sane_figures(
    engine: str,
    least_accuracy: float,
    splits: dict[str, Path],
    lexical_app: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["nlu", "benchmark", "--engine", engine, "--json"]
    for name, path in splits.items():
        argv += [f"--{name.replace('_', '-')}", str(path)]
    figures = _cli(argv, lexical_app, capsys)
    assert KEYS <= set(figures)
    assert least_accuracy <= figures["in_scope_accuracy"] <= 1.0
    assert 0.0 <= figures["macro_f1"] <= 1.0
    assert 0.0 <= figures["oos_recall"] <= 1.0 and 0.0 <= figures["oos_auroc"] <= 1.0
    assert 0.0 <= figures["p50_ms"] <= figures["p95_ms"]
    assert figures["train_s"] >= 0 and figures["test_queries"] == 36 + 4


def test_without_out_of_scope_data_there_is_no_recall(
    splits: dict[str, Path], lexical_app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["nlu", "benchmark", "--engine", "tfidf", "--train", str(splits["train"])]
    figures = _cli([*argv, "--test", str(splits["test"]), "--json"], lexical_app, capsys)
    assert figures["oos_recall"] is None and figures["oos_auroc"] is None
    assert figures["threshold"] == 0.0 and figures["in_scope_accuracy"] >= 0.6


def test_the_threshold_balances_accuracy_and_rejection() -> None:
    in_scope = [("a", 0.9, "a"), ("b", 0.8, "b"), ("a", 0.4, "b"), ("c", 0.3, "c")]
    out_of_scope = [0.35, 0.2, 0.5]
    assert benchmark.choose_threshold(in_scope, out_of_scope) == 0.8
    # Demanding only a third of out-of-scope rejected keeps the low-scoring right answer.
    assert benchmark.choose_threshold(in_scope, out_of_scope, min_oos_recall=0.3) == 0.3


def test_bad_csv_files_are_named(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("sentence,intent\nhello,greet\n", encoding="utf-8")
    with pytest.raises(NluError, match="wrong.csv: expected the CSV header 'text,label'"):
        benchmark.read_examples(wrong)
    empty = _write(tmp_path / "empty.csv", [("hello", "greet"), ("", "greet")])
    with pytest.raises(NluError, match="empty.csv:3: empty text or label"):
        benchmark.read_examples(empty)
    with pytest.raises(NluError, match="cannot read"):
        benchmark.read_examples(tmp_path / "missing.csv")
    with pytest.raises(NluError, match="unknown engine 'bert'"):
        benchmark.make_engine("bert", "x")


def test_the_slot_tagger_learns_spans_and_scores_them(tmp_path: Path) -> None:
    from assistant.nlu import slots_tagger

    cities = ["paris", "new york", "london", "tokyo", "rome", "san francisco", "berlin", "oslo"]
    days = ["today", "tomorrow", "on friday", "next week"]
    lines = [
        {"intent": "weather", "data": [{"text": "weather in "}, {"text": city, "entity": "city"},
                                       {"text": " "}, {"text": day, "entity": "when"}]}
        for city in cities for day in days
    ]  # fmt: skip
    train = tmp_path / "train.jsonl"
    train.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    tagger = slots_tagger.SlotTagger()
    tagger.fit([segments for _, segments in slots_tagger.read_jsonl(train)])
    spans = tagger.tag("weather in tokyo tomorrow")
    assert [(s.slot, s.text, s.start, s.end) for s in spans] == [
        ("city", "tokyo", 11, 16),
        ("when", "tomorrow", 17, 25),
    ]
    gold = [[slots_tagger.SlotSpan("city", 11, 16, "tokyo")]]
    assert slots_tagger.span_scores(gold, [spans])["precision"] == 0.5
    assert slots_tagger.span_scores(gold, [spans])["recall"] == 1.0
    (tmp_path / "bad.jsonl").write_text('{"intent": "x"}\n', encoding="utf-8")
    with pytest.raises(NluError, match="bad.jsonl:1: not an utterance with slots"):
        slots_tagger.read_jsonl(tmp_path / "bad.jsonl")


def test_parse_prints_the_ranking_and_entities(
    lexical_app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _cli(
        ["nlu", "parse", "set", "a", "timer", "for", "10", "minutes", "--json"], lexical_app, capsys
    )
    assert result["text"] == "set a timer for 10 minutes"
    scores = [item["score"] for item in result["ranking"]]
    assert result["ranking"] and scores == sorted(scores, reverse=True)
    assert all(0.0 <= score <= 1.0 for score in scores)
    json.dumps(result["entities"])
