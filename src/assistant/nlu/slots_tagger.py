"""A token tagger for slots (a linear-chain CRF over word features), for utterances no template matches.

Trained on utterances split into spans, some of them slot values (the SNIPS
`*_with_slots.jsonl` layout); it tags new text with BIO labels and returns the
slot spans with their character offsets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import NluError

__all__ = ["SlotSpan", "SlotTagger", "evaluate", "read_jsonl", "span_scores"]

Segment = tuple[str, str | None]
"""A piece of an utterance and the slot it fills (None for plain words)."""
_TOKEN = re.compile(r"\w+(?:'\w+)?|[^\w\s]")


@dataclass(frozen=True)
class SlotSpan:
    """A slot value: characters `start:end` of the utterance."""

    slot: str
    start: int
    end: int
    text: str


def read_jsonl(path: Path) -> list[tuple[str, list[Segment]]]:
    """(intent, segments) of each line: `{"intent": ..., "data": [{"text": ..., "entity": ...}]}`."""
    utterances = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise NluError(f"{path}: cannot read: {error.strerror}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            segments = [(str(part["text"]), part.get("entity")) for part in item["data"]]
        except (ValueError, KeyError, TypeError) as error:
            raise NluError(f"{path}:{number}: not an utterance with slots: {error}") from None
        utterances.append((str(item.get("intent", "")), segments))
    return utterances


def _tokens(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _shape(word: str) -> str:
    return re.sub(
        r"(.)\1+", r"\1", re.sub("[A-Z]", "A", re.sub("[a-z]", "a", re.sub(r"\d", "0", word)))
    )


def _features(
    words: list[str], intent: str | None = None, gazetteer: dict[str, set[str]] | None = None
) -> list[dict[str, Any]]:
    rows = []
    for i, word in enumerate(words):
        lower = word.lower()
        row: dict[str, Any] = {
            "bias": 1.0, "w": lower, "suffix3": lower[-3:], "suffix2": lower[-2:], "prefix3": lower[:3],
            "shape": _shape(word), "title": word.istitle(), "digit": word.isdigit(), "first": i == 0,
            "last": i == len(words) - 1,
        }  # fmt: skip
        for offset in (-2, -1, 1, 2):
            j = i + offset
            row[f"w{offset:+d}"] = words[j].lower() if 0 <= j < len(words) else "<edge>"
        row["bigram-1"] = f"{row['w-1']}|{lower}"
        row["bigram+1"] = f"{lower}|{row['w+1']}"
        if intent:
            row["intent"] = intent
            row["intent|w"] = f"{intent}|{lower}"
        for slot in (gazetteer or {}).get(lower, ()):
            row[f"known:{slot}"] = True
        rows.append(row)
    return rows


def _bio(segments: Sequence[Segment]) -> tuple[list[str], list[str]]:
    words, tags = [], []
    for text, slot in segments:
        for index, (start, end) in enumerate(_tokens(text)):
            words.append(text[start:end])
            tags.append("O" if not slot else ("B-" if index == 0 else "I-") + slot)
    return words, tags


class SlotTagger:
    """Learns slot spans from examples; `tag(text)` finds them in new text."""

    def __init__(self, c1: float = 0.05, c2: float = 0.05, iterations: int = 100):
        self._options = {"c1": c1, "c2": c2, "max_iterations": iterations}
        self._crf: Any = None
        self._gazetteer: dict[str, set[str]] = {}

    def fit(
        self, utterances: Sequence[Sequence[Segment]], intents: Sequence[str] | None = None
    ) -> None:
        """Learn from segmented utterances, and their intents when given (then pass one to `tag`)."""
        import sklearn_crfsuite

        pairs = [_bio(segments) for segments in utterances]
        if not any(tag != "O" for _, tags in pairs for tag in tags):
            raise NluError("the slot tagger needs examples with at least one slot value")
        self._gazetteer = _gazetteer(utterances)
        labels = list(intents) if intents is not None else [None] * len(pairs)
        features = [
            _features(w, i, self._gazetteer) for (w, _), i in zip(pairs, labels, strict=True)
        ]
        self._crf = sklearn_crfsuite.CRF(
            algorithm="lbfgs", all_possible_transitions=True, **self._options
        )
        self._crf.fit(features, [tags for _, tags in pairs])

    def tag(self, text: str, intent: str | None = None) -> list[SlotSpan]:
        """Slot spans of `text`; `intent` is the utterance's intent if the tagger learnt with them."""
        if self._crf is None:
            raise NluError("the slot tagger is not trained: call fit() first")
        offsets = _tokens(text)
        if not offsets:
            return []
        words = [text[s:e] for s, e in offsets]
        tags = self._crf.predict_single(_features(words, intent, self._gazetteer))
        return _spans(text, offsets, tags)


def _gazetteer(utterances: Sequence[Sequence[Segment]]) -> dict[str, set[str]]:
    """Lower-case word -> slots whose training values contain it at least twice."""
    counts: dict[tuple[str, str], int] = {}
    for segments in utterances:
        for text, slot in segments:
            for start, end in _tokens(text) if slot else ():
                key = (text[start:end].lower(), str(slot))
                counts[key] = counts.get(key, 0) + 1
    result: dict[str, set[str]] = {}
    for (word, slot), count in counts.items():
        if count >= 2:
            result.setdefault(word, set()).add(slot)
    return result


def _spans(text: str, offsets: list[tuple[int, int]], tags: Sequence[str]) -> list[SlotSpan]:
    spans: list[SlotSpan] = []
    current: tuple[str, int, int] | None = None
    for (start, end), tag in zip(offsets, tags, strict=True):
        continues = current is not None and tag == f"I-{current[0]}"
        if continues and current is not None:
            current = (current[0], current[1], end)
            continue
        if current is not None:
            spans.append(
                SlotSpan(current[0], current[1], current[2], text[current[1] : current[2]])
            )
        current = (tag[2:], start, end) if tag != "O" else None
    if current is not None:
        spans.append(SlotSpan(current[0], current[1], current[2], text[current[1] : current[2]]))
    return spans


def gold_spans(segments: Sequence[Segment]) -> tuple[str, list[SlotSpan]]:
    """The utterance text and its slot spans, trimmed to whole tokens as the tagger sees them."""
    text, spans = "", []
    for piece, slot in segments:
        if slot:
            tokens = _tokens(piece)
            if tokens:
                start, end = len(text) + tokens[0][0], len(text) + tokens[-1][1]
                spans.append(SlotSpan(slot, start, end, piece[tokens[0][0] : tokens[-1][1]]))
        text += piece
    return text, spans


def span_scores(
    gold: Sequence[Sequence[SlotSpan]], found: Sequence[Sequence[SlotSpan]]
) -> dict[str, float]:
    """Micro precision, recall and F1 over exact (slot, start, end) spans."""
    right = sum(len(set(g) & set(f)) for g, f in zip(gold, found, strict=True))
    predicted, expected = sum(map(len, found)), sum(map(len, gold))
    precision = right / predicted if predicted else 0.0
    recall = right / expected if expected else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "spans": float(expected)}


def evaluate(train_path: Path, test_path: Path) -> dict[str, float]:
    """Train on one slots file and measure span F1 on another.

    The tagger sees the intent that a TF-IDF classifier trained on the same file
    predicts, never the test file's own intent.
    """
    from assistant.nlu.benchmark import TfidfClassifier

    train = read_jsonl(train_path)
    classifier = TfidfClassifier()
    classifier.fit([gold_spans(s)[0] for _, s in train], [intent for intent, _ in train])
    tagger = SlotTagger()
    tagger.fit([segments for _, segments in train], [intent for intent, _ in train])
    gold, found = [], []
    for _, segments in read_jsonl(test_path):
        text, spans = gold_spans(segments)
        gold.append(spans)
        found.append(tagger.tag(text, classifier.rank(text)[0][0]))
    return span_scores(gold, found)
