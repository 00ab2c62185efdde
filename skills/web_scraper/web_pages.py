"""What the web reader's actions share: the URL said, the page last read, errors worded for speech."""

from __future__ import annotations

import re
from typing import Any

from assistant.skills.sdk import Request, Response

PAGE_KEY = "page"
MAX_KEPT_PARAGRAPHS = 300
_URLISH = re.compile(r"\S+\.\S+|\S+://\S+|localhost\S*")


def url_from(request: Request) -> str | None:
    """The URL the user said, with its original letter case (paths are case-sensitive)."""
    value = request.entities.get("url") or (request.context.answer_to or {}).get("url")
    if not value:
        # Not a URL the understanding accepts (ftp://..., a typo): let the web service say why.
        said = [token.strip(".,;!?\"'()<>") for token in _URLISH.findall(request.utterance)]
        return said[0] if said else None
    value = str(value)
    bare = value.split("://", 1)[-1].lower()
    for token in _URLISH.findall(request.utterance):
        token = token.strip(".,;!?\"'()<>")
        if token.split("://", 1)[-1].lower() == bare:
            return token
    return value


def service_problem(error: Exception) -> str:
    """The message of a service failure without the "ClassName: " the process boundary adds."""
    text = str(error)
    return re.sub(r"^[A-Z]\w*(?:Error|Exception): ", "", text)


def fetch_page(request: Request, url: str) -> dict[str, Any] | Response:
    """Say "Reading…", fetch `url`; the page, or the reply that says why there is none."""
    request.say(request.answer("reading"))
    try:
        page: dict[str, Any] = request.services.web.fetch(url)
    except Exception as error:  # skill boundary: a service failure becomes a reply
        return request.reply("error_service", problem=service_problem(error))
    if "error" in page:
        return error_response(request, page["error"])
    return page


def error_response(request: Request, error: dict[str, Any]) -> Response:
    """A failed fetch: the detailed message in the chat, a short sentence spoken."""
    code = str(error.get("code", "web_error"))
    fields = dict(error.get("fields") or {})
    key = f"error_{code}"
    if code == "http_status" and fields.get("status") == 404:
        key = "error_http_status_404"
    if key not in request.answers:
        key = "error_web_error"
    return Response(
        text=str(error.get("message") or request.answer(key, **fields)),
        speech=request.answer(key, **fields),
        data={"error": error},
    )


def remember(request: Request, page: dict[str, Any]) -> None:
    """Keep the page for "what's the title", "list the links" and "next paragraph"."""
    kept = {
        key: page.get(key)
        for key in ("url", "final_url", "title", "links", "metadata", "fingerprint", "from_cache")
    }
    kept["paragraphs"] = list(page.get("paragraphs") or [])[:MAX_KEPT_PARAGRAPHS]
    request.memory.set(PAGE_KEY, kept)
    request.memory.set("paragraph_index", 0)


def last_page(request: Request) -> dict[str, Any] | None:
    page = request.memory.get(PAGE_KEY)
    return page if isinstance(page, dict) else None


def opening(paragraphs: list[str], words: int = 40) -> str:
    """The start of the first paragraph, cut at a sentence end when one comes early enough."""
    if not paragraphs:
        return ""
    first = paragraphs[0]
    tokens = first.split()
    if len(tokens) <= words:
        return first
    cut = " ".join(tokens[:words])
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    return cut[: end + 1] if end > 40 else cut + "…"
