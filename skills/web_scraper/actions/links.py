"""List the links: the links of the page's main text; the chat lists them, speech names a few."""

from __future__ import annotations

from web_pages import last_page

from assistant.skills.sdk import Request, Response

LISTED = 20


def run(request: Request) -> Response:
    page = last_page(request)
    if page is None:
        return request.reply("no_page")
    links = list(page.get("links") or [])
    if not links:
        return request.reply("no_links", data={"links": []})
    spoken = int(request.settings.get("links_spoken", 5))
    lines = [request.answer("links_intro", count=len(links))]
    lines += [
        f"{number}. {link['text']} — {link['url']}" for number, link in enumerate(links[:LISTED], 1)
    ]
    if len(links) > LISTED:
        lines.append(f"… and {len(links) - LISTED} more.")
    names = ", ".join(link["text"] for link in links[:spoken])
    return Response(
        text="\n".join(lines),
        speech=request.answer("links_speech", count=len(links), names=names),
        data={"links": links},
    )
