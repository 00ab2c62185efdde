"""The brain: text in, reply out — understanding, conversation context, slot filling, the skill call.

No audio and no terminal here: the chat, `ask` and the voice loop all call `Brain.handle`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assistant.errors import SkillError
from assistant.nlu.understand import Nlu, Understanding
from assistant.skills.catalog import Catalog
from assistant.skills.package import SkillPackage
from assistant.skills.runner import SkillRunner
from assistant.skills.sdk import Answers, Question, Response
from assistant.text import clean

log = logging.getLogger(__name__)

SYSTEM = "system"
CANCEL_ACTIONS = {"system.cancel"}
NEW_REQUEST_CONFIDENCE = 0.9
"""While a question is pending, an utterance this sure to be for another skill is a new request."""


@dataclass(frozen=True)
class Turn:
    """One exchange: what was heard or typed and what the assistant answered."""

    text: str
    skill: str | None
    action: str | None
    confidence: float
    entities: dict[str, Any]
    reply: Response

    def to_json(self) -> dict[str, Any]:
        """The machine contract of `assistant ask --json`."""
        return {
            "text": self.text,
            "skill": self.skill,
            "action": self.action,
            "confidence": round(self.confidence, 4),
            "entities": self.entities,
            "reply": self.reply.text,
            "speech": self.reply.spoken,
            "expects_reply": self.reply.question is not None,
            "data": self.reply.data,
        }


@dataclass
class _Pending:
    """What the next utterance answers: a missing entity, or a skill's question."""

    skill: str
    action: str
    entities: dict[str, Any]
    missing: str | None = None
    question_data: dict[str, Any] | None = None
    attempts: int = 0


@dataclass
class _Conversation:
    last_skill: str | None = None
    last_action: str | None = None
    last_entities: dict[str, Any] = field(default_factory=dict)
    last_reply: str | None = None
    pending: _Pending | None = None


class Brain:
    """Turns text into a reply; thread-safe (one turn at a time)."""

    def __init__(
        self,
        catalog: Catalog,
        nlu: Nlu,
        runner: SkillRunner,
        skill_settings: Callable[[SkillPackage], dict[str, Any]],
        language: str = "en",
        clock: Callable[[], datetime] | None = None,
        on_say: Callable[[str], None] | None = None,
        max_utterance_chars: int = 100_000,
    ):
        self.catalog = catalog
        self.nlu = nlu
        self.runner = runner
        self.skill_settings = skill_settings
        self.language = language
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.on_say = on_say
        self.max_utterance_chars = max_utterance_chars
        self._conversation = _Conversation()
        self._lock = threading.RLock()

    @property
    def expecting_reply(self) -> bool:
        return self._conversation.pending is not None

    def notified(self, skill_id: str) -> None:
        """A skill spoke up unasked (an alarm rings): "stop" now means that skill.

        Called from the scheduler's thread, possibly while a turn holds the brain's lock and
        waits for the scheduler: so no lock here (a single attribute store is atomic).
        """
        self._conversation.last_skill = skill_id

    def run_scheduled(self, skill_id: str, action: str, entities: dict[str, Any]) -> Response | None:
        """Run a skill action for a scheduled job (a page watch); the conversation is not touched."""
        skill = self.catalog.skills.get(skill_id)
        if skill is None or action not in skill.actions:
            log.warning("scheduled job names %s.%s, which is not installed", skill_id, action)
            return None
        return self._run(skill, action, "", dict(entities))

    def understand(self, text: str) -> Understanding:
        return self.nlu.parse(text, self.clock(), self._conversation.last_skill)

    def handle(self, text: str) -> Turn:
        with self._lock:
            text = clean(text)
            if len(text) > self.max_utterance_chars:
                return self._too_long(text)
            text = " ".join(text.split())
            if not text:
                return self._system(text, "not_heard", {}, 0.0)
            pending = self._conversation.pending
            if pending is not None:
                turn = self._answer_pending(text, pending)
                if turn is not None:
                    return turn
            understanding = self.understand(text)
            if understanding.label is None:
                return self._not_understood(understanding)
            return self._dispatch(text, understanding.label, understanding.confidence, dict(understanding.entities))

    def _answer_pending(self, text: str, pending: _Pending) -> Turn | None:
        """Use `text` as the answer to the pending question; None when it is a new request."""
        understanding = self.understand(text)
        if understanding.label in CANCEL_ACTIONS:
            self._conversation.pending = None
            return self._dispatch(text, understanding.label, understanding.confidence, {})
        if (
            understanding.skill not in (None, pending.skill, SYSTEM)
            and understanding.confidence >= NEW_REQUEST_CONFIDENCE
        ):
            # Clearly a new request for another skill ("what's on my reminders?"), not an answer.
            self._conversation.pending = None
            return None
        label = f"{pending.skill}.{pending.action}"
        if pending.missing is not None:
            skill = self.catalog.skills[pending.skill]
            value = self._value_for(skill, pending.missing, text, label)
            if value is None:
                pending.attempts += 1
                if pending.attempts >= 2:
                    self._conversation.pending = None
                    return None
                return self._ask(text, skill, pending)
            self._conversation.pending = None
            entities = {**pending.entities, pending.missing: value}
            return self._dispatch(text, label, 1.0, entities)
        self._conversation.pending = None
        entities = self.nlu.parse_for(label, text, self.clock())
        return self._dispatch(text, label, 1.0, entities, answer_to=pending.question_data)

    def _value_for(self, skill: SkillPackage, name: str, text: str, label: str) -> Any:
        from assistant.nlu.slots import parse_value

        entities = self.nlu.parse_for(label, text, self.clock())
        if name in entities:
            return entities[name]
        return parse_value(skill.entity(name), text, self.clock())

    def _dispatch(
        self,
        text: str,
        label: str,
        confidence: float,
        entities: dict[str, Any],
        answer_to: dict[str, Any] | None = None,
    ) -> Turn:
        skill_id, action_name = label.split(".", 1)
        skill = self.catalog.skills[skill_id]
        action = skill.actions[action_name]
        if label in CANCEL_ACTIONS:
            self._conversation.pending = None
        for name in action.required_entities:
            if name not in entities:
                pending = _Pending(skill_id, action_name, entities, missing=name)
                return self._ask(text, skill, pending, confidence)
        response = self._run(skill, action_name, text, entities, answer_to)
        return self._remember(Turn(text, skill_id, action_name, confidence, entities, response))

    def _ask(self, text: str, skill: SkillPackage, pending: _Pending, confidence: float = 1.0) -> Turn:
        action = skill.actions[pending.action]
        key = action.required_entities[pending.missing or ""]
        question = Answers(skill.answers).render(key)
        self._conversation.pending = pending
        response = Response(text=question, question=Question(action=pending.action))
        turn = Turn(text, skill.id, pending.action, confidence, dict(pending.entities), response)
        self._conversation.last_reply = response.text
        return turn

    def _run(
        self,
        skill: SkillPackage,
        action_name: str,
        text: str,
        entities: dict[str, Any],
        answer_to: dict[str, Any] | None = None,
    ) -> Response:
        action = skill.actions[action_name]
        if action.type == "dialog":
            return Response(text=Answers(skill.answers).render(action.answer or action_name, **entities))
        payload = {
            "utterance": text,
            "action": action_name,
            "entities": entities,
            "settings": self.skill_settings(skill),
            "locale": self.language,
            "answers": skill.answers,
            "context": {
                "last_skill": self._conversation.last_skill,
                "last_action": self._conversation.last_action,
                "last_entities": dict(self._conversation.last_entities),
                "answer_to": answer_to,
                "now": self.clock().isoformat(timespec="seconds"),
                "last_reply": self._conversation.last_reply,
            },
        }
        try:
            return self.runner.run(skill, payload, on_say=self.on_say)
        except SkillError as error:
            log.error("%s", error)
            return self._apology(skill, error)

    def _apology(self, skill: SkillPackage, error: SkillError) -> Response:
        system = self.catalog.skills.get(SYSTEM)
        kind = type(error).__name__
        key = {"ActionTimeout": "skill_timeout", "SkillDisabled": "skill_disabled"}.get(kind, "skill_failed")
        if system is not None and key in system.answers:
            text = Answers(system.answers).render(key, skill=skill.name, skill_id=skill.id)
        else:
            text = f"Sorry, the {skill.name} skill ran into a problem."
        return Response(text=text, data={"error": str(error), "skill": skill.id})

    def _remember(self, turn: Turn) -> Turn:
        conversation = self._conversation
        if turn.skill != SYSTEM or turn.action not in {"repeat", "not_understood", "not_heard"}:
            conversation.last_skill = turn.skill if turn.skill != SYSTEM else conversation.last_skill
            conversation.last_action = turn.action
            conversation.last_entities = dict(turn.entities)
        conversation.last_reply = turn.reply.text
        if turn.reply.question is not None and turn.skill is not None:
            conversation.pending = _Pending(
                turn.skill, turn.reply.question.action, {}, question_data=dict(turn.reply.question.data)
            )
        return turn

    def _not_understood(self, understanding: Understanding) -> Turn:
        suggestions: list[str] = []
        seen: set[str] = set()
        for label, _ in understanding.ranking:
            skill_id, action_name = label.split(".", 1)
            if skill_id in seen or skill_id == SYSTEM:
                continue
            skill = self.catalog.skills.get(skill_id)
            if skill is None or not skill.actions[action_name].samples:
                continue
            seen.add(skill_id)
            suggestions.append(self._example(skill, action_name))
            if len(suggestions) == 3:
                break
        return self._system(understanding.text, "not_understood", {"suggestions": suggestions}, understanding.confidence)

    def _example(self, skill: SkillPackage, action_name: str) -> str:
        """One way to say `action_name`, with example values in its slots."""
        from assistant.nlu.samples import example

        return example(skill.actions[action_name].samples, self.catalog.entity_examples(skill))

    def _too_long(self, text: str) -> Turn:
        # The turn echoes only the start of what was said: the rest was never read.
        limit = f"{self.max_utterance_chars:,}"
        turn = self._system(text[:80] + "…", "too_long", {"limit": limit}, 1.0)
        if turn.skill is None:
            reply = Response(text=f"That is too long for me: I read at most {limit} characters at a time.")
            return Turn(turn.text, None, None, 1.0, {}, reply)
        return turn

    def _system(self, text: str, action: str, entities: dict[str, Any], confidence: float) -> Turn:
        system = self.catalog.skills.get(SYSTEM)
        if system is None or action not in system.actions:
            reply = Response(text="Sorry, I didn't understand that.")
            return Turn(text, None, None, confidence, entities, reply)
        response = self._run(system, action, text, entities)
        turn = Turn(text, SYSTEM, action, confidence, {}, response)
        self._conversation.last_reply = response.text
        return turn

    def close(self) -> None:
        self.runner.close()
