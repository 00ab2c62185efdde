"""Understanding an utterance: which skill action, how sure, and its entities.

The classifier (transformer by default, lexical as fallback) ranks the actions;
an exact alignment with a sample template confirms a guess and cuts out the entities.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import NluSettings
from assistant.home import Home
from assistant.nlu.base import OUT_OF_SCOPE, IntentClassifier, Progress
from assistant.nlu.calibration import background_requests
from assistant.nlu.encoder import Encoder, onnx_folder
from assistant.nlu.lexical import LexicalMatcher
from assistant.nlu.slots import TemplateIndex, scan
from assistant.skills.catalog import Catalog

if TYPE_CHECKING:
    from assistant.nlu.finetune import FineTuning
    from assistant.nlu.trainjob import Started

log = logging.getLogger(__name__)

LEXICAL_THRESHOLD = 0.5
"""Below this lexical similarity a request is not understood (between the system table and nonsense such as "purple monkey dishwasher")."""
TEMPLATE_SCORE = 0.9
"""Confidence given to an action whose sample template the utterance matches exactly, when
template words and typed values make up at least FULL_COVERAGE of the utterance, or the
classifier ranks the action within TEMPLATE_AGREEMENT of its best guess. A bare match of a
greedy template ("who {question}") is not enough on its own."""
FULL_COVERAGE = 0.6
TEMPLATE_AGREEMENT = 0.2
CLASSIFIED_CHARS = 2000
"""The classifier reads this much of an utterance (a long pasted text is read by its template)."""
ANCHOR_WORDS = 3
"""A template with this many fixed words ("here is some text {text}") is trusted however long
its free text: the classifier reads a long pasted text for its content, not its request."""

_SENTENCE_END = re.compile(r"[\s.!?…]+$")


def as_trained(text: str) -> str:
    """`text` as the classifier learnt sentences, and its threshold was calibrated on: without the
    full stop or question mark that Whisper (and many a typist) ends a sentence with. With it,
    "Translate good morning into Spanish." scored 0.28 for greet, above the threshold, and
    "translate good morning into spanish" 0.26, below."""
    return _SENTENCE_END.sub("", text.strip())


@dataclass(frozen=True)
class Understanding:
    """What the NLU made of one utterance."""

    text: str
    label: str | None
    """"skill.action", or None when nothing scored above the threshold."""
    confidence: float
    ranking: list[tuple[str, float]]
    entities: dict[str, Any] = field(default_factory=dict)
    engine: str = "lexical"

    @property
    def skill(self) -> str | None:
        return self.label.split(".", 1)[0] if self.label else None

    @property
    def action(self) -> str | None:
        return self.label.split(".", 1)[1] if self.label else None


class Nlu:
    """The understanding stage over one catalog of skills."""

    def __init__(
        self,
        catalog: Catalog,
        settings: NluSettings,
        home: Home,
        progress: Progress | None = None,
        on_notice: Callable[[str], None] | None = None,
        encoder: Encoder | None = None,
        calibrate: bool = True,
        background: bool = False,
    ):
        """`calibrate=False` borrows the home's threshold (checking a skill); with `background`,
        an untrained classifier is trained on a thread while the lexical matcher answers."""
        self.catalog = catalog
        self.settings = settings
        self.templates = TemplateIndex()
        for skill in catalog.skills.values():
            for action in skill.actions.values():
                self.templates.add(skill.id, action.name, action.samples, skill.entities)
        self.follow_ups = {
            f"{s.id}.{a.name}" for s in catalog.skills.values() for a in s.actions.values() if a.follow_up
        }
        self.encoder = encoder
        self.calibrate = calibrate
        self.background = background
        self.ready = threading.Event()
        """Set once the configured classifier answers (at once unless it trains in the background)."""
        self.tuned = threading.Event()
        """Set once fine-tuning the encoder is over (done, failed, or not wanted)."""
        self._on_notice = on_notice
        self._training: threading.Thread | None = None
        self._job: Started | None = None
        """The training job this stage started, waiting for the first request to be under way."""
        self._progress = progress
        self._home = home
        self.classifier, self.engine, default_threshold = self._build(home, progress, on_notice)
        self.threshold = settings.threshold if settings.threshold is not None else default_threshold
        if self._training is not None:
            self._training.start()
        elif self.tuned.is_set() or self.engine != "transformer" or not self._fine_tune_wanted():
            self.tuned.set()
        else:
            self._training = threading.Thread(
                target=self._fine_tune, args=(home,), name="nlu-fine-tuning", daemon=True
            )
            self._training.start()

    def _build(
        self, home: Home, progress: Progress | None, on_notice: Callable[[str], None] | None
    ) -> tuple[IntentClassifier, str, float]:
        examples = self.catalog.training_examples()
        if self.settings.engine == "transformer" and examples:
            try:
                from assistant.nlu.training import cached, load_or_train

                encoder = self.encoder or Encoder(
                    self.settings.model, onnx_dir=onnx_folder(home.models, self.settings.model)
                )
                cache_dir = home.models / "nlu"
                tuned = self._load_fine_tuned(examples, home)
                if tuned is not None:
                    self.tuned.set()
                    self.ready.set()
                    return tuned, "transformer", float(getattr(tuned, "threshold", 0.5))
                classified = classifier_examples(examples)
                if self.background and not cached(classified, self.settings.model, cache_dir):
                    self._train_in_background(classified, encoder, cache_dir, progress)
                    return self._lexical(examples)
                classifier = load_or_train(
                    classified,
                    model=self.settings.model,
                    cache_dir=cache_dir,
                    progress=progress,
                    encoder=encoder,
                    calibrate=self.calibrate,
                )
                if encoder.has_onnx():
                    encoder.load_in_background()  # while the session opens, not on the first request
                else:  # later starts load the encoder through onnxruntime: seconds faster than torch
                    encoder.export_in_background()
                self.ready.set()
                return classifier, "transformer", float(getattr(classifier, "threshold", 0.5))
            except Exception as error:  # engine boundary: fall back, say so once
                message = f"the transformer classifier could not load ({error}); using the lexical matcher"
                log.warning(message)
                if on_notice:
                    on_notice(message)
        self.ready.set()
        return self._lexical(examples)

    def _lexical(self, examples: list[tuple[str, str]]) -> tuple[IntentClassifier, str, float]:
        matcher = LexicalMatcher()
        if examples:
            texts, labels = zip(*examples, strict=True)
            matcher.fit(list(texts), list(labels))
        return matcher, "lexical", LEXICAL_THRESHOLD

    def _fine_tune_wanted(self) -> bool:
        """Fine-tune on a thread: asked for, on the home's own skills, in a long-running session."""
        return (
            self.settings.fine_tune
            and self.settings.engine == "transformer"
            and self.calibrate
            and self.background
            and bool(self.catalog.training_examples())
        )

    def _load_fine_tuned(self, examples: list[tuple[str, str]], home: Home) -> IntentClassifier | None:
        """The classifier over the encoder fine-tuned on these skills, when it is there and sound."""
        if not (self.settings.fine_tune and self.calibrate):
            return None
        from assistant.nlu import finetune
        from assistant.nlu.training import cached

        folder = finetune.fine_tuned_folder(home.models / "nlu", self.settings.model, examples, self._tuning())
        if not folder.exists():
            return None
        if self.background and not cached(examples, str(folder), home.models / "nlu"):
            return None  # its head is trained on the fine-tuning thread, behind the frozen one
        try:
            return finetune.load_classifier(folder, examples, home.models / "nlu", self._progress)
        except Exception as error:  # engine boundary: the frozen encoder answers instead
            log.warning("the fine-tuned encoder in %s cannot be used (%s); using the frozen encoder", folder, error)
            return None

    def _tuning(self) -> FineTuning:
        from assistant.nlu.finetune import FineTuning

        return FineTuning(steps=self.settings.fine_tune_steps)

    def _fine_tune(self, home: Home) -> None:
        """Fine-tune the encoder on the skills' samples, then let its classifier take over."""
        from assistant.nlu import finetune

        examples = self.catalog.training_examples()
        try:
            self._notice(
                f"fine-tuning the encoder on {len(examples)} samples in the background "
                "(minutes); the current classifier answers until then"
            )
            folder = finetune.fine_tuned_folder(home.models / "nlu", self.settings.model, examples, self._tuning())
            finetune.prepare(self.settings.model, examples, folder, self._tuning(), self._progress, threads=1)
            classifier = finetune.load_classifier(folder, examples, home.models / "nlu", self._progress)
        except Exception as error:  # engine boundary: the frozen encoder's classifier stays
            self._notice(f"the encoder could not be fine-tuned ({error}); the current classifier stays")
            self.tuned.set()
            return
        if self.settings.threshold is None:
            self.threshold = float(getattr(classifier, "threshold", self.threshold))
        self.classifier, self.engine = classifier, "transformer"
        self._notice("the fine-tuned intent classifier now understands requests")
        self.tuned.set()

    def _train_in_background(
        self, examples: list[tuple[str, str]], encoder: Encoder, cache_dir: Path, progress: Progress | None
    ) -> None:
        """Train in a detached job (it outlives a one-shot command), then take over from the lexical matcher.

        Where no process can be started, the training runs on a thread of this one."""
        from assistant.nlu import trainjob

        job = trainjob.TrainingJob(examples, self.settings.model, cache_dir, encoder.onnx_dir, self.calibrate)
        log_path = self._home.logs / trainjob.LOG_NAME
        about = f"about {_rounded(trainjob.estimate_s(cache_dir))} s"
        training = (
            f"training the intent classifier on {len(examples)} samples in the background ({about}); "
            "answering with the word matcher meanwhile"
        )
        try:
            started = trainjob.start(job, log_path)
        except OSError as error:
            log.warning("cannot start the training job (%s); training in this process", error)
            self._notice(training)
            self._training = threading.Thread(
                target=self._train_here, args=(examples, encoder, cache_dir, progress), name="nlu-training", daemon=True
            )
            return
        self._job = started
        if started is None:
            self._notice(
                "the intent classifier is being trained in the background by another start of the assistant; "
                "answering with the word matcher meanwhile"
            )
        else:
            self._notice(training)

        def watch() -> None:
            from assistant.nlu.training import cached

            ours = started
            trainjob.wait(cache_dir)
            if ours is None and not cached(examples, self.settings.model, cache_dir):
                # The other start trained other skills (one was installed since): train ours now.
                try:
                    ours = trainjob.start(job, log_path)
                except OSError as error:
                    log.warning("cannot start the training job: %s", error)
                if ours is not None:
                    ours.go_ahead()
                trainjob.wait(cache_dir)
            if ours is not None:
                ours.process.wait()  # reaped: a long-running server keeps no zombie
            if not cached(examples, self.settings.model, cache_dir):
                self._lexical_stays(f"see {log_path}")
                return
            self._train_here(examples, encoder, cache_dir, progress)  # loads what the job left

        self._training = threading.Thread(target=watch, name="nlu-training", daemon=True)

    def _train_here(
        self, examples: list[tuple[str, str]], encoder: Encoder, cache_dir: Path, progress: Progress | None
    ) -> None:
        """Load (or train) the classifier in this process, then let it take over from the lexical matcher."""
        from assistant.nlu.encoder import export_onnx_subprocess
        from assistant.nlu.training import load_or_train

        try:
            if encoder.onnx_dir is not None and not encoder.has_onnx():
                export_onnx_subprocess(encoder.model_name, encoder.onnx_dir)
            classifier = load_or_train(examples, self.settings.model, cache_dir, progress, encoder, self.calibrate)
        except Exception as error:  # engine boundary: the lexical matcher stays
            self._lexical_stays(str(error))
            return
        if self.settings.threshold is None:
            self.threshold = classifier.threshold
        self.classifier, self.engine = classifier, "transformer"
        # Said before `ready` is set: whoever waits for it finds the notice given.
        self._notice("the intent classifier is trained and now understands requests")
        self.ready.set()
        if self._fine_tune_wanted():
            self._fine_tune(self._home)
        else:
            self.tuned.set()

    def _lexical_stays(self, why: str) -> None:
        """The background training failed: say so; the lexical matcher answers from now on too."""
        self._notice(f"the intent classifier could not be trained ({why}); the lexical matcher stays")
        self.ready.set()
        self.tuned.set()

    def _notice(self, message: str) -> None:
        log.info(message)
        if self._on_notice:
            self._on_notice(message)

    def answered(self) -> None:
        """A request has been answered: the training job this stage started may begin (its gate)."""
        if self._job is not None:
            self._job.go_ahead()

    def parse(self, text: str, now: datetime, context_skill: str | None = None) -> Understanding:
        # The start says what is asked; the classifiers' cost grows with the text (MiniLM reads 256 word pieces).
        classified = as_trained(text[:CLASSIFIED_CHARS])
        ranking = list(self.classifier.rank(classified)) if classified else []
        matches = {m.label: m for m in self.templates.match(text, now)} if text.strip() else {}
        scores = dict(ranking)
        top = ranking[0][1] if ranking else 0.0
        for label, match in matches.items():
            agrees = scores.get(label, 0.0) >= top - TEMPLATE_AGREEMENT
            anchored = match.literal_words >= ANCHOR_WORDS
            if match.literal_chars > 0 and (match.coverage >= FULL_COVERAGE or agrees or anchored):
                scores[label] = max(scores.get(label, 0.0), TEMPLATE_SCORE)
        for label in self.follow_ups:
            if context_skill is None or not label.startswith(context_skill + "."):
                scores[label] = 0.0
                matches.pop(label, None)
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        ranked = self._prefer_context(ranked, context_skill)
        if not ranked or ranked[0][1] < self.threshold:
            return Understanding(text, None, ranked[0][1] if ranked else 0.0, ranked, engine=self.engine)
        label, confidence = ranked[0]
        entities = matches[label].entities if label in matches else self._scan(label, text, now)
        return Understanding(text, label, confidence, ranked, entities, self.engine)

    def _prefer_context(self, ranked: list[tuple[str, float]], context_skill: str | None) -> list[tuple[str, float]]:
        """A near-tie goes to the skill in use ("and the next one"), else to the system skill ("stop")."""
        if len(ranked) < 2:
            return ranked
        preferred = (context_skill or "system") + "."
        best = ranked[0][1]
        for index, (label, score) in enumerate(ranked[:5]):
            if label.startswith(preferred) and best - score <= self.settings.context_margin:
                if index:
                    ranked = [ranked[index], *ranked[:index], *ranked[index + 1 :]]
                return ranked
        return ranked

    def _scan(self, label: str, text: str, now: datetime) -> dict[str, Any]:
        skill_id, action_name = label.split(".", 1)
        skill = self.catalog.skills[skill_id]
        from assistant.nlu.samples import slots_in

        names = {slot for sample in skill.actions[action_name].samples for slot in slots_in(sample)}
        return scan(text, [skill.entity(name) for name in sorted(names)], now)

    def parse_for(self, label: str, text: str, now: datetime) -> dict[str, Any]:
        """Entities of `text` read as an utterance for `label`, or as the end of one: an answer to
        a question names what it names ("to stretch in 10 minutes": the task and the time)."""
        matches = self.templates.match(text, now, labels=[label], tails=True)
        return matches[0].entities if matches else self._scan(label, text, now)


def _rounded(seconds: float) -> int:
    """An estimate as a person says it: to 5 s, at least 5 s."""
    return max(5, int(round(seconds / 5) * 5))


def classifier_examples(examples: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What the intent classifier learns: the skills' samples, and requests no skill serves as
    its background class (the same set wherever it is trained, so that its cache is found)."""
    return examples + [(text, OUT_OF_SCOPE) for text in background_requests()]
