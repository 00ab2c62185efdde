"""The brain: text in, reply out — understanding, conversation context, slot filling, the skill call.

No audio and no terminal here: every way in calls `Brain.handle` through its session
(`assistant.session.Session`), which owns the conversation; the brain itself holds no state of
any conversation, so sessions never share context.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from assistant.errors import SkillError
from assistant.events import TurnEvent
from assistant.nlu.understand import Nlu, Understanding
from assistant.session import Conversation, Pending, current_room
from assistant.skills.catalog import Catalog
from assistant.skills.package import SkillPackage
from assistant.skills.runner import SkillRunner
from assistant.skills.sdk import Answers, Question, Response
from assistant.text import clean

log = logging.getLogger(__name__)

SYSTEM = "system"
CANCEL_ACTIONS = {"system.cancel"}
NEW_REQUEST_CONFIDENCE = 0.9
"""While a question is pending, an utterance this sure to be another request is a new request."""
NOT_REQUESTS = {"system.not_understood", "system.not_heard"}

Say = Callable[[str], None]


@dataclass(frozen=True)
class Turn:
    """One exchange: what was heard or typed and what the assistant answered."""

    text: str
    skill: str | None
    action: str | None
    confidence: float
    entities: dict[str, Any]
    reply: Response

    def event(self, **extra: Any) -> TurnEvent:
        """This turn as an event (`extra`: keys a way in adds, such as `transcript`)."""
        return TurnEvent(
            text=self.text,
            skill=self.skill,
            action=self.action,
            confidence=self.confidence,
            entities=self.entities,
            reply=self.reply.text,
            speech=self.reply.spoken,
            expects_reply=self.reply.question is not None,
            data=self.reply.data,
            extra=extra,
        )

    def to_json(self) -> dict[str, Any]:
        """The machine contract of `assistant ask --json`."""
        return self.event().to_json()


class Brain:
    """Turns text into a reply for a conversation; shared by every session, holds none of their state."""

    def __init__(
        self,
        catalog: Catalog,
        nlu: Nlu,
        runner: SkillRunner,
        skill_settings: Callable[[SkillPackage], dict[str, Any]],
        language: str = "en",
        clock: Callable[[], datetime] | None = None,
        max_utterance_chars: int = 100_000,
    ):
        self.catalog = catalog
        self.nlu = nlu
        self.runner = runner
        self.skill_settings = skill_settings
        self.language = language
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.max_utterance_chars = max_utterance_chars

    def run_scheduled(self, skill_id: str, action: str, entities: dict[str, Any]) -> Response | None:
        """Run a skill action for a scheduled job (a page watch), outside any conversation."""
        skill = self.catalog.skills.get(skill_id)
        if skill is None or action not in skill.actions:
            log.warning("scheduled job names %s.%s, which is not installed", skill_id, action)
            return None
        response = _Exchange(self, Conversation(), None).run(skill, action, "", dict(entities))
        return None if response.declined else response

    def understand(self, text: str, conversation: Conversation | None = None) -> Understanding:
        """What `text` means, read in `conversation`'s context (none: a fresh one)."""
        context = conversation.last_skill if conversation is not None else None
        return self.nlu.parse(text, self.clock(), context)

    def answers_ring(self, text: str, conversation: Conversation) -> bool:
        """Whether `text`, heard without the wake word while a notification rings, is meant for
        it: understood as an action that answers a ring ("stop", "snooze")."""
        understanding = self.understand(" ".join(clean(text).split()), conversation)
        if understanding.label is None:
            return False
        skill = self.catalog.skills.get(understanding.skill or "")
        action = skill.actions.get(understanding.action or "") if skill is not None else None
        return action is not None and action.answers_ring

    def handle(self, text: str, conversation: Conversation, on_say: Say | None = None) -> Turn:
        """One turn of `conversation`; `on_say` hears interim messages ("Reading example.com...").

        The caller runs one turn of a conversation at a time (`Session.handle` does).
        """
        try:
            return _Exchange(self, conversation, on_say).handle(text)
        finally:
            self.nlu.answered()  # a first start's training job may take the processor now


class _Exchange:
    """One turn: the brain's rules applied to one conversation."""

    def __init__(self, brain: Brain, conversation: Conversation, on_say: Say | None):
        self.brain = brain
        self.catalog = brain.catalog
        self.conversation = conversation
        self.on_say = on_say
        self.understanding: Understanding | None = None

    def handle(self, text: str) -> Turn:
        text = clean(text)
        if len(text) > self.brain.max_utterance_chars:
            return self.too_long(text)
        text = " ".join(text.split())
        if not text:
            return self.system(text, "not_heard", {}, 0.0)
        understanding = self.understanding = self.brain.understand(text, self.conversation)
        pending = self.conversation.pending
        if pending is not None:
            turn = self.answer_pending(text, pending, understanding)
            if turn is not None:
                return turn
        if understanding.label is None:
            return self.not_understood(understanding)
        return self.dispatch(text, understanding.label, understanding.confidence, dict(understanding.entities))

    def answer_pending(self, text: str, pending: Pending, understanding: Understanding) -> Turn | None:
        """Use `text` as the answer to the pending question; None when it is a new request."""
        if understanding.label in CANCEL_ACTIONS:
            self.conversation.pending = None
            return self.dispatch(text, understanding.label, understanding.confidence, {})
        if (
            understanding.label is not None
            and understanding.skill != pending.skill
            and understanding.label not in NOT_REQUESTS
            and understanding.confidence >= NEW_REQUEST_CONFIDENCE
        ):
            # Clearly another request ("what time is it" while asked "which timer?"): the
            # question is dropped rather than answered with it.
            self.conversation.pending = None
            return None
        label = f"{pending.skill}.{pending.action}"
        skill = self.catalog.skills[pending.skill]
        # The answer fills every slot it names, not only the one asked for.
        named = self.brain.nlu.parse_for(label, text, self.brain.clock())
        if understanding.label is None and not named and self.asks_for_a_value(skill, pending, text):
            # Names nothing asked and is no request a skill serves ("turn off the bedroom light"
            # to "When?"): not an answer; the question is dropped and the text not understood.
            self.conversation.pending = None
            return None
        if pending.missing is not None:
            value = named.get(pending.missing)
            if value is None:
                value = self.value_of(skill, pending.missing, text)
            if value is None:
                pending.attempts += 1
                if pending.attempts >= 2:
                    self.conversation.pending = None
                    return None
                pending.entities.update(named)
                return self.ask(text, skill, pending)
            self.conversation.pending = None
            entities = {**pending.entities, **named, pending.missing: value}
            return self.dispatch(text, label, 1.0, entities)
        self.conversation.pending = None
        return self.dispatch(text, label, 1.0, named, answer_to=pending.question_data)

    def value_of(self, skill: SkillPackage, name: str, text: str) -> Any:
        """The whole answer as a value of entity `name` ("ten minutes"), or None."""
        from assistant.nlu.slots import parse_value

        return parse_value(skill.entity(name), text, self.brain.clock())

    def asks_for_a_value(self, skill: SkillPackage, pending: Pending, text: str) -> bool:
        """Whether the question asks for a typed value (a time, a length, an address) that `text`
        is not: the entity missing, or the one a skill's question names in `data["ask"]`."""
        asked = pending.missing or (pending.question_data or {}).get("ask")
        if not isinstance(asked, str):
            return False
        entity = skill.entity(asked)
        return entity.type != "wildcard" and self.value_of(skill, asked, text) is None

    def dispatch(
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
            self.conversation.pending = None
        for name in action.required_entities:
            if name not in entities:
                pending = Pending(skill_id, action_name, entities, missing=name)
                return self.ask(text, skill, pending, confidence)
        response = self.run(skill, action_name, text, entities, answer_to)
        if response.declined and self.understanding is not None:
            log.info("%s declined %r", label, text)
            return self.not_understood(self.understanding)
        return self.remember(Turn(text, skill_id, action_name, confidence, entities, response))

    def ask(self, text: str, skill: SkillPackage, pending: Pending, confidence: float = 1.0) -> Turn:
        action = skill.actions[pending.action]
        key = action.required_entities[pending.missing or ""]
        question = Answers(skill.answers).render(key)
        self.conversation.pending = pending
        response = Response(text=question, question=Question(action=pending.action))
        turn = Turn(text, skill.id, pending.action, confidence, dict(pending.entities), response)
        self.conversation.last_reply = response.text
        return turn

    def run(
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
        conversation = self.conversation
        payload = {
            "utterance": text,
            "action": action_name,
            "entities": entities,
            "settings": self.brain.skill_settings(skill),
            "locale": self.brain.language,
            "answers": skill.answers,
            "context": {
                "last_skill": conversation.last_skill,
                "last_action": conversation.last_action,
                "last_entities": dict(conversation.last_entities),
                "answer_to": answer_to,
                "now": self.brain.clock().isoformat(timespec="seconds"),
                "last_reply": conversation.last_reply,
                "room": current_room(),
            },
        }
        try:
            return self.brain.runner.run(skill, payload, on_say=self.on_say)
        except SkillError as error:
            log.error("%s", error)
            return self.apology(skill, error)

    def apology(self, skill: SkillPackage, error: SkillError) -> Response:
        system = self.catalog.skills.get(SYSTEM)
        kind = type(error).__name__
        key = {"ActionTimeout": "skill_timeout", "SkillDisabled": "skill_disabled"}.get(kind, "skill_failed")
        if system is not None and key in system.answers:
            text = Answers(system.answers).render(key, skill=skill.name, skill_id=skill.id)
        else:
            text = f"Sorry, the {skill.name} skill ran into a problem."
        return Response(text=text, data={"error": str(error), "skill": skill.id})

    def remember(self, turn: Turn) -> Turn:
        conversation = self.conversation
        if turn.skill != SYSTEM or turn.action not in {"repeat", "not_understood", "not_heard"}:
            conversation.last_skill = turn.skill if turn.skill != SYSTEM else conversation.last_skill
            conversation.last_action = turn.action
            conversation.last_entities = dict(turn.entities)
        conversation.last_reply = turn.reply.text
        if turn.reply.question is not None and turn.skill is not None:
            conversation.pending = Pending(
                turn.skill, turn.reply.question.action, {}, question_data=dict(turn.reply.question.data)
            )
        return turn

    def not_understood(self, understanding: Understanding) -> Turn:
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
            suggestions.append(self.example(skill, action_name))
            if len(suggestions) == 3:
                break
        return self.system(understanding.text, "not_understood", {"suggestions": suggestions}, understanding.confidence)

    def example(self, skill: SkillPackage, action_name: str) -> str:
        """One way to say `action_name`, with example values in its slots."""
        from assistant.nlu.samples import example

        return example(skill.actions[action_name].samples, self.catalog.entity_examples(skill))

    def too_long(self, text: str) -> Turn:
        # The turn echoes only the start of what was said: the rest was never read.
        limit = f"{self.brain.max_utterance_chars:,}"
        turn = self.system(text[:80] + "…", "too_long", {"limit": limit}, 1.0)
        if turn.skill is None:
            reply = Response(text=f"That is too long for me: I read at most {limit} characters at a time.")
            return Turn(turn.text, None, None, 1.0, {}, reply)
        return turn

    def system(self, text: str, action: str, entities: dict[str, Any], confidence: float) -> Turn:
        system = self.catalog.skills.get(SYSTEM)
        if system is None or action not in system.actions:
            reply = Response(text="Sorry, I didn't understand that.")
            return Turn(text, None, None, confidence, entities, reply)
        response = self.run(system, action, text, entities)
        turn = Turn(text, SYSTEM, action, confidence, {}, response)
        self.conversation.last_reply = response.text
        return turn
