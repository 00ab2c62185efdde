"""Optional transformer models for question answering and summarising, loaded from disk only.

transformers 5 dropped the "question-answering" and "summarization" pipelines, so
these two small wrappers do what they did: span extraction from start/end logits,
and sequence-to-sequence generation.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from assistant.errors import ModelError

log = logging.getLogger(__name__)

MAX_INPUT_TOKENS = 384
MAX_ANSWER_TOKENS = 30


@dataclass(frozen=True)
class Extracted:
    answer: str
    score: float
    """Probability of the span: softmax(start) x softmax(end), 0 to 1."""


def _load(kind: str, model: str, setting: str) -> tuple[Any, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers

    from assistant.nlu.encoder import resolve_model_path

    location = resolve_model_path(model)
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(location)
        network = getattr(transformers, kind).from_pretrained(location)
    except Exception as error:  # engine boundary: any loader failure is a model error
        raise ModelError(
            f"cannot load the model {model!r} from {location}: {error}. "
            f"Set {setting} to a local folder or an installed model, or leave it empty for the offline default."
        ) from error
    network.eval()
    log.info("%s loaded from %s", kind, location)
    return tokenizer, network


class _LazyModel:
    """A transformers model of class `KIND`, loaded on first use (thread-safe)."""

    KIND = ""
    SETTING = ""

    def __init__(self, model: str, setting: str | None = None) -> None:
        self.model = model
        self.setting = setting or self.SETTING
        self._loaded: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    def _parts(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                self._loaded = _load(self.KIND, self.model, self.setting)
            return self._loaded


class ExtractiveReader(_LazyModel):
    """A question-answering model (`AutoModelForQuestionAnswering`) that marks the answer span."""

    KIND = "AutoModelForQuestionAnswering"
    SETTING = "[question_answering] model"

    def read(self, question: str, context: str) -> Extracted:
        import torch

        tokenizer, network = self._parts()
        encoded = tokenizer(
            question,
            context,
            truncation="only_second",
            max_length=MAX_INPUT_TOKENS,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = encoded.pop("offset_mapping")[0].tolist()
        in_context = [index == 1 for index in encoded.sequence_ids(0)]
        with torch.inference_mode():
            output = network(
                **{
                    k: v
                    for k, v in encoded.items()
                    if k in ("input_ids", "attention_mask", "token_type_ids")
                }
            )
        start = torch.softmax(output.start_logits[0], dim=-1)
        end = torch.softmax(output.end_logits[0], dim=-1)
        best = (0.0, 0, -1)
        candidates = [i for i, inside in enumerate(in_context) if inside]
        top_starts = sorted(candidates, key=lambda i: -float(start[i]))[:20]
        top_ends = sorted(candidates, key=lambda i: -float(end[i]))[:20]
        for s in top_starts:
            for e in top_ends:
                if s <= e < s + MAX_ANSWER_TOKENS:
                    score = float(start[s] * end[e])
                    if score > best[0]:
                        best = (score, s, e)
        score, s, e = best
        if e < 0:
            return Extracted("", 0.0)
        return Extracted(context[offsets[s][0] : offsets[e][1]].strip(), score)


class AbstractiveSummarizer(_LazyModel):
    """A sequence-to-sequence model (`AutoModelForSeq2SeqLM`) that writes a summary."""

    KIND = "AutoModelForSeq2SeqLM"
    SETTING = "[summarization] model"

    def summarize(self, text: str, max_new_tokens: int) -> str:
        import torch

        tokenizer, network = self._parts()
        encoded = tokenizer(text, truncation=True, max_length=512, return_tensors="pt")
        with torch.inference_mode():
            output = network.generate(
                input_ids=encoded["input_ids"],
                attention_mask=encoded["attention_mask"],
                max_new_tokens=max_new_tokens,
                num_beams=2,
                no_repeat_ngram_size=3,
            )
        return str(tokenizer.decode(output[0], skip_special_tokens=True)).strip()
