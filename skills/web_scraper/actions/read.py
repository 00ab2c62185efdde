"""Read / open <url>: fetch the page, make it the current document, say its title and opening."""

from __future__ import annotations

from web_pages import error_response, opening, remember, service_problem, url_from

from assistant.skills.sdk import Question, Request, Response


def run(request: Request) -> Response:
    url = url_from(request)
    if not url:
        return request.reply("ask_url", question=Question(request.action, {"ask": "url"}))
    request.say(request.answer("reading"))
    try:
        page = request.services.web.fetch(url)
    except Exception as error:  # skill boundary: a service failure becomes a reply
        return request.reply("error_service", problem=service_problem(error))
    if "error" in page:
        return error_response(request, page["error"])
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
