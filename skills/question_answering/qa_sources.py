"""What the question-answering actions share: the question said, naming sources, the reply."""

from __future__ import annotations

import re
from typing import Any

from assistant.skills.sdk import Request, Response

_LEAD_IN = re.compile(
    r"^(?:(?:hey |ok |okay )?assistant,?\s+)?(?:(?:according to|ask|question about|in|check|search|look in)\s+"
    r"(?:the|this|my)\s+(?:page|article|text|document|notes)\s*(?:for|about)?[,:]?\s*)",
    re.IGNORECASE,
)


def question_of(request: Request) -> str:
    """The question as typed, without lead-ins: the wh-word matters, so the whole utterance is used."""
    text = _LEAD_IN.sub("", request.utterance.strip())
    return text or str(request.entities.get("question") or "")


_DOCUMENT_WORDS = re.compile(r"\b(?:page|article|text|document|passage|notes?)\b", re.IGNORECASE)


def names_a_document(request: Request) -> bool:
    """Whether the question is about a text by its words ("what does the page say about ...")."""
    return bool(_DOCUMENT_WORDS.search(request.utterance))


def source_name(request: Request, document: dict[str, Any]) -> str:
    """How to name where an answer came from, in a sentence."""
    if document.get("kind") == "text":
        return request.answer("the_pasted_text")
    if document.get("kind") == "note":
        return f"your note {document.get('title') or document.get('source')}"
    return str(document.get("title") or document.get("source") or "the page")


def reply(request: Request, result: dict[str, Any], documents: list[dict[str, Any]]) -> Response:
    by_source = {str(d.get("source")): d for d in documents}
    document = by_source.get(str(result.get("source")), documents[0] if documents else {})
    source = source_name(request, document)
    data = {**result, "source_name": source}
    if not result["found"]:
        return request.reply("not_found", source=source, data=data)
    key = "answer" if result["method"] in ("span", "model") else "answer_sentence"
    return request.reply(
        key, speech_key="answer_speech", answer=result["answer"], source=source, data=data
    )


def problem(error: Exception) -> str:
    return re.sub(r"^[A-Z]\w*(?:Error|Exception): ", "", str(error))
