"""Watched pages: what was last seen of each (in the skill's memory) and the scheduled check.

The check is the `check_watch` action; `schedule_check` is the one place that asks
the scheduler service to run it every few minutes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from assistant.skills.sdk import Request

WATCHES_KEY = "watches"
KEPT_PARAGRAPHS = 200


def job_id(url: str) -> str:
    """A stable id per URL, so watching a page again replaces its job."""
    return "watch-" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]


def schedule_check(request: Request, url: str, title: str, every_s: int) -> dict[str, Any]:
    """Ask the scheduler to run `check_watch` for `url` every `every_s` seconds."""
    return dict(
        request.services.scheduler.add(
            request.skill,
            "watch",
            {"interval": {"seconds": every_s}},
            {"action": "check_watch", "action_payload": {"url": url}},
            name=f"watch {title}"[:80],
            job_id=job_id(url),
        )
    )


def cancel_check(request: Request, url: str) -> bool:
    return bool(request.services.scheduler.cancel(f"{request.skill}:{job_id(url)}"))


def watches(request: Request) -> dict[str, dict[str, Any]]:
    value = request.memory.get(WATCHES_KEY)
    return dict(value) if isinstance(value, dict) else {}


def save_seen(request: Request, page: dict[str, Any]) -> None:
    """Record what the watched page says now (the base for the next comparison)."""
    current = watches(request)
    url = str(page["url"])
    current[url] = {
        "title": page.get("title") or url,
        "fingerprint": page.get("fingerprint"),
        "paragraphs": list(page.get("paragraphs") or [])[:KEPT_PARAGRAPHS],
    }
    request.memory.set(WATCHES_KEY, current)


def forget(request: Request, url: str) -> dict[str, Any] | None:
    current = watches(request)
    removed = current.pop(url, None)
    request.memory.set(WATCHES_KEY, current)
    return removed


def what_changed(before: list[str], after: list[str]) -> str:
    """The first paragraph that is new, or a note that text was removed."""
    old = set(before)
    for paragraph in after:
        if paragraph not in old:
            return paragraph
    return "some text was removed."
