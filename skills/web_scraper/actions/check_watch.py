"""The scheduled check of one watched page: announce a change, stay silent otherwise."""

from __future__ import annotations

from watching import save_seen, watches, what_changed
from web_pages import service_problem

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    url = request.entities.get("url") or (request.context.answer_to or {}).get("url")
    seen = watches(request).get(str(url)) if url else None
    if seen is None:
        return Response(text="", data={"changed": False, "reason": "not watched", "url": url})
    try:
        page = request.services.web.fetch(str(url))
    except Exception as error:  # skill boundary: try again at the next check
        return Response(
            text="", data={"changed": False, "reason": service_problem(error), "url": url}
        )
    if "error" in page:
        return Response(
            text="", data={"changed": False, "reason": page["error"]["message"], "url": url}
        )
    if page["fingerprint"] == seen.get("fingerprint"):
        return Response(text="", data={"changed": False, "url": url})
    save_seen(request, page)
    change = what_changed(list(seen.get("paragraphs") or []), list(page["paragraphs"]))
    title = page["title"] or seen.get("title") or url
    return request.reply(
        "page_changed",
        speech_key="page_changed_speech",
        title=title,
        change=change,
        data={"changed": True, "url": url, "fingerprint": page["fingerprint"]},
    )
