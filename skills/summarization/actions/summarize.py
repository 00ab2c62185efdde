"""Summarise this page / this text / <url> [in N sentences]: short when spoken, longer in the chat."""

from __future__ import annotations

import re
from typing import Any

from assistant.skills.sdk import Request, Response

_WORD_NUMBERS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_COUNT = re.compile(
    r"\bin (\d+|a|one|two|three|four|five|six|seven|eight|nine|ten) sentences?\b", re.IGNORECASE
)
_TEXT_LEAD_IN = re.compile(
    r"^.*?\bsummari[sz]e (?:this|the following)(?: text)?\s*[:,-]?\s*", re.IGNORECASE
)
MAX_SENTENCES = 10


def run(request: Request) -> Response:
    asked = _count(request)
    try:
        document = _document(request)
        if document is None:
            return request.reply("no_document")
        if "error" in document:
            error = document["error"]
            return Response(text=error["message"], data={"error": error})
        summary = request.services.summarizer.summarize(
            document["text"], asked, document.get("title") or ""
        )
    except Exception as error:  # skill boundary: a service failure becomes a reply
        return request.reply(
            "failed", problem=re.sub(r"^[A-Z]\w*(?:Error|Exception): ", "", str(error))
        )
    spoken_count = asked or int(request.settings.get("spoken_sentences", 1))
    spoken = " ".join(summary["ranked"][:spoken_count]) if not asked else summary["text"]
    bullets = "\n".join(f"• {sentence}" for sentence in summary["sentences"])
    title = document.get("title") or ""
    data = {**summary, "source": document.get("source"), "title": title, "requested": asked}
    key = "summary" if title else "summary_untitled"
    return Response(
        text=request.answer(key, title=title, bullets=bullets), speech=spoken, data=data
    )


def _count(request: Request) -> int | None:
    """Sentences asked for: "in three sentences", "in one sentence"; None when not said."""
    match = _COUNT.search(request.utterance)
    if match:
        word = match.group(1).lower()
        value = int(word) if word.isdigit() else _WORD_NUMBERS[word]
    elif request.entities.get("number") is not None:
        value = int(float(request.entities["number"]))
    else:
        return None
    return max(1, min(value, MAX_SENTENCES))


def _document(request: Request) -> dict[str, Any] | None:
    """The page at the URL said, the text given with the request, or the current document."""
    url = request.entities.get("url")
    if url:
        request.say(request.answer("reading"))
        page = request.services.web.fetch(_original_url(request, str(url)))
        if "error" in page:
            return page
        return request.services.documents.set_page(page)
    if request.entities.get("text"):
        text = _TEXT_LEAD_IN.sub("", request.utterance, count=1).strip() or str(
            request.entities["text"]
        )
        return request.services.documents.set_current(
            text, source=request.answer("the_pasted_text"), kind="text"
        )
    return request.services.documents.current()


def _original_url(request: Request, value: str) -> str:
    """The URL with its letter case as typed (entity values come lower-cased)."""
    bare = value.split("://", 1)[-1].lower()
    for token in request.utterance.split():
        token = token.strip(".,;!?\"'()<>")
        if token.split("://", 1)[-1].lower() == bare:
            return token
    return value
