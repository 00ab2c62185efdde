"""Read me the first / second / last / next paragraph of the page last read."""

from __future__ import annotations

import re

from web_pages import last_page

from assistant.skills.sdk import Request, Response

_CONTINUE = re.compile(r"\b(?:continue|keep reading|go on|read on|read more|next)\b", re.IGNORECASE)


def run(request: Request) -> Response:
    page = last_page(request)
    if page is None:
        return request.reply("no_page")
    paragraphs = list(page.get("paragraphs") or [])
    current = int(request.memory.get("paragraph_index", 0) or 0)
    index = _wanted(request, current, len(paragraphs))
    if index >= len(paragraphs):
        key = (
            "end_of_page"
            if _CONTINUE.search(request.utterance) and current
            else "no_such_paragraph"
        )
        return request.reply(key, total=len(paragraphs), data={"paragraphs": len(paragraphs)})
    request.memory.set("paragraph_index", index + 1)
    text = paragraphs[index]
    return request.reply(
        "paragraph",
        speech_key="paragraph_speech",
        number=index + 1,
        total=len(paragraphs),
        text=text,
        data={"index": index, "total": len(paragraphs), "text": text},
    )


def _wanted(request: Request, current: int, total: int) -> int:
    """Zero-based index of the paragraph asked for; `current` is the one after the last read."""
    which = str(request.entities.get("which") or "")
    number = request.entities.get("number")
    if which.isdigit():
        return int(which) - 1
    if which == "last":
        return max(total - 1, 0)
    if which == "previous":
        return max(current - 2, 0)
    if which == "next" or (not which and number is None and _CONTINUE.search(request.utterance)):
        return current
    if number is not None:
        return max(int(float(number)) - 1, 0)
    return 0
