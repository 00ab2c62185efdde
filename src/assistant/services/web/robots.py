"""robots.txt rules per site (RFC 9309), parsed with protego and kept for a while."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from protego import Protego

log = logging.getLogger(__name__)

ROBOTS_TTL_S = 3600.0
MAX_ROBOTS_BYTES = 500 * 1024
"""RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt."""


@dataclass(frozen=True)
class RobotsAnswer:
    """What robots.txt says about one URL."""

    allowed: bool
    crawl_delay_s: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class _Rules:
    parser: Protego | None
    """None: every path is allowed (no robots.txt, or a 4xx for it)."""
    disallow_all: bool
    reason: str
    fetched_at: float


RobotsFetcher = Callable[[str], tuple[int, str]]
"""Gets a robots.txt URL; returns (status, text). Raises `WebError` when unreachable."""


class RobotsPolicy:
    """Answers "may I fetch this URL?", fetching each site's robots.txt at most once an hour."""

    def __init__(self, fetch: RobotsFetcher, user_agent: str, ttl_s: float = ROBOTS_TTL_S) -> None:
        self._fetch = fetch
        self.user_agent = user_agent
        self.ttl_s = ttl_s
        self._rules: dict[str, _Rules] = {}
        self._lock = threading.Lock()

    def check(self, url: httpx.URL) -> RobotsAnswer:
        rules = self._rules_for(url)
        if rules.disallow_all:
            return RobotsAnswer(False, reason=rules.reason)
        if rules.parser is None:
            return RobotsAnswer(True)
        allowed = rules.parser.can_fetch(str(url), self.user_agent)
        delay = rules.parser.crawl_delay(self.user_agent)
        return RobotsAnswer(
            bool(allowed),
            crawl_delay_s=float(delay) if delay is not None else None,
            reason="" if allowed else "the site's robots.txt disallows it",
        )

    def _rules_for(self, url: httpx.URL) -> _Rules:
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        with self._lock:
            cached = self._rules.get(origin)
        if cached is not None and time.monotonic() - cached.fetched_at < self.ttl_s:
            return cached
        rules = self._load(origin + "/robots.txt")
        with self._lock:
            self._rules[origin] = rules
        return rules

    def _load(self, robots_url: str) -> _Rules:
        status, text = self._fetch(robots_url)
        now = time.monotonic()
        if 200 <= status < 300:
            return _Rules(Protego.parse(text[:MAX_ROBOTS_BYTES]), False, "", now)
        if 400 <= status < 500:
            return _Rules(None, False, "", now)
        # RFC 9309 2.3.1.4: a server error on robots.txt means "assume complete disallow".
        log.info(
            "robots.txt at %s answered %s: treating the site as disallowed", robots_url, status
        )
        return _Rules(None, True, f"the site's robots.txt could not be read (status {status})", now)
