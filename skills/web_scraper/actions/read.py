"""Read / open <url>: fetch the page, make it the current document, say its title and opening."""

from __future__ import annotations

from web_pages import fetch_page, opening, remember, url_from

from assistant.skills.sdk import Question, Request, Response


def run(request: Request) -> Response:
    url = url_from(request)
    if not url:
        return request.reply("ask_url", question=Question(request.action, {"ask": "url"}))
    page = fetch_page(request, url)
    if isinstance(page, Response):
        return page
    remember(request, page)
    document = request.services.documents.set_page(page)
    request.services.qa.prepare(document["text"])  # encodes in the background for questions to come
    start = opening(page["paragraphs"])
    title = page["title"] or page["final_url"]
    data = {
        "url": page["url"],
        "final_url": page["final_url"],
        "title": page["title"],
        "paragraphs": len(page["paragraphs"]),
        "links": len(page["links"]),
        "from_cache": page["from_cache"],
        "metadata": page["metadata"],
    }
    if not page["title"]:
        return request.reply("page_read_untitled", opening=start, data=data)
    return request.reply(
        "page_read", speech_key="page_read_speech", title=title, opening=start, data=data
    )
