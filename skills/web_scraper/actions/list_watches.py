"""Which pages are you watching."""

from __future__ import annotations

from watching import watches

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    watched = watches(request)
    if not watched:
        return request.reply("no_watches", data={"watches": []})
    names = ", ".join(str(seen.get("title") or url) for url, seen in watched.items())
    return request.reply(
        "watches", count=len(watched), names=names, data={"watches": sorted(watched)}
    )
