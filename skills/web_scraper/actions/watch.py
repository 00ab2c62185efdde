"""Watch <url> and tell me when it changes: read it now, then check it on a schedule."""

from __future__ import annotations

from watching import save_seen, schedule_check
from web_pages import fetch_page, last_page, service_problem, url_from

from assistant.skills.sdk import Question, Request, Response


def run(request: Request) -> Response:
    url = url_from(request)
    if not url:
        page = last_page(request)
        if page is None:
            return request.reply("ask_url", question=Question(request.action, {"ask": "url"}))
        url = str(page["url"])
    page = fetch_page(request, url)
    if isinstance(page, Response):
        return page
    minutes = int(request.settings.get("watch_interval_minutes", 30))
    title = page["title"] or page["final_url"]
    try:
        job = schedule_check(request, page["url"], title, minutes * 60)
    except Exception as error:  # skill boundary: no scheduler means no watch
        return request.reply("watch_failed", problem=service_problem(error))
    save_seen(request, page)
    return request.reply(
        "watching",
        speech_key="watching_speech",
        title=title,
        minutes=minutes,
        data={"url": page["url"], "job": job, "fingerprint": page["fingerprint"]},
    )
