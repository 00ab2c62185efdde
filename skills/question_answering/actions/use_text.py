"""Here is some text: it becomes the current document for questions and summaries."""

from __future__ import annotations

import re

from qa_sources import problem

from assistant.skills.sdk import Request, Response

_LEAD_IN = re.compile(
    r"^.*?\b(?:here is|here's|remember|use|read|take|this is|paste)\s+(?:some |a |the |this )?(?:text|passage)?\s*[:,-]?\s*",
    re.IGNORECASE,
)


def run(request: Request) -> Response:
    text = _original_text(request)
    if not text:
        return request.reply("ask_text")
    try:
        document = request.services.documents.set_current(
            text, source=request.answer("the_pasted_text"), title="", url="", kind="text"
        )
        request.services.qa.prepare(document["text"])
    except Exception as error:  # skill boundary: a service failure becomes a reply
        return request.reply("failed", problem=problem(error))
    sentences = max(1, len(re.findall(r"[.!?](?:\s|$)", text)))
    return request.reply(
        "text_kept",
        sentences=sentences,
        data={"document_id": document["id"], "characters": len(text)},
    )


def _original_text(request: Request) -> str:
    """The text as typed (entity values come lower-cased, and names need their capitals)."""
    if request.context.answer_to is not None:
        return request.utterance.strip()  # the reply to "go ahead, paste the text"
    stripped = _LEAD_IN.sub("", request.utterance, count=1).strip()
    return stripped or str(request.entities.get("text") or "")
