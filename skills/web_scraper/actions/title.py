"""What's the title: the title of the page last read."""

from __future__ import annotations

from web_pages import last_page

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    page = last_page(request)
    if page is None:
        return request.reply("no_page")
    if not page.get("title"):
        return request.reply("no_title", data={"url": page.get("final_url")})
    return request.reply(
        "title", title=page["title"], data={"title": page["title"], "url": page.get("final_url")}
    )
