"""Fine-tune the sentence encoder's top layers on the skills' samples (issue 15, item 2).

The frozen encoder places sentences by general meaning; trained on the samples, its top
layers pull each action's phrasings together, so a request unlike every skill stands
further off. The lower layers stay frozen and their output for every sample is computed
once; the top `layers` transformer layers and a cosine-softmax head, started at each
label's mean embedding (a warm head: the first steps do not scramble the encoder), learn
with cross-entropy (AdamW, a tenth of the steps warming up, then linear decay).

The result is a model folder (weights, config, tokenizer, `finetune.json` with the
weights' SHA-256) that `Encoder` loads like any other and exports to ONNX. Its name
carries a hash of the examples and settings, so embeddings (keyed by model name) of the
frozen and the fine-tuned encoder never mix.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import ModelError
from assistant.nlu.base import Progress
from assistant.nlu.encoder import resolve_model_path

if TYPE_CHECKING:
    from assistant.nlu.transformer import TransformerClassifier

log = logging.getLogger(__name__)

__all__ = ["FineTuning", "fine_tune", "fine_tuned_folder", "load_classifier", "prepare", "untrained_classifier", "verify"]

META = "finetune.json"
WEIGHTS = "model.safetensors"
KEEP = 2
"""Fine-tuned encoders kept per home (about 90 MB each): the installed skills' and the one before."""


@dataclass(frozen=True)
class FineTuning:
    """How the encoder is fine-tuned (chosen on CLINC150 val; see README "Understanding")."""

    steps: int = 240
    """Training batches: about one pass over CLINC150's 15,000 samples, five over the bundled skills'."""
    layers: int = 2
    """Top transformer layers trained; the others stay frozen."""
    learning_rate: float = 1e-4
    scale: float = 20.0
    """Temperature of the cosine-softmax head."""
    batch_size: int = 64
    max_length: int = 64
    seed: int = 13


def fine_tuned_folder(root: Path, model: str, examples: Sequence[tuple[str, str]], settings: FineTuning) -> Path:
    """Where the encoder fine-tuned on `examples` with `settings` is kept under `root`."""
    payload = json.dumps([model, asdict(settings), [list(pair) for pair in examples]], ensure_ascii=False)
    return root / f"finetuned-{hashlib.sha256(payload.encode('utf-8')).hexdigest()[:16]}"


def prepare(
    model: str,
    examples: Sequence[tuple[str, str]],
    folder: Path,
    settings: FineTuning | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
) -> None:
    """Fine-tune into `folder` unless a sound encoder is there, and export it to ONNX (faster)."""
    from assistant.nlu.encoder import ONNX_FILE, export_onnx_subprocess

    try:
        verify(folder)
    except ModelError as error:
        if folder.exists():
            log.warning("fine-tuning the encoder again: %s", error)
        texts, labels = zip(*examples, strict=True)
        fine_tune(model, texts, labels, folder, settings, progress, threads)
        _prune(folder)
    if not (folder / ONNX_FILE).is_file():
        if progress:
            progress(1.0, "exporting the fine-tuned encoder to ONNX")
        # Without the export the encoder runs on torch: slower, same answers.
        export_onnx_subprocess(str(folder), folder)


def untrained_classifier(
    model: str,
    examples: Sequence[tuple[str, str]],
    root: Path,
    settings: FineTuning | None = None,
    progress: Progress | None = None,
) -> TransformerClassifier:
    """A classifier to fit over `model` fine-tuned on `examples` (fine-tuned now unless kept in `root`)."""
    from assistant.nlu.encoder import Encoder
    from assistant.nlu.transformer import TransformerClassifier

    settings = settings or FineTuning()
    folder = fine_tuned_folder(root, model, examples, settings)
    prepare(model, examples, folder, settings, progress)
    return TransformerClassifier(str(folder), Encoder(str(folder), onnx_dir=folder))


def load_classifier(
    folder: Path, examples: Sequence[tuple[str, str]], cache_dir: Path, progress: Progress | None = None
) -> TransformerClassifier:
    """The classifier over the fine-tuned encoder in `folder` (its head cached like any other)."""
    from assistant.nlu.encoder import Encoder
    from assistant.nlu.training import load_or_train

    verify(folder)
    return load_or_train(examples, str(folder), cache_dir, progress, Encoder(str(folder), onnx_dir=folder))


def verify(folder: Path) -> None:
    """`ModelError` unless `folder` holds a complete fine-tuned encoder with intact weights."""
    try:
        meta = json.loads((folder / META).read_text())
        digest = _sha256(folder / WEIGHTS)
    except (OSError, ValueError) as error:
        raise ModelError(f"{folder}: no complete fine-tuned encoder ({error})") from None
    if not isinstance(meta, dict) or meta.get("sha256") != digest:
        raise ModelError(f"{folder / WEIGHTS}: checksum mismatch, the fine-tuned encoder is corrupt")


def fine_tune(
    model: str,
    texts: Sequence[str],
    labels: Sequence[str],
    destination: Path,
    settings: FineTuning | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
) -> Path:
    """Fine-tune `model` on (`texts`, `labels`) and write it to `destination` (atomically)."""
    import torch

    settings = settings or FineTuning()
    report = progress or (lambda fraction, what: None)
    if len(texts) != len(labels) or len(set(labels)) < 2:
        raise ModelError("fine-tuning needs as many labels as texts and at least two labels")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        steps = _train(model, list(texts), list(labels), destination, settings, report)
    finally:
        torch.set_num_threads(previous)
    report(1.0, f"encoder fine-tuned ({steps} steps)")
    return destination


def _train(
    model: str, texts: list[str], labels: list[str], destination: Path, settings: FineTuning, report: Progress
) -> int:
    """The training loop of `fine_tune`; the number of steps taken."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(settings.seed)
    location = resolve_model_path(model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
        encoder = AutoModel.from_pretrained(location, attn_implementation="eager")
    except Exception as error:  # engine boundary: any loader failure is a model error
        raise ModelError(f"cannot load the encoder {model!r} to fine-tune it: {error}") from error
    layers = encoder.encoder.layer
    trained = layers[len(layers) - min(settings.layers, len(layers)) :]
    for parameter in encoder.parameters():
        parameter.requires_grad_(False)
    for parameter in trained.parameters():
        parameter.requires_grad_(True)
    names = sorted(set(labels))
    index = {name: position for position, name in enumerate(names)}
    targets = torch.tensor([index[label] for label in labels])
    report(0.0, f"fine-tuning the encoder on {len(texts)} samples: reading them")
    batches = _frozen_batches(encoder, tokenizer, list(texts), settings, len(layers) - len(trained))

    def top(hidden: Any, mask: Any, additive: Any) -> Any:
        for layer in trained:
            output = layer(hidden, additive)
            hidden = output[0] if isinstance(output, tuple) else output
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return torch.nn.functional.normalize((hidden * weights).sum(1) / weights.sum(1), dim=-1)

    encoder.eval()
    with torch.no_grad():  # the warm head: each label's mean embedding
        centroids = torch.zeros(len(names), int(encoder.config.hidden_size))
        for hidden, mask, additive, rows in batches:
            centroids.index_add_(0, targets[rows], top(hidden, mask, additive))
    head = torch.nn.Parameter(torch.nn.functional.normalize(centroids, dim=-1))
    steps = settings.steps
    warm_up = max(1, steps // 10)
    optimiser = torch.optim.AdamW(
        [
            {"params": list(trained.parameters()), "lr": settings.learning_rate},
            {"params": [head], "lr": settings.learning_rate * 20},
        ],
        weight_decay=0.01,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warm_up, max(0.0, (steps - step) / max(1, steps - warm_up)))
    )
    encoder.train()
    rng = random.Random(settings.seed)
    order: list[int] = []
    for step in range(steps):
        if not order:
            order = rng.sample(range(len(batches)), len(batches))
        hidden, mask, additive, rows = batches[order.pop()]
        logits = settings.scale * top(hidden, mask, additive) @ torch.nn.functional.normalize(head, dim=-1).T
        loss = torch.nn.functional.cross_entropy(logits, targets[rows])
        loss.backward()
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        if step % 10 == 0:
            report(0.1 + 0.85 * step / steps, f"fine-tuning the encoder: step {step}/{steps}, loss {loss.item():.2f}")
    encoder.eval()
    _save(encoder, tokenizer, destination, {"base": model, "settings": asdict(settings), "steps": steps})
    return steps


def _frozen_batches(
    encoder: Any, tokenizer: Any, texts: list[str], settings: FineTuning, frozen: int
) -> list[tuple[Any, Any, Any, Any]]:
    """(hidden states after the frozen layers, mask, additive mask, rows) per batch, computed once.

    Batches are random, each sorted by length within a group of 16 so they carry little padding.
    """
    import torch

    rows = list(range(len(texts)))
    random.Random(settings.seed).shuffle(rows)
    size = settings.batch_size
    batches = []
    encoder.eval()
    with torch.no_grad():
        for group_start in range(0, len(rows), size * 16):
            group = sorted(rows[group_start : group_start + size * 16], key=lambda row: len(texts[row]))
            for start in range(0, len(group), size):
                chosen = group[start : start + size]
                batch = tokenizer(
                    [texts[row] for row in chosen],
                    padding=True, truncation=True, max_length=settings.max_length, return_tensors="pt",
                )  # fmt: skip
                mask = batch["attention_mask"]
                additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
                hidden = encoder.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"))
                for layer in encoder.encoder.layer[:frozen]:
                    output = layer(hidden, additive)
                    hidden = output[0] if isinstance(output, tuple) else output
                batches.append((hidden, mask, additive, torch.tensor(chosen)))
    return batches


def _save(encoder: Any, tokenizer: Any, destination: Path, meta: dict[str, Any]) -> None:
    """Write weights, config, tokenizer and `finetune.json` beside `destination`, then rename."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-new-", dir=destination.parent))
    try:
        encoder.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if not (staging / WEIGHTS).is_file():
            raise ModelError(f"fine-tuned weights were not written as {WEIGHTS}")
        (staging / META).write_text(json.dumps(meta | {"sha256": _sha256(staging / WEIGHTS)}, indent=2))
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _prune(kept: Path) -> None:
    """Remove all but the `KEEP` most recently written fine-tuned encoders beside `kept`."""
    folders = sorted(kept.parent.glob("finetuned-*"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in folders[KEEP:]:
        if old != kept:
            shutil.rmtree(old, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
