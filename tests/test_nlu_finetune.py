"""Fine-tuning the encoder on real skills: trained in the background, saved, reused, and never trusted when damaged."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from assistant.bundled import BUNDLED_SKILLS
from assistant.config import NluSettings
from assistant.home import Home
from assistant.nlu import finetune
from assistant.nlu.encoder import DEFAULT_MODEL, Encoder
from assistant.nlu.understand import Nlu
from assistant.skills.catalog import Catalog, discover

pytestmark = pytest.mark.slow

SETTINGS = NluSettings(fine_tune=True, fine_tune_steps=4)
"""A tiny step budget: the test shows the machinery, the benchmark the gain."""


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    root = tmp_path_factory.mktemp("skills")
    for skill in ("system", "summarization"):
        (root / skill).symlink_to(BUNDLED_SKILLS / skill, target_is_directory=True)
    return discover([root])


@pytest.fixture(scope="module")
def tuned_home(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, Nlu, list[str]]:
    """A home whose first interactive session trained the classifier, then fine-tuned the encoder."""
    home = Home(tmp_path_factory.mktemp("home")).ensure()
    notices: list[str] = []
    nlu = Nlu(catalog, SETTINGS, home, on_notice=notices.append, encoder=Encoder(), background=True)
    assert nlu.ready.wait(timeout=600) and nlu.tuned.wait(timeout=900), notices
    return home, nlu, notices


def folder_of(catalog: Catalog, home: Home) -> Path:
    return finetune.fine_tuned_folder(
        home.models / "nlu", DEFAULT_MODEL, catalog.training_examples(), finetune.FineTuning(steps=4)
    )


def test_the_fine_tuned_classifier_takes_over_and_answers(catalog: Catalog, tuned_home) -> None:  # type: ignore[no-untyped-def]
    home, nlu, notices = tuned_home
    assert any("fine-tuning the encoder on" in notice for notice in notices), notices
    assert notices[-1] == "the fine-tuned intent classifier now understands requests", notices
    folder = folder_of(catalog, home)
    assert nlu.classifier.model == str(folder)  # type: ignore[attr-defined]
    for name in ("model.safetensors", "tokenizer.json", "finetune.json", "model.onnx"):
        assert (folder / name).is_file(), name
    now = datetime.now().astimezone()
    understood = nlu.parse("could you tell me what the time is", now)
    assert understood.label == "system.time" and understood.engine == "transformer"
    assert nlu.parse("order a pizza with extra cheese", now).label is None


def test_the_next_start_reuses_the_fine_tuned_encoder(catalog: Catalog, tuned_home) -> None:  # type: ignore[no-untyped-def]
    home, first, _ = tuned_home
    folder = folder_of(catalog, home)
    written = (folder / "model.safetensors").stat().st_mtime_ns
    notices: list[str] = []
    again = Nlu(catalog, SETTINGS, home, on_notice=notices.append, encoder=Encoder(), background=True)
    assert again.ready.is_set() and again.tuned.is_set() and not notices
    assert again.classifier.model == str(folder)  # type: ignore[attr-defined]
    assert again.classifier.encoder.backend == "onnx"  # type: ignore[attr-defined]
    assert again.threshold == first.threshold
    assert (folder / "model.safetensors").stat().st_mtime_ns == written
    now = datetime.now().astimezone()
    assert again.parse("what time is it", now).label == "system.time"


def test_without_its_cached_head_the_frozen_classifier_answers_until_the_thread_is_done(
    catalog: Catalog, tuned_home  # type: ignore[no-untyped-def]
) -> None:
    home, _, _ = tuned_home
    folder = folder_of(catalog, home)
    for head in (home.models / "nlu").glob("transformer-*"):
        if json.loads((head / "meta.json").read_text())["model"] == str(folder):
            shutil.rmtree(head)
    notices: list[str] = []
    nlu = Nlu(catalog, SETTINGS, home, on_notice=notices.append, encoder=Encoder(), background=True)
    assert nlu.classifier.model == DEFAULT_MODEL  # type: ignore[attr-defined]
    assert nlu.tuned.wait(timeout=600)
    assert nlu.classifier.model == str(folder), notices  # type: ignore[attr-defined]
    assert notices[-1] == "the fine-tuned intent classifier now understands requests"


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_a_damaged_fine_tuned_encoder_falls_back_to_the_frozen_one(
    catalog: Catalog, tuned_home, damage: str, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    home, _, _ = tuned_home
    folder = folder_of(catalog, home)
    weights = folder / "model.safetensors"
    if damage == "corrupt":
        weights.write_bytes(weights.read_bytes()[:1000] + b"\0" * 1000)
    else:
        weights.unlink()
    with caplog.at_level(logging.WARNING, logger="assistant.nlu.understand"):
        nlu = Nlu(catalog, SETTINGS, home, encoder=Encoder())
    assert nlu.engine == "transformer" and nlu.classifier.model == DEFAULT_MODEL  # type: ignore[attr-defined]
    lines = [r.getMessage() for r in caplog.records if "fine-tuned encoder" in r.getMessage()]
    expected = "checksum mismatch" if damage == "corrupt" else "no complete fine-tuned encoder"
    assert len(lines) == 1 and expected in lines[0] and "using the frozen encoder" in lines[0], lines
    now = datetime.now().astimezone()
    assert nlu.parse("what time is it", now).label == "system.time"


def test_a_skill_check_never_fine_tunes(catalog: Catalog, tmp_path: Path) -> None:
    home = Home(tmp_path).ensure()
    nlu = Nlu(catalog, SETTINGS, home, encoder=Encoder(), calibrate=False, background=True)
    assert nlu.ready.wait(timeout=600) and nlu.tuned.wait(timeout=60)
    assert not list((home.models / "nlu").glob("finetuned-*"))


def test_the_benchmark_fine_tunes_on_its_training_file(home_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli import nlu as nlu_cli
    from assistant.config import load_config
    from assistant.runtime import Assistant

    rows = [(f"{verb} {thing}", label) for label, verb in (("lights.on", "turn on"), ("lights.off", "turn off"))
            for thing in ("the lamp", "the lights", "the kitchen light", "bedroom lights", "all lights", "the hall")]  # fmt: skip
    files = {}
    for name, part in (("train", rows[0::2]), ("test", rows[1::2])):
        with (home_dir / f"{name}.csv").open("w", encoding="utf-8") as handle:
            handle.write("text,label\n" + "".join(f"{t},{label}\n" for t, label in part))
        files[name] = home_dir / f"{name}.csv"
    home = Home(home_dir).ensure()
    app = Assistant(home, load_config(home.config_file, environ={}))
    try:
        parser = argparse.ArgumentParser()
        nlu_cli.register(parser.add_subparsers())
        argv = ["nlu", "benchmark", "--train", str(files["train"]), "--test", str(files["test"])]
        args = parser.parse_args([*argv, "--fine-tune", "3", "--json"])
        assert args.handler(args, app) == 0
        figures = json.loads(capsys.readouterr().out)
    finally:
        app.close()
    assert figures["accuracy_without_rejection"] >= 0.8 and figures["train_s"] > 0
    tuned = list((home.models / "nlu").glob("finetuned-*"))
    assert len(tuned) == 1 and (tuned[0] / "finetune.json").is_file()
    assert json.loads((tuned[0] / "finetune.json").read_text())["steps"] == 3
