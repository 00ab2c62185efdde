"""Stop watching <url> (or the page last read)."""

from __future__ import annotations

from watching import cancel_check, forget, watches
from web_pages import last_page, url_from

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    watched = watches(request)
    url = url_from(request)
    if url is None:
        page = last_page(request)
        url = str(page["url"]) if page else (next(iter(watched)) if len(watched) == 1 else None)
    if url not in watched:
        url = next(
            (
                known
                for known in watched
                if known.rstrip("/").lower() == str(url).rstrip("/").lower()
            ),
            url,
        )
    if url is None or url not in watched:
        return request.reply("not_watching", data={"url": url})
    try:
        cancel_check(request, url)
    except Exception:  # skill boundary: the job may already be gone; forget the watch anyway
        pass
    removed = forget(request, url) or {}
    return request.reply("unwatched", title=removed.get("title", url), data={"url": url})
